import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { checkImportSchedule, CronSchedule, SCHEDULE_OFF } from './cron.js';
import { DEFAULT_LOCK_TIMING, holderState, lastFinishedRun, runningRun, type ImportRun, type ImportRunStatus, type ImportTrigger, type LockTiming } from './runs.js';
import { isoInZone } from './zoned-time.js';

/** An instant both ways: UTC ISO for machines, the configured time zone for operators. */
export interface Instant {
  iso: string;
  local: string;
}

export interface RunSummary {
  id: number;
  trigger: ImportTrigger;
  status: ImportRunStatus;
  startedAt: Instant;
  finishedAt: Instant | null;
  durationMs: number | null;
  snapshot: string | null;
  reportFile: string | null;
  rows: { read: number; mapped: number; rejected: number } | null;
  error: string | null;
}

export interface ImportStatus {
  now: Instant;
  schedule: string;
  timezone: string;
  /** Null when the schedule is "off" (or never fires again). */
  nextRun: Instant | null;
  /** The import running now; `stale` when its process is gone (it is marked interrupted at the next start or import). */
  inProgress: (RunSummary & { holder: { pid: number; host: string }; stale: string | null }) | null;
  lastRun: RunSummary | null;
  /** The snapshot in use: the newest one made (by the last successful run, when runs are recorded). */
  snapshot: { hash: string; createdAt: Instant; reportFile: string; run: number | null } | null;
}

/** Everything `kikv status` shows, as plain data. Reads only. */
export function importStatus(cfg: AgentConfig, db: Db, now: Date = new Date(), timing: LockTiming = DEFAULT_LOCK_TIMING): ImportStatus {
  checkImportSchedule(cfg);
  const tz = cfg.import.timezone;
  const at = (iso: string): Instant => ({ iso, local: isoInZone(new Date(iso), tz) });
  const summary = (r: ImportRun): RunSummary => ({
    id: r.id,
    trigger: r.trigger,
    status: r.status,
    startedAt: at(r.started_at),
    finishedAt: r.finished_at ? at(r.finished_at) : null,
    durationMs: r.finished_at ? Date.parse(r.finished_at) - Date.parse(r.started_at) : null,
    snapshot: r.snapshot_hash,
    reportFile: r.report_file,
    rows: r.rows_read === null ? null : { read: r.rows_read, mapped: r.rows_mapped ?? 0, rejected: r.rows_rejected ?? 0 },
    error: r.error,
  });

  let nextRun: Date | undefined;
  if (cfg.import.schedule !== SCHEDULE_OFF) {
    const s = new CronSchedule(cfg.import.schedule, tz);
    try {
      nextRun = s.nextAfter(now);
    } finally {
      s.dispose();
    }
  }

  const running = runningRun(db);
  let inProgress: ImportStatus['inProgress'] = null;
  if (running) {
    const state = holderState(db, running, now, timing);
    inProgress = { ...summary(running), holder: { pid: running.holder_pid, host: running.holder_host }, stale: state.alive ? null : state.why };
  }

  const last = lastFinishedRun(db);
  const snap = db.prepare('SELECT hash, created_at, report_file FROM snapshots ORDER BY created_at DESC LIMIT 1').get() as { hash: string; created_at: string; report_file: string } | undefined;
  return {
    now: at(now.toISOString()),
    schedule: cfg.import.schedule,
    timezone: tz,
    nextRun: nextRun ? at(nextRun.toISOString()) : null,
    inProgress,
    lastRun: last ? summary(last) : null,
    snapshot: snap ? { hash: snap.hash, createdAt: at(snap.created_at), reportFile: snap.report_file, run: runOf(db, snap.hash) } : null,
  };
}

function runOf(db: Db, hash: string): number | null {
  const r = db.prepare(`SELECT id FROM import_runs WHERE snapshot_hash = ? AND status = 'succeeded' ORDER BY id DESC LIMIT 1`).get(hash) as { id: number } | undefined;
  return r?.id ?? null;
}
