import { createTask, validateDetailed, type ScheduledTask } from 'node-cron';
import { ConfigError } from '../config/load.js';
import type { AgentConfig } from '../config/schema.js';
import { checkTimezone, instantOfWallTime, wallTimeAt, type WallTime } from './zoned-time.js';

/** The value of `import.schedule` that turns scheduled imports off. */
export const SCHEDULE_OFF = 'off';

const EXAMPLE = 'a cron expression such as "0 2 * * *" (every night at 02:00; minute hour day-of-month month day-of-week, optionally with a leading seconds field) or "off"';

/**
 * Checks `import.schedule` and `import.timezone`; throws a ConfigError naming the key and giving an
 * example, so `kikv serve` and `kikv status` stop with exit code 2 before doing anything.
 */
export function checkImportSchedule(cfg: Pick<AgentConfig, 'file' | 'import'>): void {
  const { schedule, timezone } = cfg.import;
  try {
    checkTimezone(timezone);
  } catch (e) {
    throw new ConfigError(cfg.file, [{ path: 'import.timezone', found: JSON.stringify(timezone), expected: `an IANA time zone such as "Europe/Amsterdam" (${(e as Error).message})` }]);
  }
  if (schedule === SCHEDULE_OFF) return;
  const v = validateDetailed(schedule);
  if (!v.valid) {
    const why = v.errors.map((e) => e.message).join('; ');
    throw new ConfigError(cfg.file, [{ path: 'import.schedule', found: `${JSON.stringify(schedule)} (${why})`, expected: EXAMPLE }]);
  }
}

/** Days searched ahead for a matching time: enough for "29 February" schedules across a skipped leap year. */
const MAX_DAYS = 366 * 9;
const DAY_MS = 86_400_000;

/**
 * A cron expression in a time zone, answering "when is the first run after this instant?" the way
 * node-cron 4.6 itself does: it walks the local calendar day by day, tries the day's times in order,
 * converts each wall time to an instant like node-cron does (skipped spring-forward times do not run;
 * a repeated autumn time runs once, at the instant node-cron picks), and confirms every candidate
 * with node-cron's own matcher. node-cron only answers this for "now", and the scheduler needs it
 * for any instant (catch-up after downtime, an injected clock in tests, `kikv status`).
 */
export class CronSchedule {
  private readonly seconds: number[];
  private readonly minutes: number[];
  private readonly hours: number[];
  private readonly months: Set<number>;
  /** node-cron's matcher for the whole expression. */
  private readonly full: ScheduledTask;
  /** The same day-of-month/month/day-of-week at 12:00:00, to rule out whole days cheaply. */
  private readonly day: ScheduledTask;

  constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    const v = validateDetailed(expression);
    if (!v.valid || !v.fields) throw new Error(`invalid cron expression "${expression}": ${v.errors.map((e) => e.message).join('; ')}`);
    const f = v.fields;
    const asc = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);
    this.seconds = asc(f.second);
    this.minutes = asc(f.minute);
    this.hours = asc(f.hour);
    this.months = new Set(f.month);
    // createTask does not start a task (schedule() does); these two only ever answer match().
    this.full = createTask(expression, () => undefined, { timezone });
    this.day = createTask(`0 0 12 ${f.dayOfMonth.join(',')} ${f.month.join(',')} ${f.dayOfWeek.join(',')}`, () => undefined, { timezone });
  }

  /** Whether node-cron would fire at this instant (whole seconds only). */
  matches(instant: Date | number): boolean {
    return this.full.match(new Date(instant));
  }

  /**
   * The first instant strictly after `after` at which the schedule fires, or undefined when there is
   * none up to `limit` (default: about nine years ahead).
   */
  nextAfter(after: Date | number, limit?: Date | number): Date | undefined {
    const base = Math.floor(new Date(after).getTime() / 1000) * 1000;
    const end = limit === undefined ? base + MAX_DAYS * DAY_MS : new Date(limit).getTime();
    const lower = wallTimeAt(base, this.timezone);
    let { year, month, day } = lower;
    const days = Math.min(MAX_DAYS, Math.ceil((end - base) / DAY_MS) + 2);
    for (let i = 0; i < days; i++) {
      if (this.months.has(month) && this.dayMatches(year, month, day)) {
        const found = this.firstOnDay({ year, month, day }, i === 0 ? lower : undefined, base);
        if (found !== undefined) return found <= end ? new Date(found) : undefined;
      }
      const next = new Date(Date.UTC(year, month - 1, day + 1));
      ({ year, month, day } = { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() });
      const startOfDay = instantOfWallTime({ year, month, day, hour: 0, minute: 0, second: 0 }, this.timezone);
      if (startOfDay !== undefined && startOfDay - DAY_MS > end) return undefined;
    }
    return undefined;
  }

  /** Releases node-cron's registry entries for the two matchers. */
  dispose(): void {
    void this.full.destroy();
    void this.day.destroy();
  }

  private dayMatches(year: number, month: number, day: number): boolean {
    const noon = instantOfWallTime({ year, month, day, hour: 12, minute: 0, second: 0 }, this.timezone);
    // 12:00 exists on every day in every zone in use; if it ever did not, let the full matcher decide.
    return noon === undefined || this.day.match(new Date(noon));
  }

  private firstOnDay(d: { year: number; month: number; day: number }, lower: WallTime | undefined, base: number): number | undefined {
    const lowerSecond = lower ? lower.hour * 3600 + lower.minute * 60 + lower.second : -1;
    for (const hour of this.hours) {
      if (lower && hour < lower.hour) continue;
      for (const minute of this.minutes) {
        for (const second of this.seconds) {
          if (hour * 3600 + minute * 60 + second <= lowerSecond) continue;
          const ts = instantOfWallTime({ ...d, hour, minute, second }, this.timezone);
          if (ts !== undefined && ts > base && this.full.match(new Date(ts))) return ts;
        }
      }
    }
    return undefined;
  }
}
