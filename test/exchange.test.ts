import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactSign, generateKeyPair } from 'jose';
import { approveAnswer, getAnswer, recordAnswer, rejectAnswer, AnswerStateError } from '../src/answers/answers.js';
import { listAudit, verifyAuditChain } from '../src/audit/log.js';
import { openDb, type Db } from '../src/db/open.js';
import { jwksOf, loadOrCreateSigningKey, type SigningKey } from '../src/exchange/keys.js';
import { RESPONSE_TYPE, responseMessage, signResultSet } from '../src/exchange/messages.js';
import { deliverDue, listOutbox, queueApprovedAnswers, retryDelayMs, type DeliverySettings } from '../src/exchange/outbox.js';
import type { IndicatorRun } from '../src/indicators/pack.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.js';

const AGENT = 'did:web:datastation.test';
const CONSUMER = 'did:web:kik-starter.test';

function fakeRun(value: string): IndicatorRun {
  return {
    indicator: { id: 'ps-1.1', number: '1.1', name: 'Gemiddeld aantal personeelsleden' } as IndicatorRun['indicator'],
    parameters: { start_periode: { value: '2023-01-01', datatype: 'http://www.w3.org/2001/XMLSchema#date' } },
    queryHash: 'q'.repeat(64),
    engine: 'oxigraph',
    normalisation: [],
    results: { head: { vars: ['Indeling', 'Totaal'] }, results: { bindings: [{ Indeling: { type: 'literal', value: 'Organisatie' }, Totaal: { type: 'literal', value, datatype: 'http://www.w3.org/2001/XMLSchema#decimal' } }] } },
  };
}

