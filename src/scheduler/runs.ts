import { hostname } from 'node:os';
import { appendAudit } from '../audit/log.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import type { ImportResult } from '../pipeline/import.js';

/** Why an import ran: the cron schedule, a start-up catch-up, or an operator (`kikv import`). */
export type ImportTrigger = 'schedule' | 'catch-up' | 'manual';
export type ImportRunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** One row of import_runs. */
export interface ImportRun {
  id: number;
  trigger: ImportTrigger;
  started_at: string;
  finished_at: string | null;
  status: ImportRunStatus;
  snapshot_hash: string | null;
  report_file: string | null;
  error: string | null;
  rows_read: number | null;
  rows_mapped: number | null;
  rows_rejected: number | null;
  holder_pid: number;
  holder_host: string;
  heartbeat_at: string;
}

/** The pipeline step a run executes: `importSource` in the agent, anything with its signature in tests. */
export type RunImport = (cfg: AgentConfig, db: Db, actor: string) => Promise<ImportResult>;

/**
 * How the lock notices a holder that died: a running import refreshes its heartbeat every
 * `heartbeatMs`; a holder whose process is gone (same host), or whose heartbeat is older than
 * `staleAfterMs` (any host, or a reused process id), no longer holds the lock.
 */
export interface LockTiming {
  heartbeatMs: number;
  staleAfterMs: number;
}
export const DEFAULT_LOCK_TIMING: LockTiming = { heartbeatMs: 15_000, staleAfterMs: 10 * 60_000 };

/** Another import holds the lock; the message names it and says what to do. */
export class ImportBusyError extends Error {
  constructor(readonly holder: ImportRun) {
    super(`another import is already running: ${describeHolder(holder)}; wait for it to finish (\`kikv status\` shows it) and try again`);
    this.name = 'ImportBusyError';
  }
}

export function describeHolder(r: ImportRun): string {
  return `run #${r.id} (${r.trigger}), started ${r.started_at} by process ${r.holder_pid} on ${r.holder_host}`;
}

/** Runs this process holds, by database file and run id (so a reused pid is not mistaken for us). */
const ownRuns = new Set<string>();
const ownKey = (db: Db, id: number) => `${db.name}#${id}`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the holder of a running run is still at work, and if not, why. */
export function holderState(db: Db, r: ImportRun, now: Date, timing: LockTiming = DEFAULT_LOCK_TIMING): { alive: true } | { alive: false; why: string } {
  if (r.holder_host === hostname()) {
    if (r.holder_pid === process.pid) {
      if (!ownRuns.has(ownKey(db, r.id))) return { alive: false, why: `process ${r.holder_pid} that started it has stopped (this process reuses its id)` };
      return { alive: true };
    }
    if (!pidAlive(r.holder_pid)) return { alive: false, why: `process ${r.holder_pid} that ran it has stopped` };
  }
  const silentMs = now.getTime() - Date.parse(r.heartbeat_at);
  if (silentMs > timing.staleAfterMs) return { alive: false, why: `process ${r.holder_pid} on ${r.holder_host} has given no sign of life since ${r.heartbeat_at}` };
  return { alive: true };
}

export function runningRun(db: Db): ImportRun | undefined {
  return db.prepare(`SELECT * FROM import_runs WHERE status = 'running'`).get() as ImportRun | undefined;
}

export function getRun(db: Db, id: number): ImportRun {
  return db.prepare('SELECT * FROM import_runs WHERE id = ?').get(id) as ImportRun;
}

export function listRuns(db: Db, limit = 20): ImportRun[] {
  return db.prepare('SELECT * FROM import_runs ORDER BY id DESC LIMIT ?').all(limit) as ImportRun[];
}

/** The most recent run that has finished (any final status). */
export function lastFinishedRun(db: Db): ImportRun | undefined {
  return db.prepare(`SELECT * FROM import_runs WHERE status <> 'running' ORDER BY id DESC LIMIT 1`).get() as ImportRun | undefined;
}

