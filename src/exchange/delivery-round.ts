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
  /** Requests whose response could not be built (e.g. an answer no longer matches its approval). */
  unsent: Array<{ requestId: string; error: string }>;
  /** Every message due now, tried once. */
  outcomes: DeliveryOutcome[];
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
  opts: { actor?: string; now?: Date } = {},
): Promise<DeliveryRound> {
  const { db, trust, cfg, settings: s } = deps;
  const actor = opts.actor ?? 'agent';
  const linked = db.prepare('SELECT 1 FROM request_answers WHERE answer_id = ? LIMIT 1');
  const answers = await queueApprovedAnswers(db, trust, s, actor, { skip: (a) => linked.get(a.id) !== undefined });
  const responses: QueuedMessageRow[] = [];
  const unsent: DeliveryRound['unsent'] = [];
  for (const requestId of requestsReadyToAnswer(db)) {
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
  return { answers, responses, unsent, outcomes };
}
