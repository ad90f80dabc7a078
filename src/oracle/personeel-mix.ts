/**
 * Item oracles (src/oracle/types.ts) for personeelssamenstelling chapters 2–4 (qualification mix,
 * interns, volunteers, sickness absence and its frequency, in-, out- and throughflow), by pack item id. Each reads the staging rows
 * directly (no RDF, no SPARQL) and follows the item's interpretation in
 * queries/zorginstituut-verpleeghuiszorg/2023.1.0/ps-{2,3,4}-*.yaml; teller and noemer are exact decimals.
 */
import { canonicalDecimal } from '../indicators/item-rows.js';
import { dayNumber, STAFF_KINDS, type StagingRows } from './personeel.js';
import type { ItemOracle } from './types.js';

type Row = Record<string, string>;
type OracleRow = ReturnType<ItemOracle>[number];

const ORGANISATIE = 'Organisatie';
/** Kinds mapped to onz-pers:ArbeidsOvereenkomst (staff in loondienst). */
const PIL_KINDS: ReadonlySet<string> = new Set(['permanent', 'fixed_term', 'on_call', 'bbl']);
/** Hours per unit of contract size (config/mappings/reference/units.csv). */
const UNIT_HOURS: Readonly<Record<string, bigint>> = { hours_per_week: 1n, fte: 36n };
/** Sub-item of 2.1 -> the staging qualification code of its ODB category (reference/qualifications.csv). */
const CATEGORY_OF_ITEM: Readonly<Record<string, string>> = {
  'ps-2.1.1': 'level_1',
  'ps-2.1.2': 'level_2',
  'ps-2.1.3': 'level_3',
  'ps-2.1.4': 'level_4',
  'ps-2.1.5': 'level_5',
  'ps-2.1.6': 'level_6',
  'ps-2.1.7': 'treatment',
  'ps-2.1.8': 'other_care',
  'ps-2.1.9': 'student',
};
/** Agreement class (local name) -> staging kind, for the counted agreement types of 2.2 and 2.3. */
const COUNTED_KIND: Readonly<Record<string, string>> = { StageOvereenkomst: 'internship', VrijwilligersOvereenkomst: 'volunteer' };

// ---- exact decimals: value = n / 10^s -----------------------------------------------------------

interface Dec {
  n: bigint;
  s: number;
}
const ZERO: Dec = { n: 0n, s: 0 };

function dec(text: string): Dec {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m || (m[2] === '' && !m[3])) throw new RangeError(`not a decimal: ${JSON.stringify(text)}`);
  const frac = m[3] ?? '';
  return { n: BigInt(`${m[1]}${m[2] || '0'}${frac}`), s: frac.length };
}
const int = (n: number | bigint): Dec => ({ n: BigInt(n), s: 0 });
const mul = (a: Dec, b: Dec): Dec => ({ n: a.n * b.n, s: a.s + b.s });
function add(a: Dec, b: Dec): Dec {
  const s = Math.max(a.s, b.s);
  return { n: a.n * 10n ** BigInt(s - a.s) + b.n * 10n ** BigInt(s - b.s), s };
}
function text(d: Dec): string {
  const neg = d.n < 0n;
  const digits = (neg ? -d.n : d.n).toString().padStart(d.s + 1, '0');
  const raw = d.s > 0 ? `${digits.slice(0, -d.s)}.${digits.slice(-d.s)}` : digits;
  return canonicalDecimal(neg ? `-${raw}` : raw);
}

// ---- the staging rows, joined -----------------------------------------------------------------

interface Tables {
  agreements: Map<string, Row>;
  clausesOf: Map<string, Row[]>;
  functions: Map<string, Row>;
  /** ward_id -> vestigingsnummer */
  vestigingOfWard: Map<string, string>;
}

function tables(t: StagingRows): Tables {
  const vestigingOfLocation = new Map((t.locations ?? []).map((l) => [l.location_id!, l.vestigingsnummer!]));
  const vestigingOfWard = new Map<string, string>();
  for (const w of t.wards ?? []) {
    const v = vestigingOfLocation.get(w.location_id!);
    if (v) vestigingOfWard.set(w.ward_id!, v);
  }
  const clausesOf = new Map<string, Row[]>();
  for (const c of t.clauses ?? []) {
    const list = clausesOf.get(c.agreement_id!) ?? [];
    list.push(c);
    clausesOf.set(c.agreement_id!, list);
  }
  return {
    agreements: new Map((t.agreements ?? []).map((a) => [a.agreement_id!, a])),
    clausesOf,
    functions: new Map((t.functions ?? []).map((f) => [f.function_code!, f])),
    vestigingOfWard,
  };
}

