import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { compactVerify, createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, importJWK, jwtVerify, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { DIDCOMM_PLAIN, PROBLEM_REPORT_TYPE, problemReport, RESPONSE_TYPE, type DidcommMessage, type ResultSetPayload } from '../exchange/messages.js';
import { OAuthError, type TokenIssuer } from '../exchange/trust/oauth.js';
import { KIKV_SERVICE } from '../exchange/types.js';
import { tokenRoutes } from '../server/token.js';

/** What the simulated KIK-starter did with one incoming message. */
export interface Reception {
  messageId: string | null;
  thid: string | null;
  receivedAt: string;
  verified: boolean;
  duplicate: boolean;
  /** Why the message was refused (null when it was accepted). */
  problem: string | null;
  kid: string | null;
  resultset: ResultSetPayload['resultset'] | null;
  /** For a problem report (with acceptProblemReports): what the datastation reported, about which request. */
  report?: { pthid: string | null; code: string; comment: string };
}

export interface KikStarterSimOptions {
  /** Our own DID: messages must be addressed to it. */
  did: string;
  /** The datastation whose answers we accept. */
  agentDid: string;
  /** Where to fetch the datastation's keys, or the key set itself. */
  agentJwks: string | JSONWebKeySet;
  host?: string;
  port?: number;
  /** Test hook: called before a message is processed (e.g. to stall while a test kills the sender). */
  beforeHandle?: (msg: unknown) => Promise<void>;
  /** Called with every reception, e.g. to print it. */
  onReception?: (r: Reception) => void;
  /**
   * Demand a bearer token (as a KIK-V consumer's DIDComm service does): called with the token, or
   * undefined when none was sent; throws to refuse with 401 and a problem report.
   */
  requireToken?: (token: string | undefined, from: unknown) => Promise<void>;
  /** Also accept DIDComm problem reports from the datastation (recorded with `report`). */
  acceptProblemReports?: boolean;
  /**
   * Run our own token endpoint (POST /oauth2/token, RFC 7523) with this key, as a KIK-starter's
   * authorisation server does: the datastation gets an access token with an assertion signed by its
   * key (checked against `agentJwks`), and every POST to /didcomm must carry one of these tokens
   * (unless `requireToken` decides otherwise).
   */
  tokenKey?: { kid: string; privateKey: CryptoKey; publicJwk: JWK };
}

export interface KikStarterSim {
  url: string;
  endpoint: string;
  /** Our token endpoint (with tokenKey), for the datastation's trust.peers[].tokenEndpoint. */
  tokenEndpoint?: string;
  received: Reception[];
  /** Accepted messages, one per message id. */
  accepted(): Reception[];
  /** Waits for the first verified message (a response, or with acceptProblemReports a report) about request `thid`. */
  waitFor(thid: string, timeoutMs?: number): Promise<Reception>;
  close(): Promise<void>;
  app: FastifyInstance;
}

/**
 * A small stand-in for Zorginstituut's KIK-starter: it receives DIDComm responses, verifies the
 * JWS against the datastation's JWKS and the result ids against the thread, and reports what it got.
 * A repeated message id is acknowledged but not counted twice (deliveries are idempotent).
 */
export async function startKikStarterSim(opts: KikStarterSimOptions): Promise<KikStarterSim> {
  const keys = agentKeys(opts.agentJwks);
  const received: Reception[] = [];
  const waiting = new Set<() => void>();
  const record = (r: Reception) => {
    received.push(r);
    opts.onReception?.(r);
    for (const w of [...waiting]) w();
  };
  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  app.addContentTypeParser(DIDCOMM_PLAIN, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  let tokenEndpoint = '';
  const tokens = opts.tokenKey ? simTokenIssuer(opts, keys, () => tokenEndpoint) : undefined;
  if (tokens) await app.register(tokenRoutes(tokens.issuer));
  const requireToken = opts.requireToken ?? tokens?.require;

  app.post('/didcomm', async (req, reply) => {
    await opts.beforeHandle?.(req.body);
    const msg = req.body as Partial<DidcommMessage>;
    const base = { messageId: typeof msg?.id === 'string' ? msg.id : null, thid: typeof msg?.thid === 'string' ? msg.thid : null, receivedAt: new Date().toISOString() };
    if (requireToken) {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      try {
        await requireToken(token, msg?.from);
      } catch (e) {
        const problem = `access token refused: ${(e as Error).message}`;
        record({ ...base, verified: false, duplicate: false, problem, kid: null, resultset: null });
        const report = problemReport({ about: { id: base.messageId ?? 'unknown', thid: base.thid ?? undefined }, from: opts.did, to: opts.agentDid, code: 'e.p.req.unauthorized', comment: problem });
        return reply.code(401).type(DIDCOMM_PLAIN).send(JSON.stringify(report));
      }
    }
    if (base.messageId && received.some((r) => r.messageId === base.messageId && r.verified)) {
      record({ ...base, verified: true, duplicate: true, problem: null, kid: null, resultset: null });
      return reply.code(200).send({ status: 'already-received', id: base.messageId });
    }
    const checked = opts.acceptProblemReports && msg?.type === PROBLEM_REPORT_TYPE ? checkReport(msg, opts) : await check(msg, opts, keys);
    record({ ...base, duplicate: false, ...checked });
    if (checked.problem) {
      const report = problemReport({ about: { id: base.messageId ?? 'unknown', thid: base.thid ?? undefined }, from: opts.did, to: opts.agentDid, code: 'e.p.msg.invalid-response', comment: checked.problem });
      return reply.code(400).type(DIDCOMM_PLAIN).send(JSON.stringify(report));
    }
    return reply.code(202).send({ status: 'accepted', id: base.messageId });
  });
  app.get('/received', async () => received);

  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  if (tokens) tokenEndpoint = `${url}/oauth2/token`;
  return {
    url,
    endpoint: `${url}/didcomm`,
    ...(tokens ? { tokenEndpoint } : {}),
    received,
    accepted: () => received.filter((r) => r.verified && !r.duplicate),
    waitFor: (thid, timeoutMs = 30_000) =>
      new Promise<Reception>((resolve, reject) => {
        const matching = () => received.find((r) => r.verified && !r.duplicate && (r.thid === thid || r.report?.pthid === thid));
        const done = () => {
          const r = matching();
          if (!r) return;
          clearTimeout(timer);
          waiting.delete(done);
          resolve(r);
        };
        const timer = setTimeout(() => {
          waiting.delete(done);
          reject(new Error(`no verified response or problem report about request ${thid} arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.add(done);
        done();
      }),
    close: () => app.close(),
    app,
  };
}

type Verifier = Parameters<typeof compactVerify>[1];

/**
 * The KIK-starter's authorisation server for the datastation: redeems the datastation's RFC 7523
 * assertion (iss = sub = its DID, aud = our token endpoint or DID, signed with a key of its JWKS, fresh
 * jti) for a short-lived at+jwt, and checks such tokens on /didcomm.
 */
function simTokenIssuer(opts: KikStarterSimOptions, agentVerifier: Verifier, endpoint: () => string): { issuer: TokenIssuer; require: NonNullable<KikStarterSimOptions['requireToken']> } {
  const key = opts.tokenKey!;
  const seen = new Set<string>();
  let publicKey: CryptoKey | undefined;
  const grant = (m: string) => new OAuthError('invalid_grant', 400, m);
  const own = async (token: string) => {
    publicKey ??= (await importJWK(key.publicJwk, 'ES256')) as CryptoKey;
    return (await jwtVerify(token, publicKey, { algorithms: ['ES256'], issuer: opts.did, audience: opts.did, typ: 'at+jwt', requiredClaims: ['sub', 'exp'] })).payload;
  };
  const issuer: TokenIssuer = {
    async tokenForAssertion(assertion, scope) {
      if ((scope ?? KIKV_SERVICE) !== KIKV_SERVICE) throw new OAuthError('invalid_scope', 400, `scope must be "${KIKV_SERVICE}"`);
      let claims;
      try {
        claims = (await jwtVerify(assertion, agentVerifier as Parameters<typeof jwtVerify>[1], { algorithms: ['ES256'], issuer: opts.agentDid, subject: opts.agentDid, audience: [endpoint(), opts.did], requiredClaims: ['exp', 'jti'], clockTolerance: 30 })).payload;
      } catch (e) {
        if (e instanceof joseErrors.JWTClaimValidationFailed) throw grant(`the assertion's ${e.claim} claim is wrong (${e.reason}); iss and sub must be ${opts.agentDid}, aud ${endpoint()}`);
        if (e instanceof joseErrors.JWTExpired) throw grant('the assertion expired; sign a fresh one');
        throw new OAuthError('invalid_client', 401, `the assertion is not signed by a key of ${opts.agentDid} (${(e as Error).message})`);
      }
      if (seen.has(String(claims.jti))) throw grant(`jti ${String(claims.jti)} was already used`);
      seen.add(String(claims.jti));
      const access = await new SignJWT({ service: KIKV_SERVICE, scope: KIKV_SERVICE, client_id: opts.agentDid })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
        .setIssuer(opts.did)
        .setAudience(opts.did)
        .setSubject(opts.agentDid)
        .setIssuedAt()
        .setExpirationTime('5m')
        .setJti(randomUUID())
        .sign(key.privateKey);
      return { access_token: access, token_type: 'Bearer', expires_in: 300, scope: KIKV_SERVICE };
    },
    async introspect(token) {
      try {
        const c = await own(token);
        return { active: true, iss: c.iss, sub: c.sub, aud: opts.did, service: c.service as string, scope: c.scope as string, exp: c.exp };
      } catch {
        return { active: false };
      }
    },
  };
  const require = async (token: string | undefined, from: unknown) => {
    if (!token) throw new Error(`no bearer token; obtain one from ${endpoint()}`);
    let c;
    try {
      c = await own(token);
    } catch (e) {
      throw new Error(`the token is not one of ours (${(e as Error).message})`);
    }
    if (c.sub !== from) throw new Error(`the token was issued to ${String(c.sub)}, the message is from ${String(from)}`);
    if (c.service !== KIKV_SERVICE) throw new Error(`the token is for ${String(c.service)}, not ${KIKV_SERVICE}`);
  };
  return { issuer, require };
}

/** The datastation's keys to check a JWS with: its JWKS URL (fetched and cached) or the key set itself. */
export function agentKeys(jwks: string | JSONWebKeySet): Verifier {
  return typeof jwks === 'string' ? createRemoteJWKSet(new URL(jwks)) : createLocalJWKSet(jwks);
}

/** The outcome of checking a response message as the KIK-starter does. */
export type ResponseCheck = Pick<Reception, 'verified' | 'problem' | 'kid' | 'resultset'>;

/**
 * Checks a DIDComm response as the KIK-starter does, whether it was pushed or pulled: type, thid, from =
 * the datastation, to = us, the JWS verifies against the datastation's keys, every result id is
 * `<thid>#<queryId>` with SPARQL JSON results. Never throws: `problem` says what is wrong.
 */
export function verifyResponse(msg: unknown, expect: { did: string; agentDid: string }, keys: Verifier): Promise<ResponseCheck> {
  return check(msg as Partial<DidcommMessage>, expect, keys);
}

/**
 * The same response with its JWS payload changed after signing (one result row dropped or a value
 * altered): what a man in the middle would forward. A correct check must refuse it.
 */
export function tamperedResponse<M extends { body?: unknown }>(msg: M): M {
  const jws = (msg.body as { response?: unknown } | undefined)?.response;
  if (typeof jws !== 'string' || jws.split('.').length !== 3) throw new Error('the message has no compact JWS in body.response to tamper with');
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const text = Buffer.from(payload, 'base64url').toString('utf8');
  // Change a digit when there is one (a forged count), else append a space: either way the signed bytes differ.
  const forged = /\d/.test(text) ? text.replace(/\d/, (d) => String((Number(d) + 1) % 10)) : `${text} `;
  return { ...msg, body: { ...(msg.body as object), response: `${header}.${Buffer.from(forged, 'utf8').toString('base64url')}.${signature}` } };
}

/** A problem report from the datastation: addressed to us, about a thread, with an e.p code and a comment. */
function checkReport(msg: Partial<DidcommMessage>, opts: KikStarterSimOptions): Pick<Reception, 'verified' | 'problem' | 'kid' | 'resultset' | 'report'> {
  const fail = (problem: string) => ({ verified: false, problem, kid: null, resultset: null });
  if (typeof msg.id !== 'string' || !msg.id) return fail('id is missing');
  if (msg.from !== opts.agentDid) return fail(`from is ${JSON.stringify(msg.from)}, expected the datastation ${opts.agentDid}`);
  const to: unknown[] = Array.isArray(msg.to) ? msg.to : [msg.to];
  if (!to.includes(opts.did)) return fail(`to is ${JSON.stringify(msg.to)}, which does not name ${opts.did}`);
  const body = (msg.body ?? {}) as { code?: unknown; comment?: unknown };
  if (typeof body.code !== 'string' || !/^e\.p(\.[a-z0-9-]+)+$/.test(body.code)) return fail(`body.code is ${JSON.stringify(body.code)}, expected e.p.<scope>.<descriptor>`);
  if (typeof body.comment !== 'string' || !body.comment) return fail('body.comment is missing');
  return { verified: true, problem: null, kid: null, resultset: null, report: { pthid: typeof msg.pthid === 'string' ? msg.pthid : null, code: body.code, comment: body.comment } };
}

async function check(msg: Partial<DidcommMessage>, opts: { did: string; agentDid: string }, keys: Verifier): Promise<Pick<Reception, 'verified' | 'problem' | 'kid' | 'resultset'>> {
  const fail = (problem: string, kid: string | null = null) => ({ verified: false, problem, kid, resultset: null });
  if (typeof msg !== 'object' || msg === null) return fail('body is not a JSON object');
  if (msg.type !== RESPONSE_TYPE) return fail(`type is ${JSON.stringify(msg.type)}, expected ${RESPONSE_TYPE}`);
  if (typeof msg.id !== 'string' || !msg.id) return fail('id is missing');
  if (typeof msg.thid !== 'string' || !msg.thid) return fail('thid (the request id) is missing');
  if (msg.from !== opts.agentDid) return fail(`from is ${JSON.stringify(msg.from)}, expected the datastation ${opts.agentDid}`);
  const to: unknown[] = Array.isArray(msg.to) ? msg.to : [msg.to];
  if (!to.includes(opts.did)) return fail(`to is ${JSON.stringify(msg.to)}, which does not name ${opts.did}`);
  const jws = (msg.body as { response?: unknown } | undefined)?.response;
  if (typeof jws !== 'string') return fail('body.response is not a compact JWS string');
  let payload: ResultSetPayload;
  let kid: string | null = null;
  try {
    const v = await compactVerify(jws, keys, { algorithms: ['ES256'] });
    kid = v.protectedHeader.kid ?? null;
    payload = JSON.parse(new TextDecoder().decode(v.payload)) as ResultSetPayload;
  } catch (e) {
    return fail(`signature does not verify against the datastation's JWKS: ${(e as Error).message}`);
  }
  if (!Array.isArray(payload.resultset) || payload.resultset.length === 0) return fail('the signed payload has no resultset', kid);
  for (const [i, r] of payload.resultset.entries()) {
    if (typeof r.id !== 'string' || !r.id.startsWith(`${msg.thid}#`)) return fail(`resultset[${i}].id is ${JSON.stringify(r.id)}, expected "${msg.thid}#<queryId>"`, kid);
    if (!r.result?.head || !Array.isArray(r.result.results?.bindings)) return fail(`resultset[${i}].result is not SPARQL JSON results`, kid);
  }
  return { verified: true, problem: null, kid, resultset: payload.resultset };
}
