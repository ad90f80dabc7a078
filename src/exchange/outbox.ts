import { decodeProtectedHeader } from 'jose';
import { appendAudit } from '../audit/log.js';
import { contentHashOf, resultOf, withdrawPendingMessagesOf, type Answer } from '../answers/answers.js';
import type { Db } from '../db/open.js';
import type { SigningKey } from './keys.js';
import { DIDCOMM_PLAIN, PROBLEM_CODE, RESPONSE_TYPE, problemReport, responseMessage, signResultSetWith, type DidcommMessage } from './messages.js';
import { KIKV_SERVICE, type Trust } from './types.js';

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

/**
 * A queued prebuilt message: a problem report (a failure the consumer must hear about after the
 * request was accepted) or a request's signed response (one message for all its queries, built by
 * the requests module so push and pull carry the same message).
 */
export interface QueuedMessageRow {
  id: string;
  kind: 'response' | 'problem-report';
  /** The message it answers or reports on (the request id). */
  about_id: string;
  thread_id: string;
  recipient: string;
  /** Where to POST; empty when the trust adapter must find it (endpointOf) at delivery time. */
  endpoint: string;
  /** The problem code; '' for a response. */
  code: string;
  /** JSON list of the answers a response carries: marked delivered when it is. */
  answer_ids: string;
  message: string;
  status: OutboxMessage['status'];
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

/** To whom and under which ids an answer goes; by default the configured KIK-starter, its thread and item id. */
export interface AnswerAddress {
  /** The consumer's DID (the `from` of the request). */
  recipient: string;
  /** The request message id: the response's thid and the first part of the result id. */
  requestId?: string;
  /** The query identifier (the credential's query UUID): the part after `#` in the result id. */
  queryId?: string;
}

export interface QueueOptions {
  /** The address of each answer (the requests table knows who asked); undefined = the KIK-starter. */
  addressOf?: (answer: Answer) => AnswerAddress | undefined;
  /** True for an answer that is not sent on its own (a request's response, queued with queueResponse, carries it). */
  skip?: (answer: Answer) => boolean;
  /** Told about each answer that could not be signed or queued (already audited); the others are queued regardless. */
  onFailure?: (answer: Answer, error: Error) => void;
}

export interface DeliverOptions {
  /** When given: endpoints from `endpointOf`, and every POST carries an access token from the consumer. */
  trust?: Pick<Trust, 'accessTokenFor' | 'endpointOf'>;
  /**
   * Recipients sent to without the trust adapter (configured endpoint, no token): the configured
   * delivery.kikStarter when it is not a trust peer, as before the exchange had tokens.
   */
  withoutTrust?: (recipient: string) => boolean;
}

/**
 * Signs every approved answer that has no outbox message yet and queues its DIDComm response.
 * Runs at start and after each approval, so an approval whose process died before queueing is
 * still delivered. The answer is checked against the hash the board approved before signing.
 * `signer` is the local key or a trust adapter (which signs with its current key or the Nuts node).
 */
export async function queueApprovedAnswers(db: Db, signer: SigningKey | Pick<Trust, 'signJws'>, s: DeliverySettings, actor = 'agent', opts: QueueOptions = {}): Promise<OutboxMessage[]> {
  // A superseded answer is never queued (the outbox_not_superseded trigger refuses it): its successor is.
  const approved = db
    .prepare(
      `SELECT a.* FROM answers a LEFT JOIN outbox o ON o.answer_id = a.id WHERE a.status = 'approved' AND o.id IS NULL
         AND NOT EXISTS (SELECT 1 FROM answer_supersessions s WHERE s.answer_id = a.id)
       ORDER BY a.decided_at`,
    )
    .all() as Answer[];
  const queued: OutboxMessage[] = [];
  for (const a of approved) {
    if (opts.skip?.(a)) continue;
    // One answer that cannot be signed or queued must not keep every other answer from going out.
    try {
      const row = await queueOne(db, signer, s, actor, opts, a);
      if (row) queued.push(row);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      appendAudit(db, { actor, action: 'delivery.queue-failed', subject: a.id, threadId: a.thread_id, details: { indicator: a.indicator_id, error: error.message } });
      opts.onFailure?.(a, error);
    }
  }
  return queued;
}

/** Signs and queues one approved answer; undefined when it is refused (hash mismatch) or another process queued it first. */
async function queueOne(db: Db, signer: SigningKey | Pick<Trust, 'signJws'>, s: DeliverySettings, actor: string, opts: QueueOptions, a: Answer): Promise<OutboxMessage | undefined> {
  if (contentHashOf(a) !== a.approved_hash) {
    // Recorded once; the answer stays unsent until someone investigates.
    if (!db.prepare(`SELECT 1 FROM audit WHERE subject = ? AND action = 'delivery.refused'`).get(a.id)) {
      appendAudit(db, { actor, action: 'delivery.refused', subject: a.id, threadId: a.thread_id, details: { reason: 'content does not match the hash the board approved' } });
    }
    return undefined;
  }
  const address = opts.addressOf?.(a);
  const recipient = address?.recipient ?? s.kikStarter.did;
  const requestId = address?.requestId ?? a.thread_id;
  const resultId = `${requestId}#${address?.queryId ?? a.indicator_id}`;
  const jws = await signResultSetWith(signer, { resultset: [{ id: resultId, result: resultOf(a) }] });
  const supersedes = replacedMessageOf(db, a.id, recipient);
  const msg = responseMessage({ requestId, from: s.from, to: recipient, jws, ...(supersedes ? { supersedes } : {}) });
  const now = new Date().toISOString();
  const row: OutboxMessage = {
    id: msg.id,
    answer_id: a.id,
    recipient,
    // A consumer other than the KIK-starter has no configured endpoint: the trust adapter finds it.
    endpoint: recipient === s.kikStarter.did ? s.kikStarter.endpoint : '',
    message: JSON.stringify(msg),
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    last_error: null,
    created_at: now,
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
    const kid = decodeProtectedHeader(jws).kid ?? null;
    appendAudit(db, { actor, action: 'answer.signed', subject: a.id, threadId: requestId, details: { messageId: msg.id, kid, recipient, resultId, approvedHash: a.approved_hash, ...(supersedes ? { supersedes } : {}), message: msg } });
    return true;
  }).immediate();
  return inserted ? row : undefined;
}