export function lastSucceededRun(db: Db): ImportRun | undefined {
  return db.prepare(`SELECT * FROM import_runs WHERE status = 'succeeded' ORDER BY id DESC LIMIT 1`).get() as ImportRun | undefined;
}

/**
 * Marks runs left 'running' by a process that is gone as 'interrupted' (their snapshot, if any was
 * half written, was never recorded; the previous one stays in use). Returns the runs it marked.
 */
export function recoverInterruptedRuns(db: Db, now: Date, timing: LockTiming = DEFAULT_LOCK_TIMING): ImportRun[] {
  return db.transaction(() => recoverInTransaction(db, now, timing)).immediate();
}

function recoverInTransaction(db: Db, now: Date, timing: LockTiming): ImportRun[] {
  const r = runningRun(db);
  if (!r) return [];
  const state = holderState(db, r, now, timing);
  if (state.alive) return [];
  const error = `interrupted: ${state.why} before the import finished; the previous snapshot stays in use`;
  db.prepare(`UPDATE import_runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ? AND status = 'running'`).run(now.toISOString(), error, r.id);
  appendAudit(db, { actor: 'scheduler', action: 'import.interrupted', details: { run: r.id, trigger: r.trigger, startedAt: r.started_at, holder: { pid: r.holder_pid, host: r.holder_host }, error }, at: now });
  return [getRun(db, r.id)];
}

/** The actor recorded in the audit log for a run with this trigger. */
export function actorFor(trigger: ImportTrigger): string {
  return trigger === 'manual' ? 'operator (cli)' : `scheduler (${trigger})`;
}

export interface StartedRun {
  run: ImportRun;
  /** Audit sequence number of the run's import.started entry. */
  startedSeq: number;
}

/**
 * Takes the import lock and records the run as started, in one transaction: first clears a lock
 * left by a dead process (recording that run as interrupted), then refuses with ImportBusyError
 * when a live import holds it. Synchronous, so a caller knows at once whether it got the lock.
 */
export function beginRun(db: Db, trigger: ImportTrigger, opts: { now: Date; actor?: string; timing?: LockTiming; details?: Record<string, unknown> }): StartedRun {
  const timing = opts.timing ?? DEFAULT_LOCK_TIMING;
  return db
    .transaction((): StartedRun => {
      recoverInTransaction(db, opts.now, timing);
      const held = runningRun(db);
      if (held) throw new ImportBusyError(held);
      const at = opts.now.toISOString();
      const info = db
        .prepare(`INSERT INTO import_runs (trigger, started_at, status, holder_pid, holder_host, heartbeat_at) VALUES (?, ?, 'running', ?, ?, ?)`)
        .run(trigger, at, process.pid, hostname(), at);
      const id = Number(info.lastInsertRowid);
      ownRuns.add(ownKey(db, id));
      const entry = appendAudit(db, { actor: opts.actor ?? actorFor(trigger), action: 'import.started', subject: `import-run:${id}`, details: { run: id, trigger, ...opts.details }, at: opts.now });
      return { run: getRun(db, id), startedSeq: entry.seq };
    })
    .immediate();
}

export interface RecordedRun {
  run: ImportRun;
  /** What the pipeline returned, when it returned. */
  result?: ImportResult;
  /** What the pipeline threw, when it threw. */
  error?: unknown;
}

/**
 * Runs the import for a started run and records how it ended. Never throws for a failed import:
 * the failure is in the returned run (status 'failed', error) and the audit log. A failed import
 * makes no snapshot, so the previous one stays the latest.
 */
