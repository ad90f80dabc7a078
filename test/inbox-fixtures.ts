/**
 * Shared set-up for the inbox and pull tests: the sample provider imported into a real SQLite file,
 * a real HTTP server on 127.0.0.1 with the two plugins, the real StandaloneTrust (our keys, peers from
 * JWKS files, its token endpoint logic) and the real verifyPresentation; parties with real ES256 keys.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { loadConfig } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/schema.js';
import { openDb, type Db } from '../src/db/open.js';
import { queryKey, type EngineMatrix } from '../src/engines/routing.js';
import { loadPack } from '../src/indicators/pack.js';
import { importSource } from '../src/pipeline/import.js';
import { DEFAULT_SAMPLE, writeSample } from '../src/sample/generate.js';
import type { InboxSettings } from '../src/exchange/inbox.js';
import { encodePresentation, issueValidatedQueryCredential, KIKV_CONTEXT, presentCredentials, verifyPresentation, VC_CONTEXT, type JsonLdDocument, type QueryToIssue } from '../src/exchange/credentials/index.js';
import { loadKeyring } from '../src/exchange/keys.js';
import { StandaloneTrust } from '../src/exchange/trust/index.js';
import { peerOf, type Peer } from '../src/exchange/trust/peers.js';
import { KIKV_SERVICE } from '../src/exchange/types.js';
import { answerPullRoutes } from '../src/server/answers-pull.js';
import { didcommRoutes, type DidcommRoutes } from '../src/server/didcomm.js';
import { ROOT, tempDir, writeConfig } from './helpers.js';

export const CONSUMER = 'did:web:kik-starter.test';
export const OTHER = 'did:web:other-consumer.test';
export const ISSUER = 'did:web:beheer.test';
export const ROGUE_ISSUER = 'did:web:rogue.test';
export const PROFILE_IRI = 'https://w3id.org/kikv-agent/profiles/zorginstituut-verpleeghuiszorg';
export const ONTOLOGY = 'http://purl.org/ozo/onz-g#3.0.0';
export const REQUEST_TYPE = 'https://www.kik-v.nl/validated-query-request/1.0/request';
/** ps-1.1 is given this identifier in the test's copy of the pack; other items are found by their SPARQL's hash. */
export const PS11_ID = '0b1f4c2e-8a53-4d6e-9f7a-3c2d1e0f9a11';

interface Party {
  did: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function party(did: string): Promise<Party> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { did, kid: `${did}#key-1`, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256' } };
}

/**
 * The other parties of the exchange with real ES256 keys: the consumer (KIK-starter), another
 * consumer, the beheerorganisatie (trusted issuer) and a rogue issuer. Their public keys are written
 * as JWKS files and configured as peers of the real StandaloneTrust.
 */
export class Parties {
  constructor(readonly all: Map<string, Party>) {}

  static async create(): Promise<Parties> {
    const all = new Map<string, Party>();
    for (const d of [CONSUMER, OTHER, ISSUER, ROGUE_ISSUER]) all.set(d, await party(d));
    return new Parties(all);
  }

  get(did: string): Party {
    return this.all.get(did)!;
  }

  /** Peers for trust.peers: JWKS files in `dir`. */
  peers(dir: string): Peer[] {
    return [...this.all.values()].map((p, i) => {
      const file = join(dir, `peer-${i}.jwks.json`);
      writeFileSync(file, JSON.stringify({ keys: [p.publicJwk] }));
      return peerOf({ did: p.did, name: p.did, roles: p.did === ISSUER || p.did === ROGUE_ISSUER ? ['issuer'] : ['consumer'], jwks: file }, i);
    });
  }

