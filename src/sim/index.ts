/** The simulator: the KIK-V parties around a datastation, for tests, demos and `kikv sim`. */
export { Beheerorganisatie, jwksFileOf, loadOrCreateSimParty, newSimParty, packItemIds, packItemQuery, stableUuid, writeJwksFile } from './beheerorganisatie.js';
export type { IssuedCredential, IssueRequest, PackQuery, SimParty } from './beheerorganisatie.js';
export { groupsByParameters, isMisbehaviour, MISBEHAVIOURS, REQUEST_TYPE, Requester, RequesterError, resultRows } from './requester.js';
export type { BuiltRequest, Misbehaviour, Pulled, RequesterOptions, RequestSpec, Sent } from './requester.js';
export { agentKeys, startKikStarterSim, tamperedResponse, verifyResponse } from './kik-starter.js';
export type { KikStarterSim, KikStarterSimOptions, Reception, ResponseCheck } from './kik-starter.js';
export { startNutsNodeSim } from './nuts-node.js';
