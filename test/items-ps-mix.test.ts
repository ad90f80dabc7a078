/**
 * Personeelssamenstelling 2.1–2.3, 3.1–3.2, 4.1–4.3: hand-built staging rows with the expected teller and
 * noemer worked out by hand, run through the real import and the pack queries on Oxigraph and Comunica,
 * and compared with the plain-TypeScript oracle (src/oracle/personeel-mix.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ComunicaQueryEngine } from '../src/engines/comunica.js';
import { OxigraphQueryEngine } from '../src/engines/oxigraph.js';
import type { QueryEngine } from '../src/engines/types.js';
import type { ItemRow } from '../src/indicators/item-rows.js';
import { yearTemplate, type ProfilePack } from '../src/indicators/pack.js';
import { mixOracles } from '../src/oracle/personeel-mix.js';
import type { StagingRows } from '../src/oracle/personeel.js';
import { generateSample } from '../src/sample/generate.js';
import { importTables, loadTestPack, runItem } from './pack-harness.js';

const ITEMS = ['ps-2.1', 'ps-2.1.1', 'ps-2.1.3', 'ps-2.1.4', 'ps-2.1.7', 'ps-2.1.9', 'ps-2.2', 'ps-2.3', 'ps-3.1', 'ps-3.2', 'ps-4.1', 'ps-4.2', 'ps-4.3'] as const;

/** A generated provider (2 locations) with every staff table written by hand. */
function handBuilt(): { tables: StagingRows; A: string; B: string } {
  const t = generateSample({ employees: 0, clients: 0, locations: 2, seed: 7 });
  const wards = t.wards!;
  const w0 = wards[0]!;
  const w1 = wards[wards.length - 1]!;
  const vest = (locationId: string) => t.locations!.find((l) => l.location_id === locationId)!.vestigingsnummer!;
  expect(w0.location_id).not.toBe(w1.location_id);
  // Function codes of the sample's function list: VIG level 3, VPK4 level 4, SO treatment, LVIG student, MGR non-care.
  for (const code of ['VIG', 'VPK4', 'SO', 'LVIG', 'STG', 'VRW', 'MGR']) expect(t.functions!.some((f) => f.function_code === code), code).toBe(true);
  const ward = (w: string) => (w === 'w0' ? w0.ward_id! : w === 'w1' ? w1.ward_id! : '');
  const agreement = (agreement_id: string, employee_id: string, kind: string, start_date: string, end_date = '') => ({ agreement_id, employee_id, kind, start_date, end_date });
  const clause = (clause_id: string, agreement_id: string, start_date: string, end_date: string, function_code: string, w: string, contract_size = '', size_unit = '') => ({
    clause_id,
    agreement_id,
    start_date,
    end_date,
    function_code,
    ward_id: ward(w),
    contract_size,
    size_unit,
  });
  const worked = (worked_id: string, agreement_id: string, month: string, hours: string, w = '') => ({ worked_id, agreement_id, month, hours, ward_id: ward(w) });
  const absence = (absence_id: string, agreement_id: string, kind: string, start_date: string, end_date: string, percentage: string) => ({ absence_id, agreement_id, kind, start_date, end_date, percentage });
  const tables: StagingRows = {
    ...t,
    employees: ['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8', 'E9', 'E10'].map((employee_id) => ({ employee_id, birth_date: '' })),
    agreements: [
      agreement('A1', 'E1', 'permanent', '2020-01-01'),
      agreement('A2', 'E2', 'agency', '2023-03-01', '2023-12-31'),
      agreement('A3', 'E3', 'bbl', '2023-09-01', '2024-08-31'),
      agreement('A4', 'E4', 'internship', '2023-02-01', '2023-05-31'),
      agreement('A5', 'E5', 'volunteer', '2022-01-01'),
      agreement('A6', 'E6', 'volunteer', '2023-12-31'),
      agreement('A7', 'E7', 'volunteer', '2021-01-01', '2022-12-31'),
      agreement('A8', 'E8', 'permanent', '2018-05-01'),
      agreement('A9', 'E9', 'fixed_term', '2023-11-01', '2024-04-30'),
      agreement('A10', 'E10', 'permanent', '2019-01-01', '2023-03-31'),
    ],
    clauses: [
      // E1 moves from VIG on A to 1 fte VPK4 on B on 16 June.
      clause('K1', 'A1', '2020-01-01', '2023-06-15', 'VIG', 'w0', '36', 'hours_per_week'),
      clause('K2', 'A1', '2023-06-16', '', 'VPK4', 'w1', '1', 'fte'),
      clause('K3', 'A2', '2023-03-01', '2023-12-31', 'SO', '', '20', 'hours_per_week'),
      clause('K4', 'A3', '2023-09-01', '2024-08-31', 'LVIG', 'w1', '24', 'hours_per_week'),
      clause('K5', 'A4', '2023-02-01', '2023-05-31', 'STG', 'w0'),
      clause('K6', 'A5', '2022-01-01', '', 'VRW', 'w1'),
      clause('K7', 'A6', '2023-12-31', '', 'VRW', 'w0'),
      clause('K8', 'A7', '2021-01-01', '2022-12-31', 'VRW', 'w0'),
      clause('K9', 'A8', '2018-05-01', '', 'MGR', 'w0', '36', 'hours_per_week'),
      clause('K10', 'A9', '2023-11-01', '2024-04-30', 'VIG', 'w1', '18', 'hours_per_week'),
      clause('K11', 'A10', '2019-01-01', '2023-03-31', 'VIG', 'w0', '36', 'hours_per_week'),
    ],
    worked_hours: [
      worked('H1', 'A1', '2023-01', '160'),
      worked('H2', 'A1', '2023-06', '150'),
      worked('H3', 'A1', '2023-07', '100.5', 'w0'),
      worked('H4', 'A1', '2022-12', '200'),
      worked('H5', 'A2', '2023-03', '80.25'),
      worked('H6', 'A3', '2023-09', '90'),
      worked('H7', 'A4', '2023-02', '100'),
      worked('H8', 'A8', '2023-01', '150'),
    ],
    absences: [
      absence('S1', 'A1', 'sickness', '2022-12-20', '2023-01-10', '100'),
      absence('S2', 'A1', 'sickness', '2023-06-10', '2023-06-20', '50'),
      absence('S3', 'A1', 'sickness', '2023-06-18', '2023-06-19', '100'),
      absence('P1', 'A1', 'pregnancy_leave', '2023-03-01', '2023-03-31', '100'),
      absence('S4', 'A9', 'sickness', '2023-12-25', '', '25'),
      absence('S5', 'A2', 'sickness', '2023-04-01', '2023-04-05', '100'),
    ],
    ledger: [],
    clients: [],
    indications: [],
    care_episodes: [],
    client_observations: [],
    restrictive_measures: [],
    ward_discussions: [],
  };
  return { tables, A: vest(w0.location_id!), B: vest(w1.location_id!) };
}