  /** An access token from the trust's own token endpoint logic, for an RFC 7523 assertion signed by `subject`. */
  async token(trust: StandaloneTrust, subject: string): Promise<string> {
    const p = this.get(subject);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: p.kid, typ: 'JWT' })
      .setIssuer(p.did)
      .setSubject(p.did)
      .setAudience(trust.did)
      .setIssuedAt()
      .setExpirationTime('1m')
      .setJti(randomUUID())
      .sign(p.privateKey);
    return (await trust.tokenForAssertion(assertion, KIKV_SERVICE)).access_token;
  }

  /** A token signed with our real key but for another service (the token endpoint would never issue it). */
  async tokenForService(keysDir: string, trust: StandaloneTrust, subject: string, service: string): Promise<string> {
    const { current } = await loadKeyring(keysDir);
    return new SignJWT({ service, scope: service })
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' })
      .setIssuer(trust.did)
      .setAudience(trust.did)
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(current.privateKey);
  }

  /** A ValidatedQueryCredential (VC-JWT) with the validatedQuery exactly as given (id forms and SPARQL encodings vary). */
  async credential(validatedQuery: Record<string, unknown>, opts: { subject?: string; issuer?: string } = {}): Promise<string> {
    const issuer = this.get(opts.issuer ?? ISSUER);
    return new SignJWT({ vc: { '@context': [VC_CONTEXT, KIKV_CONTEXT], type: ['VerifiableCredential', 'ValidatedQueryCredential'], credentialSubject: { validatedQuery } } })
      .setProtectedHeader({ alg: 'ES256', kid: issuer.kid, typ: 'JWT' })
      .setIssuer(issuer.did)
      .setSubject(opts.subject ?? CONSUMER)
      .setJti(`${issuer.did}#${randomUUID()}`)
      .setNotBefore(Math.floor(Date.now() / 1000) - 60)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 60)
      .setExpirationTime('1d')
      .sign(issuer.privateKey);
  }

  /** A JSON-LD ValidatedQueryCredential with a JsonWebSignature2020 proof (issueValidatedQueryCredential). */
  async ldCredential(query: QueryToIssue, issuer = ISSUER): Promise<JsonLdDocument> {
    const p = this.get(issuer);
    return issueValidatedQueryCredential({ issuer: p.did, signer: { kid: p.kid, privateKey: p.privateKey }, subject: CONSUMER, query, issuanceDate: new Date(Date.now() - 60_000), expirationDate: new Date(Date.now() + 86_400_000), format: 'ldp' });
  }

  /** A VP-JWT signed by `signer` (the holder unless a test misbehaves). */
  async vpJwt(credentials: string[], signer = CONSUMER): Promise<string> {
    const p = this.get(signer);
    return presentCredentials({ holder: p.did, signer: { kid: p.kid, privateKey: p.privateKey }, credentials, format: 'jwt' });
  }

  /** A JSON-LD presentation with a JsonWebSignature2020 proof, as the body's standard Base64. */
  async vpBase64(credentials: JsonLdDocument[], signer = CONSUMER): Promise<string> {
    const p = this.get(signer);
    return encodePresentation(await presentCredentials({ holder: p.did, signer: { kid: p.kid, privateKey: p.privateKey }, credentials, format: 'ldp' }));
  }
}

/** A matrix proving oxigraph for every computed item of the pack (the routing's test double, as in run-profile.test.ts). */
export function matrixProving(packs: string): EngineMatrix {
  const pack = loadPack(packs, 'zorginstituut-verpleeghuiszorg', '2023.1.0');
  const queries: EngineMatrix['queries'] = {};
  for (const [id, q] of pack.queries) queries[queryKey(id, q.sha256)] = { id, kind: 'pack', sha256: q.sha256, engines: { oxigraph: { verdict: 'same', providers: { sample: 'same' } } } };
  return { version: 1, reference: 'jena', providers: ['sample'], engines: ['oxigraph'], queries };
}

export interface Station {
  cfg: AgentConfig;
  db: Db;
  trust: StandaloneTrust;
  parties: Parties;
  url: string;
  app: FastifyInstance;
  didcomm: DidcommRoutes;
  packs: string;
  /** Credential ids the trust reports as revoked (tests add to it). */
  revoked: Set<string>;
  close(): Promise<void>;
}

