import { appendAudit } from '../audit/log.js';
import { can, type Permission, type Role } from '../auth/roles.js';
import type { AgentConfig } from '../config/schema.js';
import { canonicalJson } from '../db/json.js';
import type { Db } from '../db/open.js';
import { sha256 } from '../store/snapshot.js';
import { approveAnswer, getAnswer, resultOf, supersedeAnswer, type Answer, type AnswerStatus } from './answers.js';
import { assertNotLocked, daysToDeadline, lockedMessage, roundOfAnswer, roundPhase, RoundError, type Round, type RoundPhase } from './rounds.js';

/**
 * The board's review of a round, per indeling (a location's vestigingsnummer, or "Organisatie"):
 * quality prepares, the board approves or rejects. Each step records the hash of exactly the rows it
 * covered and counts only while that content is still what would be sent, so a correction or a
 * recomputation asks for a new review. When every indeling is approved, the round's answers are.
 */

export const ORGANISATIE = 'Organisatie';

export interface Actor {
  name: string;
  role: Role;
}

export interface ReviewStep {
  id: number;
  indeling: string;
  action: 'prepared' | 'approved' | 'rejected';
  actor: string;
  role: string;
  at: string;
  reason: string | null;
  content_hash: string;
  /** JSON: [{id, contentHash}] of the answers the step covered. */
  answers: string;
}

/**
 * Answers to a consumer's request for a query the pack does not ship are stored under the round's
 * profile, version and year with this indicator id prefix (src/exchange/requests.ts). They are no
 * item of the round: on no approval page, in no content hash, never approved by the round.
 */
const REQUEST_ONLY = 'query:';

/**
 * Oldest first by created_at then insertion: the current answer is the last one per item. Within a
 * pack version every indicator id is an item of that pack, except the request-only ones.
 */
const ROUND_ANSWERS = `SELECT a.* FROM answers a
  WHERE a.profile = ? AND a.profile_version = ? AND a.reporting_year = ? AND a.status != 'rejected'
    AND substr(a.indicator_id, 1, ${REQUEST_ONLY.length}) != '${REQUEST_ONLY}'
    AND NOT EXISTS (SELECT 1 FROM answer_supersessions s WHERE s.answer_id = a.id)
  ORDER BY a.created_at, a.rowid`;

const byItem = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** The current answer of every item that has one: the newest not superseded and not rejected. */
export function currentAnswers(db: Db, round: Round): Answer[] {
  const latest = new Map<string, Answer>();
  for (const a of db.prepare(ROUND_ANSWERS).all(round.profile, round.version, round.year) as Answer[]) latest.set(a.indicator_id, a);
  return [...latest.values()].sort((a, b) => byItem(a.indicator_id, b.indicator_id));
}

function rowsOf(a: Answer): Array<Record<string, string>> {
  return resultOf(a).results.bindings.map((b) => Object.fromEntries(Object.entries(b).map(([k, t]) => [k, t.value])));
}

function indelingenOf(answers: Answer[]): string[] {
  const set = new Set<string>();
  for (const a of answers) for (const r of rowsOf(a)) if (r.indeling) set.add(r.indeling);
  const locations = [...set].filter((i) => i !== ORGANISATIE).sort();
  return set.has(ORGANISATIE) ? [...locations, ORGANISATIE] : locations;
}

/** Vestigingsnummers (sorted), then "Organisatie": every indeling the current answers have a row for. */
export function roundIndelingen(db: Db, round: Round): string[] {
  return indelingenOf(currentAnswers(db, round));
}

export interface IndelingContent {
  indeling: string;
  hash: string;
  rows: Array<{ answerId: string; item: string; contentHash: string; row: Record<string, string> }>;
}

function contentOf(answers: Answer[], indeling: string): IndelingContent {
  const rows: IndelingContent['rows'] = [];
  for (const a of answers) {
    const row = rowsOf(a).find((r) => r.indeling === indeling);
    if (row) rows.push({ answerId: a.id, item: a.indicator_id, contentHash: a.content_hash, row });
  }
  rows.sort((x, y) => byItem(x.item, y.item));
  const hash = sha256(canonicalJson(rows.map((r) => ({ answer: r.answerId, contentHash: r.contentHash, item: r.item, row: r.row }))));
  return { indeling, hash, rows };
}

