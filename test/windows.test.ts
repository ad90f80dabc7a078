import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approve, deliveryStateOf, roundSummary } from '../src/answers/review.js';
import { getRound } from '../src/answers/rounds.js';
import { listAudit } from '../src/audit/log.js';
import type { AgentConfig } from '../src/config/schema.js';
import { verifyPresentation } from '../src/exchange/credentials/index.js';
import { runDeliveryRound } from '../src/exchange/delivery-round.js';
import { jwksOf, loadOrCreateSigningKey } from '../src/exchange/keys.js';
import { listOutbox, listQueuedMessages } from '../src/exchange/outbox.js';
import { createRequest } from '../src/exchange/requests.js';
import { createTrust } from '../src/exchange/trust/index.js';
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