type Expected = Record<string, [string | null, string | null]>;

/** Worked out by hand for 2023 (A = the location of w0, B = that of w1). */
function expected(A: string, B: string): Record<(typeof ITEMS)[number], Expected> {
  // Care hours in 2023: H1 160 (K1 VIG, A), H2 150 (June: K1 and K2 overlap the month, K1 starts first: VIG, A),
  // H3 100.5 (July: K2 VPK4, located by the worked row on A), H5 80.25 (K3 SO, no location), H6 90 (K4 LVIG, B).
  // Not counted: H4 (2022), H7 (intern, not staff), H8 (manager, not care).
  const org = '580.75';
  const a = '410.5';
  return {
    'ps-2.1': { [A]: [a, null], [B]: ['90', null], Organisatie: [org, null] },
    'ps-2.1.1': { [A]: ['0', a], [B]: ['0', '90'], Organisatie: ['0', org] },
    'ps-2.1.3': { [A]: ['310', a], [B]: ['0', '90'], Organisatie: ['310', org] },
    'ps-2.1.4': { [A]: ['100.5', a], [B]: ['0', '90'], Organisatie: ['100.5', org] },
    'ps-2.1.7': { [A]: ['0', a], [B]: ['0', '90'], Organisatie: ['80.25', org] },
    'ps-2.1.9': { [A]: ['0', a], [B]: ['90', '90'], Organisatie: ['90', org] },
    // Interns: E4 (A). Volunteers: E5 (B, open-ended since 2022), E6 (A, from 31 December); E7 ended 2022-12-31.
    'ps-2.2': { [A]: ['1', null], Organisatie: ['1', null] },
    'ps-2.3': { [A]: ['1', null], [B]: ['1', null], Organisatie: ['2', null] },
    // Noemer = days × weekly hours of employment-agreement clauses: K1 166 × 36 = 5976 (A), K2 199 × 36 = 7164 (B),
    // K4 122 × 24 = 2928 (B), K9 365 × 36 = 13140 (A), K10 61 × 18 = 1098 (B), K11 90 × 36 = 3240 (A); K3 is agency.
    // Teller = days × hours × % / 100: S1 crosses the year: 10 × 36 × 1 = 360 (A); S2 crosses the clause change:
    // 6 × 36 × 0.5 = 108 on K1 (A) and 5 × 36 × 0.5 = 90 on K2 (B); S3 overlaps S2 and counts too: 2 × 36 = 72 (B);
    // S4 open-ended, clipped at 31 December: 7 × 18 × 0.25 = 31.5 (B). P1 (pregnancy leave) and S5 (agency) do not count.
    'ps-3.1': { [A]: ['468', '22356'], [B]: ['193.5', '11190'], Organisatie: ['661.5', '33546'] },
    // Reports starting in 2023 with a clause in force that day: S2 (K1, A), S3 (K2, B), S4 (K10, B); S1 began in 2022,
    // S5 is agency, P1 pregnancy leave. Teller = reports × 365; noemer = clause days K1 166 + K9 365 + K11 90 (A),
    // K2 199 + K4 122 + K10 61 (B); the days do not need a contract size.
    'ps-3.2': { [A]: ['365', '621'], [B]: ['730', '382'], Organisatie: ['1095', '1003'] },
    // Care staff in loondienst on 2023-12-31: E1 (B), E3 (B), E9 (B); on 2022-12-31: E1 (A), E10 (A).
    'ps-4.1': { [A]: ['0', '0'], [B]: ['3', '3'], Organisatie: ['2', '3'] },
    'ps-4.2': { [A]: ['2', '2'], [B]: ['0', '0'], Organisatie: ['1', '2'] },
    // Levels on both dates: only E1 (VIG level 3 on 2022-12-31, VPK4 level 4 on 2023-12-31): changed. E3 (student)
    // has no level, E9 only 2023, E10 only 2022.
    'ps-4.3': { Organisatie: ['1', '1'] },
  };
}