/** Exactly what would be sent for an indeling: its row of every current answer, and the hash a review step records. */
export function indelingContent(db: Db, round: Round, indeling: string): IndelingContent {
  return contentOf(currentAnswers(db, round), indeling);
}

/** One hash over every indeling's content: what "approve all" can be checked against. */
export function roundContentHash(db: Db, round: Round): string {
  const answers = currentAnswers(db, round);
  return sha256(canonicalJson(indelingenOf(answers).map((i) => ({ indeling: i, hash: contentOf(answers, i).hash }))));
}

export type IndelingState = 'to-prepare' | 'prepared' | 'rejected' | 'approved' | 'delivered';

export interface IndelingReview {
  indeling: string;
  state: IndelingState;
  hash: string;
  steps: ReviewStep[];
  valid: { prepared?: ReviewStep; approved?: ReviewStep; rejected?: ReviewStep };
}

function stepsOf(db: Db, round: Round, indeling: string): ReviewStep[] {
  return db
    .prepare('SELECT id, indeling, action, actor, role, at, reason, content_hash, answers FROM review_steps WHERE profile = ? AND profile_version = ? AND reporting_year = ? AND indeling = ? ORDER BY id')
    .all(round.profile, round.version, round.year, indeling) as ReviewStep[];
}

function reviewOf(answers: Answer[], steps: ReviewStep[], indeling: string): IndelingReview {
  const content = contentOf(answers, indeling);
  const lastRejection = [...steps].reverse().find((s) => s.action === 'rejected');
  const after = (s: ReviewStep) => !lastRejection || s.id > lastRejection.id;
  const latestValid = (action: ReviewStep['action'], needsAfterRejection: boolean) =>
    [...steps].reverse().find((s) => s.action === action && s.content_hash === content.hash && (!needsAfterRejection || after(s)));
  const valid: IndelingReview['valid'] = {};
  const prepared = latestValid('prepared', true);
  const approved = latestValid('approved', true);
  const rejected = lastRejection && lastRejection.content_hash === content.hash ? lastRejection : undefined;
  if (prepared) valid.prepared = prepared;
  if (approved) valid.approved = approved;
  if (rejected) valid.rejected = rejected;
  const covering = answers.filter((a) => content.rows.some((r) => r.answerId === a.id));
  let state: IndelingState;
  if (covering.length > 0 && covering.every((a) => a.status === 'delivered')) state = 'delivered';
  else if (approved || (covering.length > 0 && covering.every((a) => a.status === 'approved' || a.status === 'delivered'))) state = 'approved';
  else if (prepared) state = 'prepared';
  else if (lastRejection) state = 'rejected';
  else state = 'to-prepare';
  return { indeling, state, hash: content.hash, steps, valid };
}

export function indelingReview(cfg: AgentConfig, db: Db, round: Round, indeling: string): IndelingReview {
  void cfg;
  return reviewOf(currentAnswers(db, round), stepsOf(db, round, indeling), indeling);
}

export interface RoundSummary {
  round: Round;
  phase: RoundPhase;
  daysToDeadline: number;
  /** Items with a current answer. */
  items: number;
  /** Every answer of the round by status; superseded answers counted apart. */
  answers: Record<AnswerStatus | 'superseded', number>;
  indelingen: IndelingReview[];
  /** The deadline is near (board.reminderDays) and not every indeling is approved. */
  reminder: boolean;
}

