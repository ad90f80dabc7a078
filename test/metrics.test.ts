import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAnswer, recordAnswer } from '../src/answers/answers.js';
import { appendAudit } from '../src/audit/log.js';
import { openDb, type Db } from '../src/db/open.js';
import { loadOrCreateSigningKey } from '../src/exchange/keys.js';
import { problemReport } from '../src/exchange/messages.js';
import { deliverDue, queueApprovedAnswers, queueProblemReport, type DeliverySettings } from '../src/exchange/outbox.js';
import type { IndicatorRun } from '../src/indicators/pack.js';
import { metricsRoutes, prometheusText } from '../src/server/metrics.js';
import { tempDir } from './helpers.js';

const AGENT = 'did:web:datastation.test';
const CONSUMER = 'did:web:kik-starter.test';

function fakeRun(value: string): IndicatorRun {
  return {
    indicator: { id: 'ps-1.1', number: '1.1', name: 'x' } as IndicatorRun['indicator'],
    parameters: {},
    queryHash: 'q'.repeat(64),
    engine: 'oxigraph',
    normalisation: [],
    results: { head: { vars: ['n'] }, results: { bindings: [{ n: { type: 'literal', value } }] } },
  };
}

/** Parses the text format strictly: every line is a comment (HELP/TYPE) or `name{labels} value`. */
function parse(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN)$/.exec(line);
    expect(m, `not a valid exposition line: ${line}`).not.toBeNull();
    samples.set(`${m![1]}${m![2] ?? ''}`, Number(m![3]));
  }
  return { samples, types };
}

