/**
 * Staff side of the sample: employees, agreements, clauses, worked hours, absences and the ledger.
 * Covers the period's years (by default 2022-01-01 .. 2023-12-31; agreements may start long before and end after).
 * Dates are relative to the period: `P.atStart(-1, 6, 1)` is 1 June of the year before it starts,
 * `P.atEnd(0, 11, 30)` is 30 November of its last year.
 */
import * as D from './dates.js';
import { fn, type FunctionDef, type Location, type Ward } from './org.js';
import { Period } from './period.js';
import { Rng } from './random.js';
import { idFormatter } from './tables.js';

export const AGREEMENT_KINDS = ['permanent', 'fixed_term', 'on_call', 'bbl', 'zzp', 'agency', 'payroll', 'internship', 'volunteer'] as const;
export type AgreementKind = (typeof AGREEMENT_KINDS)[number];
const PIL_KINDS: ReadonlySet<AgreementKind> = new Set(['permanent', 'fixed_term', 'on_call', 'bbl']);

type Row = Record<string, string>;
type SizeUnit = 'hours_per_week' | 'fte';

interface Person {
  idx: number;
  id: string;
  birth: number | null;
}

interface Clause {
  start: number;
  end: number | null;
  fn: FunctionDef;
  ward: Ward | null;
  size: number | null;
  unit: SizeUnit | null;
}

interface Agreement {
  idx: number;
  person: Person;
  kind: AgreementKind;
  start: number;
  end: number | null;
  clauses: Clause[];
  /** Hourly invoice rate for hired staff (zzp, agency, payroll). */
  rate: number;
  absences: Absence[];
}

interface Absence {
  kind: 'sickness' | 'pregnancy_leave';
  start: number;
  end: number | null;
  pct: number;
}

/** Base placement of a person: function and ward of the first clause. */
interface Placement {
  fn: FunctionDef;
  ward: Ward | null;
}

export interface StaffTables {
  employees: Row[];
  agreements: Row[];
  clauses: Row[];
  worked_hours: Row[];
  absences: Row[];
  ledger: Row[];
}

const STAFF_KIND_WEIGHTS: ReadonlyArray<readonly [AgreementKind, number]> = [
  ['permanent', 56],
  ['fixed_term', 14],
  ['on_call', 8],
  ['bbl', 5],
  ['zzp', 5],
  ['agency', 8],
  ['payroll', 4],
];

const FUNCTION_WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ['ZH', 7], ['HLP', 12], ['VIG', 33], ['VPK4', 12], ['VPK5', 6], ['VS', 1.2], ['SO', 1.6], ['FYS', 1.6], ['PSY', 1], ['ACT', 4],
  ['MGR', 1.5], ['TL', 3], ['FAC', 5], ['ADM', 3], ['REC', 2], ['KOK', 2.5],
];
const ZZP_FUNCTIONS: ReadonlyArray<readonly [string, number]> = [
  ['VPK4', 3], ['VPK5', 3], ['VIG', 3], ['SO', 2], ['FYS', 1], ['PSY', 0.5], ['ADM', 0.5], ['MGR', 0.5],
];
const AGENCY_FUNCTIONS: ReadonlyArray<readonly [string, number]> = [
  ['VIG', 5], ['HLP', 3], ['ZH', 2], ['VPK4', 2], ['FAC', 1], ['KOK', 1],
];
/** Possible next functions on a change of function (promotion or move to a non-care role). */
const PROMOTION: Readonly<Record<string, readonly string[]>> = {
  ZH: ['HLP'],
  HLP: ['VIG'],
  VIG: ['VPK4', 'VPK4', 'TL'],
  VPK4: ['VPK5', 'TL'],
  VPK5: ['TL', 'VS'],
  TL: ['MGR'],
  REC: ['ADM'],
  FAC: ['KOK'],
};
/** Yearly leaving rates outside the two-year calibration: permanent staff from the 78 % present at the start of two years; on-call staff turn over faster. */
const PERMANENT_LEAVE_RATE = Period.leaveRate(0.78);
const ON_CALL_LEAVE_RATE = 0.25;

const HOURS: ReadonlyArray<readonly [number, number]> = [
  [8, 2], [12, 3], [16, 7], [18, 3], [20, 9], [22.5, 2], [24, 12], [25.5, 2], [27, 5], [28, 12], [30, 4], [32, 12], [34, 2], [36, 8],
];

function between(rng: Rng, lo: number, hi: number): number {
  return hi <= lo ? lo : rng.int(lo, hi);
}

