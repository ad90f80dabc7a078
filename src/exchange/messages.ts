import { randomUUID } from 'node:crypto';
import { CompactSign } from 'jose';
import type { SparqlJsonResults } from '../engines/types.js';
import type { SigningKey } from './keys.js';
import type { Trust } from './types.js';

export const RESPONSE_TYPE = 'https://www.kik-v.nl/validated-query-request/1.0/response';
export const PROBLEM_REPORT_TYPE = 'https://didcomm.org/report-problem/2.0/problem-report';
export const DIDCOMM_PLAIN = 'application/didcomm-plain+json';

/** The payload the JWS signs (KIK-V): one entry per answered query, id = "<requestId>#<queryId>". */
export interface ResultSetPayload {
  resultset: Array<{ id: string; result: SparqlJsonResults }>;
}

/** A DIDComm v2 plaintext message. */
export interface DidcommMessage {
  id: string;
  typ: typeof DIDCOMM_PLAIN;
  type: string;
  thid?: string;
  pthid?: string;
  from: string;
  to: string[];
  created_time: number;
  expires_time?: number;
  ack?: string[];
  body: Record<string, unknown>;
}

/** The protected header fields besides alg and kid, the same whoever signs. */
const RESULT_SET_HEADER = { typ: 'JOSE', cty: 'application/json' } as const;

/** Signs a result set as a compact JWS (ES256, kid names our key). */
export async function signResultSet(key: SigningKey, payload: ResultSetPayload): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, ...RESULT_SET_HEADER })
    .sign(key.privateKey);
}

/** Signs a result set with a local key or through a trust adapter (its current key, or the Nuts node's). */
export async function signResultSetWith(signer: SigningKey | Pick<Trust, 'signJws'>, payload: ResultSetPayload): Promise<string> {
  if ('signJws' in signer) return signer.signJws(new TextEncoder().encode(JSON.stringify(payload)), { ...RESULT_SET_HEADER });
  return signResultSet(signer, payload);
}

/**
 * The response to a validated-query request: thid = request id, from/to swapped, body.response = the JWS.
 * `supersedes` (body.supersedes) names the message an earlier delivery of the same result went in,
 * when a corrected, re-approved answer replaces it before the deadline: the consumer keeps the new one.
 */
export function responseMessage(opts: { requestId: string; from: string; to: string; jws: string; now?: Date; supersedes?: string }): DidcommMessage {
  return {
    id: randomUUID(),
    typ: DIDCOMM_PLAIN,
    type: RESPONSE_TYPE,
    thid: opts.requestId,
    from: opts.from,
    to: [opts.to],
    created_time: Math.floor((opts.now ?? new Date()).getTime() / 1000),
    body: { response: opts.jws, ...(opts.supersedes ? { supersedes: opts.supersedes } : {}) },
  };
}

/** The problem codes a KIK-V consumer accepts: sorter `e` (error), scope `p` (protocol), then descriptors. */
export const PROBLEM_CODE = /^e\.p(\.[a-z0-9][a-z0-9-]*)+$/;

/**
 * A DIDComm problem report about a message (pthid = its thread, ack = its id). `args` fill the
 * comment's `{1}`, `{2}` placeholders (DIDComm report-problem 2.0); `escalateTo` is a URI to escalate to.
 */
export function problemReport(opts: { about: { id: string; thid?: string }; from: string; to: string; code: string; comment: string; args?: string[]; escalateTo?: string; now?: Date }): DidcommMessage {
  return {
    id: randomUUID(),
    typ: DIDCOMM_PLAIN,
    type: PROBLEM_REPORT_TYPE,
    pthid: opts.about.thid ?? opts.about.id,
    ack: [opts.about.id],
    from: opts.from,
    to: [opts.to],
    created_time: Math.floor((opts.now ?? new Date()).getTime() / 1000),
    body: { code: opts.code, comment: opts.comment, ...(opts.args ? { args: opts.args } : {}), ...(opts.escalateTo ? { escalate_to: opts.escalateTo } : {}) },
  };
}
