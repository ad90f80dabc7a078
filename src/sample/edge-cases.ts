/**
 * Edge cases added on top of a generated provider (option `edgeCases`), so the indicator queries and
 * their oracles meet the situations that are rare in the random data or that the random data never
 * has: agreements crossing the reporting year's boundaries, clause changes mid-month and on 29 February,
 * open-ended agreements and absences, overlapping and partial absences, several agreements of one
 * person at once (also at two locations), pregnancy leave, interns, volunteers, staff without a
 * location, employment since before the import calendar's first year, and clients admitted on a
 * leap day, moved mid-month or in care for one day.
 *
 * Dates are relative to the period (Y = its last year, the reporting year), so every period gets
 * them. Ids start with X and so never collide with the generated ones. The rows only append to the
 * generated tables: without the option the output is unchanged.
 */
import * as D from './dates.js';
import { FUNCTIONS, fn, type FunctionDef, type Location, type Ward } from './org.js';
import type { Period } from './period.js';
import type { Rng } from './random.js';

type Row = Record<string, string>;

export interface EdgeCaseTables {
  employees: Row[];
  agreements: Row[];
  clauses: Row[];
  worked_hours: Row[];
  absences: Row[];
  clients: Row[];
  indications: Row[];
  care_episodes: Row[];
}