describe('answers, signing and delivery', () => {
  let db: Db;
  let key: SigningKey;
  let sim: KikStarterSim;
  let settings: DeliverySettings;
  const dir = tempDir();
  const snapshot = 's'.repeat(64);

  beforeAll(async () => {
    db = openDb(dir);
    db.prepare(`INSERT INTO snapshots VALUES (?, '2024-01-01', 1, 'test', '3.0.0', 'r.json', 1, 1, 0)`).run(snapshot);
    key = await loadOrCreateSigningKey(join(dir, 'keys'));
    sim = await startKikStarterSim({ did: CONSUMER, agentDid: AGENT, agentJwks: jwksOf(key) });
    settings = { from: AGENT, kikStarter: { did: CONSUMER, endpoint: sim.endpoint }, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 }, timeoutMs: 5000 };
  });
  afterAll(async () => {
    await sim.close();
    db.close();
  });

  const ctx = (year: number) => ({ profile: 'p', version: '1.0.0', year, snapshotHash: snapshot, actor: 'test' });

  it('creates the key once, private file mode 0600, kid = JWK thumbprint', async () => {
    const again = await loadOrCreateSigningKey(join(dir, 'keys'));
    expect(again.kid).toBe(key.kid);
    expect(statSync(join(dir, 'keys', 'signing-key.jwk.json')).mode & 0o777).toBe(0o600);
    expect(jwksOf(key).keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', kid: key.kid, alg: 'ES256' });
    expect(jwksOf(key).keys[0]).not.toHaveProperty('d');
  });

  it('an answer awaiting approval is never signed or queued, not even by a direct database write', async () => {
    const { answer } = recordAnswer(db, fakeRun('10.5'), ctx(2020));
    expect(answer.status).toBe('awaiting_approval');
    expect(await queueApprovedAnswers(db, key, settings)).toEqual([]);
    expect(() =>
      db.prepare(`INSERT INTO outbox (id, answer_id, recipient, endpoint, message, status, next_attempt_at, created_at) VALUES ('m', ?, 'x', 'y', '{}', 'pending', '', '')`).run(answer.id),
    ).toThrow(/only an approved answer/);
    expect(() => db.prepare(`UPDATE answers SET status = 'delivered' WHERE id = ?`).run(answer.id)).toThrow(/not allowed/);
    expect(sim.received).toHaveLength(0);
    expect(getAnswer(db, answer.id).status).toBe('awaiting_approval');
  });

  it('recomputing the same answer does not create a second one', () => {
    const a = recordAnswer(db, fakeRun('10.5'), ctx(2020));
    expect(a.created).toBe(false);
  });

  it('approval records who, when and the content hash; then it is signed, delivered once and verified', async () => {
    const { answer } = recordAnswer(db, fakeRun('42.25'), ctx(2021));
    const approved = approveAnswer(db, answer.id.slice(0, 8), 'A. Bestuurder');
    expect(approved).toMatchObject({ status: 'approved', decided_by: 'A. Bestuurder', approved_hash: answer.content_hash });
    const queued = await queueApprovedAnswers(db, key, settings);
    expect(queued).toHaveLength(1);
    expect(await queueApprovedAnswers(db, key, settings)).toHaveLength(0);
    const outcome = await deliverDue(db, settings);
    expect(outcome).toEqual([expect.objectContaining({ status: 'delivered', attempts: 1 })]);
    expect(getAnswer(db, answer.id).status).toBe('delivered');
    const got = sim.accepted();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ thid: answer.thread_id, kid: key.kid, verified: true });
    expect(got[0]!.resultset![0]!.id).toBe(`${answer.thread_id}#ps-1.1`);
    expect(got[0]!.resultset![0]!.result.results.bindings[0]!.Totaal!.value).toBe('42.25');
    expect(listAudit(db, { subject: answer.id }).map((e) => e.action)).toEqual(['answer.computed', 'answer.approved', 'answer.signed', 'answer.delivered']);
    expect(verifyAuditChain(db)).toBeNull();
  });

  it('an answer cannot be approved twice, and a rejection needs a reason and is never sent', async () => {
    const { answer } = recordAnswer(db, fakeRun('7'), ctx(2022));
    expect(() => rejectAnswer(db, answer.id, 'B. Bestuurder', '  ')).toThrow(AnswerStateError);
    const r = rejectAnswer(db, answer.id, 'B. Bestuurder', 'teller lijkt te hoog');
    expect(r).toMatchObject({ status: 'rejected', decision_reason: 'teller lijkt te hoog' });
    expect(() => approveAnswer(db, answer.id, 'C')).toThrow(/rejected; only an answer awaiting approval/);
    expect(await queueApprovedAnswers(db, key, settings)).toEqual([]);
  });

  it('content changed after computation cannot be approved, and the stored content is frozen', () => {
    const { answer } = recordAnswer(db, fakeRun('8'), ctx(2023));
    expect(() => db.prepare(`UPDATE answers SET result = '{}' WHERE id = ?`).run(answer.id)).toThrow(/cannot change/);
  });

  it('the audit log is append-only and its chain detects edits', () => {
    expect(() => db.prepare(`UPDATE audit SET actor = 'x' WHERE seq = 1`).run()).toThrow(/append-only/);
    expect(() => db.prepare(`DELETE FROM audit`).run()).toThrow(/append-only/);
  });

  it('a failing endpoint is retried with backoff and, after the last try, marked failed for the operator', async () => {
    const { answer } = recordAnswer(db, fakeRun('9'), ctx(2024));
    approveAnswer(db, answer.id, 'A. Bestuurder');
    const down = { ...settings, kikStarter: { ...settings.kikStarter, endpoint: 'http://127.0.0.1:9/didcomm' } };
    await queueApprovedAnswers(db, key, down);
    const far = new Date('9999-12-31T00:00:00Z');
    const tries = [await deliverDue(db, down, far), await deliverDue(db, down, far), await deliverDue(db, down, far)];
    expect(tries.map((t) => t[0]?.status)).toEqual(['pending', 'pending', 'failed']);
    const msg = listOutbox(db).find((m) => m.answer_id === answer.id)!;
    expect(msg).toMatchObject({ status: 'failed', attempts: 3 });
    expect(msg.last_error).toContain('cannot reach');
    expect(getAnswer(db, answer.id).status).toBe('approved');
  });

  it('backoff grows exponentially with jitter and stays under the cap', () => {
    const r = { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 10_000 };
    expect(retryDelayMs(1, r, () => 0)).toBe(500);
    expect(retryDelayMs(3, r, () => 1)).toBe(4000);
    expect(retryDelayMs(10, r, () => 1)).toBe(10_000);
  });
});