/** Indelingen a row counts for: its ward's vestiging (if any) and the organisation. */
function indelingen(T: Tables, wardId: string | undefined): string[] {
  const v = wardId ? T.vestigingOfWard.get(wardId) : undefined;
  return v ? [v, ORGANISATIE] : [ORGANISATIE];
}

/** Rows as the queries order them (ORDER BY ?indeling: vestigingsnummers, then "Organisatie"). */
function ordered(rows: OracleRow[]): OracleRow[] {
  return rows.sort((a, b) => (a.indeling < b.indeling ? -1 : a.indeling > b.indeling ? 1 : 0));
}

function sumRows(sums: Map<string, { teller: Dec; noemer: Dec }>, withNoemer: boolean): OracleRow[] {
  return ordered([...sums].map(([indeling, v]) => ({ indeling, teller: text(v.teller), noemer: withNoemer ? text(v.noemer) : null })));
}

function accumulate(sums: Map<string, { teller: Dec; noemer: Dec }>, keys: string[], teller: Dec, noemer: Dec): void {
  for (const k of keys) {
    const cur = sums.get(k) ?? { teller: ZERO, noemer: ZERO };
    sums.set(k, { teller: add(cur.teller, teller), noemer: add(cur.noemer, noemer) });
  }
}

const lastSegment = (iri: string) => iri.replace(/^.*[/#:]/, '');
function required(params: Record<string, string>, name: string): string {
  const v = params[name];
  if (v === undefined) throw new Error(`oracle: parameter ${name} is missing; pass the item's manifest parameters for the year`);
  return v;
}

// ---- 2.1 qualification mix --------------------------------------------------------------------

interface CareHours {
  hours: Dec;
  /** Staging qualification code, or 'none'. */
  category: string;
  indelingen: string[];
}

/**
 * Worked hours of care staff in the period: each worked month goes to the clause of its agreement that
 * overlaps the month and starts first (ties: lowest clause id), and counts when that clause's function is care.
 */
function careHours(t: StagingRows, params: Record<string, string>): CareHours[] {
  const T = tables(t);
  const from = required(params, 'start_periode');
  const to = required(params, 'eind_periode');
  const out: CareHours[] = [];
  for (const w of t.worked_hours ?? []) {
    const day = `${w.month}-01`;
    if (day < from || day > to) continue;
    const a = T.agreements.get(w.agreement_id!);
    if (!a || !STAFF_KINDS.has(a.kind!)) continue;
    let first: Row | undefined;
    for (const c of T.clausesOf.get(a.agreement_id!) ?? []) {
      if (!T.functions.has(c.function_code!)) continue;
      if (c.start_date!.slice(0, 7) > w.month! || (c.end_date && c.end_date < day)) continue;
      if (!first || c.start_date! < first.start_date! || (c.start_date === first.start_date && c.clause_id! < first.clause_id!)) first = c;
    }
    if (!first) continue;
    const f = T.functions.get(first.function_code!)!;
    if (f.care !== 'yes') continue;
    out.push({ hours: dec(w.hours!), category: f.qualification || 'none', indelingen: indelingen(T, w.ward_id || first.ward_id) });
  }
  return out;
}

const ps21: ItemOracle = (t, params) => {
  const sums = new Map<string, { teller: Dec; noemer: Dec }>();
  for (const h of careHours(t, params)) accumulate(sums, h.indelingen, h.hours, ZERO);
  return sumRows(sums, false);
};

/** 2.1.1–2.1.9: one category's share of the care hours. */
const ps21Category = (code: string): ItemOracle => (t, params) => {
  const sums = new Map<string, { teller: Dec; noemer: Dec }>();
  for (const h of careHours(t, params)) accumulate(sums, h.indelingen, h.category === code ? h.hours : ZERO, h.hours);
  return sumRows(sums, true);
};

// ---- 2.2 interns, 2.3 volunteers --------------------------------------------------------------

const personCount: ItemOracle = (t, params) => {
  const T = tables(t);
  const from = required(params, 'start_periode');
  const to = required(params, 'eind_periode');
  const cls = required(params, 'overeenkomst_type');
  const kind = COUNTED_KIND[lastSegment(cls)];
  if (!kind) throw new Error(`oracle: cannot count agreements of class ${cls}; expected one of ${Object.keys(COUNTED_KIND).join(', ')}`);
  const persons = new Map<string, Set<string>>();
  for (const a of T.agreements.values()) {
    if (a.kind !== kind) continue;
    for (const c of T.clausesOf.get(a.agreement_id!) ?? []) {
      const start = [c.start_date!, a.start_date!, from].reduce((x, y) => (x > y ? x : y));
      const end = [c.end_date || to, a.end_date || to, to].reduce((x, y) => (x < y ? x : y));
      if (start > end) continue;
      for (const k of indelingen(T, c.ward_id)) {
        const s = persons.get(k) ?? new Set<string>();
        s.add(a.employee_id!);
        persons.set(k, s);
      }
    }
  }
  return ordered([...persons].map(([indeling, s]) => ({ indeling, teller: String(s.size), noemer: null })));
};

// ---- 3.1 sickness absence ---------------------------------------------------------------------

const ps31: ItemOracle = (t, params) => {
  const T = tables(t);
  const p0 = dayNumber(required(params, 'start_periode'));
  const p1 = dayNumber(required(params, 'eind_periode'));
  const sicknessOf = new Map<string, Row[]>();
  for (const ab of t.absences ?? []) {
    if (ab.kind !== 'sickness') continue; // pregnancy leave is not absence
    const list = sicknessOf.get(ab.agreement_id!) ?? [];
    list.push(ab);
    sicknessOf.set(ab.agreement_id!, list);
  }
  const sums = new Map<string, { teller: Dec; noemer: Dec }>();
  for (const a of T.agreements.values()) {
    if (!PIL_KINDS.has(a.kind!)) continue;
    for (const c of T.clausesOf.get(a.agreement_id!) ?? []) {
      const unit = UNIT_HOURS[c.size_unit ?? ''];
      if (!c.contract_size || unit === undefined || !T.functions.has(c.function_code!)) continue;
      const weekly = mul(dec(c.contract_size), int(unit));
      const s = Math.max(dayNumber(c.start_date!), dayNumber(a.start_date!), p0);
      const e = Math.min(c.end_date ? dayNumber(c.end_date) : p1, a.end_date ? dayNumber(a.end_date) : p1, p1);
      if (s > e) continue;
      let sick = ZERO;
      for (const ab of sicknessOf.get(a.agreement_id!) ?? []) {
        const zs = Math.max(dayNumber(ab.start_date!), s);
        const ze = Math.min(ab.end_date ? dayNumber(ab.end_date) : e, e);
        if (zs > ze) continue;
        sick = add(sick, mul(mul(int(ze - zs + 1), weekly), mul(dec(ab.percentage!), dec('0.01'))));
      }
      accumulate(sums, indelingen(T, c.ward_id), sick, mul(int(e - s + 1), weekly));
    }
  }
  return sumRows(sums, true);
};

// ---- 3.2 absence frequency --------------------------------------------------------------------

const ps32: ItemOracle = (t, params) => {
  const T = tables(t);
  const from = required(params, 'start_periode');
  const to = required(params, 'eind_periode');
  const p0 = dayNumber(from);
  const p1 = dayNumber(to);
  const days = new Map<string, number>();
  const reports = new Map<string, Set<string>>();
  for (const a of T.agreements.values()) {
    if (!PIL_KINDS.has(a.kind!)) continue;
    const clauses = (T.clausesOf.get(a.agreement_id!) ?? []).filter((c) => T.functions.has(c.function_code!));
    for (const c of clauses) {
      const s = Math.max(dayNumber(c.start_date!), dayNumber(a.start_date!), p0);
      const e = Math.min(c.end_date ? dayNumber(c.end_date) : p1, a.end_date ? dayNumber(a.end_date) : p1, p1);
      if (s > e) continue;
      for (const k of indelingen(T, c.ward_id)) days.set(k, (days.get(k) ?? 0) + (e - s + 1));
    }
    for (const ab of t.absences ?? []) {
      if (ab.agreement_id !== a.agreement_id || ab.kind !== 'sickness' || ab.start_date! < from || ab.start_date! > to) continue;
      const d = ab.start_date!;
      for (const c of clauses) {
        if (a.start_date! > d || c.start_date! > d || (a.end_date && a.end_date < d) || (c.end_date && c.end_date < d)) continue;
        for (const k of indelingen(T, c.ward_id)) {
          const set = reports.get(k) ?? new Set<string>();
          set.add(ab.absence_id!);
          reports.set(k, set);
        }
      }
    }
  }
  const keys = new Set([...days.keys(), ...reports.keys()]);
  const D = p1 - p0 + 1;
  return ordered([...keys].map((indeling) => ({ indeling, teller: String((reports.get(indeling)?.size ?? 0) * D), noemer: String(days.get(indeling) ?? 0) })));
};

// ---- 4.1 inflow, 4.2 outflow ------------------------------------------------------------------

const verloop: ItemOracle = (t, params) => {
  const T = tables(t);
  const telling = required(params, 'telling_datum');
  const vergelijk = required(params, 'vergelijk_datum');
  dayNumber(telling);
  dayNumber(vergelijk);
  // indeling -> person -> [in force on telling, in force on vergelijk]
  const by = new Map<string, Map<string, [boolean, boolean]>>();
  const inForce = (a: Row, c: Row, d: string) => a.start_date! <= d && c.start_date! <= d && (!a.end_date || a.end_date >= d) && (!c.end_date || c.end_date >= d);
  for (const a of T.agreements.values()) {
    if (!PIL_KINDS.has(a.kind!)) continue;
    for (const c of T.clausesOf.get(a.agreement_id!) ?? []) {
      if (T.functions.get(c.function_code!)?.care !== 'yes') continue;
      const now = inForce(a, c, telling);
      const before = inForce(a, c, vergelijk);
      if (!now && !before) continue;
      for (const k of indelingen(T, c.ward_id)) {
        const persons = by.get(k) ?? new Map<string, [boolean, boolean]>();
        const p = persons.get(a.employee_id!) ?? [false, false];
        persons.set(a.employee_id!, [p[0] || now, p[1] || before]);
        by.set(k, persons);
      }
    }
  }
  return ordered(
    [...by].map(([indeling, persons]) => {
      const ps = [...persons.values()];
      return { indeling, teller: String(ps.filter(([now, before]) => now && !before).length), noemer: String(ps.filter(([now]) => now).length) };
    }),
  );
};

// ---- 4.3 throughflow by qualification level ----------------------------------------------------

const ps43: ItemOracle = (t, params) => {
  const T = tables(t);
  const peil = required(params, 'peildatum');
  const eerder = required(params, 'peildatum_eerder');
  const inForce = (a: Row, c: Row, d: string) => a.start_date! <= d && c.start_date! <= d && (!a.end_date || a.end_date >= d) && (!c.end_date || c.end_date >= d);
  // person -> [highest level on the peildatum, highest level one year earlier] (0 = none)
  const levels = new Map<string, [number, number]>();
  for (const a of T.agreements.values()) {
    if (!PIL_KINDS.has(a.kind!)) continue;
    for (const c of T.clausesOf.get(a.agreement_id!) ?? []) {
      const f = T.functions.get(c.function_code!);
      const m = /^level_([1-6])$/.exec(f?.qualification ?? '');
      if (f?.care !== 'yes' || !m) continue;
      const level = Number(m[1]);
      const now = inForce(a, c, peil) ? level : 0;
      const before = inForce(a, c, eerder) ? level : 0;
      if (!now && !before) continue;
      const p = levels.get(a.employee_id!) ?? [0, 0];
      levels.set(a.employee_id!, [Math.max(p[0], now), Math.max(p[1], before)]);
    }
  }
  if (levels.size === 0) return [];
  const both = [...levels.values()].filter(([now, before]) => now > 0 && before > 0);
  return [{ indeling: ORGANISATIE, teller: String(both.filter(([now, before]) => now !== before).length), noemer: String(both.length) }];
};

export const mixOracles: Record<string, ItemOracle> = {
  'ps-2.1': ps21,
  ...Object.fromEntries(Object.entries(CATEGORY_OF_ITEM).map(([id, code]) => [id, ps21Category(code)])),
  'ps-2.2': personCount,
  'ps-2.3': personCount,
  'ps-3.1': ps31,
  'ps-3.2': ps32,
  'ps-4.1': verloop,
  'ps-4.2': verloop,
  'ps-4.3': ps43,
};