/**
 * The message an earlier delivery of this result went out in, when the answer replaces one the board
 * approved before (a correction re-approved before the deadline): the newest such message to the
 * same recipient, delivered or still on its way.
 */
function replacedMessageOf(db: Db, answerId: string, recipient: string): string | undefined {
  const row = db
    .prepare(
      `SELECT o.id FROM answer_supersessions s JOIN outbox o ON o.answer_id = s.answer_id
       WHERE s.superseded_by = ? AND s.kind = 'redelivered' AND o.recipient = ? ORDER BY o.created_at DESC LIMIT 1`,
    )
    .get(answerId, recipient) as { id: string } | undefined;
  return row?.id;
}

export interface ProblemReportRequest {
  /** The message the report is about (usually the request): pthid = its thid or id, ack = [its id]. */
  about: { id: string; thid?: string };
  /** Our DID. */
  from: string;
  /** The consumer's DID. */
  to: string;
  /** A DIDComm problem code, `e.p.<scope>.<descriptor>` (KIK-V consumers accept only e.p). */
  code: string;
  /** What was wrong and what the consumer can change; never personal data. */
  comment: string;
  args?: string[];
  escalateTo?: string;
  /** The consumer's endpoint when known; otherwise the trust adapter finds it at delivery time. */
  endpoint?: string;
  actor?: string;
}

