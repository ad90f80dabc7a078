import type { FastifyRequest } from 'fastify';
import type { Answer } from '../answers/answers.js';
import { approve, currentAnswers, deliveryStateOf, type Actor, type DeliveryState, type ReviewStep } from '../answers/review.js';
import { getRound, RoundError, type Round } from '../answers/rounds.js';
import { checkPassword } from '../auth/users.js';
import { providerOfSnapshot } from '../board/provider.js';
import type { AgentConfig } from '../config/schema.js';
import type { AuditEntry } from '../audit/log.js';
import type { Db } from '../db/open.js';
import { deliverySettings, runDeliveryRound } from '../exchange/delivery-round.js';
import type { Trust } from '../exchange/types.js';

/**
 * What the board's pages and its API both do, so both leave the same state and the same audit
 * entries: an approval checks the password again, records the steps, and delivers.
 */

export interface BoardDeps {
  db: Db;
  cfg: AgentConfig;
  trust: Trust;
  now: () => Date;
}

/** The acting user of a guarded request (the guard has made sure there is one). */
export function actorOf(req: FastifyRequest): Actor {
  const s = req.session;
  if (!s) throw new RoundError('not logged in', 403);
  return { name: s.user.name, role: s.user.role };
}

/** The round of PROFILE/YEAR from the URL, or a 404 refusal. */
export function roundFrom(deps: BoardDeps, profile: string, year: string | number): Round {
  if (!/^\d{4}$/.test(String(year))) throw new RoundError(`"${year}" is not a reporting year; use four digits, e.g. 2023`, 404);
  return getRound(deps.cfg, deps.db, `${profile}/${year}`);
}

/** "alle" (pages) and "all" (API) mean every indeling. */
export function indelingFrom(segment: string): string {
  return segment === 'alle' || segment === 'all' ? 'all' : segment;
}

/** How long an approval waits for the delivery it starts before the page answers. */
const DELIVERY_WAIT_MS = 10_000;

export interface ApprovalOutcome {
  steps: ReviewStep[];
  approvedAnswers: Answer[];
  /** The delivery round run after the last indeling was approved; undefined when nothing was approved yet or it is still running. */
  delivery?: { queued: number; delivered: number; failed: number };
}

/**
 * Approves after checking the user's password once more ('confirm': counted like a login, so it can
 * lock the account), then — when the approval completed the round — runs a delivery round at once.
 */
export async function approveWithPassword(deps: BoardDeps, round: Round, indeling: string, actor: Actor, password: string, expectedHash: string): Promise<ApprovalOutcome> {
  const { db, cfg } = deps;
  // Without the hash of what the approver saw, a change made meanwhile would be approved unseen.
  if (!expectedHash?.trim()) throw new RoundError('expectedHash: missing; the approval must name the content hash shown on the approval page (reload the page and approve again)', 400);
  const check = await checkPassword(db, actor.name, password, cfg.board, 'confirm', deps.now());
  if (!check.ok) {
    throw new RoundError(check.reason === 'locked' ? `account locked after too many failed attempts${check.lockedUntil ? ` until ${check.lockedUntil}` : ''}` : 'password wrong: give your own password again to approve', 403);
  }
  const result = approve(cfg, db, round, indeling, actor, { expectedHash: expectedHash.trim(), now: deps.now() });
  const outcome: ApprovalOutcome = { steps: result.steps, approvedAnswers: result.approvedAnswers };
  if (result.approvedAnswers.length > 0) {
    // Signing and sending start now. The page waits a little for them, not for a consumer that is
    // slow or down (retries take minutes to hours); the round page shows the delivery state either way,
    // and serve's delivery loop finishes what this round leaves.
    // The outbox stamps queued messages with the real clock, so the sending step uses it too.
    const delivering = runDeliveryRound({ db, trust: deps.trust, cfg, settings: deliverySettings(cfg) }, { actor: actor.name }).then(
      (r) => ({
        queued: r.answers.length + r.responses.length,
        delivered: r.outcomes.filter((o) => o.status === 'delivered').length,
        failed: r.outcomes.filter((o) => o.status !== 'delivered').length,
      }),
      // Every failed step is in the outbox and the audit log already; the round page shows it.
      () => undefined,
    );
    const waited = await Promise.race([delivering, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), DELIVERY_WAIT_MS).unref())]);
    if (waited !== 'waiting' && waited) outcome.delivery = waited;
  }
  return outcome;
}

/** Each current answer's delivery state. */
export function deliveriesOf(deps: BoardDeps, round: Round): Array<{ answerId: string; item: string; state: DeliveryState }> {
  return currentAnswers(deps.db, round).map((a) => ({ answerId: a.id, item: a.indicator_id, state: deliveryStateOf(deps.cfg, deps.db, a.id, deps.now()) }));
}

/** vestigingsnummer → location name, from the provider data of the snapshot the round's answers ran on. */
export async function locationNames(deps: BoardDeps, round: Round): Promise<Record<string, string>> {
  const snapshot = currentAnswers(deps.db, round).find((a) => a.engine !== 'manual')?.snapshot_hash ?? currentAnswers(deps.db, round)[0]?.snapshot_hash;
  if (!snapshot) return {};
  try {
    const p = await providerOfSnapshot(deps.cfg, deps.db, snapshot);
    return Object.fromEntries(p.locations.map((l) => [l.vestigingsnummer, l.name]));
  } catch {
    // Names are a convenience: without the snapshot file the numbers still identify the locations.
    return {};
  }
}

/** One page of the audit log, newest first, and how many entries there are. */
export function auditPageOf(db: Db, offset: number, limit: number): { entries: AuditEntry[]; total: number } {
  const entries = db.prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT ? OFFSET ?').all(limit, offset) as AuditEntry[];
  const total = (db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
  return { entries, total };
}

/**
 * The audit entries of an answer and of the answers it replaced (a correction's metadata.supersedes,
 * followed back), oldest first: the whole story of the value the board sees.
 */
export function answerHistory(db: Db, answerId: string): AuditEntry[] {
  const ids: string[] = [];
  let id: string | undefined = answerId;
  while (id && !ids.includes(id) && ids.length < 100) {
    ids.push(id);
    const row = db.prepare('SELECT metadata FROM answers WHERE id = ?').get(id) as { metadata: string | null } | undefined;
    const meta = row?.metadata ? (JSON.parse(row.metadata) as { supersedes?: unknown }) : {};
    id = typeof meta.supersedes === 'string' ? meta.supersedes : undefined;
  }
  const marks = ids.map(() => '?').join(',');
  return db.prepare(`SELECT * FROM audit WHERE subject IN (${marks}) OR thread_id IN (${marks}) ORDER BY seq`).all(...ids, ...ids) as AuditEntry[];
}

/** Route parameters of the board's pages and API: a round, an indeling of it, an item there. */
export interface RoundP {
  profile: string;
  year: string;
}
export interface IndelingP extends RoundP {
  indeling: string;
}
export interface ItemP extends IndelingP {
  item: string;
}
