/**
 * Test oracle for the personnel indicators: a direct computation from the staging rows
 * (config/staging.yaml tables, as `SampleTables`), in plain TypeScript, with no RDF or SPARQL.
 * It exists to check the mapping + SPARQL pipeline against an independent reading of the definitions.
 *
 * - ps-1.1 "gemiddeld aantal personeelsleden": exactly the semantics of our pack's ps-1.1 query
 *   (queries/zorginstituut-verpleeghuiszorg/2023.1.0/ps-1.1.rq, see its manifest interpretation).
 * - head count on a date (official KIK-V Zorgkantoren 1.2), fixed-term share of employment agreements
 *   on a date (official 3.1) and volunteers in a period (official 9.1, which counts over a quarter;
 *   a single date is the period {from: d, to: d}).
 *
 * Per vestiging means: clauses whose ward lies in the location with that vestigingsnummer. The official
 * Zorgkantoren queries additionally require the vestiging to lie in the zorgkantoor's region (postcode
 * -> region chain); the oracle does not model regions and so assumes every vestiging does.
 *
 * Numbers: every value is an exact rational {numerator, denominator} (integers, denominator > 0, not
 * necessarily reduced for ps-1.1: its denominator is the number of days in the period) plus `value`,
 * the quotient as a JavaScript number (IEEE double, round-to-nearest of the exact quotient: both
 * integers are below 2^53, so the one division is correctly rounded). Counts have denominator 1.
 */

export type StagingRows = Record<string, Array<Record<string, string>>>;

export interface Period {
  /** First day, ISO YYYY-MM-DD (inclusive). */
  from: string;
  /** Last day, ISO YYYY-MM-DD (inclusive). */
  to: string;
}

export interface Rational {
  numerator: number;
  denominator: number;
  /** numerator / denominator as a double (rounded to nearest). */
  value: number;
}

/** Row key: a vestigingsnummer, or 'organisation' for the whole organisation. */
export type Indeling = string;
export const ORGANISATION = 'organisation';

export interface Ps11Row {
  location: Indeling;
  zorg: Rational;
  nietZorg: Rational;
  totaal: Rational;
}

export interface HeadCountRow {
  location: Indeling;
  zorg: number;
  nietZorg: number;
  totaal: number;
}

export interface FixedTermRow {
  location: Indeling;
  fixedTerm: number;
  total: number;
  /** 100 * fixedTerm / total; null when total is 0. */
  percentage: Rational | null;
}

export interface VolunteerRow {
  location: Indeling;
  volunteers: number;
}

/** Agreement kinds that make a person staff (PIL: arbeidsovereenkomst incl. oproep and BBL; PNIL: uitzend, payroll, inhuur). */
export const STAFF_KINDS: ReadonlySet<string> = new Set(['permanent', 'fixed_term', 'on_call', 'bbl', 'zzp', 'agency', 'payroll']);
/** Kinds mapped to onz-pers:ArbeidsOvereenkomstBepaaldeTijd (BBL is a fixed-term employment agreement). */
export const FIXED_TERM_KINDS: ReadonlySet<string> = new Set(['fixed_term', 'bbl']);
/** Kinds mapped to onz-pers:ArbeidsOvereenkomstOnbepaaldeTijd. */
export const PERMANENT_KINDS: ReadonlySet<string> = new Set(['permanent']);

const DAY_MS = 86_400_000;

