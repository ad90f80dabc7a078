import Fastify, { type FastifyInstance } from 'fastify';
import { compactVerify, createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose';
import { DIDCOMM_PLAIN, PROBLEM_REPORT_TYPE, problemReport, RESPONSE_TYPE, type DidcommMessage, type ResultSetPayload } from '../exchange/messages.js';

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
}

export interface KikStarterSim {
  url: string;
  endpoint: string;
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

  app.post('/didcomm', async (req, reply) => {
    await opts.beforeHandle?.(req.body);
    const msg = req.body as Partial<DidcommMessage>;
    const base = { messageId: typeof msg?.id === 'string' ? msg.id : null, thid: typeof msg?.thid === 'string' ? msg.thid : null, receivedAt: new Date().toISOString() };
    if (opts.requireToken) {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      try {
        await opts.requireToken(token, msg?.from);
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
  return {
    url,
    endpoint: `${url}/didcomm`,
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