export function roundSummary(cfg: AgentConfig, db: Db, round: Round, now = new Date()): RoundSummary {
  const answers = currentAnswers(db, round);
  const indelingen = indelingenOf(answers).map((i) => reviewOf(answers, stepsOf(db, round, i), i));
  const counts: RoundSummary['answers'] = { awaiting_approval: 0, approved: 0, rejected: 0, delivered: 0, superseded: 0 };
  const rows = db
    .prepare(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM answer_supersessions s WHERE s.answer_id = a.id) THEN 'superseded' ELSE a.status END AS s, COUNT(*) AS n
       FROM answers a WHERE a.profile = ? AND a.profile_version = ? AND a.reporting_year = ?
         AND substr(a.indicator_id, 1, ${REQUEST_ONLY.length}) != '${REQUEST_ONLY}' GROUP BY s`,
    )
    .all(round.profile, round.version, round.year) as Array<{ s: keyof RoundSummary['answers']; n: number }>;
  for (const r of rows) counts[r.s] = r.n;
  const phase = roundPhase(round, now);
  const days = daysToDeadline(round, now);
  const unapproved = indelingen.filter((i) => i.state !== 'approved' && i.state !== 'delivered').length;
  return { round, phase, daysToDeadline: days, items: answers.length, answers: counts, indelingen, reminder: phase === 'open' && days <= cfg.board.reminderDays && unapproved > 0 };
}

const ROLE_FOR: Record<Permission, string> = {
  read: 'any',
  'enter-manual': 'quality or board',
  correct: 'quality',
  prepare: 'quality',
  approve: 'board',
  reject: 'board',
  import: 'operator',
  'read-audit': 'operator or board',
  'manage-users': 'no',
};

/** 403 naming the role the action needs. */
export function assertCan(actor: Actor, p: Permission, what: string): void {
  if (!actor.name?.trim()) throw new RoundError(`${what} needs a named person; every review step is attributable`, 403);
  if (!can(actor.role, p)) throw new RoundError(`${what} needs the ${ROLE_FOR[p]} role; ${actor.name} has the ${actor.role} role`, 403);
}

function targets(answers: Answer[], round: Round, indeling: string | 'all'): string[] {
  const all = indelingenOf(answers);
  if (all.length === 0) throw new RoundError(`round ${round.id} has no answers to review yet; run \`kikv run --year ${round.year}\` first`, 409);
  if (indeling === 'all') return all;
  if (!all.includes(indeling)) throw new RoundError(`round ${round.id} has no location "${indeling}"; give a vestigingsnummer (${all.filter((i) => i !== ORGANISATIE).join(', ')}), "${ORGANISATIE}" or "all"`, 404);
  return [indeling];
}

