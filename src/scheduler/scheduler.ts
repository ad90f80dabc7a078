import { createTask, type Logger, type ScheduledTask } from 'node-cron';
import { appendAudit } from '../audit/log.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { latestSnapshotHash } from '../pipeline/import.js';
import { checkImportSchedule, CronSchedule, SCHEDULE_OFF } from './cron.js';
import {
  actorFor,
  beginRun,
  catchUpReference,
  DEFAULT_LOCK_TIMING,
  describeHolder,
  finishRun,
  ImportBusyError,
  recoverInterruptedRuns,
  type ImportRun,
  type ImportTrigger,
  type LockTiming,
  type RecordedRun,
  type RunImport,
} from './runs.js';
import { startReminderJob } from './reminders.js';
import { isoInZone } from './zoned-time.js';

export interface SchedulerLog {
  info(message: string): void;
  /** Deadline reminders (falls back to error when absent). */
  warn?(message: string): void;
  error(message: string): void;
}

export interface ImportSchedulerOptions {
  cfg: AgentConfig;
  db: Db;
  /** The pipeline step, normally `importSource`. */
  runImport: RunImport;
  /** The clock for decisions and records (catch-up, next run, run times); node-cron's timers use real time. */
  now?: () => Date;
  log?: SchedulerLog;
  timing?: Partial<LockTiming>;
  /** How late node-cron may still start a slot (default 5 minutes); a later slot becomes a catch-up. */
  missedToleranceMs?: number;
  /** Also run the delivery-deadline reminders (at start and daily; src/scheduler/reminders.ts). Default true. */
  reminders?: boolean;
}

/** What a trigger led to: a run that succeeded or failed, or a skip (another import was running). */
export type RunNowResult =
  | ({ status: 'succeeded' | 'failed' } & RecordedRun)
  | { status: 'skipped'; trigger: ImportTrigger; reason: string; heldBy?: ImportRun };

export interface ImportScheduler {
  /** Settles when the start-up catch-up run is done (undefined when none was due). */
  ready: Promise<RunNowResult | undefined>;
  /** Why a catch-up run was started at start-up, if one was. */
  catchUp?: string;
  /** Stops the schedule and waits for a run in progress to finish. */
  stop(): Promise<void>;
  /** The next scheduled run after now, or undefined when the schedule is "off". */
  nextRun(): Date | undefined;
  /** Runs an import now, unless one is already running (here or in another process): then it is skipped. */
  runNow(trigger: ImportTrigger): Promise<RunNowResult>;
}

const consoleLog: SchedulerLog = { info: (m) => console.log(m), warn: (m) => console.warn(m), error: (m) => console.error(m) };

/**
 * Decides whether a run is due at start-up: always when nothing was ever imported (first start, even
 * with the schedule off); otherwise when a scheduled time passed since the last import ended, i.e.
 * the agent was down (or the import was interrupted) then. One catch-up covers any number of missed slots.
 */
export function catchUpDue(db: Db, schedule: CronSchedule | undefined, now: Date): string | undefined {
  if (!latestSnapshotHash(db)) return 'no snapshot yet (first start)';
  if (!schedule) return undefined;
  const reference = catchUpReference(db);
  if (!reference) return 'no import recorded yet';
  const missed = schedule.nextAfter(reference, now);
  return missed ? `the run scheduled for ${isoInZone(missed, schedule.timezone)} was missed (last import ${reference.toISOString()})` : undefined;
}

/**
 * Runs the import on `import.schedule` in `import.timezone` with node-cron, one at a time (also
 * across processes, through the import_runs lock), catching up once at start when a run was missed.
 * Throws a ConfigError for a bad schedule or time zone before touching anything.
 */
