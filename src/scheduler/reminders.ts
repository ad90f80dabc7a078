import { createTask, type Logger, type ScheduledTask } from 'node-cron';
import { roundSummary } from '../answers/review.js';
import { listRounds, type Round } from '../answers/rounds.js';
import { appendAudit } from '../audit/log.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { wallTimeAt } from './zoned-time.js';

/**
 * Deadline reminders: while a round's window is open, its deadline is within board.reminderDays and
 * not every location is approved, the board is reminded (a warning in the log and an audit entry
 * once per day per round; /metrics and the home page show it on every look).
 */

export interface RoundReminder {
  round: Round;
  daysToDeadline: number;
  /** Indelingen (vestigingsnummers, Organisatie) not yet approved. */
  unapproved: string[];
}

export interface ReminderLog {
  info(message: string): void;
  warn?(message: string): void;
  error(message: string): void;
}

/** Rounds that need a reminder at `now`. */
export function dueReminders(cfg: AgentConfig, db: Db, now = new Date()): RoundReminder[] {
  const due: RoundReminder[] = [];
  for (const round of listRounds(cfg, db)) {
    const s = roundSummary(cfg, db, round, now);
    if (!s.reminder) continue;
    due.push({ round, daysToDeadline: s.daysToDeadline, unapproved: s.indelingen.filter((i) => i.state !== 'approved' && i.state !== 'delivered').map((i) => i.indeling) });
  }
  return due;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Logs and audits each due reminder, at most once per calendar day (in the round's time zone) per
 * round, also across restarts (the audit log remembers). Returns the reminders given now.
 */
export function remindRounds(cfg: AgentConfig, db: Db, now = new Date(), log: ReminderLog = consoleLog): RoundReminder[] {
  const given: RoundReminder[] = [];
  const already = db.prepare(`SELECT 1 FROM audit WHERE action = 'round.reminder' AND subject = ? AND json_extract(details, '$.day') = ? LIMIT 1`);
  for (const r of dueReminders(cfg, db, now)) {
    const w = wallTimeAt(now, r.round.timeZone);
    const day = `${w.year}-${pad(w.month)}-${pad(w.day)}`;
    if (already.get(r.round.id, day)) continue;
    appendAudit(db, { actor: 'agent', action: 'round.reminder', subject: r.round.id, details: { round: r.round.id, day, daysToDeadline: r.daysToDeadline, closes: r.round.closes, unapproved: r.unapproved }, at: now });
    const text = `round ${r.round.id}: the deadline ${r.round.closes} is ${r.daysToDeadline === 0 ? 'today' : `in ${r.daysToDeadline} day(s)`} and ${r.unapproved.length} location(s) are not approved yet (${r.unapproved.join(', ')})`;
    (log.warn ?? log.error).call(log, text);
    given.push(r);
  }
  return given;
}

const consoleLog: ReminderLog = { info: (m) => console.log(m), warn: (m) => console.warn(m), error: (m) => console.error(m) };

/** Every day at 08:00 in the import time zone: when the board starts its working day. */
export const REMINDER_SCHEDULE = '0 8 * * *';

export interface ReminderJob {
  /** The reminders given at start. */
  atStart: RoundReminder[];
  stop(): Promise<void>;
}

/** Reminds at start and then daily; never throws into the scheduler (a failure is logged). */
export function startReminderJob(opts: { cfg: AgentConfig; db: Db; now?: () => Date; log?: ReminderLog }): ReminderJob {
  const { cfg, db } = opts;
  const now = opts.now ?? (() => new Date());
  const log = opts.log ?? consoleLog;
  const run = (): RoundReminder[] => {
    try {
      return remindRounds(cfg, db, now(), log);
    } catch (e) {
      log.error(`deadline reminders could not be checked: ${(e as Error).message}`);
      return [];
    }
  };
  const atStart = run();
  const quiet: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: (m) => log.error(`node-cron: ${m instanceof Error ? m.message : m}`) };
  const task: ScheduledTask = createTask(REMINDER_SCHEDULE, () => void run(), { name: 'kikv-reminders', timezone: cfg.import.timezone, noOverlap: true, logger: quiet });
  void task.start();
  return {
    atStart,
    async stop() {
      await task.stop();
      await task.destroy();
    },
  };
}
