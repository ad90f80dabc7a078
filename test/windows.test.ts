import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAnswer, resultOf, supersessionOf, type Answer } from '../src/answers/answers.js';
import { correctValue } from '../src/answers/corrections.js';
import { approve, currentAnswers, deliveryStateOf, roundIndelingen, roundSummary } from '../src/answers/review.js';
import { getRound } from '../src/answers/rounds.js';
import { listAudit } from '../src/audit/log.js';
import type { AgentConfig } from '../src/config/schema.js';
import { verifyPresentation } from '../src/exchange/credentials/index.js';
import { runDeliveryRound } from '../src/exchange/delivery-round.js';
import { jwksOf, loadOrCreateSigningKey } from '../src/exchange/keys.js';
import { listOutbox, listQueuedMessages, queueApprovedAnswers } from '../src/exchange/outbox.js';
import { createRequest } from '../src/exchange/requests.js';
import { createTrust } from '../src/exchange/trust/index.js';
import type { Trust } from '../src/exchange/types.js';
import { dueReminders, remindRounds, startReminderJob } from '../src/scheduler/reminders.js';
import { agentMetrics } from '../src/server/metrics.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { boardFixture, PROFILE, windowFor, type BoardFixture } from './board-fixture.js';

const DAY = 86_400_000;

