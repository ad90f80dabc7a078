/**
 * Personeelssamenstelling 1.1–1.6 and 5.1: hand-built staging rows with the expected teller and noemer
 * worked out by hand, run through the real import and the pack queries on Oxigraph and Comunica, and
 * compared with the plain-TypeScript oracle (src/oracle/personeel.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ComunicaQueryEngine } from '../src/engines/comunica.js';
import { OxigraphQueryEngine } from '../src/engines/oxigraph.js';
import type { QueryEngine } from '../src/engines/types.js';
import { canonicalDecimal, itemRows, type ItemRow } from '../src/indicators/item-rows.js';
import { runIndicator, yearTemplate, type ProfilePack } from '../src/indicators/pack.js';
import { staffOracles, type StagingRows } from '../src/oracle/personeel.js';
import { generateSample } from '../src/sample/generate.js';
import { importTables, loadTestPack, runItem } from './pack-harness.js';

const ITEMS = ['ps-1.1', 'ps-1.2', 'ps-1.3', 'ps-1.4', 'ps-1.5', 'ps-1.6', 'ps-5.1'] as const;

/** A generated provider (2 locations) with every table this chapter reads written by hand. */
function handBuilt(): { tables: StagingRows; loc0: string; loc1: string } {
  const t = generateSample({ employees: 0, clients: 0, locations: 2, seed: 7 });
  const wards = t.wards!;
  const w0 = wards[0]!;
  const w1 = wards[wards.length - 1]!;
  const vest = (locationId: string) => t.locations!.find((l) => l.location_id === locationId)!.vestigingsnummer!;
  expect(w0.location_id).not.toBe(w1.location_id);
  const careFn = t.functions!.find((f) => f.care === 'yes')!.function_code!;
  const otherFn = t.functions!.find((f) => f.care === 'no')!.function_code!;
  const agreement = (agreement_id: string, employee_id: string, kind: string, start_date: string, end_date = '') => ({ agreement_id, employee_id, kind, start_date, end_date });
  const clause = (clause_id: string, agreement_id: string, start_date: string, end_date: string, care: boolean, ward: Record<string, string>, contract_size: string, size_unit: string) => ({
    clause_id,
    agreement_id,
    start_date,
    end_date,
    function_code: care ? careFn : otherFn,
    ward_id: ward.ward_id!,
    contract_size,
    size_unit,
  });
  const tables: StagingRows = {
    ...t,
    employees: ['E1', 'E2', 'E3', 'E4'].map((employee_id) => ({ employee_id, birth_date: '' })),
    agreements: [
      agreement('A1', 'E1', 'permanent', '2023-01-01'),
      agreement('A2', 'E2', 'fixed_term', '2023-07-01', '2023-12-31'),
      agreement('A3', 'E3', 'agency', '2023-01-01', '2023-06-30'),
      agreement('A4', 'E4', 'volunteer', '2023-01-01'),
    ],
    clauses: [
      clause('K1', 'A1', '2023-01-01', '', true, w0, '36', 'hours_per_week'),
      clause('K2', 'A2', '2023-07-01', '2023-09-30', false, w1, '18', 'hours_per_week'),
      clause('K3', 'A2', '2023-10-01', '2023-12-31', true, w1, '0.5', 'fte'),
      clause('K4', 'A3', '2023-01-01', '2023-06-30', true, w0, '24', 'hours_per_week'),
      clause('K5', 'A4', '2023-01-01', '', false, w0, '', ''),
    ],
    worked_hours: [
      { worked_id: 'H1', agreement_id: 'A1', month: '2023-03', hours: '100.5', ward_id: '' },
      { worked_id: 'H2', agreement_id: 'A3', month: '2023-03', hours: '50.25', ward_id: '' },
      { worked_id: 'H3', agreement_id: 'A2', month: '2022-12', hours: '40', ward_id: '' },
      { worked_id: 'H4', agreement_id: 'A4', month: '2023-05', hours: '10', ward_id: '' },
    ],
    absences: [],
    ledger: [
      { posting_id: 'P1', booking_date: '2023-02-28', rgs_code: 'WPerLes', amount: '1000.10', location_id: w0.location_id! },
      { posting_id: 'P2', booking_date: '2023-05-31', rgs_code: 'WBedOvpUik', amount: '250.40', location_id: w1.location_id! },
      { posting_id: 'P3', booking_date: '2023-06-30', rgs_code: 'WPerLesOlrSvg', amount: '99', location_id: w0.location_id! },
      { posting_id: 'P4', booking_date: '2022-12-31', rgs_code: 'WBedOvpZzp', amount: '500', location_id: '' },
      { posting_id: 'P5', booking_date: '2023-08-31', rgs_code: 'WPerSol', amount: '200', location_id: '' },
    ],
    clients: [{ client_id: 'C1', birth_date: '' }, { client_id: 'C2', birth_date: '' }],
    indications: [
      { indication_id: 'I1', client_id: 'C1', care_profile: 'VV5', delivery_form: 'instelling', with_treatment: 'no', start_date: '2023-01-01', end_date: '' },
      { indication_id: 'I2', client_id: 'C2', care_profile: 'VV6', delivery_form: 'instelling', with_treatment: 'yes', start_date: '2023-04-01', end_date: '2023-04-30' },
    ],
    care_episodes: [
      { episode_id: 'EP1', client_id: 'C1', indication_id: 'I1', ward_id: w0.ward_id!, start_date: '2023-01-01', end_date: '2023-06-30' },
      { episode_id: 'EP2', client_id: 'C1', indication_id: 'I1', ward_id: w1.ward_id!, start_date: '2023-07-01', end_date: '' },
      { episode_id: 'EP3', client_id: 'C2', indication_id: 'I2', ward_id: w0.ward_id!, start_date: '2023-03-01', end_date: '2023-12-31' },
    ],
    client_observations: [],
    restrictive_measures: [],
    ward_discussions: [],
  };
  return { tables, loc0: vest(w0.location_id!), loc1: vest(w1.location_id!) };
}

