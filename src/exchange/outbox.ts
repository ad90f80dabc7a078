import { appendAudit } from '../audit/log.js';
import { contentHashOf, resultOf, type Answer } from '../answers/answers.js';
import type { Db } from '../db/open.js';
import type { SigningKey } from './keys.js';
import { DIDCOMM_PLAIN, responseMessage, signResultSet, type DidcommMessage } from './messages.js';

export interface OutboxMessage {
  id: string;
  answer_id: string;
  recipient: string;
  endpoint: string;
  message: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface DeliverySettings {
  from: string;
  kikStarter: { did: string; endpoint: string };
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  timeoutMs: number;
}

/**
 * Signs every approved answer that has no outbox message yet and queues its DIDComm response.
 * Runs at start and after each approval, so an approval whose process died before queueing is
 * still delivered. The answer is checked against the hash the board approved before signing.
 */
export async function queueApprovedAnswers(db: Db, key: SigningKey, s: DeliverySettings, actor = 'agent'): Promise<OutboxMessage[]> {
  const approved = db.prepare(`SELECT a.* FROM answers a LEFT JOIN outbox o ON o.answer_id = a.id WHERE a.status = 'approved' AND o.id IS NULL ORDER BY a.decided_at`).all() as Answer[];
  const queued: OutboxMessage[] = [];
  for (const a of approved) {
    if (contentHashOf(a) !== a.approved_hash) {
      // Recorded once; the answer stays unsent until someone investigates.
      if (!db.prepare(`SELECT 1 FROM audit WHERE subject = ? AND action = 'delivery.refused'`).get(a.id)) {
        appendAudit(db, { actor, action: 'delivery.refused', subject: a.id, threadId: a.thread_id, details: { reason: 'content does not match the hash the board approved' } });
      }
      continue;
    }
    const jws = await signResultSet(key, { resultset: [{ id: `${a.thread_id}#${a.indicator_id}`, result: resultOf(a) }] });
    const msg = responseMessage({ requestId: a.thread_id, from: s.from, to: s.kikStarter.did, jws });
    const row: OutboxMessage = {
      id: msg.id,
      answer_id: a.id,
      recipient: s.kikStarter.did,
      endpoint: s.kikStarter.endpoint,
      message: JSON.stringify(msg),
      status: 'pending',
      attempts: 0,
      next_attempt_at: new Date().toISOString(),
      last_error: null,
      created_at: new Date().toISOString(),
      delivered_at: null,
    };
    const inserted = db.transaction(() => {
      const info = db
        .prepare(
          `INSERT OR IGNORE INTO outbox (id, answer_id, recipient, endpoint, message, status, attempts, next_attempt_at, last_error, created_at)
           VALUES (@id, @answer_id, @recipient, @endpoint, @message, @status, @attempts, @next_attempt_at, @last_error, @created_at)`,
        )
        .run(row);
      if (info.changes === 0) return false; // another process queued it first
      appendAudit(db, { actor, action: 'answer.signed', subject: a.id, threadId: a.thread_id, details: { messageId: msg.id, kid: key.kid, approvedHash: a.approved_hash, message: msg } });
      return true;
    }).immediate();
    if (inserted) queued.push(row);
  }
  return queued;
}

/** Exponential backoff with full jitter, capped. */
export function retryDelayMs(attempt: number, r: DeliverySettings['retry'], random = Math.random): number {
  const ceiling = Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface DeliveryOutcome {
  id: string;
  answerId: string;
  status: OutboxMessage['status'];
  attempts: number;
  error?: string;
}

/**
 * POSTs every due outbox message. The same message (same id) is sent on every try, so a receiver
 * that already has it can recognise the repeat; a kill at any point leaves the message pending,
 * and it is sent again after restart.
 */
export async function deliverDue(db: Db, s: DeliverySettings, now = new Date(), actor = 'agent'): Promise<DeliveryOutcome[]> {
  const due = db.prepare(`SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY created_at`).all(now.toISOString()) as OutboxMessage[];
  const outcomes: DeliveryOutcome[] = [];
  for (const m of due) {
    const msg = JSON.parse(m.message) as DidcommMessage;
    const error = await post(m.endpoint, m.message, s.timeoutMs);
    const attempts = m.attempts + 1;
    db.transaction(() => {
      if (error === null) {
        const at = new Date().toISOString();
        db.prepare(`UPDATE outbox SET status = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ? AND status = 'pending'`).run(attempts, at, m.id);
        db.prepare(`UPDATE answers SET status = 'delivered', delivered_at = ? WHERE id = ? AND status = 'approved'`).run(at, m.answer_id);
        appendAudit(db, { actor, action: 'answer.delivered', subject: m.answer_id, threadId: msg.thid, details: { messageId: m.id, endpoint: m.endpoint, attempts } });
      } else if (attempts >= s.retry.maxAttempts) {
        db.prepare(`UPDATE outbox SET status = 'failed', attempts = ?, last_error = ? WHERE id = ?`).run(attempts, error, m.id);
        appendAudit(db, { actor, action: 'delivery.failed', subject: m.answer_id, threadId: msg.thid, details: { messageId: m.id, endpoint: m.endpoint, attempts, error } });
      } else {
        const next = new Date(Date.now() + retryDelayMs(attempts, s.retry)).toISOString();
        db.prepare(`UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?`).run(attempts, error, next, m.id);
        appendAudit(db, { actor, action: 'delivery.retry-scheduled', subject: m.answer_id, threadId: msg.thid, details: { messageId: m.id, attempts, error, next } });
      }
    }).immediate();
    const after = db.prepare('SELECT status FROM outbox WHERE id = ?').get(m.id) as { status: OutboxMessage['status'] };
    outcomes.push({ id: m.id, answerId: m.answer_id, status: after.status, attempts, ...(error ? { error } : {}) });
  }
  return outcomes;
}

/** Returns null on a 2xx answer, else what went wrong (for the operator and the audit log). */
async function post(endpoint: string, body: string, timeoutMs: number): Promise<string | null> {
  try {
    const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': DIDCOMM_PLAIN }, body, signal: AbortSignal.timeout(timeoutMs) });
    if (res.ok) return null;
    const text = (await res.text()).slice(0, 500);
    return `HTTP ${res.status} from ${endpoint}: ${text}`;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return `cannot reach ${endpoint}: ${err.cause?.code ?? err.name} ${err.message}`;
  }
}

export function listOutbox(db: Db): OutboxMessage[] {
  return db.prepare('SELECT * FROM outbox ORDER BY created_at').all() as OutboxMessage[];
}
