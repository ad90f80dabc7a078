/**
 * Shared set-up for the inbox and pull tests: the sample provider imported into a real SQLite file,
 * a real HTTP server on 127.0.0.1 with the two plugins, and a Trust for the test built from real
 * crypto (ES256 keys, JWT access tokens checked with jwtVerify, VC-JWT / VP-JWT and a JWS-proofed
 * JSON-LD presentation). It stands in only until the standalone adapter is committed.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { CompactSign, compactVerify, decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { loadConfig } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/schema.js';
import { canonicalJson } from '../src/db/json.js';
import { openDb, type Db } from '../src/db/open.js';
import { queryKey, type EngineMatrix } from '../src/engines/routing.js';
import { loadPack } from '../src/indicators/pack.js';
import { importSource } from '../src/pipeline/import.js';
import { DEFAULT_SAMPLE, writeSample } from '../src/sample/generate.js';
import type { InboxSettings } from '../src/exchange/inbox.js';
import { decodeValidatedQuery } from '../src/exchange/validated-query.js';
import { ExchangeError, KIKV_SERVICE, type AccessTokenClaims, type Trust, type VerifiedCredential } from '../src/exchange/types.js';
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
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function party(did: string): Promise<Party> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { did, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: `${did}#key-1`, alg: 'ES256' } };
}

/** The test's trust: our token issuer and JWS signer, the consumers' and issuers' keys, real signature checks. */
export class TestTrust implements Trust {
  readonly mode = 'standalone' as const;
  constructor(
    readonly us: Party,
    readonly parties: Map<string, Party>,
    readonly trustedIssuers: string[],
  ) {}
  get did() {
    return this.us.did;
  }

  static async create(did: string): Promise<TestTrust> {
    const parties = new Map<string, Party>();
    for (const d of [CONSUMER, OTHER, ISSUER, ROGUE_ISSUER]) parties.set(d, await party(d));
    return new TestTrust(await party(did), parties, [ISSUER]);
  }

  party(did: string): Party {
    return this.parties.get(did)!;
  }

  async issueToken(subject: string, opts: { service?: string; signer?: Party; expiresIn?: string } = {}): Promise<string> {
    const signer = opts.signer ?? this.us;
    return new SignJWT({ service: opts.service ?? KIKV_SERVICE })
      .setProtectedHeader({ alg: 'ES256', kid: signer.publicJwk.kid! })
      .setIssuer(this.us.did)
      .setAudience(this.us.did)
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime(opts.expiresIn ?? '5m')
      .sign(signer.privateKey);
  }