type Expected = Record<string, [string, string | null]>;

/**
 * Worked out by hand (2023: 365 days; Jan–Jun 181, Jul–Sep 92, Oct–Dec 92):
 * E1 permanent, care on loc0, 36 h all year; E2 fixed-term Jul–Dec on loc1, non-care 18 h (Jul–Sep) then care
 * 0.5 fte = 18 h (Oct–Dec); E3 agency (PNIL), care on loc0, 24 h Jan–Jun; E4 volunteer (not staff).
 */
function expected(loc0: string, loc1: string): Record<(typeof ITEMS)[number], Expected> {
  return {
    // person-days: E1 365, E2 92 + 92, E3 181.
    'ps-1.1': { [loc0]: ['546', '365'], [loc1]: ['184', '365'], Organisatie: ['730', '365'] },
    // days x hours: E1 365*36 = 13140, E2 92*18 + 92*18 = 3312, E3 181*24 = 4344; noemer 36*365.
    'ps-1.2': { [loc0]: ['17484', '13140'], [loc1]: ['3312', '13140'], Organisatie: ['20796', '13140'] },
    // on 2023-12-31: E1 permanent (loc0), E2 fixed-term (loc1); E3 has left.
    'ps-1.3': { [loc0]: ['0', '1'], [loc1]: ['1', '1'], Organisatie: ['1', '2'] },
    // March: A1 100.5 h (PIL), A3 50.25 h (PNIL); December 2022 and the volunteer do not count.
    'ps-1.4': { Organisatie: ['50.25', '150.75'] },
    // WPerLes 1000.10 (loc0), WBedOvpUik 250.40 (loc1), WPerSol 200 (no location); stage allowance and 2022 out.
    'ps-1.5': { [loc0]: ['0', '1000.1'], [loc1]: ['250.4', '250.4'], Organisatie: ['250.4', '1450.5'] },
    // PIL only (E1, E2): teller as 1.2 without E3, noemer 36 x (365 + 184) days.
    'ps-1.6': { [loc0]: ['13140', '13140'], [loc1]: ['3312', '6624'], Organisatie: ['16452', '19764'] },
    // care days x hours: E1 13140 + E3 4344 (loc0), E2 Oct–Dec 1656 (loc1); client-days: C1 181 (loc0) + 184 (loc1),
    // C2's episode clipped to its indication (April, 30 days, loc0).
    'ps-5.1': { [loc0]: ['17484', '7596'], [loc1]: ['1656', '6624'], Organisatie: ['19140', '14220'] },
  };
}

const asMap = (rows: ItemRow[]): Expected => Object.fromEntries(rows.filter((r) => r.teller !== null).map((r) => [r.indeling, [r.teller!, r.noemer]]));
const oracleMap = (item: string, t: StagingRows, params: Record<string, string>): Expected => Object.fromEntries(staffOracles[item]!(t, params).map((r) => [r.indeling, [r.teller!, r.noemer]]));

function paramsFor(pack: ProfilePack, item: string, year: number): Record<string, string> {
  const ind = pack.manifest.indicators.find((i) => i.id === item)!;
  return Object.fromEntries(Object.entries(ind.parameters).map(([k, p]) => [k, yearTemplate(p.value, year)]));
}