export function startImportScheduler(opts: ImportSchedulerOptions): ImportScheduler {
  const { cfg, db, runImport } = opts;
  checkImportSchedule(cfg);
  const now = opts.now ?? (() => new Date());
  const log = opts.log ?? consoleLog;
  const timing: LockTiming = { ...DEFAULT_LOCK_TIMING, ...opts.timing };
  const tz = cfg.import.timezone;
  const schedule = cfg.import.schedule === SCHEDULE_OFF ? undefined : new CronSchedule(cfg.import.schedule, tz);

  for (const r of recoverInterruptedRuns(db, now(), timing)) log.info(`import run #${r.id} (${r.trigger}, started ${r.started_at}) was ${r.error}`);

  let current: { run: ImportRun; done: Promise<RunNowResult> } | undefined;
  let stopped = false;

  const skip = (trigger: ImportTrigger, reason: string, heldBy?: ImportRun): RunNowResult => {
    log.info(`import (${trigger}) skipped: ${reason}`);
    try {
      appendAudit(db, { actor: actorFor(trigger), action: 'import.skipped', details: { trigger, reason, heldBy: heldBy?.id ?? null }, at: now() });
    } catch (e) {
      log.error(`could not record the skipped import in the audit log: ${(e as Error).message}`);
    }
    return { status: 'skipped', trigger, reason, heldBy };
  };

  const runNow = (trigger: ImportTrigger, details?: Record<string, unknown>): Promise<RunNowResult> => {
    if (stopped) return Promise.resolve({ status: 'skipped', trigger, reason: 'the scheduler is stopped' });
    if (current) return Promise.resolve(skip(trigger, `an import is already running in this process: ${describeHolder(current.run)}`, current.run));
    let started;
    try {
      started = beginRun(db, trigger, { now: now(), timing, details });
    } catch (e) {
      if (e instanceof ImportBusyError) return Promise.resolve(skip(trigger, e.message, e.holder));
      log.error(`import (${trigger}) could not start: ${(e as Error).message}`);
      return Promise.resolve({ status: 'skipped', trigger, reason: `could not start: ${(e as Error).message}` });
    }
    log.info(`import run #${started.run.id} (${trigger}) started`);
    const done = finishRun(cfg, db, started, runImport, { now, timing })
      .then((rec): RunNowResult => {
        const r = rec.run;
        if (r.status === 'succeeded') {
          log.info(`import run #${r.id} (${trigger}) succeeded: snapshot ${r.snapshot_hash}, ${r.rows_read} rows read (${r.rows_mapped} mapped, ${r.rows_rejected} rejected); report ${r.report_file}`);
        } else {
          const kept = latestSnapshotHash(db);
          log.error(`import run #${r.id} (${trigger}) FAILED: ${r.error}${r.report_file ? `; report ${r.report_file}` : ''}; ${kept ? `snapshot ${kept} stays in use` : 'there is no snapshot yet'}`);
        }
        return { status: r.status === 'succeeded' ? 'succeeded' : 'failed', ...rec };
      })
      .catch((e: unknown): RunNowResult => {
        // Recording the outcome itself failed (the database went away): report, never throw into node-cron.
        log.error(`import run #${started.run.id} (${trigger}) could not be recorded: ${(e as Error).message}`);
        return { status: 'failed', run: started.run, error: e };
      })
      .finally(() => {
        current = undefined;
      });
    current = { run: started.run, done };
    return done;
  };

  const reminders = opts.reminders === false ? undefined : startReminderJob({ cfg, db, now, log });

  const catchUp = catchUpDue(db, schedule, now());
  const ready = catchUp ? runNow('catch-up', { reason: catchUp }) : Promise.resolve(undefined);

  let task: ScheduledTask | undefined;
  if (schedule) {
    const quiet: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: (m) => log.error(`node-cron: ${m instanceof Error ? m.message : m}`) };
    task = createTask(cfg.import.schedule, async () => void (await runNow('schedule')), {
      name: 'kikv-import',
      timezone: tz,
      noOverlap: true,
      missedExecutionTolerance: opts.missedToleranceMs ?? 5 * 60_000,
      logger: quiet,
    });
    task.on('execution:overlap', (ctx) => log.info(`scheduled import at ${ctx.dateLocalIso} skipped: the previous import is still running`));
    task.on('execution:missed', (ctx) => {
      if (current || stopped) return;
      log.info(`scheduled import at ${ctx.dateLocalIso} was missed (the process was busy); catching up now`);
      void runNow('catch-up', { reason: `the run scheduled for ${ctx.dateLocalIso} was missed (the process was busy)` });
    });
    void task.start();
  }

  return {
    ready,
    catchUp,
    runNow: (trigger) => runNow(trigger),
    nextRun: () => schedule?.nextAfter(now()),
    async stop() {
      if (stopped) return;
      stopped = true;
      await reminders?.stop();
      if (task) {
        await task.stop();
        await task.destroy();
      }
      schedule?.dispose();
      if (current) await current.done;
    },
  };
}
