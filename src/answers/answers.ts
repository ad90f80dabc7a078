import { randomUUID } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import { canonicalJson } from '../db/json.js';
import type { Db } from '../db/open.js';
import type { SparqlJsonResults } from '../engines/types.js';
import type { IndicatorRun } from '../indicators/pack.js';
import { sha256 } from '../store/snapshot.js';

export type AnswerStatus = 'awaiting_approval' | 'approved' | 'rejected' | 'delivered';

/** An answer row as stored. JSON columns are kept as text; use `resultOf` to read the result. */
export interface Answer {
  id: string;
  thread_id: string;
  profile: string;
  profile_version: string;
  indicator_id: string;
  indicator_name: string;
  reporting_year: number;
  parameters: string;
  query_hash: string;
  snapshot_hash: string;
  result: string;
  content_hash: string;
  status: AnswerStatus;
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
  decision_reason: string | null;
  approved_hash: string | null;
  delivered_at: string | null;
  /** The engine that computed it ("manual" for entered items); null for answers from before issue 4. */
  engine: string | null;
  ontology_version: string | null;
  /** JSON, not sent: the item, the normaliser's rewrites, ward detail rows. */
  metadata: string | null;
}

/** Raised when an action does not fit the answer's state; the message says what to do instead. */
export class AnswerStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnswerStateError';
  }
}

/** The hash the board approves: everything that determines what will be sent. */
export function contentHashOf(a: Pick<Answer, 'profile' | 'profile_version' | 'indicator_id' | 'reporting_year' | 'parameters' | 'query_hash' | 'snapshot_hash' | 'result'>): string {
  return sha256(
    canonicalJson({
      profile: a.profile,
      profileVersion: a.profile_version,
      indicator: a.indicator_id,
      reportingYear: a.reporting_year,
      parameters: JSON.parse(a.parameters) as unknown,
      queryHash: a.query_hash,
      snapshotHash: a.snapshot_hash,
      result: JSON.parse(a.result) as unknown,
    }),
  );
}

export function resultOf(a: Answer): SparqlJsonResults {
  return JSON.parse(a.result) as SparqlJsonResults;
}

/**
 * Stores a computed indicator result as an answer awaiting the board. When the same query on the
 * same snapshot with the same parameters already has an answer that was not rejected, that one is
 * returned instead, so recomputing never creates a second pending answer.
 */
export function recordAnswer(
  db: Db,
  run: Pick<IndicatorRun, 'indicator' | 'parameters' | 'queryHash' | 'results'> & { engine?: string },
  ctx: { profile: string; version: string; year: number; snapshotHash: string; threadId?: string; actor: string; ontologyVersion?: string; metadata?: unknown },
): { answer: Answer; created: boolean } {
  const parameters = canonicalJson(run.parameters);
  const existing = db
    .prepare(
      `SELECT * FROM answers WHERE profile = ? AND profile_version = ? AND indicator_id = ? AND reporting_year = ?
       AND parameters = ? AND query_hash = ? AND snapshot_hash = ? AND status != 'rejected' ORDER BY created_at DESC LIMIT 1`,
    )
    .get(ctx.profile, ctx.version, run.indicator.id, ctx.year, parameters, run.queryHash, ctx.snapshotHash) as Answer | undefined;
  if (existing) return { answer: existing, created: false };
  const base = {
    id: randomUUID(),
    thread_id: ctx.threadId ?? `urn:uuid:${randomUUID()}`,
    profile: ctx.profile,
    profile_version: ctx.version,
    indicator_id: run.indicator.id,
    indicator_name: `${run.indicator.number} ${run.indicator.name}`,
    reporting_year: ctx.year,
    parameters,
    query_hash: run.queryHash,
    snapshot_hash: ctx.snapshotHash,
    result: canonicalJson(run.results),
    status: 'awaiting_approval' as const,
    created_at: new Date().toISOString(),
    engine: run.engine ?? null,
    ontology_version: ctx.ontologyVersion ?? null,
    metadata: ctx.metadata === undefined ? null : canonicalJson(ctx.metadata),
  };
  const answer = { ...base, content_hash: contentHashOf(base) };
  db.transaction(() => {
    insertAnswer(db, answer);
    appendAudit(db, {
      actor: ctx.actor,
      action: 'answer.computed',
      subject: answer.id,
      threadId: answer.thread_id,
      details: { indicator: answer.indicator_id, profile: `${answer.profile} ${answer.profile_version}`, year: answer.reporting_year, snapshot: answer.snapshot_hash, queryHash: answer.query_hash, contentHash: answer.content_hash, rows: run.results.results.bindings.length, engine: answer.engine, ontology: answer.ontology_version },
    });
  }).immediate();
  return { answer: getAnswer(db, answer.id), created: true };
}

/** A new answer row (content hashed by the caller; its status starts awaiting approval). Call inside the transaction that audits it. */
export function insertAnswer(db: Db, answer: Omit<Answer, 'decided_by' | 'decided_at' | 'decision_reason' | 'approved_hash' | 'delivered_at'>): void {
  db.prepare(
    `INSERT INTO answers (id, thread_id, profile, profile_version, indicator_id, indicator_name, reporting_year, parameters, query_hash, snapshot_hash, result, content_hash, status, created_at, engine, ontology_version, metadata)
     VALUES (@id, @thread_id, @profile, @profile_version, @indicator_id, @indicator_name, @reporting_year, @parameters, @query_hash, @snapshot_hash, @result, @content_hash, @status, @created_at, @engine, @ontology_version, @metadata)`,
  ).run(answer);
}

