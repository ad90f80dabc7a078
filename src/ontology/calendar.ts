import { NS } from './namespaces.js';

const DAY_MS = 86_400_000;
const EPOCH = Date.UTC(2000, 0, 1);

/** Day number used by the OWL-Time calendar: days since 2000-01-01 (as in KIK-V's examples). */
export function dayNumber(isoDate: string): number {
  return Math.round((Date.parse(`${isoDate}T00:00:00Z`) - EPOCH) / DAY_MS);
}

/**
 * The OWL-Time day calendar official KIK-V queries rely on: for every day in the years given,
 * an instant with time:inXSDDate and time:inTemporalPosition/time:numericPosition.
 * Returned as N-Quads lines (default graph).
 */
export function calendarLines(fromYear: number, toYear: number): string[] {
  const lines: string[] = [];
  const t = NS.time;
  for (let ms = Date.UTC(fromYear, 0, 1); ms < Date.UTC(toYear + 1, 0, 1); ms += DAY_MS) {
    const iso = new Date(ms).toISOString().slice(0, 10);
    const day = `<${NS.ref}dag/${iso}>`;
    const pos = `<${NS.ref}dag/${iso}/positie>`;
    lines.push(
      `${day} <${NS.rdf}type> <${t}Instant> .`,
      `${day} <${t}inXSDDate> "${iso}"^^<${NS.xsd}date> .`,
      `${day} <${t}inTemporalPosition> ${pos} .`,
      `${pos} <${t}numericPosition> "${Math.round((ms - EPOCH) / DAY_MS)}"^^<${NS.xsd}integer> .`,
    );
  }
  return lines;
}

/** Calendar years the snapshot covers, and why (recorded in the processing report). */
export interface CalendarSpan {
  fromYear: number;
  toYear: number;
}

/**
 * The years the calendar must cover: every whole year the data's events fall in, and always the year
 * before the reporting year to the year after it (look-backs, and measurements early the next year),
 * so an indicator over a period without data counts zero instead of failing. Dates far from the
 * reporting year (a contract "ending" in 2099, an employment since 1975) are clamped: the official
 * queries only look up days inside the reporting periods, and 20 years back is generous.
 */
export function calendarSpan(reportingYear: number, period?: { from: string; to: string }): CalendarSpan {
  let fromYear = reportingYear - 1;
  let toYear = reportingYear + 1;
  if (period) {
    fromYear = Math.min(fromYear, Math.max(Number(period.from.slice(0, 4)), reportingYear - 20));
    toYear = Math.max(toYear, Math.min(Number(period.to.slice(0, 4)), reportingYear + 2));
  }
  return { fromYear, toYear };
}