const asMap = (rows: ItemRow[]): Expected => Object.fromEntries(rows.filter((r) => r.teller !== null).map((r) => [r.indeling, [r.teller, r.noemer]]));

function paramsFor(pack: ProfilePack, item: string, year: number): Record<string, string> {
  const ind = pack.manifest.indicators.find((i) => i.id === item)!;
  return Object.fromEntries(Object.entries(ind.parameters).map(([k, p]) => [k, yearTemplate(p.value, year)]));
}
const oracleMap = (pack: ProfilePack, item: string, t: StagingRows): Expected =>
  Object.fromEntries(mixOracles[item]!(t, paramsFor(pack, item, 2023)).map((r) => [r.indeling, [r.teller, r.noemer]]));

let pack: ProfilePack;
let hand: ReturnType<typeof handBuilt>;
let nquads: string;
let locations: string[];

beforeAll(async () => {
  pack = loadTestPack();
  hand = handBuilt();
  const imported = await importTables(hand.tables);
  expect(imported.rowsRejected).toBe(0);
  nquads = imported.nquads;
  locations = imported.locations;
}, 120_000);

describe('oracle: personeelssamenstelling 2.x, 3.1, 4.x on the hand-built rows', () => {
  for (const item of ITEMS) {
    it(`${item} gives the hand-computed teller and noemer`, () => {
      expect(oracleMap(pack, item, hand.tables)).toEqual(expected(hand.A, hand.B)[item]);
    });
  }

  it('every 2.1.x item has an oracle, and the categories add up to the care hours when every care function has one', () => {
    const ids = pack.manifest.indicators.filter((i) => i.number.startsWith('2.1.')).map((i) => i.id);
    expect(ids).toHaveLength(9);
    const total = ids.reduce((sum, id) => sum + Number(mixOracles[id]!(hand.tables, paramsFor(pack, id, 2023)).find((r) => r.indeling === 'Organisatie')!.teller), 0);
    expect(total).toBe(580.75);
  });
});

