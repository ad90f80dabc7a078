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
// They follow the interpretations written in queries/zorginstituut-verpleeghuiszorg/2023.1.0/ps-1-personeel.yaml
// and ps-5-client.yaml, and return exact canonical decimals (see canonicalDecimal in src/indicators/item-rows.ts).
import type { ItemOracle } from './types.js';

type OracleRow = { indeling: string; teller: string; noemer: string | null };

/** An exact decimal as n / 10^scale. */
interface Dec {
  n: bigint;
  scale: number;
}

const ZERO: Dec = { n: 0n, scale: 0 };

function dec(text: string | number): Dec {
  const t = String(text).trim();
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(t);
  if (!m || (m[2] === '' && !m[3])) throw new RangeError(`not a decimal: ${JSON.stringify(text)}`);
  const frac = m[3] ?? '';
  return { n: BigInt(`${m[1]}${m[2] || '0'}${frac}`), scale: frac.length };
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.n * 10n ** BigInt(scale - a.scale), b.n * 10n ** BigInt(scale - b.scale), scale];
}

const addDec = (a: Dec, b: Dec): Dec => {
  const [x, y, scale] = align(a, b);
  return { n: x + y, scale };
};
const mulDec = (a: Dec, b: Dec): Dec => ({ n: a.n * b.n, scale: a.scale + b.scale });