/** Day number (days since 1970-01-01) of an ISO date; throws on anything but a calendar-valid YYYY-MM-DD. */
export function dayNumber(iso: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) throw new RangeError(`not an ISO date: ${JSON.stringify(iso)}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) throw new RangeError(`not a calendar date: ${iso}`);
  return Math.round(t / DAY_MS);
}

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

export function rational(numerator: number, denominator: number, reduce = false): Rational {
  if (!Number.isSafeInteger(numerator) || !Number.isSafeInteger(denominator) || denominator <= 0) throw new RangeError(`bad rational ${numerator}/${denominator}`);
  if (reduce) {
    const g = gcd(numerator, denominator) || 1;
    numerator /= g;
    denominator /= g;
  }
  return { numerator, denominator, value: numerator / denominator };
}

/** Decimal string of a rational with `places` digits, rounded half away from zero (exact, via BigInt). */
export function toDecimal(r: Rational, places: number): string {
  const scale = 10n ** BigInt(places);
  const n = BigInt(r.numerator) * scale;
  const d = BigInt(r.denominator);
  const neg = n < 0n;
  const abs = neg ? -n : n;
  let q = abs / d;
  if ((abs % d) * 2n >= d) q += 1n;
  const s = q.toString().padStart(places + 1, '0');
  const out = places > 0 ? `${s.slice(0, -places)}.${s.slice(-places)}` : s;
  return neg && q !== 0n ? `-${out}` : out;
}

interface Clause {
  clauseId: string;
  personId: string;
  agreementId: string;
  kind: string;
  care: boolean;
  /** vestigingsnummer of the clause's ward's location; undefined when the clause has no (known) ward. */
  vestiging: string | undefined;
  /** Clause dates as given. */
  start: string;
  end: string;
  /** Agreement dates as given ('' = open-ended). */
  agreementStart: string;
  agreementEnd: string;
}

/**
 * Joins clauses to their agreement, function and ward -> location. Rows that would not survive the
 * import's row checks in a way that matters here (unknown agreement or function) are left out.
 */
function clauses(t: StagingRows): Clause[] {
  const agreements = new Map((t.agreements ?? []).map((a) => [a.agreement_id!, a]));
  const care = new Map((t.functions ?? []).map((f) => [f.function_code!, f.care === 'yes']));
  const vestigingOfLocation = new Map((t.locations ?? []).map((l) => [l.location_id!, l.vestigingsnummer!]));
  const vestigingOfWard = new Map((t.wards ?? []).map((w) => [w.ward_id!, vestigingOfLocation.get(w.location_id!)]));
  const out: Clause[] = [];
  for (const c of t.clauses ?? []) {
    const a = agreements.get(c.agreement_id ?? '');
    const isCare = care.get(c.function_code ?? '');
    if (!a || isCare === undefined) continue;
    out.push({
      clauseId: c.clause_id!,
      personId: a.employee_id!,
      agreementId: a.agreement_id!,
      kind: a.kind!,
      care: isCare,
      vestiging: c.ward_id ? vestigingOfWard.get(c.ward_id) : undefined,
      start: c.start_date!,
      end: c.end_date ?? '',
      agreementStart: a.start_date!,
      agreementEnd: a.end_date ?? '',
    });
  }
  return out;
}

/** Indelingen a clause counts for: its vestiging (if any) and the organisation. */
function indelingen(c: Clause): Indeling[] {
  return c.vestiging ? [c.vestiging, ORGANISATION] : [ORGANISATION];
}

/** Rows ordered as the SPARQL orders them: vestigingsnummers ascending, the organisation last. */
function ordered<T extends { location: Indeling }>(rows: T[]): T[] {
  return rows.sort((a, b) => (a.location === ORGANISATION ? 1 : b.location === ORGANISATION ? -1 : a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
}

/** Number of days in the union of closed day intervals [s, e]. */
function unionDays(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let covered = -Infinity;
  let days = 0;
  for (const [s, e] of sorted) {
    const from = Math.max(s, covered + 1);
    if (e >= from) days += e - from + 1;
    covered = Math.max(covered, e);
  }
  return days;
}

/**
 * ps-1.1 gemiddeld aantal personeelsleden over the period (our pack's query semantics):
 * staff agreements only (STAFF_KINDS); each clause is clipped to its agreement and to the period;
 * per indeling and person, zorg days = days in the union of the care clauses' intervals, niet-zorg days
 * likewise for non-care clauses; the person counts min(zorg/D, 1), min(nietZorg/D, 1) and
 * min((zorg + nietZorg)/D, 1), D = days in the period. A row appears for an indeling that has at
 * least one clause overlapping the period (as the SPARQL gives no row for an empty group).
 * Values are exact: numerator / D.
 */
export function ps11(t: StagingRows, period: Period): Ps11Row[] {
  const p0 = dayNumber(period.from);
  const p1 = dayNumber(period.to);
  if (p1 < p0) throw new RangeError(`period ends before it starts: ${period.from}..${period.to}`);
  const D = p1 - p0 + 1;
  // indeling -> person -> [care intervals, non-care intervals]
  const by = new Map<Indeling, Map<string, [Array<[number, number]>, Array<[number, number]>]>>();
  for (const c of clauses(t)) {
    if (!STAFF_KINDS.has(c.kind)) continue;
    const s = Math.max(dayNumber(c.start), dayNumber(c.agreementStart), p0);
    let e = p1;
    if (c.agreementEnd) e = Math.min(e, dayNumber(c.agreementEnd));
    if (c.end) e = Math.min(e, dayNumber(c.end));
    if (s > e) continue;
    for (const ind of indelingen(c)) {
      let persons = by.get(ind);
      if (!persons) by.set(ind, (persons = new Map()));
      let cats = persons.get(c.personId);
      if (!cats) persons.set(c.personId, (cats = [[], []]));
      cats[c.care ? 0 : 1].push([s, e]);
    }
  }
  const rows: Ps11Row[] = [];
  for (const [location, persons] of by) {
    let zorg = 0;
    let nietZorg = 0;
    let totaal = 0;
    for (const [careIv, nonCareIv] of persons.values()) {
      const z = unionDays(careIv);
      const n = unionDays(nonCareIv);
      zorg += Math.min(z, D);
      nietZorg += Math.min(n, D);
      totaal += Math.min(z + n, D);
    }
    rows.push({ location, zorg: rational(zorg, D), nietZorg: rational(nietZorg, D), totaal: rational(totaal, D) });
  }
  return ordered(rows);
}

/** A clause (clause dates only, as the official queries test them) is active on `day`. */
const activeOn = (c: Clause, day: string) => c.start <= day && (c.end === '' || c.end >= day);
/** A clause overlaps [from, to]. */
const overlaps = (c: Clause, from: string, to: string) => c.start <= to && (c.end === '' || c.end >= from);

/**
 * Head count on a date (official Zorgkantoren 1.2): persons with a staff agreement (STAFF_KINDS) that
 * has a clause active on the date (the clause's own dates; agreement dates are not checked). Per
 * indeling: zorg = persons with an active care clause, nietZorg = persons with an active non-care
 * clause, totaal = distinct persons (a person with both counts in each, once in the total).
 */
export function headCount(t: StagingRows, date: string): HeadCountRow[] {
  dayNumber(date);
  const by = new Map<Indeling, Map<string, { care: boolean; nonCare: boolean }>>();
  for (const c of clauses(t)) {
    if (!STAFF_KINDS.has(c.kind) || !activeOn(c, date)) continue;
    for (const ind of indelingen(c)) {
      let persons = by.get(ind);
      if (!persons) by.set(ind, (persons = new Map()));
      const p = persons.get(c.personId) ?? { care: false, nonCare: false };
      if (c.care) p.care = true;
      else p.nonCare = true;
      persons.set(c.personId, p);
    }
  }
  return ordered(
    [...by].map(([location, persons]) => {
      const ps = [...persons.values()];
      return { location, zorg: ps.filter((p) => p.care).length, nietZorg: ps.filter((p) => p.nonCare).length, totaal: ps.length };
    }),
  );
}

/**
 * Share of fixed-term employment agreements on a date (official Zorgkantoren 3.1): distinct agreements
 * of a fixed-term kind (fixed_term, bbl) and of a permanent kind with a clause active on the date
 * (on-call, PNIL, interns and volunteers are neither). percentage = 100 * fixedTerm / total, exact.
 */
export function fixedTermShare(t: StagingRows, date: string): FixedTermRow[] {
  dayNumber(date);
  const by = new Map<Indeling, { fixed: Set<string>; permanent: Set<string> }>();
  for (const c of clauses(t)) {
    const fixed = FIXED_TERM_KINDS.has(c.kind);
    if ((!fixed && !PERMANENT_KINDS.has(c.kind)) || !activeOn(c, date)) continue;
    for (const ind of indelingen(c)) {
      let g = by.get(ind);
      if (!g) by.set(ind, (g = { fixed: new Set(), permanent: new Set() }));
      (fixed ? g.fixed : g.permanent).add(c.agreementId);
    }
  }
  return ordered(
    [...by].map(([location, g]) => {
      const total = g.fixed.size + g.permanent.size;
      return { location, fixedTerm: g.fixed.size, total, percentage: total > 0 ? rational(100 * g.fixed.size, total, true) : null };
    }),
  );
}

/**
 * Volunteers in a period (official Zorgkantoren 9.1, which takes a quarter): distinct persons with a
 * volunteer agreement that has a clause overlapping the period. For a single date pass {from: d, to: d}.
 */
export function volunteers(t: StagingRows, period: Period): VolunteerRow[] {
  if (dayNumber(period.to) < dayNumber(period.from)) throw new RangeError(`period ends before it starts: ${period.from}..${period.to}`);
  const by = new Map<Indeling, Set<string>>();
  for (const c of clauses(t)) {
    if (c.kind !== 'volunteer' || !overlaps(c, period.from, period.to)) continue;
    for (const ind of indelingen(c)) {
      let s = by.get(ind);
      if (!s) by.set(ind, (s = new Set()));
      s.add(c.personId);
    }
  }
  return ordered([...by].map(([location, s]) => ({ location, volunteers: s.size })));
}

// ---------------------------------------------------------------------------------------------
// Item oracles (src/oracle/types.ts) for personeelssamenstelling chapters 1 and 5, by pack item id.
import type { ItemOracle } from './types.js';

export const staffOracles: Record<string, ItemOracle> = {};