interface ClauseSpec {
  start: number;
  /** null = open-ended. */
  end: number | null;
  fn: FunctionDef;
  /** null = not tied to a location. */
  ward: Ward | null;
  /** Hours per week, or fte when `fte` is set; null for interns and volunteers. */
  size: number | null;
  fte?: boolean;
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Leap years whose 29 February lies in the data: from the first year to the export (end of February after the last). */
export function leapYearsOf(P: Period): number[] {
  const years: number[] = [];
  for (let y = P.from; y <= P.to + 1; y++) if (isLeap(y)) years.push(y);
  if (years.length === 0) {
    let y = P.to + 2;
    while (!isLeap(y)) y++;
    years.push(y);
  }
  return years;
}

export function generateEdgeCases(rng: Rng, locations: Location[], wards: Ward[], P: Period, withClients: boolean): EdgeCaseTables {
  const Y = P.to;
  const d = (y: number, m: number, day: number) => D.day(y, m, day);
  const care = FUNCTIONS.filter((f) => f.care && f.qualification !== 'student');
  const nonCare = FUNCTIONS.filter((f) => !f.care && f.code !== 'VRW');
  const wardsAt = (loc: Location) => wards.filter((w) => w.location === loc);
  const locA = rng.pick(locations);
  const locB = locations.length > 1 ? rng.pick(locations.filter((l) => l !== locA)) : locA;
  const wardA = rng.pick(wardsAt(locA));
  const wardA2 = wardsAt(locA).find((w) => w !== wardA) ?? wardA;
  const wardB = rng.pick(wardsAt(locB).filter((w) => w !== wardA).length > 0 ? wardsAt(locB).filter((w) => w !== wardA) : wardsAt(locB));
  const careFn = () => rng.pick(care);
  const otherFn = () => rng.pick(nonCare);

  const out: EdgeCaseTables = { employees: [], agreements: [], clauses: [], worked_hours: [], absences: [], clients: [], indications: [], care_episodes: [] };
  let nAgreement = 0;
  let nClause = 0;
  let nAbsence = 0;
  let nWorked = 0;

  const person = (n: number, birthYear: number | null): string => {
    const id = `XE${pad(n, 2)}`;
    out.employees.push({ employee_id: id, birth_date: birthYear === null ? '' : D.iso(d(birthYear, rng.int(1, 12), rng.int(1, 28))) });
    return id;
  };
  const absence = (agreementId: string, kind: 'sickness' | 'pregnancy_leave', start: number, end: number | null, pct: string) => {
    out.absences.push({ absence_id: `XAB${pad(++nAbsence, 3)}`, agreement_id: agreementId, kind, start_date: D.iso(start), end_date: D.isoOrEmpty(end), percentage: pct });
  };
  /** One agreement with its clauses and monthly worked hours (none for volunteers). */
  const agreement = (employeeId: string, kind: string, start: number, end: number | null, clauses: ClauseSpec[]): string => {
    const id = `XA${pad(++nAgreement, 3)}`;
    out.agreements.push({ agreement_id: id, employee_id: employeeId, kind, start_date: D.iso(start), end_date: D.isoOrEmpty(end) });
    for (const c of clauses)
      out.clauses.push({
        clause_id: `XCL${pad(++nClause, 3)}`,
        agreement_id: id,
        start_date: D.iso(c.start),
        end_date: D.isoOrEmpty(c.end),
        function_code: c.fn.code,
        ward_id: c.ward?.id ?? '',
        contract_size: c.size === null ? '' : String(c.size),
        size_unit: c.size === null ? '' : c.fte ? 'fte' : 'hours_per_week',
      });
    if (kind !== 'volunteer') workedHours(id, start, end, clauses, kind === 'internship');
    return id;
  };
  const workedHours = (agreementId: string, start: number, end: number | null, clauses: ClauseSpec[], intern: boolean) => {
    for (const y of P.yearList())
      for (let m = 1; m <= 12; m++) {
        const ms = d(y, m, 1);
        const dim = D.daysInMonth(y, m);
        const me = ms + dim - 1;
        if (D.overlapDays(start, end, ms, me) === 0) continue;
        let weekly = 0;
        let main: ClauseSpec | null = null;
        let mainDays = 0;
        for (const c of clauses) {
          const days = D.overlapDays(Math.max(c.start, start), c.end === null ? end : end === null ? c.end : Math.min(c.end, end), ms, me);
          if (days === 0) continue;
          const h = c.size === null ? (intern ? 32 : 0) : c.fte ? c.size * 36 : c.size;
          weekly += (h * days) / dim;
          if (days > mainDays) [main, mainDays] = [c, days];
        }
        const hours = Math.round(weekly * (52 / 12) * rng.real(0.85, 1.05) * 4) / 4;
        // Now and then hours are booked on another ward than the clause's (an explicit ward on the row).
        const ward = main?.ward && rng.chance(0.15) ? (main.ward === wardA ? wardB : wardA).id : '';
        out.worked_hours.push({ worked_id: `XWH${pad(++nWorked, 4)}`, agreement_id: agreementId, month: `${y}-${pad(m, 2)}`, hours: hours.toFixed(2), ward_id: ward });
      }
  };

  // 1. Agreements crossing the boundaries of the reporting year, with an absence across New Year.
  {
    const e = person(1, 1975);
    const a = agreement(e, 'permanent', d(Y - 1, 11, 15), d(Y, 2, 10), [{ start: d(Y - 1, 11, 15), end: d(Y, 2, 10), fn: careFn(), ward: wardA, size: 28 }]);
    absence(a, 'sickness', d(Y - 1, 12, 20), d(Y, 1, 10), '100');
    const e2 = person(2, 1990);
    agreement(e2, 'fixed_term', d(Y, 12, 20), d(Y + 1, 1, 31), [{ start: d(Y, 12, 20), end: d(Y + 1, 1, 31), fn: careFn(), ward: wardB, size: 24 }]);
  }
  // 2. Open-ended since long before the period, a change of function and location mid-month, and
  //    overlapping, partial and open-ended absences.
  {
    const e = person(3, 1968);
    const change = d(Y, 5, 17);
    const a = agreement(e, 'permanent', d(P.from - 3, 3, 1), null, [
      { start: d(P.from - 3, 3, 1), end: change - 1, fn: careFn(), ward: wardA, size: 22.5 },
      { start: change, end: null, fn: fn('TL'), ward: wardB, size: 32 },
    ]);
    absence(a, 'sickness', d(Y, 3, 1), d(Y, 3, 20), '100');
    absence(a, 'sickness', d(Y, 3, 10), d(Y, 4, 5), '50');
    absence(a, 'sickness', d(Y, 11, 20), null, '37.5');
  }
  // 3. Clause changes on 29 February and the day after, in every leap year of the data, and an absence from 29 February.
  {
    const e = person(4, 1985);
    const leaps = leapYearsOf(P);
    const start = d(leaps[0]! - 1, 11, 1);
    const end = d(leaps[leaps.length - 1]!, 6, 30);
    const bounds = leaps.flatMap((L) => [d(L, 2, 29), d(L, 3, 1)]);
    const clauses: ClauseSpec[] = [];
    let s = start;
    [...bounds, end + 1].forEach((b, i) => {
      clauses.push({ start: s, end: b - 1, fn: i % 2 === 0 ? careFn() : otherFn(), ward: i % 3 === 2 ? wardB : wardA, size: 12 + 4 * (i % 3) });
      s = b;
    });
    const a = agreement(e, 'on_call', start, end, clauses);
    absence(a, 'sickness', d(leaps[0]!, 2, 29), d(leaps[0]!, 3, 5), '20');
  }
  // 4. Several agreements at once, at two locations, with absences overlapping across agreements.
  {
    const e = person(5, 1980);
    const f = careFn();
    const perm = agreement(e, 'permanent', d(Y, 1, 1), null, [{ start: d(Y, 1, 1), end: null, fn: f, ward: wardA, size: 0.8889, fte: true }]);
    agreement(e, 'zzp', d(Y, 3, 1), d(Y, 9, 30), [{ start: d(Y, 3, 1), end: d(Y, 9, 30), fn: f, ward: wardA2, size: 16 }]);
    agreement(e, 'agency', d(Y, 6, 1), d(Y, 6, 30), [{ start: d(Y, 6, 1), end: d(Y, 6, 30), fn: otherFn(), ward: wardB, size: 8 }]);
    const onCall = agreement(e, 'on_call', d(Y - 1, 7, 1), null, [{ start: d(Y - 1, 7, 1), end: null, fn: f, ward: wardB, size: 6 }]);
    absence(perm, 'sickness', d(Y, 4, 3), d(Y, 4, 12), '100');
    absence(onCall, 'sickness', d(Y, 4, 5), d(Y, 4, 8), '100');
  }
  // 5. Pregnancy leave into and out of the reporting year, sickness right after the first.
  {
    const e = person(6, 1992);
    const a = agreement(e, 'fixed_term', d(Y - 1, 9, 1), d(Y + 1, 8, 31), [{ start: d(Y - 1, 9, 1), end: d(Y + 1, 8, 31), fn: careFn(), ward: wardA, size: 32 }]);
    const p1 = d(Y - 1, 11, 15);
    absence(a, 'pregnancy_leave', p1, p1 + 111, '100');
    absence(a, 'sickness', p1 + 112, p1 + 130, '50');
    const p2 = d(Y, 10, 1);
    absence(a, 'pregnancy_leave', p2, p2 + 111, '100');
  }
  // 6. Staff without a location (central functions, hired care staff without a ward).
  {
    const e = person(7, 1970);
    agreement(e, 'payroll', d(Y, 2, 15), null, [{ start: d(Y, 2, 15), end: null, fn: fn('ADM'), ward: null, size: 20 }]);
    const e2 = person(8, null);
    agreement(e2, 'agency', d(Y - 1, 12, 1), d(Y, 3, 31), [{ start: d(Y - 1, 12, 1), end: d(Y, 3, 31), fn: careFn(), ward: null, size: 36 }]);
  }
  // 7. Interns (one of them then a BBL trainee, clause change mid-month) and volunteers (one without a location).
  {
    const e = person(9, 2003);
    agreement(e, 'internship', d(Y, 2, 1), d(Y, 6, 30), [{ start: d(Y, 2, 1), end: d(Y, 6, 30), fn: fn('STG'), ward: wardA, size: null }]);
    const e2 = person(10, 2002);
    agreement(e2, 'internship', d(Y - 1, 9, 1), d(Y, 1, 31), [{ start: d(Y - 1, 9, 1), end: d(Y, 1, 31), fn: fn('STG'), ward: wardB, size: null }]);
    agreement(e2, 'bbl', d(Y, 2, 1), d(Y + 2, 1, 31), [
      { start: d(Y, 2, 1), end: d(Y, 8, 14), fn: fn('LVIG'), ward: wardB, size: 24 },
      { start: d(Y, 8, 15), end: d(Y + 2, 1, 31), fn: fn('LVIG'), ward: wardA, size: 28 },
    ]);
    const e3 = person(11, 1955);
    agreement(e3, 'volunteer', d(P.from - 2, 5, 1), null, [{ start: d(P.from - 2, 5, 1), end: null, fn: fn('VRW'), ward: wardA, size: null }]);
    const e4 = person(12, 1960);
    agreement(e4, 'volunteer', d(Y, 4, 15), d(Y, 10, 15), [{ start: d(Y, 4, 15), end: d(Y, 10, 15), fn: fn('VRW'), ward: null, size: null }]);
  }
  // 8. Turnover at the year's edges: fixed term ending 31 December followed by permanent from 1 January;
  //    leaving mid-year and coming back on call; an agreement of a single day.
  {
    const e = person(13, 1995);
    const f = careFn();
    agreement(e, 'fixed_term', d(Y - 1, 1, 1), d(Y - 1, 12, 31), [{ start: d(Y - 1, 1, 1), end: d(Y - 1, 12, 31), fn: f, ward: wardA, size: 24 }]);
    agreement(e, 'permanent', d(Y, 1, 1), null, [{ start: d(Y, 1, 1), end: null, fn: f, ward: wardA, size: 24 }]);
    const e2 = person(14, 1965);
    agreement(e2, 'permanent', d(P.from - 5, 1, 1), d(Y, 6, 15), [{ start: d(P.from - 5, 1, 1), end: d(Y, 6, 15), fn: otherFn(), ward: wardB, size: 36 }]);
    agreement(e2, 'on_call', d(Y, 10, 1), null, [{ start: d(Y, 10, 1), end: null, fn: otherFn(), ward: wardB, size: 8 }]);
    const e3 = person(15, 1988);
    agreement(e3, 'agency', d(Y, 7, 14), d(Y, 7, 14), [{ start: d(Y, 7, 14), end: d(Y, 7, 14), fn: careFn(), ward: wardA, size: 36 }]);
  }

  // 9. Employed since more than 20 years before the reporting year (the import's calendar starts at
  //    most 20 years back), sick in the reporting year.
  {
    const e = person(16, 1962);
    const a = agreement(e, 'permanent', d(Y - 25, 3, 1), null, [{ start: d(Y - 25, 3, 1), end: null, fn: careFn(), ward: wardB, size: 36 }]);
    absence(a, 'sickness', d(Y, 9, 4), d(Y, 9, 15), '100');
  }

  if (withClients) addEdgeClients(out, rng, wardA, wardB, P);
  return out;
}

/** Clients in care across the whole period, admitted on a leap day and moved mid-month, over New Year, and from the last day of the year on. */
function addEdgeClients(out: EdgeCaseTables, rng: Rng, wardA: Ward, wardB: Ward, P: Period): void {
  const Y = P.to;
  const d = (y: number, m: number, day: number) => D.day(y, m, day);
  let n = 0;
  const client = (profile: string, delivery: string, start: number, end: number | null, stays: Array<[Ward, number, number | null]>) => {
    n++;
    const id = `XC${pad(n, 2)}`;
    out.clients.push({ client_id: id, birth_date: D.iso(d(rng.int(1925, 1950), rng.int(1, 12), rng.int(1, 28))) });
    const ind = `XI${pad(n, 2)}`;
    out.indications.push({ indication_id: ind, client_id: id, care_profile: profile, delivery_form: delivery, with_treatment: profile === 'VV9B' ? 'yes' : 'no', start_date: D.iso(start), end_date: D.isoOrEmpty(end) });
    stays.forEach(([ward, s, e], i) => out.care_episodes.push({ episode_id: `XEP${pad(n, 2)}${i + 1}`, client_id: id, indication_id: ind, ward_id: ward.id, start_date: D.iso(s), end_date: D.isoOrEmpty(e) }));
  };
  client('VV5', 'instelling', d(P.from - 2, 4, 1), null, [[wardA, d(P.from - 2, 4, 1), null]]);
  const leap = leapYearsOf(P).find((L) => L <= Y);
  const admitted = leap !== undefined ? d(leap, 2, 29) : d(Y - 1, 12, 15);
  const moved = d(Y, 5, 17);
  client('VV6', 'instelling', admitted, d(Y, 12, 31), [
    [wardA, admitted, moved - 1],
    [wardB, moved, d(Y, 12, 31)],
  ]);
  client('VV9B', 'instelling', d(Y - 1, 12, 20), d(Y, 1, 20), [[wardB, d(Y - 1, 12, 20), d(Y, 1, 20)]]);
  client('VV4', 'instelling', d(Y, 12, 31), null, [[wardA, d(Y, 12, 31), null]]);
}