/**
 * Queues a problem report for a failure found after the request was accepted (a request refused
 * after the fact, a result refused because it carries personal data). The same report (about,
 * recipient, code) is queued once; asking again returns the queued one.
 */
export function queueProblemReport(db: Db, r: ProblemReportRequest): { row: QueuedMessageRow; created: boolean } {
  if (!PROBLEM_CODE.test(r.code)) throw new Error(`problem code "${r.code}" is not of the form e.p.<scope>.<descriptor> (KIK-V consumers accept only sorter e, scope p)`);
  if (!r.comment.trim()) throw new Error('a problem report needs a comment that says what was wrong');
  const msg = problemReport({ about: r.about, from: r.from, to: r.to, code: r.code, comment: r.comment, ...(r.args ? { args: r.args } : {}), ...(r.escalateTo ? { escalateTo: r.escalateTo } : {}) });
  return queueMessage(db, { kind: 'problem-report', about: r.about.id, recipient: r.to, code: r.code, answerIds: [], message: msg, endpoint: r.endpoint ?? '', actor: r.actor ?? 'agent' });
}

/**
 * Queues a request's signed response (built once by the requests module, so pushing and pulling
 * carry the same message id) for delivery to its `to`. `answerIds` are marked delivered with it.
 * Queued once per request and recipient; asking again returns the queued one.
 */
export function queueResponse(db: Db, r: { message: DidcommMessage; answerIds: string[]; endpoint?: string; actor?: string }): { row: QueuedMessageRow; created: boolean } {
  const m = r.message;
  if (m.type !== RESPONSE_TYPE || !m.thid || m.to.length !== 1) throw new Error(`queueResponse takes a validated-query response with a thid and one recipient; got type ${m.type}, thid ${m.thid}, to ${JSON.stringify(m.to)}`);
  return queueMessage(db, { kind: 'response', about: m.thid, recipient: m.to[0]!, code: '', answerIds: r.answerIds, message: m, endpoint: r.endpoint ?? '', actor: r.actor ?? 'agent' });
}

function queueMessage(
  db: Db,
  q: { kind: QueuedMessageRow['kind']; about: string; recipient: string; code: string; answerIds: string[]; message: DidcommMessage; endpoint: string; actor: string },
): { row: QueuedMessageRow; created: boolean } {
  const now = new Date().toISOString();
  const row: QueuedMessageRow = {
    id: q.message.id,
    kind: q.kind,
    about_id: q.about,
    thread_id: q.message.thid ?? q.message.pthid ?? q.about,
    recipient: q.recipient,
    endpoint: q.endpoint,
    code: q.code,
    answer_ids: JSON.stringify(q.answerIds),
    message: JSON.stringify(q.message),
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    last_error: null,
    created_at: now,
    delivered_at: null,
  };
  return db.transaction(() => {
    const info = db
      .prepare(
        `INSERT OR IGNORE INTO message_outbox (id, kind, about_id, thread_id, recipient, endpoint, code, answer_ids, message, status, attempts, next_attempt_at, last_error, created_at)
         VALUES (@id, @kind, @about_id, @thread_id, @recipient, @endpoint, @code, @answer_ids, @message, @status, @attempts, @next_attempt_at, @last_error, @created_at)`,
      )
      .run(row);
    if (info.changes === 0) {
      const existing = db.prepare('SELECT * FROM message_outbox WHERE (about_id = ? AND recipient = ? AND kind = ? AND code = ?) OR id = ?').get(q.about, q.recipient, q.kind, q.code, row.id) as QueuedMessageRow;
      return { row: existing, created: false };
    }
    appendAudit(db, { actor: q.actor, action: `${q.kind}.queued`, subject: q.about, threadId: row.thread_id, details: { messageId: row.id, ...(q.code ? { code: q.code } : {}), recipient: q.recipient, answers: q.answerIds, message: q.message } });
    return { row, created: true };
  }).immediate();
}