export function getAnswer(db: Db, id: string): Answer {
  const a = db.prepare('SELECT * FROM answers WHERE id = ? OR (length(?) >= 8 AND id LIKE ? || \'%\')').all(id, id, id) as Answer[];
  if (a.length === 0) throw new AnswerStateError(`no answer with id ${id}; see \`kikv answers list\``);
  if (a.length > 1) throw new AnswerStateError(`id ${id} is ambiguous (${a.length} answers start with it); give more characters`);
  return a[0]!;
}

export function listAnswers(db: Db, status?: AnswerStatus): Answer[] {
  return (status
    ? db.prepare('SELECT * FROM answers WHERE status = ? ORDER BY created_at, indicator_id').all(status)
    : db.prepare('SELECT * FROM answers ORDER BY created_at, indicator_id').all()) as Answer[];
}

/** The board approves exactly this content: who, when and the hash of the answer are recorded. */
export function approveAnswer(db: Db, id: string, actor: string): Answer {
  return decide(db, id, actor, 'approved', null);
}

/** The board rejects: the answer is never sent; a reason is required. */
export function rejectAnswer(db: Db, id: string, actor: string, reason: string): Answer {
  if (!reason.trim()) throw new AnswerStateError('a rejection needs a reason (--reason TEXT) so quality staff know what to correct');
  return decide(db, id, actor, 'rejected', reason.trim());
}

function decide(db: Db, id: string, actor: string, to: 'approved' | 'rejected', reason: string | null): Answer {
  if (!actor.trim()) throw new AnswerStateError('say who decides (--as NAME); every approval is attributable');
  return db.transaction(() => {
    const a = getAnswer(db, id);
    if (a.status !== 'awaiting_approval') throw new AnswerStateError(`answer ${a.id} is ${a.status.replace('_', ' ')}; only an answer awaiting approval can be ${to}`);
    const hash = contentHashOf(a);
    if (hash !== a.content_hash) throw new AnswerStateError(`answer ${a.id} does not match its recorded content hash; it was altered after computation and cannot be ${to}`);
    const at = new Date().toISOString();
    db.prepare('UPDATE answers SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?, approved_hash = ? WHERE id = ? AND status = ?').run(
      to, actor, at, reason, to === 'approved' ? hash : null, a.id, 'awaiting_approval',
    );
    appendAudit(db, { actor, action: `answer.${to}`, subject: a.id, threadId: a.thread_id, details: { indicator: a.indicator_id, contentHash: hash, ...(reason ? { reason } : {}) }, at: new Date(at) });
    return getAnswer(db, a.id);
  }).immediate();
}

export type SupersessionKind = 'correction' | 'recomputed' | 'redelivered';

export interface Supersession {
  answer_id: string;
  superseded_by: string;
  kind: SupersessionKind;
  reason: string;
  actor: string;
  at: string;
}

/** The newer answer that replaced this one, if any. */
export function supersessionOf(db: Db, answerId: string): Supersession | undefined {
  return db.prepare('SELECT * FROM answer_supersessions WHERE answer_id = ?').get(answerId) as Supersession | undefined;
}

/** The answers this one replaced. */
export function supersededBy(db: Db, answerId: string): Supersession[] {
  return db.prepare('SELECT * FROM answer_supersessions WHERE superseded_by = ? ORDER BY at, answer_id').all(answerId) as Supersession[];
}

/**
 * Records that `newer` replaces `older` (kept forever; a superseded answer is never approved or
 * queued again) and audits it. Call inside the transaction that makes the newer answer count.
 */
export function supersedeAnswer(db: Db, older: Pick<Answer, 'id' | 'thread_id' | 'indicator_id'>, newer: string, kind: SupersessionKind, reason: string, actor: string, at = new Date()): void {
  db.prepare('INSERT INTO answer_supersessions (answer_id, superseded_by, kind, reason, actor, at) VALUES (?, ?, ?, ?, ?, ?)').run(older.id, newer, kind, reason, actor, at.toISOString());
  appendAudit(db, { actor, action: 'answer.superseded', subject: older.id, threadId: older.thread_id, details: { indicator: older.indicator_id, supersededBy: newer, kind, reason }, at });
  withdrawPendingMessagesOf(db, older.id, newer, actor, at);
}

/**
 * Marks failed every message still pending that carries a superseded answer (its own outbox message,
 * or a request's response that carries it), so the old content is never sent after, or instead of,
 * the answer that replaced it. Audited per message; returns the ids withdrawn. Call inside a transaction.
 */
export function withdrawPendingMessagesOf(db: Db, answerId: string, supersededBy: string, actor: string, at = new Date()): string[] {
  const error = `not sent: answer ${answerId} was superseded by ${supersededBy}`;
  const pending = [
    ...(db.prepare(`SELECT id, answer_id AS subject FROM outbox WHERE answer_id = ? AND status = 'pending'`).all(answerId) as Array<{ id: string; subject: string }>).map((m) => ({ ...m, table: 'outbox' as const })),
    ...(db
      .prepare(`SELECT id, about_id AS subject FROM message_outbox m WHERE kind = 'response' AND status = 'pending' AND EXISTS (SELECT 1 FROM json_each(m.answer_ids) j WHERE j.value = ?)`)
      .all(answerId) as Array<{ id: string; subject: string }>).map((m) => ({ ...m, table: 'message_outbox' as const })),
  ];
  const withdrawn: string[] = [];
  for (const m of pending) {
    const info = db.prepare(`UPDATE ${m.table} SET status = 'failed', last_error = ? WHERE id = ? AND status = 'pending'`).run(error, m.id);
    if (info.changes === 0) continue;
    appendAudit(db, { actor, action: 'delivery.withdrawn', subject: m.subject, details: { messageId: m.id, answer: answerId, supersededBy, reason: error }, at });
    withdrawn.push(m.id);
  }
  return withdrawn;
}
