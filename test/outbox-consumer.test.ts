import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { compactVerify, createLocalJWKSet, createRemoteJWKSet, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { approveAnswer, getAnswer, recordAnswer } from '../src/answers/answers.js';
import { listAudit, verifyAuditChain } from '../src/audit/log.js';
import { openDb, type Db } from '../src/db/open.js';
import { DIDCOMM_PLAIN, PROBLEM_REPORT_TYPE, RESPONSE_TYPE, responseMessage, signResultSetWith, type DidcommMessage, type ResultSetPayload } from '../src/exchange/messages.js';
import { deliverDue, listOutbox, listOutboxEntries, queueApprovedAnswers, queueProblemReport, queueResponse, retryAfterOf, type DeliverySettings } from '../src/exchange/outbox.js';
import { ExchangeError, KIKV_SERVICE, type Trust } from '../src/exchange/types.js';
import { StandaloneTrust } from '../src/exchange/trust/index.js';
import type { IndicatorRun } from '../src/indicators/pack.js';
import { jwksRoutes } from '../src/server/jwks.js';
import { tokenRoutes } from '../src/server/token.js';
import { startKikStarterSim } from '../src/sim/kik-starter.js';
import { tempDir } from './helpers.js';

const AGENT = 'did:web:datastation.test';
const CONSUMER = 'did:web:consumer.test';
const KIK_STARTER = 'did:web:kik-starter.test';
const FAR = new Date('9999-12-31T00:00:00Z');

type AgentTrust = Pick<Trust, 'did' | 'signJws' | 'jwks' | 'accessTokenFor' | 'endpointOf'>;

/**
 * The agent's StandaloneTrust, rebuilt (so its token cache is empty) when asked for a fresh token
 * with `{ refresh: true }`: the contract the outbox uses after a 401, which Trust.accessTokenFor
 * does not declare yet (proposed for src/exchange/types.ts; StandaloneTrust caches and ignores it).
 */
function refreshing(make: () => StandaloneTrust): AgentTrust & { fresh: number } {
  let t = make();
  const r = {
    fresh: 0,
    did: t.did,
    signJws: (p: Uint8Array, h?: Record<string, unknown>) => t.signJws(p, h),
    jwks: () => t.jwks(),
    endpointOf: (peer: string, service: string) => t.endpointOf(peer, service),
    accessTokenFor: (peer: string, service: string, o?: { refresh?: boolean }) => {
      if (o?.refresh) {
        t = make();
        r.fresh++;
      }
      return t.accessTokenFor(peer, service);
    },
  };
  return r;
}

interface Post {
  id: string;
  type: string;
  token: string | null;
  status: number;
  message: DidcommMessage;
}

/**
 * A consumer's DIDComm service, built from the agent's own parts on the other side: a StandaloneTrust
 * as the consumer's authorisation server (the RFC 7523 token endpoint of src/server/token.ts), and a
 * /didcomm endpoint that demands one of its tokens issued to the sender, verifies signed responses
 * against the agent's published JWKS (fetched over HTTP), and can be told to forget tokens or fail.
 */
async function startConsumer(agent: { did: string; jwksUrl: string; jwks: () => Promise<{ keys: JWK[] }> }) {
  let trust: StandaloneTrust | undefined;
  const issued: string[] = [];
  const denied = new Set<string>();
  const posts: Post[] = [];
  const accepted = new Map<string, DidcommMessage>();
  let failNext = 0;
  let retryAfter: string | undefined;
  let refuseAllTokens = false;
  const agentKeys = createRemoteJWKSet(new URL(agent.jwksUrl));
  const app: FastifyInstance = Fastify({ logger: false });
  await app.register(
    tokenRoutes({
      tokenForAssertion: async (assertion, scope) => {
        const res = await trust!.tokenForAssertion(assertion, scope);
        issued.push(res.access_token);
        return res;
      },
      introspect: (t) => trust!.introspect(t),
    }),
  );
  await app.register(async (inner) => {
    inner.addContentTypeParser(DIDCOMM_PLAIN, { parseAs: 'string' }, (_r, body, done) => done(null, JSON.parse(body as string)));
    inner.post('/didcomm', async (req, reply) => {
      const msg = req.body as DidcommMessage;
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
      const record = (status: number) => posts.push({ id: msg.id, type: msg.type, token, status, message: msg });
      let status = 0;
      if (!token || refuseAllTokens || denied.has(token)) status = 401;
      else {
        try {
          await trust!.verifyAccessToken(token, { from: msg.from, service: KIKV_SERVICE });
        } catch (e) {
          status = e instanceof ExchangeError ? e.status : 500;
        }
      }
      if (!status && failNext > 0) {
        failNext--;
        status = 503;
      }
      if (status) {
        record(status);
        if (status === 503 && retryAfter) reply.header('retry-after', retryAfter);
        return reply.code(status).send({ error: status === 401 ? 'invalid_token' : 'unavailable' });
      }
      // Throws (500) when the JWS does not verify against the agent's JWKS: the test then fails on the outcome.
      if (msg.type === RESPONSE_TYPE) await compactVerify(String(msg.body.response), agentKeys, { algorithms: ['ES256'] });
      record(202);
      const repeat = accepted.has(msg.id);
      accepted.set(msg.id, msg);
      return reply.code(repeat ? 200 : 202).send({ id: msg.id });
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const agentJwks = (await agent.jwks()).keys;
  trust = new StandaloneTrust({
    did: CONSUMER,
    keysDir: join(tempDir(), 'consumer-keys'),
    tokenEndpoint: `${url}/oauth2/token`,
    peers: [{ did: agent.did, name: 'the datastation', roles: ['consumer'], keys: agentJwks.map((jwk) => ({ did: agent.did, kid: `${agent.did}#${jwk.kid}`, jwk })) }],
    trustedIssuers: [],
    isRevoked: async () => false,
    verifyPresentation: async () => {
      throw new Error('the consumer receives no presentations');
    },
  });
  return {
    url,
    endpoint: `${url}/didcomm`,
    tokenEndpoint: `${url}/oauth2/token`,
    posts,
    issued,
    accepted,
    /** The consumer forgets every token it issued so far (restart, revocation). */
    revokeTokens: (tokens: string[]) => tokens.forEach((t) => denied.add(t)),
    failNext: (n: number, after?: string) => {
      failNext = n;
      retryAfter = after;
    },
    refuseAllTokens: (on: boolean) => (refuseAllTokens = on),
    /** Checks a token as this consumer's authorisation server issued it, to `from`. */
    verify: (token: string, from: string) => trust!.verifyAccessToken(token, { from, service: KIKV_SERVICE }),
    close: () => app.close(),
  };
}

function fakeRun(id: string, value: string): IndicatorRun {
  return {
    indicator: { id, number: '1.1', name: 'Gemiddeld aantal personeelsleden' } as IndicatorRun['indicator'],
    parameters: { start_periode: { value: '2023-01-01', datatype: 'http://www.w3.org/2001/XMLSchema#date' } },
    queryHash: 'q'.repeat(64),
    engine: 'oxigraph',
    normalisation: [],
    results: { head: { vars: ['Totaal'] }, results: { bindings: [{ Totaal: { type: 'literal', value, datatype: 'http://www.w3.org/2001/XMLSchema#decimal' } }] } },
  };
}

describe('outbox delivery to a consumer through a trust adapter', () => {
  let db: Db;
  let trust: StandaloneTrust;
  let renewing: ReturnType<typeof refreshing>;
  let jwksServer: FastifyInstance;
  let jwksUrl = '';
  let consumer: Awaited<ReturnType<typeof startConsumer>>;
  let settings: DeliverySettings;
  const snapshot = 's'.repeat(64);
  let year = 2000;
  /** Which request and query each answer answers, as the requests table would tell. */
  const addresses = new Map<string, { recipient: string; requestId: string; queryId: string }>();

  beforeAll(async () => {
    db = openDb(tempDir());
    db.prepare(`INSERT INTO snapshots VALUES (?, '2024-01-01', 1, 'test', 'onz-3.0.0', 'r.json', 1, 1, 0)`).run(snapshot);
    const keysDir = join(tempDir(), 'agent-keys');
    const peers: ConstructorParameters<typeof StandaloneTrust>[0]['peers'] = [];
    const makeAgent = () =>
      new StandaloneTrust({
        did: AGENT,
        keysDir,
        tokenEndpoint: 'https://datastation.test/oauth2/token',
        peers,
        trustedIssuers: [],
        isRevoked: async () => false,
        verifyPresentation: async () => {
          throw new Error('not used by the outbox');
        },
      });
    trust = makeAgent();
    renewing = refreshing(makeAgent);
    // Our JWKS, published the way the server does (src/server/jwks.ts), for the consumer to verify with.
    jwksServer = Fastify();
    await jwksServer.register(jwksRoutes({ jwks: () => trust.jwks() }));
    jwksUrl = `${await jwksServer.listen({ host: '127.0.0.1', port: 0 })}/.well-known/jwks.json`;
    consumer = await startConsumer({ did: AGENT, jwksUrl, jwks: () => trust.jwks() });
    peers.push({ did: CONSUMER, name: 'a consumer', roles: [], endpoint: consumer.endpoint, tokenEndpoint: consumer.tokenEndpoint, keys: [] });
    // The KIK-starter's endpoint is only configured (delivery.kikStarter), not registered as a peer's.
    peers.push({ did: KIK_STARTER, name: 'KIK-starter', roles: [], tokenEndpoint: consumer.tokenEndpoint, keys: [] });
    settings = { from: AGENT, kikStarter: { did: KIK_STARTER, endpoint: 'http://127.0.0.1:9/didcomm' }, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 4 }, timeoutMs: 5000 };
  });
  afterAll(async () => {
    await consumer.close();
    await jwksServer.close();
    db.close();
  });
  beforeEach(() => {
    consumer.failNext(0);
    consumer.refuseAllTokens(false);
  });

  /** An approved answer to a fresh request from `recipient`. */
  function approvedAnswer(recipient = CONSUMER) {
    const { answer } = recordAnswer(db, fakeRun('ps-1.1', String(year)), { profile: 'p', version: '1.0.0', year: year++, snapshotHash: snapshot, actor: 'test' });
    approveAnswer(db, answer.id, 'A. Bestuurder');
    const address = { recipient, requestId: randomUUID(), queryId: randomUUID() };
    addresses.set(answer.id, address);
    return { answer, address };
  }
  const queue = () => queueApprovedAnswers(db, trust, settings, 'test', { addressOf: (a) => addresses.get(a.id) });
  const deliver = (now = new Date()) => deliverDue(db, settings, now, 'test', { trust });

  it('signs through the trust, addresses the consumer that asked, and POSTs with its bearer token', async () => {
    const { answer, address } = approvedAnswer();
    const [row] = await queue();
    expect(row).toMatchObject({ answer_id: answer.id, recipient: CONSUMER, endpoint: '' });
    expect(await deliver()).toEqual([expect.objectContaining({ id: row!.id, kind: 'response', status: 'delivered', attempts: 1 })]);

    const post = consumer.posts.at(-1)!;
    expect(post).toMatchObject({ id: row!.id, status: 202 });
    expect(post.token).toBe(consumer.issued.at(-1));
    expect(post.message).toMatchObject({ type: RESPONSE_TYPE, thid: address.requestId, from: AGENT, to: [CONSUMER] });
    const { payload, protectedHeader } = await compactVerify(String(post.message.body.response), createLocalJWKSet(await trust.jwks()));
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: (await trust.jwks()).keys[0]!.kid, typ: 'JOSE', cty: 'application/json' });
    const resultset = (JSON.parse(new TextDecoder().decode(payload)) as ResultSetPayload).resultset;
    expect(resultset.map((r) => r.id)).toEqual([`${address.requestId}#${address.queryId}`]);
    expect(resultset[0]!.result.results.bindings[0]!.Totaal!.value).toBe(String(year - 1));

    expect(getAnswer(db, answer.id).status).toBe('delivered');
    const audit = listAudit(db, { subject: answer.id });
    expect(audit.map((e) => e.action)).toEqual(['answer.computed', 'answer.approved', 'answer.signed', 'answer.delivered']);
    for (const e of audit.slice(2)) {
      expect(e.thread_id).toBe(address.requestId);
      expect(JSON.parse(e.details).message).toEqual(post.message);
      expect(e.details).not.toContain(post.token!);
    }
    expect(verifyAuditChain(db)).toBeNull();
  });

  it('a 401 from the consumer gets one fresh token and the same message again', async () => {
    const { answer } = approvedAnswer();
    const stale = await renewing.accessTokenFor(CONSUMER, KIKV_SERVICE);
    consumer.revokeTokens([stale]); // the consumer forgot it (restart, revocation)
    const [row] = await queue();
    const issuedBefore = consumer.issued.length;
    expect(await deliverDue(db, settings, new Date(), 'test', { trust: renewing })).toEqual([expect.objectContaining({ status: 'delivered', attempts: 1 })]);
    expect(renewing.fresh).toBe(1);
    const posts = consumer.posts.filter((p) => p.id === row!.id);
    expect(posts.map((p) => p.status)).toEqual([401, 202]);
    expect(posts[0]!.token).toBe(stale);
    expect(posts[1]!.token).not.toBe(stale);
    expect(posts[1]!.token).toBe(consumer.issued.at(-1));
    expect(consumer.issued.length).toBe(issuedBefore + 1);
    const delivered = listAudit(db, { subject: answer.id }).find((e) => e.action === 'answer.delivered')!;
    expect(JSON.parse(delivered.details)).toMatchObject({ tokenRefreshed: true, attempts: 1 });
  });

  it('a consumer that refuses the fresh token too counts as one failed try, not a loop', async () => {
    approvedAnswer();
    const [row] = await queue();
    consumer.refuseAllTokens(true);
    const issuedBefore = consumer.issued.length;
    const [outcome] = await deliverDue(db, settings, FAR, 'test', { trust: renewing });
    expect(outcome).toMatchObject({ id: row!.id, status: 'pending', attempts: 1 });
    expect(outcome!.error).toMatch(/^HTTP 401 from http:\/\/127\.0\.0\.1:\d+\/didcomm/);
    expect(consumer.posts.filter((p) => p.id === row!.id).map((p) => p.status)).toEqual([401, 401]);
    expect(consumer.issued.length).toBe(issuedBefore + 1);
    consumer.refuseAllTokens(false);
    expect(await deliverDue(db, settings, FAR, 'test', { trust: renewing })).toEqual([expect.objectContaining({ id: row!.id, status: 'delivered', attempts: 2 })]);
  });

  it('retries after failures with the same message id, backing off, until the consumer takes it', async () => {
    const { answer } = approvedAnswer();
    const [row] = await queue();
    consumer.failNext(2);
    const started = Date.now();
    const first = await deliver(FAR);
    expect(first).toEqual([expect.objectContaining({ status: 'pending', attempts: 1, error: expect.stringContaining('HTTP 503') })]);
    const pending = listOutboxEntries(db).find((e) => e.id === row!.id)!;
    expect(Date.parse(pending.next_attempt_at)).toBeGreaterThanOrEqual(started);
    // Not due yet at the time of the failure: nothing is sent.
    expect((await deliver(new Date(started - 1000))).filter((o) => o.id === row!.id)).toEqual([]);
    await deliver(FAR);
    expect(await deliver(FAR)).toEqual([expect.objectContaining({ id: row!.id, status: 'delivered', attempts: 3 })]);
    const posts = consumer.posts.filter((p) => p.id === row!.id);
    expect(posts.map((p) => p.status)).toEqual([503, 503, 202]);
    expect(new Set(posts.map((p) => JSON.stringify(p.message))).size).toBe(1);
    expect(listAudit(db, { subject: answer.id }).map((e) => e.action).slice(2)).toEqual(['answer.signed', 'delivery.retry-scheduled', 'delivery.retry-scheduled', 'answer.delivered']);
  });

  it('two delivery loops at once: the consumer gets the same message id twice, the answer is delivered once', async () => {
    const { answer } = approvedAnswer();
    const [row] = await queue();
    const [one, two] = await Promise.all([deliver(), deliver()]);
    expect([...one!, ...two!].filter((o) => o.id === row!.id).map((o) => o.status)).toEqual(['delivered', 'delivered']);
    expect(consumer.posts.filter((p) => p.id === row!.id).map((p) => p.status)).toEqual([202, 202]);
    const actions = listAudit(db, { subject: answer.id }).map((e) => e.action);
    expect(actions.filter((a) => a === 'answer.delivered')).toHaveLength(1);
    expect(actions.filter((a) => a === 'delivery.repeated')).toHaveLength(1);
    expect(listOutboxEntries(db).find((e) => e.id === row!.id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('a consumer\'s Retry-After is honoured over the shorter backoff', async () => {
    approvedAnswer();
    const [row] = await queue();
    consumer.failNext(1, '120');
    const before = Date.now();
    expect((await deliver())[0]).toMatchObject({ id: row!.id, status: 'pending', attempts: 1 });
    const next = Date.parse(listOutboxEntries(db).find((e) => e.id === row!.id)!.next_attempt_at);
    expect(next).toBeGreaterThanOrEqual(before + 120_000);
    expect(await deliver(new Date(before + 60_000))).toEqual([]);
    expect(await deliver(new Date(before + 121_000))).toEqual([expect.objectContaining({ id: row!.id, status: 'delivered', attempts: 2 })]);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterOf('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterOf('99999999', now)).toBe(24 * 3600 * 1000);
    expect(retryAfterOf('soon', now)).toBeUndefined();
  });

  it('after the last try the message is failed, visible in the outbox list, and the answer stays approved', async () => {
    const { answer } = approvedAnswer();
    const [row] = await queue();
    consumer.failNext(99);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await deliver(FAR)).find((o) => o.id === row!.id)?.status);
    expect(statuses).toEqual(['pending', 'pending', 'failed']);
    expect(await deliver(FAR)).toEqual([]);
    expect(consumer.posts.filter((p) => p.id === row!.id)).toHaveLength(3);
    expect(listOutboxEntries(db).find((e) => e.id === row!.id)).toMatchObject({ kind: 'response', subject: answer.id, status: 'failed', attempts: 3, last_error: expect.stringContaining('HTTP 503') });
    expect(getAnswer(db, answer.id).status).toBe('approved');
    const failed = listAudit(db, { subject: answer.id }).at(-1)!;
    expect(failed.action).toBe('delivery.failed');
    expect(JSON.parse(failed.details).message.id).toBe(row!.id);
  });

  it('the configured KIK-starter endpoint is used when the trust adapter does not know one', async () => {
    const { answer } = approvedAnswer(KIK_STARTER);
    const down = { ...settings, kikStarter: { did: KIK_STARTER, endpoint: consumer.endpoint } };
    const [row] = await queueApprovedAnswers(db, trust, down, 'test', { addressOf: (a) => addresses.get(a.id) });
    expect(row).toMatchObject({ recipient: KIK_STARTER, endpoint: consumer.endpoint });
    expect(await deliverDue(db, down, new Date(), 'test', { trust })).toEqual([expect.objectContaining({ status: 'delivered' })]);
    expect(consumer.posts.at(-1)).toMatchObject({ id: row!.id, status: 202, message: { to: [KIK_STARTER] } });
    expect(getAnswer(db, answer.id).status).toBe('delivered');
  });

  it('a consumer without a known endpoint fails with a message that names it', async () => {
    approvedAnswer('did:web:unknown-consumer.test');
    const [row] = await queue();
    const [outcome] = await deliver(FAR);
    expect(outcome).toMatchObject({ id: row!.id, status: 'pending' });
    expect(outcome!.error).toMatch(new RegExp(`^no ${KIKV_SERVICE} endpoint for did:web:unknown-consumer\\.test: did:web:unknown-consumer\\.test is not a configured peer`));
    await deliver(FAR);
    expect((await deliver(FAR))[0]).toMatchObject({ id: row!.id, status: 'failed', attempts: 3 });
  });

  it('queues a problem report once and delivers it with a token by the same loop', async () => {
    const requestId = randomUUID();
    const report = { about: { id: requestId }, from: AGENT, to: CONSUMER, code: 'e.p.xfer.personal-data', comment: 'resultset[0] carries a person identifier in column ?medewerker; the query must aggregate' };
    const first = queueProblemReport(db, report);
    expect(first.created).toBe(true);
    const again = queueProblemReport(db, report);
    expect(again).toMatchObject({ created: false, row: { id: first.row.id } });
    expect(() => queueProblemReport(db, { ...report, code: 'w.m.whatever' })).toThrow(/e\.p\.<scope>\.<descriptor>/);
    expect(() => queueProblemReport(db, { ...report, code: 'e.p.req.x', comment: ' ' })).toThrow(/comment/);

    consumer.failNext(1);
    expect(await deliver(FAR)).toEqual([expect.objectContaining({ id: first.row.id, kind: 'problem-report', answerId: null, status: 'pending', attempts: 1 })]);
    expect(await deliver(FAR)).toEqual([expect.objectContaining({ id: first.row.id, kind: 'problem-report', status: 'delivered', attempts: 2 })]);
    const posts = consumer.posts.filter((p) => p.id === first.row.id);
    expect(posts.map((p) => p.status)).toEqual([503, 202]);
    expect(consumer.issued).toContain(posts[1]!.token);
    expect(posts[1]!.message).toMatchObject({ type: PROBLEM_REPORT_TYPE, pthid: requestId, ack: [requestId], from: AGENT, to: [CONSUMER], body: { code: report.code, comment: report.comment } });
    expect(listAudit(db, { subject: requestId }).map((e) => e.action)).toEqual(['problem-report.queued', 'problem-report.retry-scheduled', 'problem-report.delivered']);
    expect(listOutboxEntries(db).find((e) => e.id === first.row.id)).toMatchObject({ kind: 'problem-report', subject: requestId, status: 'delivered' });
    expect(verifyAuditChain(db)).toBeNull();
  });

  it('a request\'s response for several answers is queued once, delivered with a token, and marks every answer delivered', async () => {
    const a = approvedAnswer();
    const b = approvedAnswer();
    const requestId = randomUUID();
    const linked = new Set([a.answer.id, b.answer.id]);
    // The per-answer path leaves them alone: the request's response carries them.
    expect(await queueApprovedAnswers(db, trust, settings, 'test', { skip: (x) => linked.has(x.id) })).toEqual([]);
    expect(listOutbox(db).filter((m) => linked.has(m.answer_id))).toEqual([]);

    const payload = { resultset: [a, b].map((x, i) => ({ id: `${requestId}#q${i}`, result: { head: { vars: ['n'] }, results: { bindings: [{ n: { type: 'literal' as const, value: String(i) } }] } } })) };
    const msg = responseMessage({ requestId, from: AGENT, to: CONSUMER, jws: await signResultSetWith(trust, payload) });
    const first = queueResponse(db, { message: msg, answerIds: [...linked] });
    expect(first).toMatchObject({ created: true, row: { id: msg.id, kind: 'response', about_id: requestId, recipient: CONSUMER } });
    expect(queueResponse(db, { message: msg, answerIds: [...linked] })).toMatchObject({ created: false, row: { id: msg.id } });
    expect(() => queueResponse(db, { message: { ...msg, thid: undefined }, answerIds: [] })).toThrow(/thid/);

    expect(await deliver()).toEqual([expect.objectContaining({ id: msg.id, kind: 'response', status: 'delivered', attempts: 1 })]);
    const post = consumer.posts.at(-1)!;
    expect(post).toMatchObject({ id: msg.id, status: 202 });
    expect(consumer.issued).toContain(post.token);
    expect(post.message).toEqual(msg);
    expect(getAnswer(db, a.answer.id).status).toBe('delivered');
    expect(getAnswer(db, b.answer.id).status).toBe('delivered');
    expect(listAudit(db, { subject: requestId }).map((e) => e.action)).toEqual(['response.queued', 'response.delivered']);
    expect(await deliver(FAR)).toEqual([]);
  });

  it('the simulated KIK-starter, demanding a bearer token, verifies the response and takes the problem report', async () => {
    const sim = await startKikStarterSim({
      did: KIK_STARTER,
      agentDid: AGENT,
      agentJwks: jwksUrl,
      acceptProblemReports: true,
      requireToken: async (token, from) => {
        if (!token) throw new Error('no bearer token');
        await consumer.verify(token, String(from));
      },
    });
    try {
      const s = { ...settings, kikStarter: { did: KIK_STARTER, endpoint: sim.endpoint } };
      const { address } = approvedAnswer(KIK_STARTER);
      const [row] = await queueApprovedAnswers(db, trust, s, 'test', { addressOf: (a) => addresses.get(a.id) });
      // Without a trust adapter no token is sent: the KIK-starter refuses, and the message waits.
      const [refused] = await deliverDue(db, s, FAR, 'test');
      expect(refused).toMatchObject({ id: row!.id, status: 'pending', error: expect.stringContaining('HTTP 401') });
      expect(sim.received.at(-1)).toMatchObject({ messageId: row!.id, verified: false, problem: 'access token refused: no bearer token' });
      expect(await deliverDue(db, s, FAR, 'test', { trust })).toEqual([expect.objectContaining({ id: row!.id, status: 'delivered', attempts: 2 })]);
      expect(sim.accepted().find((r) => r.messageId === row!.id)).toMatchObject({ thid: address.requestId, verified: true, kid: (await trust.jwks()).keys[0]!.kid });

      const { row: report } = queueProblemReport(db, { about: { id: address.requestId }, from: AGENT, to: KIK_STARTER, code: 'e.p.req.refused-after-acceptance', comment: 'the credential was revoked after the request was accepted', endpoint: sim.endpoint });
      expect(await deliverDue(db, s, FAR, 'test', { trust })).toEqual([expect.objectContaining({ id: report.id, kind: 'problem-report', status: 'delivered' })]);
      expect(sim.accepted().find((r) => r.messageId === report.id)).toMatchObject({ verified: true, report: { pthid: address.requestId, code: 'e.p.req.refused-after-acceptance' } });
    } finally {
      await sim.close();
    }
  });
});