/** Exponential backoff with full jitter, capped. */
export function retryDelayMs(attempt: number, r: DeliverySettings['retry'], random = Math.random): number {
  const ceiling = Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface DeliveryOutcome {
  id: string;
  kind: 'response' | 'problem-report';
  /** The answer a response carries; null for a problem report. */
  answerId: string | null;
  status: OutboxMessage['status'];
  attempts: number;
  error?: string;
}

/** One queued message of either table, as the delivery loop sees it. */
interface Queued {
  kind: DeliveryOutcome['kind'];
  table: 'outbox' | 'message_outbox';
  id: string;
  subject: string;
  answerId: string | null;
  /** The answers marked delivered with the message. */
  answerIds: string[];
  recipient: string;
  endpoint: string;
  message: string;
  attempts: number;
  created_at: string;
}

/**
 * POSTs every due outbox message: responses and problem reports, oldest first. The same message
 * (same id) is sent on every try, so a receiver that already has it can recognise the repeat; a
 * kill at any point leaves the message pending, and it is sent again after restart. Each try is one
 * audit entry with the full message (never the access token).
 */
export async function deliverDue(db: Db, s: DeliverySettings, now = new Date(), actor = 'agent', opts: DeliverOptions = {}): Promise<DeliveryOutcome[]> {
  const at = now.toISOString();
  withdrawSupersededMessages(db, actor);
  const responses = (db.prepare(`SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?`).all(at) as OutboxMessage[]).map(
    (m): Queued => ({ kind: 'response', table: 'outbox', id: m.id, subject: m.answer_id, answerId: m.answer_id, answerIds: [m.answer_id], recipient: m.recipient, endpoint: m.endpoint, message: m.message, attempts: m.attempts, created_at: m.created_at }),
  );
  const reports = (db.prepare(`SELECT * FROM message_outbox WHERE status = 'pending' AND next_attempt_at <= ?`).all(at) as QueuedMessageRow[]).map(
    (m): Queued => ({ kind: m.kind, table: 'message_outbox', id: m.id, subject: m.about_id, answerId: null, answerIds: JSON.parse(m.answer_ids) as string[], recipient: m.recipient, endpoint: m.endpoint, message: m.message, attempts: m.attempts, created_at: m.created_at }),
  );
  const due = [...responses, ...reports].sort((a, b) => a.created_at.localeCompare(b.created_at));
  const outcomes: DeliveryOutcome[] = [];
  for (const m of due) outcomes.push(await deliverOne(db, s, m, actor, opts.withoutTrust?.(m.recipient) ? undefined : opts.trust));
  return outcomes;
}

/**
 * A second line of defence behind supersedeAnswer: a pending message that carries a superseded
 * answer is marked failed instead of sent, so old content never arrives after its replacement.
 */
function withdrawSupersededMessages(db: Db, actor: string): void {
  const superseded = db
    .prepare(
      `SELECT s.answer_id, s.superseded_by FROM answer_supersessions s
       WHERE EXISTS (SELECT 1 FROM outbox o WHERE o.answer_id = s.answer_id AND o.status = 'pending')
          OR EXISTS (SELECT 1 FROM message_outbox m, json_each(m.answer_ids) j WHERE m.kind = 'response' AND m.status = 'pending' AND j.value = s.answer_id)`,
    )
    .all() as Array<{ answer_id: string; superseded_by: string }>;
  for (const r of superseded) db.transaction(() => withdrawPendingMessagesOf(db, r.answer_id, r.superseded_by, actor)).immediate();
}

async function deliverOne(db: Db, s: DeliverySettings, m: Queued, actor: string, trust: DeliverOptions['trust']): Promise<DeliveryOutcome> {
  const msg = JSON.parse(m.message) as DidcommMessage;
  const threadId = msg.thid ?? msg.pthid;
  const attempt = await attemptDelivery(m, s, trust);
  const attempts = m.attempts + 1;
  // The per-answer outbox keeps the action names it always had; queued messages are named by kind.
  const action = (outcome: 'delivered' | 'failed' | 'retry-scheduled') =>
    m.table === 'outbox' ? (outcome === 'delivered' ? 'answer.delivered' : `delivery.${outcome}`) : `${m.kind}.${outcome}`;
  const details = { messageId: m.id, recipient: m.recipient, endpoint: attempt.endpoint, attempts, ...(attempt.tokenRefreshed ? { tokenRefreshed: true } : {}), message: msg };
  db.transaction(() => {
    // Another process (serve and a CLI `deliver` side by side) may have settled the message meanwhile:
    // its outcome stands, and this try is recorded as a repeat.
    const still = db.prepare(`SELECT status FROM ${m.table} WHERE id = ?`).get(m.id) as { status: OutboxMessage['status'] } | undefined;
    if (still?.status !== 'pending') {
      appendAudit(db, { actor, action: m.table === 'outbox' ? 'delivery.repeated' : `${m.kind}.repeated`, subject: m.subject, threadId, details: { ...details, settledAs: still?.status ?? null, error: attempt.error } });
      return;
    }
    if (attempt.error === null) {
      const done = new Date().toISOString();
      db.prepare(`UPDATE ${m.table} SET status = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL, endpoint = ? WHERE id = ? AND status = 'pending'`).run(attempts, done, attempt.endpoint, m.id);
      const mark = db.prepare(`UPDATE answers SET status = 'delivered', delivered_at = ? WHERE id = ? AND status = 'approved'`);
      for (const id of m.answerIds) mark.run(done, id);
      appendAudit(db, { actor, action: action('delivered'), subject: m.subject, threadId, details });
    } else if (attempts >= s.retry.maxAttempts) {
      db.prepare(`UPDATE ${m.table} SET status = 'failed', attempts = ?, last_error = ? WHERE id = ?`).run(attempts, attempt.error, m.id);
      appendAudit(db, { actor, action: action('failed'), subject: m.subject, threadId, details: { ...details, error: attempt.error } });
    } else {
      // A consumer that says when to come back (Retry-After on 429/503) is not asked sooner.
      const next = new Date(Date.now() + Math.max(retryDelayMs(attempts, s.retry), attempt.retryAfterMs ?? 0)).toISOString();
      db.prepare(`UPDATE ${m.table} SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?`).run(attempts, attempt.error, next, m.id);
      appendAudit(db, { actor, action: action('retry-scheduled'), subject: m.subject, threadId, details: { ...details, error: attempt.error, next } });
    }
  }).immediate();
  const after = db.prepare(`SELECT status FROM ${m.table} WHERE id = ?`).get(m.id) as { status: OutboxMessage['status'] };
  return { id: m.id, kind: m.kind, answerId: m.answerId, status: after.status, attempts, ...(attempt.error ? { error: attempt.error } : {}) };
}

interface Attempt {
  endpoint: string;
  error: string | null;
  tokenRefreshed: boolean;
  retryAfterMs?: number;
}

/** Longest Retry-After we honour: a consumer cannot park a message for longer than a day. */
const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/**
 * One delivery try. With a trust adapter: the consumer's current endpoint (the stored one when the
 * lookup fails), a bearer token from the consumer, and on a 401 one retry with a fresh token.
 */
async function attemptDelivery(m: Queued, s: DeliverySettings, trust: DeliverOptions['trust']): Promise<Attempt> {
  const configured = m.endpoint || (m.recipient === s.kikStarter.did ? s.kikStarter.endpoint : '');
  if (!trust) {
    if (!configured) return { endpoint: '', error: `no endpoint known for ${m.recipient}: deliver with a trust adapter that can find it`, tokenRefreshed: false };
    return { endpoint: configured, ...(await post(configured, m.message, s.timeoutMs)), tokenRefreshed: false };
  }
  let endpoint = configured;
  try {
    endpoint = (await trust.endpointOf(m.recipient, KIKV_SERVICE)).toString();
  } catch (e) {
    if (!endpoint) return { endpoint: '', error: `no ${KIKV_SERVICE} endpoint for ${m.recipient}: ${(e as Error).message}`, tokenRefreshed: false };
  }
  let token: string;
  try {
    token = await trust.accessTokenFor(m.recipient, KIKV_SERVICE);
  } catch (e) {
    return { endpoint, error: `cannot get an access token from ${m.recipient} for ${KIKV_SERVICE}: ${(e as Error).message}`, tokenRefreshed: false };
  }
  const first = await post(endpoint, m.message, s.timeoutMs, token);
  if (first.status !== 401) return { endpoint, ...first, tokenRefreshed: false };
  // The consumer no longer accepts the token (expired early, revoked, its server restarted): one fresh one.
  try {
    token = await refreshedAccessToken(trust, m.recipient);
  } catch (e) {
    return { endpoint, error: `${first.error}; a fresh access token could not be obtained: ${(e as Error).message}`, tokenRefreshed: true };
  }
  return { endpoint, ...(await post(endpoint, m.message, s.timeoutMs, token)), tokenRefreshed: true };
}

/** Asks for a new token, not a cached one (Trust.accessTokenFor's `refresh`). */
function refreshedAccessToken(trust: Pick<Trust, 'accessTokenFor'>, peer: string): Promise<string> {
  return trust.accessTokenFor(peer, KIKV_SERVICE, { refresh: true });
}

/** error is null on a 2xx answer, else what went wrong (for the operator and the audit log). */
async function post(endpoint: string, body: string, timeoutMs: number, token?: string): Promise<{ status: number | null; error: string | null; retryAfterMs?: number }> {
  try {
    const headers: Record<string, string> = { 'content-type': DIDCOMM_PLAIN };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    if (res.ok) return { status: res.status, error: null };
    const text = (await res.text()).slice(0, 500);
    const retryAfterMs = retryAfterOf(res.headers.get('retry-after'));
    return { status: res.status, error: `HTTP ${res.status} from ${endpoint}: ${text}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return { status: null, error: `cannot reach ${endpoint}: ${err.cause?.code ?? err.name} ${err.message}` };
  }
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now, capped; undefined when absent or unreadable. */
export function retryAfterOf(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const ms = /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : undefined;
}

export function listOutbox(db: Db): OutboxMessage[] {
  return db.prepare('SELECT * FROM outbox ORDER BY created_at').all() as OutboxMessage[];
}

/** Queued prebuilt messages: problem reports and request responses. */
export function listQueuedMessages(db: Db): QueuedMessageRow[] {
  return db.prepare('SELECT * FROM message_outbox ORDER BY created_at').all() as QueuedMessageRow[];
}

/** Every queued message of both kinds, oldest first: what `kikv outbox list` shows. */
export interface OutboxEntry {
  id: string;
  kind: DeliveryOutcome['kind'];
  /** The answer (response) or the message the report is about (problem report). */
  subject: string;
  recipient: string;
  status: OutboxMessage['status'];
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
}

export function listOutboxEntries(db: Db): OutboxEntry[] {
  const responses = listOutbox(db).map((m): OutboxEntry => ({ id: m.id, kind: 'response', subject: m.answer_id, recipient: m.recipient, status: m.status, attempts: m.attempts, next_attempt_at: m.next_attempt_at, last_error: m.last_error, created_at: m.created_at }));
  const reports = listQueuedMessages(db).map((m): OutboxEntry => ({ id: m.id, kind: m.kind, subject: m.about_id, recipient: m.recipient, status: m.status, attempts: m.attempts, next_attempt_at: m.next_attempt_at, last_error: m.last_error, created_at: m.created_at }));
  return [...responses, ...reports].sort((a, b) => a.created_at.localeCompare(b.created_at));
}