  async verifyAccessToken(token: string, expect: { from: string; service: string }): Promise<AccessTokenClaims> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, await importKey(this.us.publicJwk), { issuer: this.us.did, audience: this.us.did, algorithms: ['ES256'] }));
    } catch (e) {
      throw new ExchangeError('e.p.auth.invalid-token', 401, `the access token is not valid here (${(e as Error).message}); request a new one from this datastation's token endpoint`, '$.headers.authorization');
    }
    if (payload.service !== expect.service) throw new ExchangeError('e.p.auth.wrong-service', 403, `the access token is for "${String(payload.service)}", not ${expect.service}`, '$.headers.authorization');
    if (payload.sub !== expect.from) throw new ExchangeError('e.p.auth.subject-mismatch', 403, `the access token was issued to ${payload.sub}, not ${expect.from}`, '$.from');
    return { subject: payload.sub!, service: expect.service, issuer: payload.iss!, expiresAt: payload.exp! };
  }

  /** A VC-JWT ValidatedQueryCredential. */
  async credential(validatedQuery: Record<string, unknown>, opts: { subject?: string; issuer?: string; expiresIn?: string } = {}): Promise<string> {
    const issuer = this.party(opts.issuer ?? ISSUER);
    const subject = opts.subject ?? CONSUMER;
    return new SignJWT({ vc: { '@context': ['https://www.w3.org/2018/credentials/v1', 'https://kik-v.nl/context/v1.json'], type: ['VerifiableCredential', 'ValidatedQueryCredential'], credentialSubject: { id: subject, validatedQuery } } })
      .setProtectedHeader({ alg: 'ES256', kid: issuer.publicJwk.kid! })
      .setIssuer(issuer.did)
      .setSubject(subject)
      .setJti(`urn:uuid:${randomUUID()}`)
      .setIssuedAt()
      .setExpirationTime(opts.expiresIn ?? '1d')
      .sign(issuer.privateKey);
  }

  /** A VP-JWT signed by `signer` (the holder unless a test misbehaves). */
  async vpJwt(credentials: string[], signer = CONSUMER): Promise<string> {
    const p = this.party(signer);
    return new SignJWT({ vp: { '@context': ['https://www.w3.org/2018/credentials/v1'], type: ['VerifiablePresentation'], verifiableCredential: credentials } })
      .setProtectedHeader({ alg: 'ES256', kid: p.publicJwk.kid! })
      .setIssuer(p.did)
      .setAudience(this.us.did)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(p.privateKey);
  }

  /** A JSON-LD presentation with a JWS proof over its canonical JSON, as standard Base64. */
  async vpBase64(credentials: string[], signer = CONSUMER): Promise<string> {
    const p = this.party(signer);
    const vp = { '@context': ['https://www.w3.org/2018/credentials/v1'], type: ['VerifiablePresentation'], holder: p.did, verifiableCredential: credentials };
    const jws = await new CompactSign(new TextEncoder().encode(canonicalJson(vp))).setProtectedHeader({ alg: 'ES256', kid: p.publicJwk.kid! }).sign(p.privateKey);
    return Buffer.from(JSON.stringify({ ...vp, proof: { type: 'JsonWebSignature2020', proofPurpose: 'assertionMethod', verificationMethod: p.publicJwk.kid, jws } })).toString('base64');
  }

  async verifyPresentation(vp: unknown, expect: { holder: string; at: Date }): Promise<VerifiedCredential[]> {
    if (typeof vp !== 'string') throw new ExchangeError('e.p.req.invalid-presentation', 400, 'vp must be a string', '$.body.vp');
    let signer: string;
    let credentials: unknown;
    if (vp.split('.').length === 3) {
      const claimed = String(decodeJwt(vp).iss);
      const key = this.parties.get(claimed);
      if (!key) throw new ExchangeError('e.p.req.presentation-signer', 403, `the presentation's signer ${claimed} is unknown`, '$.body.vp');
      try {
        const { payload } = await jwtVerify(vp, await importKey(key.publicJwk), { audience: this.us.did });
        signer = payload.iss!;
        credentials = (payload.vp as { verifiableCredential?: unknown }).verifiableCredential;
      } catch (e) {
        throw new ExchangeError('e.p.req.invalid-presentation', 400, `the presentation's signature does not verify (${(e as Error).message})`, '$.body.vp');
      }
    } else {
      const doc = JSON.parse(Buffer.from(vp, 'base64').toString('utf8')) as { proof: { jws: string; verificationMethod: string }; holder: string; verifiableCredential: unknown };
      const { proof, ...rest } = doc;
      const did = proof.verificationMethod.split('#')[0]!;
      const key = this.parties.get(did);
      if (!key) throw new ExchangeError('e.p.req.presentation-signer', 403, `the presentation's signer ${did} is unknown`, '$.body.vp.proof');
      try {
        const { payload } = await compactVerify(proof.jws, await importKey(key.publicJwk));
        if (new TextDecoder().decode(payload) !== canonicalJson(rest)) throw new Error('the proof does not cover this presentation');
      } catch (e) {
        throw new ExchangeError('e.p.req.invalid-presentation', 400, `the presentation's proof does not verify (${(e as Error).message})`, '$.body.vp.proof');
      }
      signer = did;
      credentials = rest.verifiableCredential;
    }
    if (signer !== expect.holder) throw new ExchangeError('e.p.req.presentation-signer', 403, `the presentation is signed by ${signer}, not by the sender ${expect.holder}`, '$.body.vp');
    const out: VerifiedCredential[] = [];
    for (const [i, c] of (credentials as string[]).entries()) {
      const at = `$.body.vp.verifiableCredential[${i}]`;
      const iss = String(decodeJwt(c).iss);
      if (!this.trustedIssuers.includes(iss)) throw new ExchangeError('e.p.req.untrusted-issuer', 403, `credential ${i} is issued by ${iss}, which is not a trusted issuer of ValidatedQueryCredential`, `${at}.issuer`);
      let payload;
      try {
        ({ payload } = await jwtVerify(c, await importKey(this.party(iss).publicJwk), { currentDate: expect.at }));
      } catch (e) {
        throw new ExchangeError('e.p.req.invalid-credential', 403, `credential ${i} does not verify (${(e as Error).message})`, at);
      }
      if (payload.sub !== expect.holder) throw new ExchangeError('e.p.req.credential-subject', 403, `credential ${i} is about ${payload.sub}, not ${expect.holder}`, `${at}.credentialSubject.id`);
      const vc = payload.vc as { type: string[]; credentialSubject: unknown };
      out.push({ id: payload.jti, format: 'jwt', types: vc.type, issuer: iss, subject: payload.sub, issuanceDate: new Date(payload.iat! * 1000).toISOString(), expirationDate: new Date(payload.exp! * 1000).toISOString(), query: decodeValidatedQuery(vc.credentialSubject, `${at}.credentialSubject`) });
    }
    return out;
  }

  resolveKey = async (kid: string) => {
    const did = kid.split('#')[0]!;
    const p = did === this.us.did ? this.us : this.parties.get(did);
    if (!p) throw new ExchangeError('e.p.req.unknown-key', 403, `no key ${kid}`);
    return { did, kid, jwk: p.publicJwk };
  };

  async signJws(payload: Uint8Array, headers: Record<string, unknown> = {}): Promise<string> {
    return new CompactSign(payload).setProtectedHeader({ ...headers, alg: 'ES256', kid: this.us.publicJwk.kid! }).sign(this.us.privateKey);
  }

  async jwks() {
    return { keys: [this.us.publicJwk] };
  }

  async accessTokenFor(): Promise<string> {
    throw new ExchangeError('e.p.xfer.no-token', 503, 'not used by these tests');
  }

  async endpointOf(): Promise<URL> {
    throw new ExchangeError('e.p.xfer.no-endpoint', 503, 'not used by these tests');
  }
}

async function importKey(jwk: JWK) {
  const { importJWK } = await import('jose');
  return importJWK(jwk, 'ES256');
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
  trust: TestTrust;
  url: string;
  app: FastifyInstance;
  didcomm: DidcommRoutes;
  packs: string;
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
export async function startStation(base: { cfg: AgentConfig; packs: string }, inbox: Partial<InboxSettings> = {}, trust?: TestTrust): Promise<Station> {
  const db = openDb(base.cfg.storage.dataDir);
  const t = trust ?? (await TestTrust.create(base.cfg.agent.did));
  const app = Fastify({ logger: false });
  const didcomm = didcommRoutes({ db, trust: t, cfg: base.cfg, inbox: { maxBodyBytes: 64 * 1024, hardBodyLimit: 256 * 1024, maxCredentials: 5, maxSparqlChars: 20_000, ...inbox }, matrix: matrixProving(base.packs) });
  await app.register(didcomm);
  await app.register(answerPullRoutes({ db, trust: t }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return {
    cfg: base.cfg,
    db,
    trust: t,
    url: `http://127.0.0.1:${addr.port}`,
    app,
    didcomm,
    packs: base.packs,
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