/** The pack with one item's parameter values replaced (e.g. a quarter instead of the year). */
function withParameters(pack: ProfilePack, item: string, values: Record<string, string>): ProfilePack {
  const indicators = pack.manifest.indicators.map((i) =>
    i.id === item ? { ...i, parameters: Object.fromEntries(Object.entries(i.parameters).map(([k, p]) => [k, { ...p, value: values[k] ?? p.value }])) } : i,
  );
  return { ...pack, manifest: { ...pack.manifest, indicators } };
}

let pack: ProfilePack;
let hand: ReturnType<typeof handBuilt>;
let handNquads: string;
let handLocations: string[];
let worked: { nquads: string; locations: string[]; tables: StagingRows };

beforeAll(async () => {
  pack = loadTestPack();
  hand = handBuilt();
  const imported = await importTables(hand.tables);
  expect(imported.rowsRejected).toBe(0);
  handNquads = imported.nquads;
  handLocations = imported.locations;
  // The official worked example (DOMAIN §5): employed half of Q3, first half care, then manager.
  const t = generateSample({ employees: 0, clients: 0, locations: 1, seed: 3 });
  const ward = t.wards![0]!.ward_id!;
  const tables: StagingRows = {
    ...t,
    employees: [{ employee_id: 'E1', birth_date: '' }],
    agreements: [{ agreement_id: 'A1', employee_id: 'E1', kind: 'fixed_term', start_date: '2023-07-01', end_date: '2023-08-15' }],
    clauses: [
      { clause_id: 'C1', agreement_id: 'A1', start_date: '2023-07-01', end_date: '2023-07-23', function_code: t.functions!.find((f) => f.care === 'yes')!.function_code!, ward_id: ward, contract_size: '36', size_unit: 'hours_per_week' },
      { clause_id: 'C2', agreement_id: 'A1', start_date: '2023-07-24', end_date: '2023-08-15', function_code: t.functions!.find((f) => f.care === 'no')!.function_code!, ward_id: ward, contract_size: '36', size_unit: 'hours_per_week' },
    ],
    worked_hours: [],
    absences: [],
    ledger: [],
    care_episodes: [],
    indications: [],
    clients: [],
    client_observations: [],
    restrictive_measures: [],
    ward_discussions: [],
  };
  const w = await importTables(tables);
  worked = { nquads: w.nquads, locations: w.locations, tables };
}, 120_000);

const engines: Array<[string, () => QueryEngine]> = [
  ['oxigraph', () => new OxigraphQueryEngine()],
  ['comunica', () => new ComunicaQueryEngine()],
];

for (const [name, make] of engines) {
  describe(`personeelssamenstelling 1.x and 5.1 on ${name}`, () => {
    const engine = make();
    beforeAll(async () => {
      await engine.load(handNquads);
    });

    for (const item of ITEMS) {
      it(`${item}: hand-computed teller and noemer, equal to the oracle`, async () => {
        const want = expected(hand.loc0, hand.loc1)[item];
        const rows = await runItem(engine, pack, item, 2023, handLocations);
        expect(asMap(rows)).toEqual(want);
        expect(oracleMap(item, hand.tables, paramsFor(pack, item, 2023))).toEqual(want);
      }, 120_000);
    }

    it('ps-1.1 gives the official worked example for Q3 2023: care 0.25, non-care 0.25, total 0.5', async () => {
      const e = make();
      await e.load(worked.nquads);
      const quarter = { start_periode: '2023-07-01', eind_periode: '2023-09-30' };
      const run = await runIndicator(e, withParameters(pack, 'ps-1.1', quarter), 'ps-1.1', 2023);
      const rows = itemRows(run.indicator, run.results, worked.locations);
      expect(rows.map((r) => [r.indeling, r.teller, r.noemer, r.value, canonicalDecimal(r.details!.zorg_dagen!), canonicalDecimal(r.details!.niet_zorg_dagen!)])).toEqual([
        [worked.locations[0], '46', '92', '0.50', '23', '23'],
        ['Organisatie', '46', '92', '0.50', '23', '23'],
      ]);
      expect(oracleMap('ps-1.1', worked.tables, quarter)).toEqual({ [worked.locations[0]!]: ['46', '92'], Organisatie: ['46', '92'] });
    }, 120_000);
  });
}

describe('oracle vs SPARQL (Oxigraph) on generated providers', () => {
  for (const seed of [11, 12, 13]) {
    it(`seed ${seed}: every item agrees exactly`, async () => {
      const t = generateSample({ employees: 25, clients: 15, locations: 3, seed });
      const imported = await importTables(t);
      expect(imported.rowsRejected).toBe(0);
      const engine = new OxigraphQueryEngine();
      await engine.load(imported.nquads);
      for (const item of ITEMS) {
        const got = asMap(await runItem(engine, pack, item, 2023, imported.locations));
        expect(got, item).toEqual(oracleMap(item, t, paramsFor(pack, item, 2023)));
      }
    }, 120_000);
  }
});
