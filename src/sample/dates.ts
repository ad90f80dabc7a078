/** Calendar helpers on day numbers (days since 1970-01-01, UTC). Pure functions, no clock. */

const MS_PER_DAY = 86_400_000;

/** Day number of a calendar date (month 1–12). */
export function day(y: number, m: number, d: number): number {
  return Math.round(Date.UTC(y, m - 1, d) / MS_PER_DAY);
}

/** [year, month 1–12, day] of a day number. */
export function ymd(n: number): [number, number, number] {
  const dt = new Date(n * MS_PER_DAY);
  return [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
}

/** YYYY-MM-DD of a day number. */
export function iso(n: number): string {
  const [y, m, d] = ymd(n);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Nullable variant: '' for an open end. */
export function isoOrEmpty(n: number | null): string {
  return n === null ? '' : iso(n);
}

export function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function monthStart(n: number): number {
  const [y, m] = ymd(n);
  return day(y, m, 1);
}

export function monthEnd(n: number): number {
  const [y, m] = ymd(n);
  return day(y, m, daysInMonth(y, m));
}

/** Same day k months later, clamped to the end of a shorter month (31 Jan + 1 month = 28/29 Feb). */
export function addMonths(n: number, k: number): number {
  const [y, m, d] = ymd(n);
  const total = y * 12 + (m - 1) + k;
  const ny = Math.floor(total / 12);
  const nm = (total % 12) + 1;
  return day(ny, nm, Math.min(d, daysInMonth(ny, nm)));
}

export function addYears(n: number, k: number): number {
  return addMonths(n, 12 * k);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(n: number): number {
  return new Date(n * MS_PER_DAY).getUTCDay();
}

export function isWeekend(n: number): boolean {
  const w = weekday(n);
  return w === 0 || w === 6;
}

/** Number of days two closed intervals share (end null = open). */
export function overlapDays(aStart: number, aEnd: number | null, bStart: number, bEnd: number | null): number {
  const lo = Math.max(aStart, bStart);
  const hi = Math.min(aEnd ?? Number.MAX_SAFE_INTEGER, bEnd ?? Number.MAX_SAFE_INTEGER);
  return hi >= lo ? hi - lo + 1 : 0;
}