const engines: Array<[string, () => QueryEngine]> = [
  ['oxigraph', () => new OxigraphQueryEngine()],
  ['comunica', () => new ComunicaQueryEngine()],
];

for (const [name, make] of engines) {
  describe(`personeelssamenstelling 2.x, 3.1, 4.x on ${name}`, () => {
    const engine = make();
    beforeAll(async () => {
      await engine.load(nquads);
    });

    for (const item of ITEMS) {
      it(`${item}: hand-computed teller and noemer, equal to the oracle`, async () => {
        const rows = await runItem(engine, pack, item, 2023, locations);
        expect(asMap(rows)).toEqual(expected(hand.A, hand.B)[item]);
        expect(asMap(rows)).toEqual(oracleMap(pack, item, hand.tables));
      }, 120_000);
    }

    it('ps-2.1 reports the hours per category as details', async () => {
      const rows = await runItem(engine, pack, 'ps-2.1', 2023, locations);
      const org = rows.find((r) => r.indeling === 'Organisatie')!;
      expect([org.value, org.details?.Niveau_3, org.details?.Niveau_4, org.details?.Behandelaar, org.details?.Leerling, org.details?.Zonder_categorie].map((v) => v && String(Number(v)))).toEqual([
        '580.75',
        '310',
        '100.5',
        '80.25',
        '90',
        '0',
      ]);
    }, 120_000);
  });
}

/**
 * The import's calendar starts at most 20 years before the reporting year (2003 for 2023): an agreement dated
 * 2002 has no calendar day of its own, and must still count from the period start.
 */
describe('ps-3.1 and ps-3.2 with an agreement older than the calendar', () => {
  const t = generateSample({ employees: 0, clients: 0, locations: 1, seed: 11 });
  const w0 = t.wards![0]!;
  const A = t.locations!.find((l) => l.location_id === w0.location_id)!.vestigingsnummer!;
  const tables: StagingRows = {
    ...t,
    employees: [{ employee_id: 'E1', birth_date: '' }],
    agreements: [{ agreement_id: 'A1', employee_id: 'E1', kind: 'permanent', start_date: '2002-12-31', end_date: '' }],
    clauses: [{ clause_id: 'K1', agreement_id: 'A1', start_date: '2002-12-31', end_date: '', function_code: 'VIG', ward_id: w0.ward_id!, contract_size: '36', size_unit: 'hours_per_week' }],
    worked_hours: [],
    absences: [{ absence_id: 'S1', agreement_id: 'A1', kind: 'sickness', start_date: '2023-03-01', end_date: '2023-03-10', percentage: '100' }],
    ledger: [],
    clients: [],
    indications: [],
    care_episodes: [],
    client_observations: [],
    restrictive_measures: [],
    ward_discussions: [],
  };
  // 10 sick days × 36 h; 365 contract days × 36 h. One report × 365 days over 365 agreement days.
  const want: Record<string, Expected> = {
    'ps-3.1': { [A]: ['360', '13140'], Organisatie: ['360', '13140'] },
    'ps-3.2': { [A]: ['365', '365'], Organisatie: ['365', '365'] },
  };
  let old: { nquads: string; locations: string[] };

  beforeAll(async () => {
    const imported = await importTables(tables);
    expect(imported.rowsRejected).toBe(0);
    old = imported;
  }, 120_000);

  it('the calendar really has no day for the agreement start', () => {
    expect(old.nquads).toContain('inXSDDate> "2023-01-01"^^');
    expect(old.nquads).not.toContain('inXSDDate> "2002-12-31"^^');
  });

  for (const item of ['ps-3.1', 'ps-3.2']) {
    it(`${item}: the oracle gives the hand-computed rows`, () => {
      expect(oracleMap(pack, item, tables)).toEqual(want[item]);
    });
    for (const [name, make] of engines) {
      it(`${item} on ${name}: counts the agreement from the period start`, async () => {
        const engine = make();
        await engine.load(old.nquads);
        expect(asMap(await runItem(engine, pack, item, 2023, old.locations))).toEqual(want[item]);
      }, 120_000);
    }
  }
});