export async function finishRun(
  cfg: AgentConfig,
  db: Db,
  started: StartedRun,
  runImport: RunImport,
  opts: { now: () => Date; actor?: string; timing?: LockTiming },
): Promise<RecordedRun> {
  const { run } = started;
  const timing = opts.timing ?? DEFAULT_LOCK_TIMING;
  const actor = opts.actor ?? actorFor(run.trigger);
  const beat = setInterval(() => {
    try {
      db.prepare(`UPDATE import_runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`).run(opts.now().toISOString(), run.id);
    } catch {
      // A busy or closing database: the next beat tries again; the lock only goes stale after staleAfterMs.
    }
  }, timing.heartbeatMs);
  beat.unref();
  let result: ImportResult | undefined;
  let error: unknown;
  try {
    result = await runImport(cfg, db, actor);
  } catch (e) {
    error = e;
  } finally {
    clearInterval(beat);
  }
  const finishedAt = opts.now();
  const totals = result?.report.totals;
  const snapshot = result?.snapshot?.meta.hash ?? null;
  const status: ImportRunStatus = snapshot ? 'succeeded' : 'failed';
  const message = snapshot ? null : failureMessage(result, error);
  try {
    db.transaction(() => {
      db.prepare(
        `UPDATE import_runs SET status = ?, finished_at = ?, heartbeat_at = ?, snapshot_hash = ?, report_file = ?, error = ?, rows_read = ?, rows_mapped = ?, rows_rejected = ?
         WHERE id = ? AND status = 'running'`,
      ).run(status, finishedAt.toISOString(), finishedAt.toISOString(), snapshot, result?.reportFile ?? null, message, totals?.rowsRead ?? null, totals?.rowsMapped ?? null, totals?.rowsRejected ?? null, run.id);
      // importSource audits its own outcome (with the actor, which names the trigger); add ours only when it did not.
      const pipelineAudited = db.prepare(`SELECT 1 FROM audit WHERE seq > ? AND action IN ('import.completed', 'import.failed') LIMIT 1`).get(started.startedSeq);
      if (!pipelineAudited) {
        appendAudit(db, {
          actor,
          action: snapshot ? 'import.completed' : 'import.failed',
          subject: snapshot ?? `import-run:${run.id}`,
          details: { run: run.id, trigger: run.trigger, report: result?.reportFile ?? null, totals: totals ?? null, error: message },
          at: finishedAt,
        });
      }
    }).immediate();
  } finally {
    ownRuns.delete(ownKey(db, run.id));
  }
  return { run: getRun(db, run.id), result, error };
}

/** One line on why an import made no snapshot. */
function failureMessage(result: ImportResult | undefined, error: unknown): string {
  if (error !== undefined) return error instanceof Error ? error.message : String(error);
  const problems = result?.report.fileErrors.map((e) => `${e.file}: ${e.reason}`) ?? [];
  if (problems.length === 0) return 'the import made no snapshot';
  const shown = problems.slice(0, 3).join('; ');
  return problems.length > 3 ? `${shown}; and ${problems.length - 3} more (see the report)` : shown;
}

/** Takes the lock, runs the import and records it: what `kikv import` does. Throws ImportBusyError when another import runs. */
export async function runRecordedImport(
  cfg: AgentConfig,
  db: Db,
  trigger: ImportTrigger,
  runImport: RunImport,
  opts: { now?: () => Date; actor?: string; timing?: LockTiming } = {},
): Promise<RecordedRun> {
  const now = opts.now ?? (() => new Date());
  const started = beginRun(db, trigger, { now: now(), actor: opts.actor, timing: opts.timing });
  return finishRun(cfg, db, started, runImport, { ...opts, now });
}

/**
 * The instant from which a missed scheduled run is counted: when the last import that was not
 * interrupted ended (or started, if it is still going); without any, when the latest snapshot was
 * made. Undefined when the agent has never imported anything.
 */
export function catchUpReference(db: Db): Date | undefined {
  const run = db.prepare(`SELECT MAX(COALESCE(finished_at, started_at)) AS at FROM import_runs WHERE status <> 'interrupted'`).get() as { at: string | null };
  if (run.at) return new Date(run.at);
  const snap = db.prepare('SELECT MAX(created_at) AS at FROM snapshots').get() as { at: string | null };
  return snap.at ? new Date(snap.at) : undefined;
}
