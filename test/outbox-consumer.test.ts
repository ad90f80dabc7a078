import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { CompactSign, SignJWT, calculateJwkThumbprint, compactVerify, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWK, type CryptoKey } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { approveAnswer, getAnswer, recordAnswer } from '../src/answers/answers.js';
import { listAudit, verifyAuditChain } from '../src/audit/log.js';
import { openDb, type Db } from '../src/db/open.js';
import { PROBLEM_REPORT_TYPE, RESPONSE_TYPE, responseMessage, signResultSetWith, type DidcommMessage, type ResultSetPayload } from '../src/exchange/messages.js';
import { deliverDue, listOutbox, listOutboxEntries, queueApprovedAnswers, queueProblemReport, queueResponse, type DeliverySettings } from '../src/exchange/outbox.js';
import { ExchangeError, KIKV_SERVICE, type Trust } from '../src/exchange/types.js';
import type { IndicatorRun } from '../src/indicators/pack.js';
import { tempDir } from './helpers.js';

const AGENT = 'did:web:datastation.test';
const CONSUMER = 'did:web:consumer.test';
const KIK_STARTER = 'did:web:kik-starter.test';
const FAR = new Date('9999-12-31T00:00:00Z');

/**
 * A trust adapter with real ES256 keys: signs with the agent's key and obtains access tokens from
 * a consumer's OAuth2 token endpoint with a signed JWT assertion (RFC 7523), caching them until
 * asked for a fresh one. Stands in until src/exchange/trust's StandaloneTrust is committed.
 */
class KeyTrust implements Pick<Trust, 'did' | 'signJws' | 'jwks' | 'accessTokenFor' | 'endpointOf'> {
  readonly did = AGENT;
  readonly tokens = new Map<string, string>();
  constructor(
    private readonly key: { privateKey: CryptoKey; publicJwk: JWK; kid: string },
    readonly peers: Map<string, { endpoint?: string; tokenEndpoint?: string }>,
  ) {}
  static async create(peers: KeyTrust['peers']): Promise<KeyTrust> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const publicJwk = await exportJWK(publicKey);
    return new KeyTrust({ privateKey, publicJwk, kid: await calculateJwkThumbprint(publicJwk) }, peers);
  }
  async signJws(payload: Uint8Array, headers: Record<string, unknown> = {}): Promise<string> {
    return new CompactSign(payload).setProtectedHeader({ ...headers, alg: 'ES256', kid: this.key.kid }).sign(this.key.privateKey);
  }
  async jwks() {
    return { keys: [{ ...this.key.publicJwk, kid: this.key.kid, alg: 'ES256', use: 'sig' }] };
  }
  async endpointOf(peer: string, service: string): Promise<URL> {
    const endpoint = this.peers.get(peer)?.endpoint;
    if (!endpoint) throw new ExchangeError('e.p.trust.unknown-peer', 502, `no ${service} endpoint registered for ${peer}`);
    return new URL(endpoint);
  }
  async accessTokenFor(peer: string, service: string, opts: { refresh?: boolean } = {}): Promise<string> {
    const cached = this.tokens.get(peer);
    if (cached && !opts.refresh) return cached;
    const tokenEndpoint = this.peers.get(peer)?.tokenEndpoint;
    if (!tokenEndpoint) throw new ExchangeError('e.p.trust.unknown-peer', 502, `no token endpoint registered for ${peer}`);
    const assertion = await new SignJWT({ scope: service })
      .setProtectedHeader({ alg: 'ES256', kid: this.key.kid })
      .setIssuer(AGENT)
      .setSubject(AGENT)
      .setAudience(tokenEndpoint)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(this.key.privateKey);
    const res = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion, scope: service }).toString(),
    });
    if (!res.ok) throw new ExchangeError('e.p.trust.token-refused', 502, `token endpoint of ${peer} answered ${res.status}: ${await res.text()}`);
    const token = ((await res.json()) as { access_token: string }).access_token;
    this.tokens.set(peer, token);
    return token;
  }
}

interface Post {
  id: string;
  type: string;
  token: string | null;
  status: number;
  message: DidcommMessage;
}

/**
 * A consumer's DIDComm service: an OAuth2 token endpoint that accepts the agent's signed assertion,
 * and a /didcomm endpoint that demands one of its tokens, verifies signed responses against the
 * agent's JWKS, and can be told to refuse tokens or fail.
 */