describe('delivery windows and reminders', () => {
  let f: BoardFixture;
  let sim: KikStarterSim;
  let deliverTo: (endpoint: string, windowsAt?: Date) => ReturnType<typeof runDeliveryRound>;
  beforeAll(async () => {
    // Opens tomorrow, closes in 60 days.
    f = await boardFixture({ windows: [windowFor(2023, 'upcoming')] });
    const key = await loadOrCreateSigningKey(f.cfg.trust.mode === 'standalone' ? f.cfg.trust.keysDir : '');
    sim = await startKikStarterSim({ did: f.cfg.delivery.kikStarter.did, agentDid: f.cfg.agent.did, agentJwks: jwksOf(key) });
    deliverTo = (endpoint, windowsAt) => {
      const cfg: AgentConfig = { ...f.cfg, delivery: { ...f.cfg.delivery, kikStarter: { ...f.cfg.delivery.kikStarter, endpoint } } };
      const settings = { from: cfg.agent.did, kikStarter: cfg.delivery.kikStarter, retry: cfg.delivery.retry, timeoutMs: 5000 };
      return runDeliveryRound({ db: f.db, trust: createTrust(cfg, { verifyPresentation }), cfg, settings }, { actor: 'test', ...(windowsAt ? { windowsAt } : {}) });
    };
  }, 60_000);
  afterAll(async () => {
    await sim?.close();
    f?.db.close();
  });
  const round = () => getRound(f.cfg, f.db, `${PROFILE}/2023`);

  it('reminds once a day when the deadline is near and locations are not approved (log, audit, metrics)', async () => {
    const r = round();
    const closes = Date.parse(r.closes);
    expect(roundSummary(f.cfg, f.db, r).reminder).toBe(false);
    expect(dueReminders(f.cfg, f.db)).toEqual([]);
    const near = new Date(closes - 3 * DAY);
    expect(roundSummary(f.cfg, f.db, r, near)).toMatchObject({ phase: 'open', daysToDeadline: 3, reminder: true });
    // Further than board.reminderDays (14) away: no reminder.
    expect(roundSummary(f.cfg, f.db, r, new Date(closes - 20 * DAY)).reminder).toBe(false);

    const lines: string[] = [];
    const log = { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`) };
    const given = remindRounds(f.cfg, f.db, near, log);
    expect(given).toHaveLength(1);
    expect(given[0]!.unapproved).toHaveLength(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^warn round ${PROFILE}/2023: the deadline .* is in 3 day\\(s\\) and 3 location\\(s\\) are not approved yet`));
    // The same day again (a restart, the daily job): no second warning.
    expect(remindRounds(f.cfg, f.db, new Date(near.getTime() + 3600_000), log)).toEqual([]);
    const job = startReminderJob({ cfg: f.cfg, db: f.db, now: () => new Date(near.getTime() + DAY), log });
    expect(job.atStart).toHaveLength(1);
    await job.stop();
    expect(lines).toHaveLength(2);
    const audit = listAudit(f.db).filter((e) => e.action === 'round.reminder');
    expect(audit).toHaveLength(2);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ round: `${PROFILE}/2023`, daysToDeadline: 3 });

    const metrics = agentMetrics(f.db, near, f.cfg);
    const sample = (name: string) => metrics.find((m) => m.name === name)!.samples.find((s) => s.labels?.year === '2023')!;
    expect(sample('kikv_round_days_to_deadline')).toEqual({ labels: { profile: PROFILE, year: '2023' }, value: 3 });
    expect(sample('kikv_round_indelingen_unapproved').value).toBe(3);
  });

  it('an upcoming round may be approved, but nothing is queued or sent before the window opens', async () => {
    const r = round();
    expect(roundSummary(f.cfg, f.db, r).phase).toBe('upcoming');
    const { approvedAnswers } = approve(f.cfg, f.db, r, 'all', { name: 'bob', role: 'board' });
    expect(approvedAnswers.length).toBeGreaterThan(10);
    expect(deliveryStateOf(f.cfg, f.db, approvedAnswers[0]!.id)).toEqual({ state: 'waiting-for-window' });
    // The KIK-starter also asked for one of them: its response waits for the window as well.
    const requestId = randomUUID();
    createRequest(f.db, { id: requestId, consumer: f.cfg.delivery.kikStarter.did, bodyForm: 'vp', plans: [], actor: 'test' });
    f.db.prepare('INSERT INTO request_answers (request_id, query_uuid, query_identifier, answer_id) VALUES (?, ?, ?, ?)').run(requestId, randomUUID(), 'q', approvedAnswers[0]!.id);
    f.db.prepare(`UPDATE requests SET status = 'linked' WHERE id = ?`).run(requestId);
    const out = await deliverTo(sim.endpoint);
    expect(out.answers).toEqual([]);
    expect(out.responses).toEqual([]);
    expect(out.held).toHaveLength(approvedAnswers.length);
    expect(out.held).toContainEqual({ requestId, round: `${PROFILE}/2023`, phase: 'upcoming' });
    expect(out.held[0]).toMatchObject({ round: `${PROFILE}/2023`, phase: 'upcoming' });
    expect(listOutbox(f.db)).toEqual([]);
    expect(listQueuedMessages(f.db)).toEqual([]);
    expect(sim.received).toEqual([]);
    expect(agentMetrics(f.db, new Date(), f.cfg).find((m) => m.name === 'kikv_round_indelingen_unapproved')!.samples.find((s) => s.labels?.year === '2023')!.value).toBe(0);
  });

  it('once open, answers are queued; after the deadline what is still queued is not sent but failed, naming the closed window', async () => {
    const r = round();
    const inWindow = new Date(Date.parse(r.opens) + 3600_000);
    // The consumer is unreachable while the window is open: the messages wait in the outbox.
    const open = await deliverTo('http://127.0.0.1:9/didcomm', inWindow);
    expect(open.answers.length).toBeGreaterThan(10);
    expect(open.responses).toHaveLength(1);
    const queued = open.answers.length + 1;
    expect(open.outcomes.every((o) => o.status === 'pending')).toBe(true);
    const id = open.answers[0]!.answer_id;
    expect(deliveryStateOf(f.cfg, f.db, id)).toMatchObject({ state: 'queued', attempts: 1, retriesLeft: f.cfg.delivery.retry.maxAttempts - 1 });

    const afterDeadline = new Date(Date.parse(r.closes) + 60_000);
    const late = await deliverTo(sim.endpoint, afterDeadline);
    expect(late.closed).toHaveLength(queued);
    expect(late.outcomes).toEqual([]);
    expect(sim.received).toEqual([]);
    const state = deliveryStateOf(f.cfg, f.db, id, afterDeadline);
    expect(state.state).toBe('failed');
    expect(state.lastError).toBe(`not sent: the delivery window of round ${r.id} closed at ${r.closes} (Europe/Amsterdam)`);
    expect(listOutbox(f.db).every((m) => m.status === 'failed')).toBe(true);
    expect(listQueuedMessages(f.db)).toMatchObject([{ kind: 'response', status: 'failed', last_error: state.lastError }]);
    const audit = listAudit(f.db).filter((e) => e.action === 'delivery.window-closed');
    expect(audit).toHaveLength(queued);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ round: r.id, closes: r.closes });
    // Nothing more happens on later rounds.
    expect((await deliverTo(sim.endpoint, afterDeadline)).closed).toEqual([]);
  });
});

