import type { Answer } from '../answers/answers.js';
import { roundOfAnswer, roundPhase, type Round, type RoundPhase } from '../answers/rounds.js';
import { appendAudit } from '../audit/log.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { deliverDue, queueApprovedAnswers, queueResponse, type DeliveryOutcome, type DeliverySettings, type OutboxMessage, type QueuedMessageRow } from './outbox.js';
import { linkedAnswers, responseFor } from './requests.js';
import { KIKV_SERVICE, type Trust } from './types.js';

export interface DeliveryRound {
  /** Approved answers not linked to a request, signed and queued on their own. */
  answers: OutboxMessage[];
  /** Requests whose answers are now all approved: their one signed response, queued. */
  responses: QueuedMessageRow[];
  /** Approved answers that could not be signed or queued (audited as delivery.queue-failed); the others went ahead. */
  failed: Array<{ answerId: string; error: string }>;
  /** Requests whose response could not be built (e.g. an answer no longer matches its approval). */
  unsent: Array<{ requestId: string; error: string }>;
  /** Every message due now, tried once. */
  outcomes: DeliveryOutcome[];
  /** Answers and requests held back because their round's delivery window is not open. */
  held: Array<{ answerId?: string; requestId?: string; round: string; phase: RoundPhase }>;
  /** Queued messages of a locked round, marked failed instead of sent. */
  closed: Array<{ messageId: string; round: string }>;
}

/**
 * The delivery window of each answer's round at one moment. Answers of a profile this agent has no
 * pack for (no known round) are not held.
 */
function windowJudge(cfg: AgentConfig, at: Date): (a: Pick<Answer, 'profile' | 'reporting_year'>) => { round: Round; phase: RoundPhase } | undefined {
  const cache = new Map<string, { round: Round; phase: RoundPhase } | undefined>();
  return (a) => {
    const key = `${a.profile}\u0000${a.reporting_year}`;
    if (!cache.has(key)) {
      const round = roundOfAnswer(cfg, a);
      cache.set(key, round ? { round, phase: roundPhase(round, at) } : undefined);
    }
    return cache.get(key);
  };
}

/**
 * Pending messages that carry an answer of a locked round are not sent after the deadline: each is
 * marked failed with the closed window as its error (and audited), so the board sees why.
 */
function closeLockedMessages(db: Db, judge: ReturnType<typeof windowJudge>, actor: string, at: Date): DeliveryRound['closed'] {
  const answerOf = db.prepare('SELECT profile, reporting_year FROM answers WHERE id = ?');
  const lockedRound = (ids: string[]) => {
    for (const id of ids) {
      const a = answerOf.get(id) as Pick<Answer, 'profile' | 'reporting_year'> | undefined;
      const w = a ? judge(a) : undefined;
      if (w?.phase === 'locked') return w.round;
    }
    return undefined;
  };
  const pending = [
    ...(db.prepare(`SELECT id, answer_id FROM outbox WHERE status = 'pending'`).all() as Array<{ id: string; answer_id: string }>).map((m) => ({
      table: 'outbox' as const,
      id: m.id,
      subject: m.answer_id,
      answerIds: [m.answer_id],
    })),
    ...(db.prepare(`SELECT id, about_id, answer_ids FROM message_outbox WHERE status = 'pending' AND kind = 'response'`).all() as Array<{ id: string; about_id: string; answer_ids: string }>).map((m) => ({
      table: 'message_outbox' as const,
      id: m.id,
      subject: m.about_id,
      answerIds: JSON.parse(m.answer_ids) as string[],
    })),
  ];
  const closed: DeliveryRound['closed'] = [];
  for (const m of pending) {
    const round = lockedRound(m.answerIds);
    if (!round) continue;
    const error = `not sent: the delivery window of round ${round.id} closed at ${round.closes} (${round.timeZone})`;
    const done = db.transaction(() => {
      const info = db.prepare(`UPDATE ${m.table} SET status = 'failed', last_error = ? WHERE id = ? AND status = 'pending'`).run(error, m.id);
      if (info.changes === 0) return false;
      appendAudit(db, { actor, action: 'delivery.window-closed', subject: m.subject, details: { messageId: m.id, round: round.id, closes: round.closes, answers: m.answerIds }, at });
      return true;
    }).immediate();
    if (done) closed.push({ messageId: m.id, round: round.id });
  }
  return closed;
}

/**
 * Requests computed and linked whose answers are all approved (or already delivered) and that have
 * no queued response yet. The response itself is built by responseFor, once per request.
 */