/** Canonical text: no trailing zeros, "0" for zero (as canonicalDecimal). */
function decText(d: Dec): string {
  const neg = d.n < 0n;
  const digits = (neg ? -d.n : d.n).toString().padStart(d.scale + 1, '0');
  const int = digits.slice(0, digits.length - d.scale);
  const frac = digits.slice(digits.length - d.scale).replace(/0+$/, '');
  return `${neg && (int !== '0' || frac) ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** Hours per week per unit of contract size (config/mappings/reference/units.csv). */
const UNIT_HOURS: Readonly<Record<string, number>> = { hours_per_week: 1, fte: 36 };
/** Employment (PIL) kinds: arbeidsovereenkomst incl. oproep and BBL. */
export const PIL_KINDS: ReadonlySet<string> = new Set(['permanent', 'fixed_term', 'on_call', 'bbl']);
/** Not-in-payroll (PNIL) kinds: inhuur, uitzend, payroll. */
export const PNIL_KINDS: ReadonlySet<string> = new Set(['zzp', 'agency', 'payroll']);
const PNIL_RUBRICS: ReadonlySet<string> = new Set(['WBedOvpUik', 'WBedOvpUit', 'WBedOvpMaf', 'WBedOvpZzp', 'WBedOvpPay', 'WBedOvpOip']);
const PIL_RUBRICS: ReadonlySet<string> = new Set(['WPerLes', 'WPerSol']);

const label = (ind: Indeling): string => (ind === ORGANISATION ? 'Organisatie' : ind);

function period(params: Record<string, string>): { p0: number; p1: number; days: number } {
  const from = params.start_periode;
  const to = params.eind_periode;
  if (!from || !to) throw new Error('staff oracle: parameters start_periode and eind_periode are required');
  const p0 = dayNumber(from);
  const p1 = dayNumber(to);
  if (p1 < p0) throw new RangeError(`period ends before it starts: ${from}..${to}`);
  return { p0, p1, days: p1 - p0 + 1 };
}

/** Days of a clause inside its agreement and the period (0 when none). */
function clippedDays(c: { start: string; end: string; agreementStart: string; agreementEnd: string }, p0: number, p1: number): number {
  const s = Math.max(dayNumber(c.start), dayNumber(c.agreementStart), p0);
  let e = p1;
  if (c.agreementEnd) e = Math.min(e, dayNumber(c.agreementEnd));
  if (c.end) e = Math.min(e, dayNumber(c.end));
  return e >= s ? e - s + 1 : 0;
}

/** Contract hours per week of each clause that has a size, by clause id. */
function clauseHours(t: StagingRows): Map<string, Dec> {
  const out = new Map<string, Dec>();
  for (const c of t.clauses ?? []) {
    if (!c.contract_size || !c.size_unit) continue;
    const perUnit = UNIT_HOURS[c.size_unit];
    if (perUnit === undefined) continue;
    out.set(c.clause_id!, mulDec(dec(c.contract_size), dec(perUnit)));
  }
  return out;
}

function rowsOf(by: Map<Indeling, { teller: Dec; noemer: Dec | null }>): OracleRow[] {
  return ordered([...by].map(([location, v]) => ({ location, ...v }))).map((r) => ({ indeling: label(r.location), teller: decText(r.teller), noemer: r.noemer ? decText(r.noemer) : null }));
}

/** Σ days × contract hours per week of the sized clauses passing `keep`, per indeling. */
function hourDays(t: StagingRows, params: Record<string, string>, keep: (c: Clause) => boolean): Map<Indeling, { hourDays: Dec; days: number }> {
  const { p0, p1 } = period(params);
  const hours = clauseHours(t);
  const by = new Map<Indeling, { hourDays: Dec; days: number }>();
  for (const c of clauses(t)) {
    const h = hours.get(c.clauseId);
    if (!h || !keep(c)) continue;
    const days = clippedDays(c, p0, p1);
    if (days === 0) continue;
    for (const ind of indelingen(c)) {
      const g = by.get(ind) ?? { hourDays: ZERO, days: 0 };
      by.set(ind, { hourDays: addDec(g.hourDays, mulDec(h, dec(days))), days: g.days + days });
    }
  }
  return by;
}

const oracle11: ItemOracle = (t, params) => {
  const { days } = period(params);
  return ps11(t, { from: params.start_periode!, to: params.eind_periode! }).map((r) => ({ indeling: label(r.location), teller: String(r.totaal.numerator), noemer: String(days) }));
};

const oracle12: ItemOracle = (t, params) => {
  const { days } = period(params);
  const by = hourDays(t, params, (c) => STAFF_KINDS.has(c.kind));
  return rowsOf(new Map([...by].map(([k, v]) => [k, { teller: v.hourDays, noemer: dec(36 * days) }])));
};

const oracle13: ItemOracle = (t, params) => {
  const p = params.peildatum;
  if (!p) throw new Error('staff oracle: parameter peildatum is required');
  const d = dayNumber(p);
  const by = new Map<Indeling, { fixed: Set<string>; all: Set<string> }>();
  for (const c of clauses(t)) {
    if (!PIL_KINDS.has(c.kind) || clippedDays(c, d, d) === 0) continue;
    for (const ind of indelingen(c)) {
      const g = by.get(ind) ?? { fixed: new Set<string>(), all: new Set<string>() };
      g.all.add(c.personId);
      if (FIXED_TERM_KINDS.has(c.kind)) g.fixed.add(c.personId);
      by.set(ind, g);
    }
  }
  return rowsOf(new Map([...by].map(([k, g]) => [k, { teller: dec(g.fixed.size), noemer: dec(g.all.size) }])));
};

const oracle14: ItemOracle = (t, params) => {
  const { p0, p1 } = period(params);
  const kindOf = new Map((t.agreements ?? []).map((a) => [a.agreement_id!, a.kind!]));
  let pnil = ZERO;
  let all = ZERO;
  let any = false;
  for (const w of t.worked_hours ?? []) {
    const kind = kindOf.get(w.agreement_id ?? '') ?? '';
    const day = dayNumber(`${w.month}-01`);
    if (!STAFF_KINDS.has(kind) || day < p0 || day > p1) continue;
    any = true;
    all = addDec(all, dec(w.hours!));
    if (PNIL_KINDS.has(kind)) pnil = addDec(pnil, dec(w.hours!));
  }
  return any ? [{ indeling: 'Organisatie', teller: decText(pnil), noemer: decText(all) }] : [];
};

const oracle15: ItemOracle = (t, params) => {
  const { p0, p1 } = period(params);
  const vestigingOf = new Map((t.locations ?? []).map((l) => [l.location_id!, l.vestigingsnummer!]));
  const by = new Map<Indeling, { teller: Dec; noemer: Dec }>();
  for (const post of t.ledger ?? []) {
    const isPnil = PNIL_RUBRICS.has(post.rgs_code ?? '');
    if (!isPnil && !PIL_RUBRICS.has(post.rgs_code ?? '')) continue;
    const day = dayNumber(post.booking_date!);
    if (day < p0 || day > p1) continue;
    const v = post.location_id ? vestigingOf.get(post.location_id) : undefined;
    for (const ind of v ? [v, ORGANISATION] : [ORGANISATION]) {
      const g = by.get(ind) ?? { teller: ZERO, noemer: ZERO };
      const amount = dec(post.amount!);
      by.set(ind, { teller: isPnil ? addDec(g.teller, amount) : g.teller, noemer: addDec(g.noemer, amount) });
    }
  }
  return rowsOf(by);
};

const oracle16: ItemOracle = (t, params) => {
  const by = hourDays(t, params, (c) => PIL_KINDS.has(c.kind));
  return rowsOf(new Map([...by].map(([k, v]) => [k, { teller: v.hourDays, noemer: dec(36 * v.days) }])));
};

/** Client-days in care per indeling: each care episode within its indication and the period. */
function clientDays(t: StagingRows, params: Record<string, string>): Map<Indeling, number> {
  const { p0, p1 } = period(params);
  const indications = new Map((t.indications ?? []).map((i) => [i.indication_id!, i]));
  const vestigingOfLocation = new Map((t.locations ?? []).map((l) => [l.location_id!, l.vestigingsnummer!]));
  const vestigingOfWard = new Map((t.wards ?? []).map((w) => [w.ward_id!, vestigingOfLocation.get(w.location_id!)]));
  const by = new Map<Indeling, number>();
  for (const ep of t.care_episodes ?? []) {
    const ind = indications.get(ep.indication_id ?? '');
    if (!ind) continue;
    const days = clippedDays({ start: ep.start_date!, end: ep.end_date ?? '', agreementStart: ind.start_date!, agreementEnd: ind.end_date ?? '' }, p0, p1);
    if (days === 0) continue;
    const v = vestigingOfWard.get(ep.ward_id ?? '');
    for (const k of v ? [v, ORGANISATION] : [ORGANISATION]) by.set(k, (by.get(k) ?? 0) + days);
  }
  return by;
}

const oracle51: ItemOracle = (t, params) => {
  const staff = hourDays(t, params, (c) => STAFF_KINDS.has(c.kind) && c.care);
  const clients = clientDays(t, params);
  const by = new Map<Indeling, { teller: Dec; noemer: Dec }>();
  for (const [k, v] of staff) {
    const cd = clients.get(k);
    if (cd !== undefined) by.set(k, { teller: v.hourDays, noemer: dec(36 * cd) });
  }
  return rowsOf(by);
};

export const staffOracles: Record<string, ItemOracle> = {
  'ps-1.1': oracle11,
  'ps-1.2': oracle12,
  'ps-1.3': oracle13,
  'ps-1.4': oracle14,
  'ps-1.5': oracle15,
  'ps-1.6': oracle16,
  'ps-5.1': oracle51,
};
