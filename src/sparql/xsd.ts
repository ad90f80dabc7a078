/**
 * XSD date and duration arithmetic as XPath/XQuery Functions and Operators 3.1 and XML Schema 1.1
 * (Appendix E, "Adding durations to dateTimes") define it. Used to fold constant expressions in
 * queries so that engines with broken date arithmetic never see them.
 *
 * Only timezone-less xsd:date values are handled; anything else returns undefined and is left to the engine.
 */

export const XSD = 'http://www.w3.org/2001/XMLSchema#';

/** A calendar date without timezone. month 1..12, day 1..31. */
export interface XsdDate {
  year: number;
  month: number;
  day: number;
}

/**
 * A duration as XSD 1.1 models it: a month count and a second count that share one sign.
 * seconds may be fractional (milliseconds precision is enough for dates).
 */
export interface XsdDuration {
  months: number;
  seconds: number;
}

export type DurationKind = 'duration' | 'yearMonthDuration' | 'dayTimeDuration';

const DATE_RE = /^(-?\d{4,})-(\d{2})-(\d{2})$/;
const DURATION_RE = /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return [31, isLeapYear(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

export function parseDate(lexical: string): XsdDate | undefined {
  const m = DATE_RE.exec(lexical.trim());
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year === 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

export function formatDate(d: XsdDate): string {
  const y = d.year < 0 ? `-${String(-d.year).padStart(4, '0')}` : String(d.year).padStart(4, '0');
  return `${y}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

export function parseDuration(lexical: string): XsdDuration | undefined {
  const s = lexical.trim();
  const m = DURATION_RE.exec(s);
  if (!m || s === 'P' || s === '-P' || s.endsWith('T')) return undefined;
  if (m.slice(2).every((g) => g === undefined)) return undefined;
  const sign = m[1] ? -1 : 1;
  const n = (i: number) => (m[i] === undefined ? 0 : Number(m[i]));
  const months = n(2) * 12 + n(3);
  const seconds = ((n(4) * 24 + n(5)) * 60 + n(6)) * 60 + n(7);
  return { months: sign * months || 0, seconds: sign * seconds || 0 };
}

/** Which parts a duration literal's lexical form uses: only Y/M, only D/T, or both (or neither: zero). */
export function durationParts(lexical: string): 'yearMonth' | 'dayTime' | 'mixed' | undefined {
  const s = lexical.trim();
  if (!DURATION_RE.test(s)) return undefined;
  const [datePart, timePart] = s.replace(/^-?P/, '').split('T') as [string, string | undefined];
  const ym = /[YM]/.test(datePart);
  const dt = /D/.test(datePart) || timePart !== undefined;
  if (ym && dt) return 'mixed';
  if (ym) return 'yearMonth';
  if (dt) return 'dayTime';
  return undefined;
}

/** The canonical lexical form of a dayTimeDuration (whole and fractional seconds). */
export function formatDayTimeDuration(seconds: number): string {
  if (seconds === 0) return 'PT0S';
  const neg = seconds < 0;
  let rest = Math.abs(seconds);
  const days = Math.floor(rest / 86400);
  rest -= days * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  rest -= minutes * 60;
  let out = `${neg ? '-' : ''}P${days ? `${days}D` : ''}`;
  if (hours || minutes || rest) out += `T${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${rest ? `${Number(rest.toFixed(3))}S` : ''}`;
  return out;
}

export function formatYearMonthDuration(months: number): string {
  if (months === 0) return 'P0M';
  const abs = Math.abs(months);
  const y = Math.floor(abs / 12);
  const m = abs % 12;
  return `${months < 0 ? '-' : ''}P${y ? `${y}Y` : ''}${m ? `${m}M` : ''}`;
}

/** Days since 1970-01-01 (proleptic Gregorian). */
export function toEpochDay(d: XsdDate): number {
  const dt = new Date(0);
  dt.setUTCFullYear(d.year, d.month - 1, d.day);
  return Math.round(dt.getTime() / 86400000);
}

export function fromEpochDay(n: number): XsdDate {
  const dt = new Date(n * 86400000);
  return { year: dt.getUTCFullYear(), month: dt.getUTCMonth() + 1, day: dt.getUTCDate() };
}

/**
 * date + duration (XSD 1.1 Appendix E): add the months first, clamping the day to the end of the
 * resulting month (2023-03-31 + P1M = 2023-04-30), then add the seconds to midnight of that day and
 * keep the date part (so 2023-01-01 - PT1H = 2022-12-31).
 */
export function addDurationToDate(d: XsdDate, dur: XsdDuration): XsdDate {
  const totalMonths = d.year * 12 + (d.month - 1) + dur.months;
  const year = Math.floor(totalMonths / 12);
  const month = totalMonths - year * 12 + 1;
  const day = Math.min(d.day, daysInMonth(year, month));
  const days = Math.floor(dur.seconds / 86400);
  return fromEpochDay(toEpochDay({ year, month, day }) + days);
}

export function subtractDurationFromDate(d: XsdDate, dur: XsdDuration): XsdDate {
  return addDurationToDate(d, { months: -dur.months, seconds: -dur.seconds });
}

/** date - date as a dayTimeDuration in seconds (op:subtract-dates). */
export function subtractDates(a: XsdDate, b: XsdDate): number {
  return (toEpochDay(a) - toEpochDay(b)) * 86400;
}

export function compareDates(a: XsdDate, b: XsdDate): number {
  return toEpochDay(a) - toEpochDay(b);
}

/** Adds a date and a duration literal, both given lexically; undefined when either is not handled. */
export function dateArithmetic(date: string, op: '+' | '-', duration: string): string | undefined {
  const d = parseDate(date);
  const dur = parseDuration(duration);
  if (!d || !dur) return undefined;
  return formatDate(op === '+' ? addDurationToDate(d, dur) : subtractDurationFromDate(d, dur));
}
