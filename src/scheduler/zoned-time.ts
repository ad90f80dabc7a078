/** Wall-clock time in an IANA time zone, with the conversions the import schedule needs. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timezone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormatters.set(timezone, f);
  }
  return f;
}

/** Throws a message naming the fix when `timezone` is not an IANA zone this Node.js knows. */
export function checkTimezone(timezone: string): void {
  try {
    partsFormatter(timezone);
  } catch {
    throw new Error(`import.timezone "${timezone}" is not a known IANA time zone; use a name such as "Europe/Amsterdam"`);
  }
}

export function wallTimeAt(instant: Date | number, timezone: string): WallTime {
  const p: Record<string, number> = {};
  for (const part of partsFormatter(timezone).formatToParts(instant)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year!, month: p.month!, day: p.day!, hour: p.hour! % 24, minute: p.minute!, second: p.second! };
}

/** Minutes east of UTC in `timezone` at `ms` (whole seconds; sub-second offsets do not exist since 1972). */
export function offsetMinutes(ms: number, timezone: string): number {
  const w = wallTimeAt(ms, timezone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

function sameWallTime(a: WallTime, b: WallTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute && a.second === b.second;
}

/**
 * The instant node-cron 4.6 fires for a wall-clock time, or undefined when that time does not
 * exist (skipped by a spring DST change). This follows node-cron's own localTimeToTimestamp step
 * for step, so for a time that occurs twice (autumn) we name the same one of the two that
 * node-cron will actually fire at, and `kikv status` never shows a time the scheduler will not use.
 */
export function instantOfWallTime(w: WallTime, timezone: string): number | undefined {
  const guess = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const first = offsetMinutes(guess, timezone);
  const candidate1 = guess - first * 60_000;
  const second = offsetMinutes(candidate1, timezone);
  const candidate2 = guess - second * 60_000;
  for (const c of second === first ? [candidate1] : [candidate1, candidate2]) if (sameWallTime(wallTimeAt(c, timezone), w)) return c;
  return undefined;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO 8601 in `timezone` with its offset, e.g. 2024-03-31T03:00:00+02:00: what operators read. */
export function isoInZone(instant: Date | number, timezone: string): string {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  const w = wallTimeAt(ms, timezone);
  const off = offsetMinutes(ms, timezone);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