export function requestsReadyToAnswer(db: Db): string[] {
  const rows = db
    .prepare(
      `SELECT r.id FROM requests r
       WHERE r.status = 'linked'
         AND EXISTS (SELECT 1 FROM request_answers l WHERE l.request_id = r.id)
         AND NOT EXISTS (SELECT 1 FROM request_answers l JOIN answers a ON a.id = l.answer_id WHERE l.request_id = r.id AND a.status NOT IN ('approved', 'delivered'))
         AND NOT EXISTS (SELECT 1 FROM message_outbox m WHERE m.about_id = r.id AND m.kind = 'response')
       ORDER BY r.created_at`,
    )
    .all() as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

/** The outbox's settings from the configuration: who we are, the KIK-starter, retries, timeout. */
export function deliverySettings(cfg: AgentConfig): DeliverySettings {
  return { from: cfg.agent.did, kikStarter: cfg.delivery.kikStarter, retry: cfg.delivery.retry, timeoutMs: cfg.delivery.timeoutMs };
}

/**
 * Recipients the outbox sends to without tokens: in standalone mode, the configured
 * delivery.kikStarter when it is not a trust peer (no token endpoint to ask), as before the exchange.
 */
export function withoutTrustFor(cfg: AgentConfig): (recipient: string) => boolean {
  if (cfg.trust.mode !== 'standalone') return () => false;
  const peers = new Set(cfg.trust.peers.map((p) => p.did));
  return (recipient) => recipient === cfg.delivery.kikStarter.did && !peers.has(recipient);
}

/**
 * One delivery round, as `kikv serve`, `kikv answers approve --deliver` and `kikv deliver` run it:
 * approved answers outside any request are signed and queued on their own; each request whose
 * answers are all approved gets its one signed response queued (the same message GET /answers
 * serves); then every due message is sent. Every step is idempotent, so a round killed anywhere
 * is completed by the next one, and no answer is queued twice.
 */
export async function runDeliveryRound(
  deps: { db: Db; trust: Trust; cfg: AgentConfig; settings: DeliverySettings },
  opts: {
    actor?: string;
    /** Messages whose next try is due by this moment are sent (default now; `kikv deliver --all` passes the far future). */
    now?: Date;
    /** The moment delivery windows are judged at (default: the real now, never `now`, which may be the far future). */
    windowsAt?: Date;
  } = {},
): Promise<DeliveryRound> {
  const { db, trust, cfg, settings: s } = deps;
  const actor = opts.actor ?? 'agent';
  const judge = windowJudge(cfg, opts.windowsAt ?? new Date());
  const held: DeliveryRound['held'] = [];
  const outsideWindow = (a: Pick<Answer, 'profile' | 'reporting_year'>) => {
    const w = judge(a);
    return w !== undefined && w.phase !== 'open' ? w : undefined;
  };
  const closed = closeLockedMessages(db, judge, actor, opts.windowsAt ?? new Date());
  const linked = db.prepare('SELECT 1 FROM request_answers WHERE answer_id = ? LIMIT 1');
  const failed: DeliveryRound['failed'] = [];
  const answers = await queueApprovedAnswers(db, trust, s, actor, {
    onFailure: (a, e) => failed.push({ answerId: a.id, error: e.message }),
    skip: (a) => {
      if (linked.get(a.id) !== undefined) return true;
      const w = outsideWindow(a);
      if (w) held.push({ answerId: a.id, round: w.round.id, phase: w.phase });
      return w !== undefined;
    },
  });
  const responses: QueuedMessageRow[] = [];
  const unsent: DeliveryRound['unsent'] = [];
  for (const requestId of requestsReadyToAnswer(db)) {
    const outside = linkedAnswers(db, requestId).map(outsideWindow).find((w) => w !== undefined);
    if (outside) {
      held.push({ requestId, round: outside.round.id, phase: outside.phase });
      continue;
    }
    try {
      const message = await responseFor(db, trust, requestId, actor);
      if (!message) continue;
      const endpoint = await trust.endpointOf(message.to[0]!, KIKV_SERVICE).then(
        (u) => u.toString(),
        // Unknown now: the outbox asks the trust adapter again at every try.
        () => '',
      );
      const answerIds = linkedAnswers(db, requestId).map((a) => a.id);
      const { row, created } = queueResponse(db, { message, answerIds, endpoint, actor });
      if (created) responses.push(row);
    } catch (e) {
      unsent.push({ requestId, error: (e as Error).message });
    }
  }
  const outcomes = await deliverDue(db, s, opts.now ?? new Date(), actor, { trust, withoutTrust: withoutTrustFor(cfg) });
  return { answers, failed, responses, unsent, outcomes, held, closed };
}