describe('the simulated KIK-starter verifies what it receives', () => {
  let key: SigningKey;
  let sim: KikStarterSim;
  const post = (body: unknown) => fetch(sim.endpoint, { method: 'POST', headers: { 'content-type': 'application/didcomm-plain+json' }, body: JSON.stringify(body) });
  const payload = (thid: string) => ({ resultset: [{ id: `${thid}#ps-1.1`, result: { head: { vars: ['x'] }, results: { bindings: [{ x: { type: 'literal' as const, value: '1' } }] } } }] });

  beforeAll(async () => {
    key = await loadOrCreateSigningKey(join(tempDir(), 'keys'));
    sim = await startKikStarterSim({ did: CONSUMER, agentDid: AGENT, agentJwks: jwksOf(key) });
  });
  afterAll(() => sim.close());

  it('accepts a correctly signed response once and acknowledges a repeat without counting it', async () => {
    const msg = responseMessage({ requestId: 'urn:uuid:1', from: AGENT, to: CONSUMER, jws: await signResultSet(key, payload('urn:uuid:1')) });
    expect((await post(msg)).status).toBe(202);
    expect((await post(msg)).status).toBe(200);
    expect(sim.accepted().filter((r) => r.messageId === msg.id)).toHaveLength(1);
  });

  it('rejects a tampered JWS payload with a problem report', async () => {
    const jws = await signResultSet(key, payload('urn:uuid:2'));
    const [h, , s] = jws.split('.');
    const forged = Buffer.from(JSON.stringify({ resultset: [{ id: 'urn:uuid:2#ps-1.1', result: { head: { vars: ['x'] }, results: { bindings: [{ x: { type: 'literal', value: '999' } }] } } }] })).toString('base64url');
    const res = await post(responseMessage({ requestId: 'urn:uuid:2', from: AGENT, to: CONSUMER, jws: `${h}.${forged}.${s}` }));
    expect(res.status).toBe(400);
    const report = (await res.json()) as { type: string; body: { code: string; comment: string } };
    expect(report.type).toBe('https://didcomm.org/report-problem/2.0/problem-report');
    expect(report.body.comment).toMatch(/signature does not verify/);
    expect(sim.received.at(-1)).toMatchObject({ verified: false });
  });

  it('rejects a response signed with a key that is not in the agent\'s JWKS', async () => {
    const other = await generateKeyPair('ES256');
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload('urn:uuid:3')))).setProtectedHeader({ alg: 'ES256', kid: key.kid }).sign(other.privateKey);
    const res = await post(responseMessage({ requestId: 'urn:uuid:3', from: AGENT, to: CONSUMER, jws }));
    expect(res.status).toBe(400);
  });

  it('rejects result ids that do not belong to the thread, and messages from someone else', async () => {
    const wrongId = responseMessage({ requestId: 'urn:uuid:4', from: AGENT, to: CONSUMER, jws: await signResultSet(key, payload('urn:uuid:other')) });
    const r1 = await post(wrongId);
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { body: { comment: string } }).body.comment).toContain('resultset[0].id');
    const wrongFrom = { ...responseMessage({ requestId: 'urn:uuid:5', from: 'did:web:intruder', to: CONSUMER, jws: await signResultSet(key, payload('urn:uuid:5')) }) };
    expect((await post(wrongFrom)).status).toBe(400);
    expect(RESPONSE_TYPE).toBe('https://www.kik-v.nl/validated-query-request/1.0/response');
  });
});