/** Moves a date to the first of its month (or the next month) with probability p, staying in [lo, hi]. */
function snap(rng: Rng, d: number, lo: number, hi: number, p = 0.75): number {
  if (!rng.chance(p)) return d;
  const first = D.monthStart(d);
  if (first >= lo && first <= hi) return first;
  const next = D.addMonths(first, 1);
  return next >= lo && next <= hi ? next : d;
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

function money(x: number): string {
  return (Math.round(x * 100) / 100).toFixed(2);
}

function weeklyHours(c: Clause): number | null {
  if (c.size === null) return null;
  return c.unit === 'fte' ? c.size * 36 : c.size;
}

export function generateStaff(rng: Rng, nStaff: number, locations: Location[], wards: Ward[], P: Period): StaffTables {
  const PERIOD_START = P.start;
  const PERIOD_END = P.end;
  const EXPORT_DATE = P.exportDate;
  // ---- persons and the kind of their first agreement -------------------------------------------
  const kinds: AgreementKind[] = [];
  if (nStaff >= STAFF_KIND_WEIGHTS.length) for (const [k] of STAFF_KIND_WEIGHTS) kinds.push(k);
  while (kinds.length < nStaff) kinds.push(rng.weighted(STAFF_KIND_WEIGHTS));
  const nInterns = Math.round(nStaff * 0.08);
  const nVolunteers = Math.round(nStaff * 0.06);
  for (let i = 0; i < nInterns; i++) kinds.push('internship');
  for (let i = 0; i < nVolunteers; i++) kinds.push('volunteer');
  rng.shuffle(kinds);

  const personId = idFormatter('E', kinds.length, 4);
  const wardsByLocation = new Map<Location, Ward[]>();
  for (const w of wards) {
    const list = wardsByLocation.get(w.location) ?? [];
    list.push(w);
    wardsByLocation.set(w.location, list);
  }
  const wardsAt = (loc: Location): Ward[] => wardsByLocation.get(loc) ?? wards;
  // Share of on-call agreements ending during a two-year period (25 %); BBL cohorts start in February and September.
  const onCallLeave = P.leaving(0.25);
  const bblStarts: number[] = [P.atStart(-2, 9, 1)];
  for (let y = P.from - 1; y <= P.to; y++) bblStarts.push(D.day(y, 2, 1), D.day(y, 9, 1));

  const persons: Person[] = [];
  const agreements: Agreement[] = [];

  const addAgreement = (person: Person, kind: AgreementKind, start: number, end: number | null, place: Placement): Agreement => {
    const a: Agreement = {
      idx: agreements.length,
      person,
      kind,
      start,
      end,
      clauses: [],
      rate: kind === 'zzp' ? rng.real(58, 78) : kind === 'agency' ? rng.real(40, 50) : kind === 'payroll' ? rng.real(33, 39) : 0,
      absences: [],
    };
    a.clauses = makeClauses(rng, a, place, wards, wardsAt, P);
    agreements.push(a);
    return a;
  };

  const placementFor = (kind: AgreementKind): Placement => {
    let f: FunctionDef;
    if (kind === 'bbl') f = fn('LVIG');
    else if (kind === 'internship') f = fn('STG');
    else if (kind === 'volunteer') f = fn('VRW');
    else if (kind === 'zzp') f = fn(rng.weighted(ZZP_FUNCTIONS));
    else if (kind === 'agency') f = fn(rng.weighted(AGENCY_FUNCTIONS));
    else f = fn(rng.weighted(FUNCTION_WEIGHTS));
    const loc = rng.pick(locations);
    let ward: Ward | null = rng.pick(wardsAt(loc));
    if (f.code === 'MGR' || (f.code === 'ADM' && rng.chance(0.7))) ward = null; // central staff
    return { fn: f, ward };
  };

  kinds.forEach((kind, i) => {
    const person: Person = { idx: i, id: personId(i + 1), birth: birthFor(rng, kind, P) };
    persons.push(person);
    const adult = (age: number) => (person.birth === null ? D.day(1990, 1, 1) : D.addYears(person.birth, age));
    const place = placementFor(kind);

    switch (kind) {
      case 'permanent': {
        let start: number;
        if (adult(19) < P.atStart(-1, 6, 1) && rng.chance(P.present(0.78))) {
          const lo = Math.max(adult(19), P.atStart(-34, 1, 1));
          const hi = P.atStart(-1, 12, 31);
          const u = rng.next();
          start = snap(rng, hi - Math.floor((hi - lo) * u * u), lo, hi);
        } else {
          const lo = Math.max(adult(18), PERIOD_START);
          start = snap(rng, between(rng, lo, P.atEnd(0, 11, 30)), lo, P.atEnd(0, 11, 30));
        }
        const perm = addAgreement(person, 'permanent', start, permanentEnd(rng, start, person, P), place);
        // A few persons also hold an on-call agreement at the same time (extra shifts elsewhere).
        if (rng.chance(0.05)) {
          const lo = Math.max(perm.start + 30, P.atStart(-1, 1, 1));
          const hi = Math.min(perm.end ?? P.atEnd(0, 10, 1), P.atEnd(0, 10, 1)) - 30;
          if (hi > lo) {
            const s = snap(rng, between(rng, lo, hi), lo, hi);
            const e = rng.chance(0.3) ? between(rng, Math.max(s + 60, PERIOD_START), PERIOD_END) : perm.end;
            const other = rng.chance(0.5) ? rng.pick(wards) : place.ward;
            addAgreement(person, 'on_call', s, e !== null && e < s ? perm.end : e, { fn: place.fn, ward: other });
          }
        }
        break;
      }
      case 'fixed_term': {
        const months = rng.chance(0.5) ? 6 : 12;
        const lo = Math.max(adult(18), D.addMonths(PERIOD_START, -months) + 20);
        const hi = P.atEnd(0, 12, 1);
        const start = snap(rng, between(rng, lo, hi), lo, hi);
        const end = D.addMonths(start, months) - 1;
        addAgreement(person, 'fixed_term', start, end, place);
        if (end + 1 <= EXPORT_DATE) {
          const r = rng.next();
          if (r < 0.4) addAgreement(person, 'permanent', end + 1, followUpEnd(rng, end + 1, P), place);
          else if (r < 0.55) addAgreement(person, 'fixed_term', end + 1, D.addMonths(end + 1, 12) - 1, place);
        }
        break;
      }
      case 'on_call': {
        const lo = Math.max(adult(16), P.atStart(-4, 1, 1));
        const hi = P.atEnd(0, 10, 31);
        const start = snap(rng, between(rng, lo, hi), lo, hi);
        const r = rng.next();
        let end: number | null;
        if (P.reference)
          end = r < onCallLeave ? between(rng, Math.max(start + 30, PERIOD_START), PERIOD_END) : r < onCallLeave + 0.05 ? D.monthEnd(between(rng, P.atEnd(1, 1, 1), P.atEnd(1, 12, 1))) : null;
        else {
          // Constant leaving rate over the period (on-call staff come and go faster than permanent staff).
          const leaveAt = Period.after(Math.max(start + 30, PERIOD_START), rng.exponential(ON_CALL_LEAVE_RATE));
          end = leaveAt <= PERIOD_END ? leaveAt : r < 0.05 ? D.monthEnd(between(rng, P.atEnd(1, 1, 1), P.atEnd(1, 12, 1))) : null;
        }
        addAgreement(person, 'on_call', start, end, place);
        break;
      }
      case 'bbl': {
        const ok = bblStarts.filter((s) => s >= adult(16));
        const start = ok.length > 0 ? rng.pick(ok) : P.atEnd(0, 9, 1);
        const planned = D.addYears(start, 2) - 1;
        const dropLo = Math.max(start + 60, PERIOD_START);
        if (rng.chance(0.12) && dropLo < planned - 30) {
          addAgreement(person, 'bbl', start, between(rng, dropLo, planned - 30), place);
        } else {
          addAgreement(person, 'bbl', start, planned, place);
          if (planned + 1 <= EXPORT_DATE && rng.chance(0.55)) {
            const next: Placement = { fn: fn('VIG'), ward: place.ward };
            if (rng.chance(0.6)) addAgreement(person, 'permanent', planned + 1, followUpEnd(rng, planned + 1, P), next);
            else addAgreement(person, 'fixed_term', planned + 1, D.addMonths(planned + 1, 12) - 1, next);
          }
        }
        break;
      }
      case 'zzp':
      case 'agency': {
        const months = kind === 'zzp' ? rng.int(1, 12) : rng.int(1, 9);
        const lo = Math.max(adult(18), D.addMonths(PERIOD_START, -months) + 15);
        const hi = P.atEnd(0, 11, 30);
        const start = snap(rng, between(rng, lo, hi), lo, hi, 0.5);
        // Open-ended hiring only for the last two years of a longer period (they would pile up otherwise).
        const open = kind === 'zzp' && rng.chance(0.15) && (P.reference || start >= PERIOD_END - 730);
        const end = open ? null : D.addMonths(start, months) - 1;
        addAgreement(person, kind, start, end, place);
        if (end !== null && end + 30 <= P.atEnd(0, 10, 31) && rng.chance(kind === 'zzp' ? 0.2 : 0.15)) {
          const s2 = between(rng, end + 14, Math.min(end + 180, P.atEnd(0, 11, 30)));
          addAgreement(person, kind, s2, D.addMonths(s2, rng.int(1, 6)) - 1, rng.chance(0.5) ? place : placementFor(kind));
        }
        break;
      }
      case 'payroll': {
        const months = rng.int(6, 24);
        const lo = Math.max(adult(18), D.addMonths(PERIOD_START, -months) + 15, P.atStart(-2, 1, 1));
        const hi = P.atEnd(0, 9, 1);
        const start = snap(rng, between(rng, lo, hi), lo, hi);
        const open = rng.chance(0.3) && (P.reference || start >= PERIOD_END - 730);
        addAgreement(person, 'payroll', start, open ? null : D.addMonths(start, months) - 1, place);
        break;
      }
      case 'internship': {
        const months = rng.chance(0.2) ? 10 : rng.int(3, 6);
        const lo = Math.max(D.addMonths(PERIOD_START, -months + 1), adult(16));
        let s = D.monthStart(between(rng, lo, P.atEnd(0, 11, 1)));
        if (s < lo) s = D.addMonths(s, 1);
        addAgreement(person, 'internship', s, D.addMonths(s, months) - 1, place);
        break;
      }
      case 'volunteer': {
        const lo = Math.max(adult(18), P.atStart(-10, 1, 1));
        const hi = P.atEnd(0, 10, 1);
        const start = snap(rng, between(rng, lo, hi), lo, hi, 0.5);
        let end: number | null = null;
        if (!rng.chance(0.65)) {
          const elo = Math.max(start + 180, PERIOD_START);
          end = elo < P.atEnd(1, 6, 30) ? between(rng, elo, P.atEnd(1, 6, 30)) : null;
        }
        addAgreement(person, 'volunteer', start, end, place);
        break;
      }
    }
  });

  // ---- absences -----------------------------------------------------------------------------
  for (const a of agreements) if (PIL_KINDS.has(a.kind)) a.absences = makeAbsences(rng, a, P);

  // ---- worked hours and the cost totals for the ledger -----------------------------------------
  const months: Array<{ y: number; m: number; start: number; end: number; dim: number; label: string }> = [];
  for (const y of P.yearList())
    for (let m = 1; m <= 12; m++) {
      const start = D.day(y, m, 1);
      const dim = D.daysInMonth(y, m);
      months.push({ y, m, start, end: start + dim - 1, dim, label: `${y}-${String(m).padStart(2, '0')}` });
    }
  const nLoc = locations.length;
  const salary = months.map(() => new Array<number>(nLoc + 1).fill(0)); // last slot = central (no ward)
  const internAllowance = months.map(() => 0);
  const pnil = { agency: months.map(() => 0), zzp: months.map(() => 0), payroll: months.map(() => 0) };

  const worked: Array<{ agreement: Agreement; month: string; hours: number; ward: Ward | null }> = [];
  for (const a of agreements) {
    if (a.kind === 'volunteer') continue;
    months.forEach((mo, mi) => {
      const lo = Math.max(a.start, mo.start);
      const hi = Math.min(a.end ?? Number.MAX_SAFE_INTEGER, mo.end);
      if (lo > hi) return;
      let contract = 0;
      let cost = 0;
      let main: Clause | null = null;
      let mainDays = 0;
      for (const c of a.clauses) {
        const days = D.overlapDays(c.start, c.end, lo, hi);
        if (days === 0) continue;
        const weekly = weeklyHours(c) ?? (a.kind === 'internship' ? 32 : 0);
        const h = (weekly * 4.33 * days) / mo.dim;
        contract += h;
        cost += h * c.fn.wage;
        if (days > mainDays) {
          main = c;
          mainDays = days;
        }
      }
      const activeDays = hi - lo + 1;
      let absent = 0;
      for (const ab of a.absences) absent += (D.overlapDays(ab.start, ab.end, lo, hi) * ab.pct) / 100;
      const availability = Math.max(0, 1 - absent / activeDays);
      const noise = a.kind === 'on_call' ? rng.real(0.2, 2.2) : a.kind === 'zzp' || a.kind === 'agency' ? rng.real(0.85, 1.1) : rng.real(0.9, 1.08);
      const hours = Math.round(contract * availability * noise * 4) / 4;
      let ward: Ward | null = null;
      const home = main?.ward ?? null;
      if (home && rng.chance(0.07)) {
        const others = wards.filter((w) => w !== home);
        const sameLoc = others.filter((w) => w.location === home.location);
        if (others.length > 0) ward = rng.pick(sameLoc.length > 0 && rng.chance(0.7) ? sameLoc : others);
      }
      worked.push({ agreement: a, month: mo.label, hours, ward });

      const loc = home ? home.location.idx : nLoc;
      const avgWage = contract > 0 ? cost / contract : (main?.fn.wage ?? 0);
      if (PIL_KINDS.has(a.kind)) {
        const paid = a.kind === 'on_call' ? hours * avgWage : cost;
        (salary[mi] as number[])[loc] = ((salary[mi] as number[])[loc] ?? 0) + paid;
      } else if (a.kind === 'internship') {
        internAllowance[mi] = (internAllowance[mi] ?? 0) + (400 * activeDays) / mo.dim;
      } else if (a.kind === 'agency' || a.kind === 'zzp' || a.kind === 'payroll') {
        pnil[a.kind][mi] = (pnil[a.kind][mi] ?? 0) + hours * a.rate;
      }
    });
  }

  // ---- ledger ---------------------------------------------------------------------------------
  const ledgerRows: Array<{ date: number; code: string; amount: number; location: Location | null }> = [];
  const rent = locations.map(() => rng.real(28_000, 55_000));
  months.forEach((mo, mi) => {
    const date = mo.end;
    // Holiday allowance (8 %) is paid in May, the year-end bonus (8.33 %) in December.
    const factor = 1 + (mo.m === 5 ? 0.96 : 0) + (mo.m === 12 ? 1 : 0);
    let total = 0;
    const row = salary[mi] as number[];
    for (let l = 0; l <= nLoc; l++) {
      const amount = (row[l] ?? 0) * factor;
      if (amount < 0.01) continue;
      total += amount;
      ledgerRows.push({ date, code: 'WPerLes', amount, location: l < nLoc ? (locations[l] as Location) : null });
    }
    if (total > 0) {
      if (rng.chance(0.1)) ledgerRows.push({ date, code: 'WPerLes', amount: -total * rng.real(0.005, 0.02), location: null }); // sickness-benefit refund
      ledgerRows.push({ date, code: 'WPerSol', amount: total * rng.real(0.2, 0.22), location: null });
      ledgerRows.push({ date, code: 'WPerPen', amount: total * rng.real(0.115, 0.13), location: null });
    }
    const intern = internAllowance[mi] ?? 0;
    if (intern >= 0.01) ledgerRows.push({ date, code: 'WPerLesOlrSvg', amount: intern, location: null });
    const uik = pnil.agency[mi] ?? 0;
    const zzp = pnil.zzp[mi] ?? 0;
    const pay = pnil.payroll[mi] ?? 0;
    if (uik >= 0.01) ledgerRows.push({ date, code: 'WBedOvpUik', amount: uik, location: null });
    if (zzp >= 0.01) ledgerRows.push({ date, code: 'WBedOvpZzp', amount: zzp, location: null });
    if (pay >= 0.01) ledgerRows.push({ date, code: 'WBedOvpPay', amount: pay, location: null });
    locations.forEach((loc, l) => {
      ledgerRows.push({ date, code: 'WBedHui', amount: (rent[l] ?? 0) * Math.pow(1.035, mo.y - P.from), location: loc }); // yearly rent indexation
    });
    ledgerRows.push({ date, code: 'WBedAlk', amount: (9_000 + 3_500 * nLoc) * rng.real(0.85, 1.2), location: null });
    if (mo.m % 3 === 0) ledgerRows.push({ date, code: 'WKrpKuw', amount: 2_500 * nLoc * rng.real(0.8, 1.3), location: null });
  });

  // ---- rows -----------------------------------------------------------------------------------
  const agreementId = idFormatter('A', agreements.length, 5);
  const totalClauses = agreements.reduce((s, a) => s + a.clauses.length, 0);
  const clauseId = idFormatter('CL', totalClauses, 5);
  const workedId = idFormatter('WH', worked.length, 6);
  const totalAbsences = agreements.reduce((s, a) => s + a.absences.length, 0);
  const absenceId = idFormatter('AB', totalAbsences, 5);
  const postingId = idFormatter('P', ledgerRows.length, 5);

  const employees = persons.map((p) => ({ employee_id: p.id, birth_date: D.isoOrEmpty(p.birth) }));
  const agreementRows: Row[] = [];
  const clauseRows: Row[] = [];
  const absenceRows: Row[] = [];
  for (const a of agreements) {
    const aid = agreementId(a.idx + 1);
    agreementRows.push({ agreement_id: aid, employee_id: a.person.id, kind: a.kind, start_date: D.iso(a.start), end_date: D.isoOrEmpty(a.end) });
    for (const c of a.clauses)
      clauseRows.push({
        clause_id: clauseId(clauseRows.length + 1),
        agreement_id: aid,
        start_date: D.iso(c.start),
        end_date: D.isoOrEmpty(c.end),
        function_code: c.fn.code,
        ward_id: c.ward?.id ?? '',
        contract_size: c.size === null ? '' : String(c.size),
        size_unit: c.unit ?? '',
      });
    for (const ab of a.absences)
      absenceRows.push({
        absence_id: absenceId(absenceRows.length + 1),
        agreement_id: aid,
        kind: ab.kind,
        start_date: D.iso(ab.start),
        end_date: D.isoOrEmpty(ab.end),
        percentage: String(ab.pct),
      });
  }
  const workedRows = worked.map((w, i) => ({
    worked_id: workedId(i + 1),
    agreement_id: agreementId(w.agreement.idx + 1),
    month: w.month,
    hours: w.hours.toFixed(2),
    ward_id: w.ward?.id ?? '',
  }));
  const ledger = ledgerRows.map((p, i) => ({
    posting_id: postingId(i + 1),
    booking_date: D.iso(p.date),
    rgs_code: p.code,
    amount: money(p.amount),
    location_id: p.location?.id ?? '',
  }));
  return { employees, agreements: agreementRows, clauses: clauseRows, worked_hours: workedRows, absences: absenceRows, ledger };
}

/** Birth date by agreement kind. */
function birthFor(rng: Rng, kind: AgreementKind, P: Period): number | null {
  if ((kind === 'zzp' || kind === 'agency') && rng.chance(0.15)) return null; // hirers often keep no birth date
  let y0: number;
  let y1: number;
  switch (kind) {
    case 'permanent': [y0, y1] = [1958, 1999]; break;
    case 'fixed_term': [y0, y1] = [1960, 2004]; break;
    case 'on_call': [y0, y1] = [1958, 2005]; break;
    case 'bbl': [y0, y1] = rng.chance(0.7) ? [1997, 2005] : [1975, 2005]; break;
    case 'zzp': [y0, y1] = [1960, 1995]; break;
    case 'agency': [y0, y1] = [1962, 2004]; break;
    case 'payroll': [y0, y1] = [1960, 2003]; break;
    case 'internship': [y0, y1] = [1998, 2005]; break;
    case 'volunteer': [y0, y1] = [1958, 1976]; break;
  }
  // The ranges are for staff of a 2022–2023 sample. Over other periods each person is of the age of
  // someone in the staff of a year of the period (so the age mix of the staff stays the same over the years).
  const shift = P.reference ? P.ageShift : rng.int(P.from, P.to) - 2023;
  y0 += shift;
  y1 += shift;
  return rng.int(D.day(y0, 1, 1), D.day(y1, 12, 31));
}

function permanentEnd(rng: Rng, start: number, person: Person, P: Period): number | null {
  if (!P.reference) return permanentEndAtRate(rng, start, person, P);
  const r = rng.next();
  // Staff turnover: the share leaving during the period grows with its length (22 % over two years).
  const leave = P.leaving(0.22);
  if (r < leave) {
    const lo = Math.max(start + 60, P.start + 14);
    if (lo <= P.end) {
      const e = between(rng, lo, P.end);
      return rng.chance(0.6) && D.monthEnd(e) <= P.end ? D.monthEnd(e) : e;
    }
  } else if (r < leave + 0.03) {
    return D.monthEnd(between(rng, P.atEnd(1, 1, 1), P.atEnd(1, 12, 1)));
  }
  // Retirement at 67 for the oldest staff.
  if (person.birth !== null && D.ymd(person.birth)[0] <= 1958 + P.ageShift) {
    const retirement = D.monthEnd(D.addYears(person.birth, 67));
    if (retirement >= start + 60) return retirement;
  }
  return null;
}

/** Leaving at a constant yearly rate from the start of the period (or of the agreement, if later); else retirement. */
function permanentEndAtRate(rng: Rng, start: number, person: Person, P: Period): number | null {
  const leaveAt = Period.after(Math.max(start, P.start), rng.exponential(PERMANENT_LEAVE_RATE));
  const retirement = person.birth !== null && D.ymd(person.birth)[0] <= 1958 + P.ageShift ? D.monthEnd(D.addYears(person.birth, 67)) : null;
  if (retirement !== null && retirement >= start + 60 && retirement <= leaveAt) return retirement;
  const lo = Math.max(start + 60, P.start + 14);
  if (leaveAt <= P.end && lo <= P.end) {
    const e = Math.max(lo, leaveAt);
    return rng.chance(0.6) && D.monthEnd(e) <= P.end ? D.monthEnd(e) : e;
  }
  // Resignations effective after the period are sometimes already known at the export.
  if (leaveAt <= P.atEnd(1, 12, 1) && rng.chance(0.3)) return D.monthEnd(Math.max(leaveAt, P.atEnd(1, 1, 1)));
  return retirement !== null && retirement >= start + 60 ? retirement : null;
}

function followUpEnd(rng: Rng, start: number, P: Period): number | null {
  if (!P.reference) {
    const leaveAt = Period.after(start + 90, rng.exponential(PERMANENT_LEAVE_RATE));
    return leaveAt <= P.end ? leaveAt : null;
  }
  if (rng.chance(0.1) && start + 90 < P.end) return between(rng, start + 90, P.end);
  return null;
}

function baseSize(rng: Rng, kind: AgreementKind, f: FunctionDef): { size: number | null; unit: SizeUnit | null } {
  switch (kind) {
    case 'internship':
    case 'volunteer':
      return { size: null, unit: null };
    case 'bbl':
      return { size: rng.pick([24, 28, 32]), unit: 'hours_per_week' };
    case 'on_call':
      return { size: rng.pick([6, 8, 8, 10, 12, 16]), unit: 'hours_per_week' };
    case 'zzp':
    case 'agency':
      return { size: rng.pick([16, 20, 24, 28, 32, 36]), unit: 'hours_per_week' };
    default: {
      const hours = f.code === 'MGR' || f.code === 'TL' ? rng.pick([32, 36, 36]) : f.code === 'SO' ? rng.pick([24, 28, 32, 36]) : rng.weighted(HOURS);
      if (hours >= 18 && rng.chance(0.2)) return { size: round4(hours / 36), unit: 'fte' };
      return { size: hours, unit: 'hours_per_week' };
    }
  }
}

/** Clauses of one agreement: consecutive, non-overlapping, covering the agreement exactly. */
function makeClauses(rng: Rng, a: Agreement, place: Placement, wards: Ward[], wardsAt: (l: Location) => Ward[], P: Period): Clause[] {
  const first: Clause = { start: a.start, end: a.end, fn: place.fn, ward: place.ward, ...baseSize(rng, a.kind, place.fn) };
  const clauses: Clause[] = [first];
  const splittable = a.kind !== 'internship' && a.kind !== 'volunteer';
  if (splittable && rng.chance(P.atLeastOnce(0.38))) {
    const lo = Math.max(a.start + 45, P.start - 90);
    const hi = Math.min(a.end ?? P.exportDate, P.end) - 45;
    if (hi - lo >= 60) {
      // One or two changes per two years; longer periods see more.
      const n = (rng.chance(0.3) ? 2 : 1) + (P.extraYears > 0 ? rng.poisson(0.25 * P.extraYears) : 0);
      const points: number[] = [];
      for (let i = 0; i < n; i++) points.push(snap(rng, rng.int(lo, hi), lo, hi, 0.8));
      points.sort((x, y) => x - y);
      let prevStart = a.start;
      for (const p of points) {
        if (p - prevStart < 30) continue;
        const prev = clauses[clauses.length - 1] as Clause;
        clauses.push(changeClause(rng, a, prev, p, wards, wardsAt));
        prevStart = p;
      }
    }
  }
  for (let i = 0; i < clauses.length; i++) {
    const c = clauses[i] as Clause;
    const next = clauses[i + 1];
    c.end = next ? next.start - 1 : a.end;
  }
  return clauses;
}

function changeClause(rng: Rng, a: Agreement, prev: Clause, start: number, wards: Ward[], wardsAt: (l: Location) => Ward[]): Clause {
  const c: Clause = { ...prev, start };
  const r = rng.next();
  const promotions = a.kind === 'bbl' ? undefined : PROMOTION[prev.fn.code];
  if (r < 0.25 && promotions) {
    c.fn = fn(rng.pick(promotions));
    if (c.fn.code === 'MGR') c.ward = null;
    else if (c.ward === null) c.ward = rng.pick(wards);
    if (c.unit !== null && (c.fn.code === 'TL' || c.fn.code === 'MGR') && weeklyHours(c)! < 28) {
      c.size = c.unit === 'fte' ? round4(32 / 36) : 32;
    }
    return c;
  }
  if (r < 0.55 && prev.ward !== null) {
    const sameLoc = wardsAt(prev.ward.location).filter((w) => w !== prev.ward);
    const others = wards.filter((w) => w !== prev.ward);
    const pool = sameLoc.length > 0 && rng.chance(0.7) ? sameLoc : others;
    if (pool.length > 0) {
      c.ward = rng.pick(pool);
      return c;
    }
  }
  // Change of contract size.
  if (prev.size !== null) {
    const hours = weeklyHours(prev) ?? 24;
    let next = hours + rng.pick([-8, -4, 4, 4, 8]);
    next = Math.min(36, Math.max(a.kind === 'on_call' ? 4 : 8, next));
    if (next === hours) next = hours >= 32 ? hours - 4 : hours + 4;
    c.size = prev.unit === 'fte' ? round4(next / 36) : next;
  }
  return c;
}

function makeAbsences(rng: Rng, a: Agreement, P: Period): Absence[] {
  const PERIOD_START = P.start;
  const PERIOD_END = P.end;
  const out: Absence[] = [];
  const lo = Math.max(a.start, P.atStart(-1, 10, 1));
  const hi = Math.min(a.end ?? PERIOD_END, PERIOD_END);
  if (hi < lo) return out;
  const free = (s: number, e: number | null) =>
    out.every((x) => (e !== null && e < x.start - 1) || (x.end !== null && s > x.end + 1));
  const clipEnd = (e: number): number | null => {
    if (a.end !== null && e > a.end) e = a.end;
    if (e > P.exportDate) return null; // still absent at the time of the export
    return e;
  };

  // Pregnancy leave (16 weeks, full).
  const b = a.person.birth;
  if (b !== null && (a.kind === 'permanent' || a.kind === 'fixed_term' || a.kind === 'bbl')) {
    const by = D.ymd(b)[0];
    if (by >= 1984 + P.ageShift - P.extraYears && by <= 1998 + P.ageShift && rng.chance(P.atLeastOnce(0.07))) {
      const plo = Math.max(a.start + 30, PERIOD_START - 60);
      const phi = Math.min(a.end ?? PERIOD_END, PERIOD_END) - 112;
      if (phi >= plo) {
        const s = rng.int(plo, phi);
        out.push({ kind: 'pregnancy_leave', start: s, end: s + 111, pct: 100 });
      }
    }
  }

  const years = (hi - lo + 1) / 365;
  const proneness = rng.pick([0, 0.4, 0.8, 1, 1, 1.2, 1.5, 2]);
  const n = rng.poisson(1.2 * years * proneness);
  const starts: number[] = [];
  for (let i = 0; i < n; i++) starts.push(rng.int(lo, hi));
  starts.sort((x, y) => x - y);
  for (const s of starts) {
    const r = rng.next();
    let len: number;
    let pct = 100;
    let reintegration = false;
    if (r < 0.72) len = rng.pick([1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 7, 8, 10]);
    else if (r < 0.92) len = rng.int(11, 28);
    else {
      len = rng.int(29, 240);
      if (rng.chance(0.25)) pct = 50;
      else reintegration = rng.chance(0.4);
    }
    const end = clipEnd(s + len - 1);
    if (!free(s, end)) continue;
    out.push({ kind: 'sickness', start: s, end, pct });
    if (reintegration && end !== null && (a.end === null || end < a.end)) {
      const s2 = end + 1;
      const e2 = clipEnd(s2 + rng.int(14, 90) - 1);
      if (free(s2 + 1, e2) && (e2 === null || e2 >= s2)) out.push({ kind: 'sickness', start: s2, end: e2, pct: 50 });
    }
  }
  out.sort((x, y) => x.start - y.start);
  return out;
}