function recordStep(db: Db, round: Round, content: IndelingContent, action: ReviewStep['action'], actor: Actor, at: Date, reason: string | null): ReviewStep {
  const covered = content.rows.map((r) => ({ id: r.answerId, contentHash: r.contentHash }));
  const info = db
    .prepare(
      `INSERT INTO review_steps (profile, profile_version, reporting_year, indeling, action, actor, role, at, reason, content_hash, answers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(round.profile, round.version, round.year, content.indeling, action, actor.name, actor.role, at.toISOString(), reason, content.hash, canonicalJson(covered));
  appendAudit(db, {
    actor: actor.name,
    action: `review.${action}`,
    subject: `${round.id}/${content.indeling}`,
    details: { round: round.id, indeling: content.indeling, contentHash: content.hash, answers: covered.map((c) => c.id), role: actor.role, ...(reason ? { reason } : {}) },
    at,
  });
  return db.prepare('SELECT id, indeling, action, actor, role, at, reason, content_hash, answers FROM review_steps WHERE id = ?').get(info.lastInsertRowid) as ReviewStep;
}

/** Quality staff mark indelingen as ready for the board (the first half of four-eyes). */
export function prepare(cfg: AgentConfig, db: Db, round: Round, indeling: string | 'all', actor: Actor, now = new Date()): ReviewStep[] {
  assertCan(actor, 'prepare', 'preparing a location for approval');
  return db.transaction(() => {
    assertNotLocked(round, now);
    const answers = currentAnswers(db, round);
    const chosen = targets(answers, round, indeling);
    const todo = chosen.map((i) => reviewOf(answers, stepsOf(db, round, i), i)).filter((r) => r.state === 'to-prepare' || r.state === 'rejected');
    if (todo.length === 0) {
      throw new RoundError(indeling === 'all' ? `nothing to prepare in round ${round.id}: every location is prepared or approved` : `${indeling} in round ${round.id} is already ${reviewOf(answers, stepsOf(db, round, indeling), indeling).state}`, 409);
    }
    return todo.map((r) => recordStep(db, round, contentOf(answers, r.indeling), 'prepared', actor, now, null));
  }).immediate();
}

/**
 * The board approves indelingen (one, or every one not yet approved). With four-eyes, each needs a
 * valid preparation by someone else made after its latest rejection. When the last indeling of the
 * round is approved, the round's current answers are approved (and older pending ones superseded);
 * the caller then runs a delivery round.
 */
export function approve(cfg: AgentConfig, db: Db, round: Round, indeling: string | 'all', actor: Actor, opts: { expectedHash?: string; now?: Date } = {}): { steps: ReviewStep[]; approvedAnswers: Answer[] } {
  const now = opts.now ?? new Date();
  assertCan(actor, 'approve', 'approving');
  return db.transaction(() => {
    assertNotLocked(round, now);
    const answers = currentAnswers(db, round);
    const chosen = targets(answers, round, indeling);
    if (opts.expectedHash !== undefined) {
      const current = indeling === 'all' ? roundContentHash(db, round) : contentOf(answers, indeling).hash;
      if (current !== opts.expectedHash) throw new RoundError('the answer changed since you opened the page; reload and review again', 409);
    }
    const reviews = chosen.map((i) => reviewOf(answers, stepsOf(db, round, i), i));
    const todo = reviews.filter((r) => r.state !== 'approved' && r.state !== 'delivered');
    if (todo.length === 0) throw new RoundError(indeling === 'all' ? `every location of round ${round.id} is already approved` : `${indeling} in round ${round.id} is already approved`, 409);
    if (cfg.board.fourEyes) {
      const unprepared = todo.filter((r) => !r.valid.prepared).map((r) => r.indeling);
      if (unprepared.length > 0) throw new RoundError(`four-eyes: ${unprepared.join(', ')} must first be prepared by a quality officer (after the latest rejection, for the content as it is now)`, 403);
      const own = todo.filter((r) => r.valid.prepared!.actor === actor.name).map((r) => r.indeling);
      if (own.length > 0) throw new RoundError(`four-eyes: ${actor.name} prepared ${own.join(', ')}; another person must approve`, 403);
    }
    const steps = todo.map((r) => recordStep(db, round, contentOf(answers, r.indeling), 'approved', actor, now, null));
    const allApproved = indelingenOf(answers).every((i) => {
      const s = reviewOf(answers, stepsOf(db, round, i), i).state;
      return s === 'approved' || s === 'delivered';
    });
    const approvedAnswers = allApproved ? approveRoundAnswers(db, round, answers, boardSawAnswers(db, round, answers), actor.name, now) : [];
    return { steps, approvedAnswers };
  }).immediate();
}

/**
 * The answers the board approved on a page: those listed in each indeling's approval step that
 * still counts (recorded for the content as it is now). Nothing else is approved by the round.
 */
function boardSawAnswers(db: Db, round: Round, answers: Answer[]): Set<string> {
  const seen = new Set<string>();
  for (const i of indelingenOf(answers)) {
    const step = reviewOf(answers, stepsOf(db, round, i), i).valid.approved;
    if (step) for (const c of JSON.parse(step.answers) as Array<{ id: string; contentHash: string }>) seen.add(c.id);
  }
  return seen;
}

/**
 * Every current answer still awaiting approval that the board saw is approved; older pending answers of the same items
 * are superseded (recomputed), and older approved or delivered ones (a correction, a recomputation
 * before the deadline) are superseded as redelivered: the new message says which one it replaces.
 * Answers a consumer's request is waiting for are left alone (their response carries them).
 */
function approveRoundAnswers(db: Db, round: Round, answers: Answer[], seen: Set<string>, actor: string, now: Date): Answer[] {
  const older = db.prepare(
    `SELECT a.* FROM answers a WHERE a.profile = ? AND a.profile_version = ? AND a.reporting_year = ? AND a.indicator_id = ? AND a.id != ?
       AND a.status IN ('awaiting_approval', 'approved', 'delivered')
       AND NOT EXISTS (SELECT 1 FROM answer_supersessions s WHERE s.answer_id = a.id)
       AND NOT EXISTS (SELECT 1 FROM request_answers l WHERE l.answer_id = a.id)`,
  );
  const approved: Answer[] = [];
  for (const a of answers) {
    if (a.status !== 'awaiting_approval' || !seen.has(a.id)) continue;
    for (const o of older.all(round.profile, round.version, round.year, a.indicator_id, a.id) as Answer[]) {
      if (o.created_at > a.created_at) continue;
      if (o.status === 'awaiting_approval') supersedeAnswer(db, o, a.id, 'recomputed', `a newer answer (${a.id}) was approved for round ${round.id}`, actor, now);
      else supersedeAnswer(db, o, a.id, 'redelivered', `replaced before the deadline by ${a.id}, approved for round ${round.id}`, actor, now);
    }
    approved.push(approveAnswer(db, a.id, actor));
  }
  return approved;
}

/** The board sends indelingen back to quality with a reason; approved-and-sent content cannot be rejected (correct it instead). */
export function reject(cfg: AgentConfig, db: Db, round: Round, indeling: string | 'all', actor: Actor, reason: string, now = new Date()): ReviewStep[] {
  void cfg;
  assertCan(actor, 'reject', 'rejecting');
  const why = (reason ?? '').trim();
  if (!why) throw new RoundError('reason: a rejection needs a reason so quality staff know what to correct', 400);
  return db.transaction(() => {
    assertNotLocked(round, now);
    const answers = currentAnswers(db, round);
    const chosen = targets(answers, round, indeling);
    const reviews = chosen.map((i) => reviewOf(answers, stepsOf(db, round, i), i));
    const covered = (r: IndelingReview) => answers.filter((a) => contentOf(answers, r.indeling).rows.some((x) => x.answerId === a.id));
    const released = reviews.filter((r) => covered(r).every((a) => a.status === 'approved' || a.status === 'delivered'));
    if (indeling !== 'all' && released.length > 0) throw new RoundError(`${indeling} in round ${round.id} is already approved and released for delivery; correct a value to send a new version`, 409);
    const todo = reviews.filter((r) => !released.includes(r));
    if (todo.length === 0) throw new RoundError(`every location of round ${round.id} is already approved and released for delivery; correct a value to send a new version`, 409);
    return todo.map((r) => recordStep(db, round, contentOf(answers, r.indeling), 'rejected', actor, now, why));
  }).immediate();
}

export interface DeliveryState {
  state: 'not-approved' | 'waiting-for-window' | 'queued' | 'delivered' | 'failed' | 'superseded';
  messageId?: string;
  attempts?: number;
  retriesLeft?: number;
  lastError?: string | null;
  deliveredAt?: string | null;
}

/** Where an answer is on its way to the consumer, from the outbox (on its own) or a request's response. */
export function deliveryStateOf(cfg: AgentConfig, db: Db, answerId: string, now = new Date()): DeliveryState {
  const a = getAnswer(db, answerId);
  type Row = { id: string; status: 'pending' | 'delivered' | 'failed'; attempts: number; last_error: string | null; delivered_at: string | null };
  const row =
    (db.prepare('SELECT id, status, attempts, last_error, delivered_at FROM outbox WHERE answer_id = ? ORDER BY created_at DESC LIMIT 1').get(a.id) as Row | undefined) ??
    (db
      .prepare(`SELECT id, status, attempts, last_error, delivered_at FROM message_outbox m WHERE kind = 'response' AND EXISTS (SELECT 1 FROM json_each(m.answer_ids) j WHERE j.value = ?) ORDER BY created_at DESC LIMIT 1`)
      .get(a.id) as Row | undefined);
  const superseded = db.prepare('SELECT 1 FROM answer_supersessions WHERE answer_id = ?').get(a.id) !== undefined;
  const message = row
    ? { messageId: row.id, attempts: row.attempts, retriesLeft: Math.max(0, cfg.delivery.retry.maxAttempts - row.attempts), lastError: row.last_error, deliveredAt: row.delivered_at }
    : {};
  if (superseded) return { state: 'superseded', ...message };
  if (row) return { state: row.status === 'pending' ? 'queued' : row.status, ...message };
  if (a.status === 'delivered') return { state: 'delivered', deliveredAt: a.delivered_at };
  if (a.status !== 'approved') return { state: 'not-approved' };
  const round = roundOfAnswer(cfg, a);
  if (round && roundPhase(round, now) === 'upcoming') return { state: 'waiting-for-window' };
  if (round && roundPhase(round, now) === 'locked') return { state: 'failed', lastError: lockedMessage(round) };
  return { state: 'queued' };
}