async function startConsumer(agentJwks: () => Promise<{ keys: JWK[] }>) {
  const valid = new Set<string>();
  const issued: string[] = [];
  const posts: Post[] = [];
  const accepted = new Map<string, DidcommMessage>();
  let failNext = 0;
  let refuseAllTokens = false;
  const app: FastifyInstance = Fastify({ logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  app.addContentTypeParser('application/didcomm-plain+json', { parseAs: 'string' }, (_r, body, done) => done(null, JSON.parse(body as string)));
  let url = '';

  app.post('/oauth2/token', async (req, reply) => {
    const form = req.body as Record<string, string>;
    if (form.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || form.scope !== KIKV_SERVICE) return reply.code(400).send({ error: 'invalid_request' });
    try {
      await jwtVerify(form.assertion!, createLocalJWKSet(await agentJwks()), { issuer: AGENT, subject: AGENT, audience: `${url}/oauth2/token`, algorithms: ['ES256'] });
    } catch (e) {
      return reply.code(400).send({ error: 'invalid_grant', error_description: (e as Error).message });
    }
    const token = randomBytes(24).toString('base64url');
    valid.add(token);
    issued.push(token);
    return { access_token: token, token_type: 'Bearer', expires_in: 60, scope: KIKV_SERVICE };
  });

  app.post('/didcomm', async (req, reply) => {
    const msg = req.body as DidcommMessage;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
    const record = (status: number) => posts.push({ id: msg.id, type: msg.type, token, status, message: msg });
    if (!token || refuseAllTokens || !valid.has(token)) {
      record(401);
      return reply.code(401).send({ error: 'invalid_token' });
    }
    if (failNext > 0) {
      failNext--;
      record(503);
      return reply.code(503).send({ error: 'unavailable' });
    }
    if (msg.type === RESPONSE_TYPE) {
      // Raises (500) when the JWS does not verify: the test then fails on the outcome.
      await compactVerify(String(msg.body.response), createLocalJWKSet(await agentJwks()), { algorithms: ['ES256'] });
    }
    record(202);
    const repeat = accepted.has(msg.id);
    accepted.set(msg.id, msg);
    return reply.code(repeat ? 200 : 202).send({ id: msg.id });
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    url,
    endpoint: `${url}/didcomm`,
    tokenEndpoint: `${url}/oauth2/token`,
    posts,
    issued,
    accepted,
    revokeTokens: () => valid.clear(),
    failNext: (n: number) => (failNext = n),
    refuseAllTokens: (on: boolean) => (refuseAllTokens = on),
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
  let trust: KeyTrust;
  let consumer: Awaited<ReturnType<typeof startConsumer>>;
  let settings: DeliverySettings;
  const snapshot = 's'.repeat(64);
  let year = 2000;
  /** Which request and query each answer answers, as the requests table would tell. */
  const addresses = new Map<string, { recipient: string; requestId: string; queryId: string }>();

  beforeAll(async () => {
    db = openDb(tempDir());
    db.prepare(`INSERT INTO snapshots VALUES (?, '2024-01-01', 1, 'test', 'onz-3.0.0', 'r.json', 1, 1, 0)`).run(snapshot);
    const peers = new Map<string, { endpoint?: string; tokenEndpoint?: string }>();
    trust = await KeyTrust.create(peers);
    consumer = await startConsumer(() => trust.jwks());
    peers.set(CONSUMER, { endpoint: consumer.endpoint, tokenEndpoint: consumer.tokenEndpoint });
    // The KIK-starter's endpoint is only configured, not registered with the trust adapter.
    peers.set(KIK_STARTER, { tokenEndpoint: consumer.tokenEndpoint });
    settings = { from: AGENT, kikStarter: { did: KIK_STARTER, endpoint: 'http://127.0.0.1:9/didcomm' }, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 4 }, timeoutMs: 5000 };
  });
  afterAll(async () => {
    await consumer.close();
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
    await trust.accessTokenFor(CONSUMER, KIKV_SERVICE); // a token the consumer will have forgotten
    const stale = trust.tokens.get(CONSUMER)!;
    consumer.revokeTokens();
    const [row] = await queue();
    const issuedBefore = consumer.issued.length;
    expect(await deliver()).toEqual([expect.objectContaining({ status: 'delivered', attempts: 1 })]);
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
    const [outcome] = await deliver(FAR);
    expect(outcome).toMatchObject({ id: row!.id, status: 'pending', attempts: 1 });
    expect(outcome!.error).toMatch(/^HTTP 401 from http:\/\/127\.0\.0\.1:\d+\/didcomm/);
    expect(consumer.posts.filter((p) => p.id === row!.id).map((p) => p.status)).toEqual([401, 401]);
    expect(consumer.issued.length).toBe(issuedBefore + 1);
    consumer.refuseAllTokens(false);
    expect(await deliver(FAR)).toEqual([expect.objectContaining({ id: row!.id, status: 'delivered', attempts: 2 })]);
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
    expect(outcome!.error).toBe(`no ${KIKV_SERVICE} endpoint for did:web:unknown-consumer.test: no ${KIKV_SERVICE} endpoint registered for did:web:unknown-consumer.test`);
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
    expect(posts[1]!.token).toBe(trust.tokens.get(CONSUMER));
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
    expect(post).toMatchObject({ id: msg.id, status: 202, token: trust.tokens.get(CONSUMER) });
    expect(post.message).toEqual(msg);
    expect(getAnswer(db, a.answer.id).status).toBe('delivered');
    expect(getAnswer(db, b.answer.id).status).toBe('delivered');
    expect(listAudit(db, { subject: requestId }).map((e) => e.action)).toEqual(['response.queued', 'response.delivered']);
    expect(await deliver(FAR)).toEqual([]);
  });
});