describe('superseded answers in the delivery round', () => {
  const bob = { name: 'bob', role: 'board' as const };
  const alice = { name: 'alice', role: 'quality' as const };
  let f: BoardFixture;
  let sim: KikStarterSim;
  const sent: Array<{ id: string; body: { supersedes?: string } }> = [];
  let cfgFor: (endpoint: string) => AgentConfig;
  let deliverTo: (endpoint: string, windowsAt: Date) => ReturnType<typeof runDeliveryRound>;
  beforeAll(async () => {
    f = await boardFixture({ windows: [windowFor(2023, 'upcoming')] });
    const key = await loadOrCreateSigningKey(f.cfg.trust.mode === 'standalone' ? f.cfg.trust.keysDir : '');
    sim = await startKikStarterSim({ did: f.cfg.delivery.kikStarter.did, agentDid: f.cfg.agent.did, agentJwks: jwksOf(key), beforeHandle: async (m) => void sent.push(m as (typeof sent)[number]) });
    cfgFor = (endpoint) => ({ ...f.cfg, delivery: { ...f.cfg.delivery, kikStarter: { ...f.cfg.delivery.kikStarter, endpoint } } });
    deliverTo = (endpoint, windowsAt) => {
      const cfg = cfgFor(endpoint);
      return runDeliveryRound({ db: f.db, trust: createTrust(cfg, { verifyPresentation }), cfg, settings: settingsOf(cfg) }, { actor: 'test', windowsAt });
    };
  }, 60_000);
  afterAll(async () => {
    await sim?.close();
    f?.db.close();
  });
  const settingsOf = (cfg: AgentConfig) => ({ from: cfg.agent.did, kikStarter: cfg.delivery.kikStarter, retry: cfg.delivery.retry, timeoutMs: 5000 });
  const round = () => getRound(f.cfg, f.db, `${PROFILE}/2023`);
  const inWindow = () => new Date(Date.parse(round().opens) + 3600_000);
  const DOWN = 'http://127.0.0.1:9/didcomm';
  /** Current percentage answers (computed) with a teller and noemer for the first location. */
  const ratioAnswers = () => {
    const loc = roundIndelingen(f.db, round())[0]!;
    const row = (a: Answer) => resultOf(a).results.bindings.find((b) => b.indeling?.value === loc);
    return { loc, answers: currentAnswers(f.db, round()).filter((a) => a.engine !== 'manual' && (JSON.parse(a.metadata!) as { item: { unit: string } }).item.unit === 'percentage' && row(a)?.teller && row(a)?.noemer && row(a)?.waarde) };
  };

  it('an answer corrected and re-approved while the round waits for its window is skipped; one that cannot be signed does not stop the others', async () => {
    const first = approve(f.cfg, f.db, round(), 'all', bob).approvedAnswers;
    const { loc, answers } = ratioAnswers();
    const old = answers[0]!;
    const fixed = correctValue(f.cfg, f.db, round(), old.indicator_id, loc, { teller: '1', noemer: '8', justification: 'one fall was counted twice in the export' }, alice);
    expect(approve(f.cfg, f.db, round(), 'all', bob).approvedAnswers.map((a) => a.id)).toEqual([fixed.id]);
    // Approved, superseded, never queued: the kind of answer that used to stop every later delivery round.
    expect(getAnswer(f.db, old.id).status).toBe('approved');
    expect(supersessionOf(f.db, old.id)).toMatchObject({ superseded_by: fixed.id, kind: 'redelivered' });

    // One answer whose signing fails: audited and reported, the others are queued all the same.
    const cfg = cfgFor(DOWN);
    const trust = createTrust(cfg, { verifyPresentation });
    let calls = 0;
    const flaky: Pick<Trust, 'signJws'> = { signJws: (...args) => (calls++ === 0 ? Promise.reject(new Error('the signing service did not answer')) : trust.signJws(...args)) };
    const failures: Array<{ id: string; error: string }> = [];
    const queued = await queueApprovedAnswers(f.db, flaky, settingsOf(cfg), 'test', { onFailure: (a, e) => failures.push({ id: a.id, error: e.message }) });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.error).toBe('the signing service did not answer');
    expect(queued).toHaveLength(first.length - 1);
    expect(queued.map((m) => m.answer_id)).toContain(fixed.id);
    expect(queued.map((m) => m.answer_id)).not.toContain(old.id);
    expect(JSON.parse(listAudit(f.db).find((e) => e.action === 'delivery.queue-failed')!.details)).toMatchObject({ error: 'the signing service did not answer' });

    // The window opens (the consumer is down): the round completes, the failed one is queued now.
    const out = await deliverTo(DOWN, inWindow());
    expect(out.failed).toEqual([]);
    expect(out.answers.map((m) => m.answer_id)).toEqual([failures[0]!.id]);
    expect(listOutbox(f.db).map((m) => m.answer_id)).not.toContain(old.id);
    expect(out.outcomes.every((o) => o.status === 'pending')).toBe(true);
  });

  it('a message still queued for an answer that is then superseded is withdrawn, never sent after its replacement', async () => {
    const { loc, answers } = ratioAnswers();
    const y = answers.find((a) => a.status === 'approved' && listOutbox(f.db).some((m) => m.answer_id === a.id && m.status === 'pending'))!;
    const yMessage = listOutbox(f.db).find((m) => m.answer_id === y.id)!;
    const fixedY = correctValue(f.cfg, f.db, round(), y.indicator_id, loc, { teller: '2', noemer: '8', justification: 'two falls were recorded on paper only' }, alice);
    approve(f.cfg, f.db, round(), 'all', bob);
    const withdrawnError = `not sent: answer ${y.id} was superseded by ${fixedY.id}`;
    expect(listOutbox(f.db).find((m) => m.id === yMessage.id)).toMatchObject({ status: 'failed', last_error: withdrawnError });
    expect(JSON.parse(listAudit(f.db).find((e) => e.action === 'delivery.withdrawn' && e.subject === y.id)!.details)).toMatchObject({ messageId: yMessage.id, supersededBy: fixedY.id });
    // A supersession recorded without withdrawing its messages (an older agent): the sender itself refuses them.
    const z = listOutbox(f.db).find((m) => m.status === 'pending' && m.answer_id !== fixedY.id)!;
    f.db.prepare('INSERT INTO answer_supersessions (answer_id, superseded_by, kind, reason, actor, at) VALUES (?, ?, ?, ?, ?, ?)').run(z.answer_id, fixedY.id, 'redelivered', 'test', 'test', new Date().toISOString());

    const out = await deliverTo(sim.endpoint, inWindow());
    const ids = sent.map((m) => m.id);
    expect(ids).not.toContain(yMessage.id);
    expect(ids).not.toContain(z.id);
    expect(listOutbox(f.db).find((m) => m.id === z.id)).toMatchObject({ status: 'failed', last_error: `not sent: answer ${z.answer_id} was superseded by ${fixedY.id}` });
    const replacement = listOutbox(f.db).find((m) => m.answer_id === fixedY.id)!;
    expect(out.outcomes).toContainEqual(expect.objectContaining({ id: replacement.id, status: 'delivered' }));
    expect(sent.find((m) => m.id === replacement.id)!.body.supersedes).toBe(yMessage.id);
    expect(getAnswer(f.db, y.id).status).toBe('approved');
    expect(getAnswer(f.db, fixedY.id).status).toBe('delivered');
    expect(deliveryStateOf(f.cfg, f.db, y.id)).toMatchObject({ state: 'superseded', lastError: withdrawnError });
  });
});