/** Imports the sample provider once (a real SQLite file in a temp dir); stations share it. */
export async function importedSample(): Promise<{ cfg: AgentConfig; packs: string }> {
  const source = tempDir('kikv-inbox-src-');
  await writeSample(DEFAULT_SAMPLE, source);
  // The test's copy of the pack names ps-1.1's query identifier, so both ways of matching are exercised.
  const packs = tempDir('kikv-inbox-packs-');
  cpSync(join(ROOT, 'queries'), packs, { recursive: true });
  const file = join(packs, 'zorginstituut-verpleeghuiszorg/2023.1.0/ps-1-personeel.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('  - id: ps-1.1\n', `  - id: ps-1.1\n    identifier: urn:uuid:${PS11_ID}\n`));
  const { file: cfgFile } = writeConfig({ source });
  let cfg = loadConfig(cfgFile);
  cfg = { ...cfg, mapping: { ...cfg.mapping, validateUpTo: 0 }, indicators: { ...cfg.indicators, packs } };
  const db = openDb(cfg.storage.dataDir);
  await importSource(cfg, db, 'test');
  db.close();
  return { cfg, packs };
}

/** A server with both plugins on 127.0.0.1 (port 0) over the imported sample's database. */
/** `matrix` replaces the default (every pack item proven on oxigraph, jena the reference for queries we do not ship). */
export async function startStation(base: { cfg: AgentConfig; packs: string }, inbox: Partial<InboxSettings> = {}, shared?: Parties, opts: { matrix?: EngineMatrix } = {}): Promise<Station> {
  const db = openDb(base.cfg.storage.dataDir);
  const parties = shared ?? (await Parties.create());
  const revoked = new Set<string>();
  const t = new StandaloneTrust({
    did: base.cfg.agent.did,
    keysDir: base.cfg.trust.keysDir,
    tokenEndpoint: 'http://127.0.0.1/oauth2/token',
    peers: parties.peers(tempDir('kikv-peers-')),
    trustedIssuers: [ISSUER],
    isRevoked: async (id) => revoked.has(id),
    verifyPresentation,
  });
  const app = Fastify({ logger: false });
  const didcomm = didcommRoutes({ db, trust: t, cfg: base.cfg, inbox: { maxBodyBytes: 64 * 1024, hardBodyLimit: 256 * 1024, maxCredentials: 5, maxSparqlChars: 20_000, ...inbox }, matrix: opts.matrix ?? matrixProving(base.packs) });
  await app.register(didcomm);
  await app.register(answerPullRoutes({ db, trust: t }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return {
    cfg: base.cfg,
    db,
    trust: t,
    parties,
    url: `http://127.0.0.1:${addr.port}`,
    app,
    didcomm,
    packs: base.packs,
    revoked,
    close: async () => {
      await app.close();
      await didcomm.idle();
      db.close();
    },
  };
}

/** The validatedQuery of a pack item, as the beheerorganisatie would issue it. */
export function packQuery(packs: string, itemId: string, opts: { idForm?: 'identifier' | 'id'; uuid?: string; encoding?: 'base64' | 'url' } = {}): Record<string, unknown> {
  const pack = loadPack(packs, 'zorginstituut-verpleeghuiszorg', '2023.1.0');
  const sparql = pack.queries.get(itemId)!.sparql;
  return validatedQuery(sparql, opts);
}

export function validatedQuery(sparql: string, opts: { idForm?: 'identifier' | 'id'; uuid?: string; encoding?: 'base64' | 'url'; paramsSHACL?: string; profile?: string; ontology?: string | string[] } = {}): Record<string, unknown> {
  const uuid = opts.uuid ?? randomUUID();
  return {
    [opts.idForm ?? 'identifier']: opts.idForm === 'id' ? `urn:uuid:${uuid}` : uuid,
    name: 'test query',
    profile: opts.profile ?? PROFILE_IRI,
    ontology: opts.ontology ?? [ONTOLOGY],
    sparql: opts.encoding === 'url' ? encodeURIComponent(sparql) : Buffer.from(sparql).toString('base64'),
    ...(opts.paramsSHACL ? { paramsSHACL: opts.paramsSHACL } : {}),
  };
}

export function message(body: Record<string, unknown>, over: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { id: randomUUID(), typ: 'application/didcomm-plain+json', type: REQUEST_TYPE, from: CONSUMER, to: 'did:web:datastation.test', created_time: now, expires_time: now + 3600, body, ...over };
}

export async function post(url: string, msg: unknown, token?: string, contentType = 'application/didcomm-plain+json'): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${url}/didcomm`, { method: 'POST', headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function pull(url: string, id: string, token?: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${url}/answers/${encodeURIComponent(id)}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Pulls until the request is no longer being computed. */
export async function settled(s: Station, id: string, token: string): Promise<{ status: number; body: Record<string, any> }> {
  await s.didcomm.idle();
  return pull(s.url, id, token);
}