describe('GET /metrics', () => {
  let db: Db;
  let app: FastifyInstance;
  const now = new Date();

  beforeAll(async () => {
    const dir = tempDir();
    db = openDb(dir);
    const snapshot = 's'.repeat(64);
    db.prepare(`INSERT INTO snapshots VALUES (?, ?, 1, 'test', 'onz-3.0.0', 'r.json', 1, 1, 0)`).run(snapshot, new Date(now.getTime() - 3 * 86_400_000).toISOString());
    const key = await loadOrCreateSigningKey(join(dir, 'keys'));
    const ctx = (year: number) => ({ profile: 'p', version: '1', year, snapshotHash: snapshot, actor: 'test' });
    recordAnswer(db, fakeRun('1'), ctx(2020)); // stays awaiting approval
    for (const year of [2021, 2022]) approveAnswer(db, recordAnswer(db, fakeRun(String(year)), ctx(year)).answer.id, 'A. Bestuurder');
    // Nothing listens on port 9: one message fails for good (maxAttempts 1), the other stays pending.
    const down: DeliverySettings = { from: AGENT, kikStarter: { did: CONSUMER, endpoint: 'http://127.0.0.1:9/didcomm' }, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 }, timeoutMs: 2000 };
    const [first] = await queueApprovedAnswers(db, key, down);
    await queueApprovedAnswers(db, key, down);
    db.prepare(`UPDATE outbox SET next_attempt_at = '9999-01-01T00:00:00Z' WHERE id != ?`).run(first!.id);
    await deliverDue(db, down);
    // One pending problem report, queued a minute ago.
    queueProblemReport(db, { about: { id: 'req-1' }, from: AGENT, to: CONSUMER, code: 'e.p.xfer.personal-data', comment: 'a result row names a person' });
    db.prepare(`UPDATE message_outbox SET created_at = ?`).run(new Date(now.getTime() - 60_000).toISOString());
    // The inbox's audit entries, as src/exchange/inbox.ts and requests.ts write them.
    for (const [id, code] of [['m1', null], ['m2', 'e.p.msg.replay'], ['m3', 'e.p.msg.replay'], ['m4', 'e.p.req.untrusted-issuer']] as const) {
      appendAudit(db, { actor: 'agent', action: 'inbox.received', subject: id, threadId: id, details: { message: { id } } });
      if (code) appendAudit(db, { actor: 'agent', action: 'inbox.refused', subject: id, threadId: id, details: { message: problemReport({ about: { id }, from: AGENT, to: CONSUMER, code, comment: 'no' }) } });
      else appendAudit(db, { actor: 'agent', action: 'request.accepted', subject: id, threadId: id, details: {} });
    }
    appendAudit(db, { actor: 'agent', action: 'request.refused', subject: 'm1', threadId: 'm1', details: { code: 'e.p.req.not-computed' } });
    app = Fastify();
    await app.register(metricsRoutes({ db, now: () => now }));
  });
  afterAll(async () => {
    await app.close();
    db.close();
  });

  it('answers in the Prometheus text format with every family typed', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { samples, types } = parse(res.body);
    for (const name of new Set([...samples.keys()].map((k) => k.replace(/\{.*$/, '')))) expect(types.has(name), name).toBe(true);
    expect(types.get('kikv_deliveries_failed_total')).toBe('counter');
    expect(types.get('kikv_outbox_messages')).toBe('gauge');
  });

  it('counts the outbox, failed deliveries, answers, the audit log and the inbox', async () => {
    const { samples } = parse((await app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(samples.get('kikv_outbox_messages{kind="response",status="pending"}')).toBe(1);
    expect(samples.get('kikv_outbox_messages{kind="response",status="failed"}')).toBe(1);
    expect(samples.get('kikv_outbox_messages{kind="response",status="delivered"}')).toBe(0);
    expect(samples.get('kikv_outbox_messages{kind="problem-report",status="pending"}')).toBe(1);
    expect(samples.get('kikv_outbox_oldest_pending_age_seconds')).toBeCloseTo(60, 0);
    expect(samples.get('kikv_deliveries_failed_total')).toBe(1);
    expect(samples.get('kikv_answers{status="awaiting_approval"}')).toBe(1);
    expect(samples.get('kikv_answers{status="approved"}')).toBe(2);
    expect(samples.get('kikv_answers{status="rejected"}')).toBe(0);
    expect(samples.get('kikv_audit_entries_total')).toBe((db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n);
    expect(samples.get('kikv_inbox_messages_total{outcome="received",code=""}')).toBe(4);
    expect(samples.get('kikv_inbox_messages_total{outcome="accepted",code=""}')).toBe(1);
    expect(samples.get('kikv_inbox_messages_total{outcome="refused",code="e.p.msg.replay"}')).toBe(2);
    expect(samples.get('kikv_inbox_messages_total{outcome="refused",code="e.p.req.untrusted-issuer"}')).toBe(1);
    expect(samples.get('kikv_requests_refused_after_acceptance_total{code="e.p.req.not-computed"}')).toBe(1);
    expect(samples.get('kikv_snapshot_age_seconds')).toBeCloseTo(3 * 86_400, 0);
    const requests = db.prepare(`SELECT status, COUNT(*) AS n FROM requests GROUP BY status`).all() as Array<{ status: string; n: number }>;
    expect([...samples.keys()].filter((k) => k.startsWith('kikv_requests{'))).toEqual(requests.map((r) => `kikv_requests{status="${r.status}"}`));
  });

  it('keeps counting as the audit log grows (counted incrementally)', async () => {
    const before = parse((await app.inject({ method: 'GET', url: '/metrics' })).body).samples;
    appendAudit(db, { actor: 'agent', action: 'inbox.received', subject: 'm5', threadId: 'm5', details: { message: { id: 'm5' } } });
    appendAudit(db, { actor: 'agent', action: 'inbox.refused', subject: 'm5', threadId: 'm5', details: { message: problemReport({ about: { id: 'm5' }, from: AGENT, to: CONSUMER, code: 'e.p.msg.replay', comment: 'seen' }) } });
    appendAudit(db, { actor: 'agent', action: 'delivery.failed', subject: 'a', threadId: 't', details: {} });
    const after = parse((await app.inject({ method: 'GET', url: '/metrics' })).body).samples;
    const diff = (k: string) => after.get(k)! - before.get(k)!;
    expect(diff('kikv_inbox_messages_total{outcome="refused",code="e.p.msg.replay"}')).toBe(1);
    expect(diff('kikv_inbox_messages_total{outcome="received",code=""}')).toBe(1);
    expect(diff('kikv_deliveries_failed_total')).toBe(1);
    expect(after.get('kikv_audit_entries_total')).toBe((db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n);
  });

  it('escapes label values and help text', () => {
    const text = prometheusText([{ name: 'x', help: 'a\\b\nc', type: 'gauge', samples: [{ labels: { v: 'say "hi"\\\n' }, value: 1 }] }]);
    expect(text).toBe('# HELP x a\\\\b\\nc\n# TYPE x gauge\nx{v="say \\"hi\\"\\\\\\n"} 1\n');
  });
});
