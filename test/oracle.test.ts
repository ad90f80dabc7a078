import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/schema.js';
import { openDb, type Db } from '../src/db/open.js';
import { ComunicaQueryEngine } from '../src/engines/comunica.js';
import { loadPack, runIndicator, type ProfilePack } from '../src/indicators/pack.js';
import { fixedTermShare, headCount, ORGANISATION, ps11, toDecimal, volunteers, type Ps11Row, type StagingRows } from '../src/oracle/personeel.js';
import { importSource } from '../src/pipeline/import.js';
import { generateSample, SAMPLE_LAYOUT, SAMPLE_TABLE_NAMES, toCsv, type SampleOptions } from '../src/sample/generate.js';
import { readSnapshot } from '../src/store/snapshot.js';
import { ROOT, tempDir } from './helpers.js';

const YEAR_2023 = { from: '2023-01-01', to: '2023-12-31' };

/** The worked example of DOMAIN §5 as staging rows. */
function workedExample(): StagingRows {
  return {
    locations: [{ location_id: 'L1', vestigingsnummer: '000012345678' }],
    wards: [{ ward_id: 'W1', location_id: 'L1' }],
    functions: [
      { function_code: 'SO', care: 'yes' },
      { function_code: 'MGR', care: 'no' },
    ],
    employees: [{ employee_id: 'E1' }],
    agreements: [{ agreement_id: 'A1', employee_id: 'E1', kind: 'fixed_term', start_date: '2023-07-01', end_date: '2023-08-15' }],
    clauses: [
      { clause_id: 'C1', agreement_id: 'A1', start_date: '2023-07-01', end_date: '2023-07-23', function_code: 'SO', ward_id: 'W1' },
      { clause_id: 'C2', agreement_id: 'A1', start_date: '2023-07-24', end_date: '2023-08-15', function_code: 'MGR', ward_id: 'W1' },
    ],
  };
}

const plain = (rows: Ps11Row[]) => Object.fromEntries(rows.map((r) => [r.location, [r.zorg.value, r.nietZorg.value, r.totaal.value]]));

describe('oracle: ps-1.1 on hand-built rows', () => {
  it('gives the official worked example 0.25 / 0.25 / 0.5 exactly', () => {
    const rows = ps11(workedExample(), { from: '2023-07-01', to: '2023-09-30' });
    expect(rows.map((r) => r.location)).toEqual(['000012345678', ORGANISATION]);
    for (const r of rows) {
      expect([r.zorg.numerator, r.nietZorg.numerator, r.totaal.numerator, r.totaal.denominator]).toEqual([23, 23, 46, 92]);
      expect([r.zorg.value, r.nietZorg.value, r.totaal.value]).toEqual([0.25, 0.25, 0.5]);
      expect(toDecimal(r.totaal, 3)).toBe('0.500');
    }
    expect(plain(ps11(workedExample(), YEAR_2023)).organisation).toEqual([23 / 365, 23 / 365, 46 / 365]);
  });

  it('counts overlapping clauses once, leaves interns and volunteers out, unlocated clauses count for the organisation only', () => {
    const t = workedExample();
    t.agreements!.push(
      { agreement_id: 'A2', employee_id: 'E2', kind: 'internship', start_date: '2023-01-01', end_date: '' },
      { agreement_id: 'A3', employee_id: 'E3', kind: 'volunteer', start_date: '2023-01-01', end_date: '' },
      { agreement_id: 'A4', employee_id: 'E4', kind: 'zzp', start_date: '2023-01-01', end_date: '' },
      { agreement_id: 'A5', employee_id: 'E4', kind: 'agency', start_date: '2023-06-01', end_date: '' },
    );
    t.clauses = [
      { clause_id: 'I', agreement_id: 'A2', start_date: '2023-01-01', end_date: '', function_code: 'SO', ward_id: 'W1' },
      { clause_id: 'V', agreement_id: 'A3', start_date: '2023-01-01', end_date: '', function_code: 'MGR', ward_id: 'W1' },
      // Two agreements of one person overlapping in July: the care days count once.
      { clause_id: 'Z1', agreement_id: 'A4', start_date: '2023-01-01', end_date: '2023-07-31', function_code: 'SO', ward_id: 'W1' },
      { clause_id: 'Z2', agreement_id: 'A5', start_date: '2023-07-01', end_date: '', function_code: 'SO', ward_id: '' },
    ];
    const rows = plain(ps11(t, { from: '2023-07-01', to: '2023-09-30' }));
    expect(rows).toEqual({ '000012345678': [31 / 92, 0, 31 / 92], organisation: [1, 0, 1] });
  });

  it('toDecimal rounds half away from zero, exactly', () => {
    expect(toDecimal({ numerator: 1, denominator: 8, value: 0.125 }, 2)).toBe('0.13');
    expect(toDecimal({ numerator: 2, denominator: 3, value: 2 / 3 }, 4)).toBe('0.6667');
    expect(toDecimal({ numerator: 140, denominator: 9, value: 140 / 9 }, 4)).toBe('15.5556');
  });
});

// ---------------------------------------------------------------------------------------------
// (b) the oracle against our ps-1.1 SPARQL on Comunica, through the real import pipeline.

let pack: ProfilePack;
let db: Db;
let base: AgentConfig;
let dataDir: string;
const engine = new ComunicaQueryEngine();

function writeTables(tables: StagingRows, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const name of SAMPLE_TABLE_NAMES) {
    const layout = SAMPLE_LAYOUT[name];
    writeFileSync(join(dir, layout.file), toCsv([...layout.columns], tables[name] ?? []), 'utf8');
  }
}

/** Imports the tables (staging CSV in a temp dir -> checks -> RML -> snapshot) and runs ps-1.1 for the year on Comunica. */
async function sparqlPs11(tables: StagingRows, year: number): Promise<Record<string, number[]>> {
  const dir = tempDir('kikv-oracle-src-');
  writeTables(tables, dir);
  const staging = base.sources.staging!;
  // SHACL validation is off (validateUpTo 0): it does not change the mapped data, and the import tests cover it.
  const cfg: AgentConfig = {
    ...base,
    storage: { ...base.storage, dataDir },
    sources: { ...base.sources, staging: { ...staging, directory: dir } as typeof staging },
    mapping: { ...base.mapping, validateUpTo: 0 },
  };
  const t0 = Date.now();
  const imported = await importSource(cfg, db, 'oracle-test');
  const t1 = Date.now();
  expect(imported.report.fileErrors).toEqual([]);
  expect(imported.report.totals.rowsRejected, 'generated rows import without rejections').toBe(0);
  await engine.load(readSnapshot(dataDir, imported.snapshot!.meta.hash).nquads);
  const t2 = Date.now();
  const run = await runIndicator(engine, pack, 'ps-1.1', year);
  if (process.env.ORACLE_TIMING) console.log(`import ${t1 - t0} load ${t2 - t1} query ${Date.now() - t2} ms, ${tables.clauses?.length} clauses`);
  return Object.fromEntries(
    run.results.results.bindings.map((b) => [b.Indeling!.value === 'Organisatie' ? ORGANISATION : b.Indeling!.value, [Number(b.Zorg!.value), Number(b.Niet_zorg!.value), Number(b.Totaal!.value)]]),
  );
}

function expectAgree(sparql: Record<string, number[]>, oracle: Ps11Row[], label: string): void {
  const want = plain(oracle);
  expect(Object.keys(sparql).sort(), `${label}: rows`).toEqual(Object.keys(want).sort());
  for (const [k, v] of Object.entries(want)) {
    const got = sparql[k]!;
    for (let i = 0; i < 3; i++) {
      if (Math.abs(got[i]! - v[i]!) > 1e-9) expect.fail(`${label}: ${k} column ${i}: SPARQL ${got[i]} vs oracle ${v[i]}`);
    }
  }
}

/** A generated provider with its staff tables replaced by hand-written agreements and clauses. */
function handBuilt(agreements: Array<Record<string, string>>, clauses: Array<Record<string, string>>): StagingRows {
  const t = generateSample({ employees: 0, clients: 0, locations: 2, seed: 7 });
  const wards = t.wards!.map((w) => w.ward_id!);
  const careFn = t.functions!.find((f) => f.care === 'yes')!.function_code!;
  const otherFn = t.functions!.find((f) => f.care === 'no')!.function_code!;
  const employees = [...new Set(agreements.map((a) => a.employee_id!))].map((employee_id) => ({ employee_id, birth_date: '' }));
  return {
    ...t,
    employees,
    agreements,
    clauses: clauses.map((c, i) => ({
      clause_id: `K${i + 1}`,
      contract_size: '24',
      size_unit: 'hours_per_week',
      ...c,
      function_code: c.function_code === 'care' ? careFn : c.function_code === 'other' ? otherFn : c.function_code!,
      ward_id: c.ward_id === 'w0' ? wards[0]! : c.ward_id === 'w1' ? wards[wards.length - 1]! : (c.ward_id ?? ''),
    })),
    worked_hours: [],
    absences: [],
    ledger: [],
  };
}

const a = (agreement_id: string, employee_id: string, kind: string, start_date: string, end_date = '') => ({ agreement_id, employee_id, kind, start_date, end_date });
const c = (agreement_id: string, start_date: string, end_date: string, function_code: string, ward_id: string) => ({ agreement_id, start_date, end_date, function_code, ward_id });

describe('oracle vs our ps-1.1 SPARQL on Comunica (import pipeline)', () => {
  beforeAll(() => {
    pack = loadPack(join(ROOT, 'queries'), 'zorginstituut-verpleeghuiszorg', '2023.1.0');
    base = loadConfig(DEFAULT_CONFIG_FILE);
    dataDir = join(tempDir('kikv-oracle-'), 'data');
    db = openDb(dataDir);
  });
  afterAll(() => db?.close());

  const edge: Array<[string, () => StagingRows, number[]]> = [
    [
      'an agreement crossing the year boundary, open-ended agreements',
      () => handBuilt([a('A1', 'E1', 'permanent', '2022-11-15', '2023-02-10'), a('A2', 'E2', 'on_call', '2021-03-01'), a('A3', 'E3', 'bbl', '2023-12-20')], [c('A1', '2022-11-15', '', 'care', 'w0'), c('A2', '2021-03-01', '', 'other', 'w1'), c('A3', '2023-12-20', '', 'care', 'w1')]),
      [2023],
    ],
    [
      'a clause change mid-month and on 29 February 2024',
      () =>
        handBuilt(
          [a('A1', 'E1', 'fixed_term', '2023-05-01', '2024-06-30'), a('A2', 'E2', 'payroll', '2024-01-01', '2024-12-31')],
          [c('A1', '2023-05-01', '2023-05-16', 'care', 'w0'), c('A1', '2023-05-17', '2024-02-28', 'other', 'w0'), c('A1', '2024-02-29', '2024-06-30', 'care', 'w1'), c('A2', '2024-01-01', '2024-02-29', 'other', ''), c('A2', '2024-03-01', '', 'care', 'w0')],
        ),
      [2023, 2024],
    ],
    [
      'several agreements at once and overlapping clauses (same and other category, same and other ward)',
      () =>
        handBuilt(
          [a('A1', 'E1', 'permanent', '2023-01-01'), a('A2', 'E1', 'zzp', '2023-03-01', '2023-09-30'), a('A3', 'E1', 'agency', '2023-06-01', '2023-06-30'), a('A4', 'E2', 'fixed_term', '2023-02-01', '2023-12-31'), a('A5', 'E3', 'volunteer', '2023-01-01'), a('A6', 'E4', 'internship', '2023-01-01')],
          [
            c('A1', '2023-01-01', '', 'care', 'w0'),
            c('A2', '2023-03-01', '2023-09-30', 'care', 'w0'),
            c('A3', '2023-06-01', '2023-06-30', 'other', 'w1'),
            c('A4', '2023-02-01', '2023-08-31', 'other', 'w0'),
            c('A4', '2023-04-01', '2023-12-31', 'other', 'w0'),
            c('A4', '2023-05-01', '2023-05-31', 'care', 'w1'),
            // A clause starting before its agreement is clipped to the agreement.
            c('A4', '2023-01-15', '2023-03-01', 'care', ''),
            c('A5', '2023-01-01', '', 'other', 'w0'),
            c('A6', '2023-01-01', '', 'care', 'w0'),
          ],
        ),
      [2023],
    ],
  ];
  for (const [name, build, years] of edge) {
    it(`edge case: ${name}`, async () => {
      const t = build();
      for (const y of years) expectAgree(await sparqlPs11(t, y), ps11(t, { from: `${y}-01-01`, to: `${y}-12-31` }), `${name} ${y}`);
    }, 60_000);
  }

  it('agrees on at least 50 generated providers (2023, per vestiging and organisation)', async () => {
    const started = Date.now();
    let runs = 0;
    // The features the edge cases above pin down also occur in the generated providers.
    const seen = { unlocated: 0, multiAgreement: 0, nonStaff: 0 };
    const opts = fc.record<SampleOptions>({
      // Small providers mostly (the query's cost grows with the clauses per person and vestiging), up to 25.
      employees: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 8 }), weight: 3 }, { arbitrary: fc.integer({ min: 9, max: 25 }), weight: 1 }),
      clients: fc.integer({ min: 0, max: 5 }),
      locations: fc.integer({ min: 1, max: 3 }),
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      years: fc.oneof({ arbitrary: fc.constant({ from: 2022, to: 2023 }), weight: 3 }, { arbitrary: fc.integer({ min: 2019, max: 2023 }).map((from) => ({ from, to: 2023 })), weight: 1 }),
    });
    await fc.assert(
      fc.asyncProperty(opts, async (o) => {
        runs++;
        const t = generateSample(o);
        seen.unlocated += t.clauses!.filter((k) => !k.ward_id).length;
        const agreementsOf = new Map<string, number>();
        for (const x of t.agreements!) agreementsOf.set(x.employee_id!, (agreementsOf.get(x.employee_id!) ?? 0) + 1);
        seen.multiAgreement += [...agreementsOf.values()].filter((v) => v > 1).length;
        seen.nonStaff += t.agreements!.filter((x) => x.kind === 'internship' || x.kind === 'volunteer').length;
        expectAgree(await sparqlPs11(t, 2023), ps11(t, YEAR_2023), JSON.stringify(o));
      }),
      { numRuns: Number(process.env.ORACLE_RUNS ?? 50), endOnFailure: true },
    );
    expect(runs).toBeGreaterThanOrEqual(50);
    expect(Math.min(seen.unlocated, seen.multiAgreement, seen.nonStaff), JSON.stringify(seen)).toBeGreaterThan(0);
    console.log(`oracle vs SPARQL ps-1.1: ${runs} generated providers in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 240_000);
});

// ---------------------------------------------------------------------------------------------
// (c) the oracle's 1.2 / 3.1 / 9.1 on the shipped sample against the values Jena pins for the
// official Zorgkantoren 1.3.4 queries (test/official-jena.test.ts), peildatum 2023-12-31, Q4 2023.

describe('oracle vs the official 1.2 / 3.1 / 9.1 numbers pinned on Jena (config/sample)', () => {
  const sample: StagingRows = {};
  beforeAll(() => {
    for (const name of SAMPLE_TABLE_NAMES) {
      sample[name] = parse(readFileSync(join(ROOT, 'config/sample', SAMPLE_LAYOUT[name].file), 'utf8'), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
    }
  });

  it('1.2 head count on 2023-12-31', () => {
    expect(headCount(sample, '2023-12-31').map((r) => [r.location, r.zorg, r.nietZorg, r.totaal])).toEqual([
      ['000020229523', 52, 7, 59],
      ['000061545509', 47, 6, 53],
      ['000092331396', 46, 7, 53],
      [ORGANISATION, 144, 24, 168],
    ]);
  });

  it('3.1 fixed-term share of employment agreements on 2023-12-31', () => {
    expect(fixedTermShare(sample, '2023-12-31').map((r) => [r.location, r.fixedTerm, r.total, toDecimal(r.percentage!, 24)])).toEqual([
      ['000020229523', 6, 49, '12.244897959183673469387755'],
      ['000061545509', 10, 45, '22.222222222222222222222222'],
      ['000092331396', 5, 37, '13.513513513513513513513514'],
      [ORGANISATION, 21, 135, '15.555555555555555555555556'],
    ]);
  });

  it('ps-1.1 for Q4 2023 equals the official 1.1 average staff Jena pins (same day-weighted definition)', () => {
    // Jena's decimals are sums of per-person quotients cut at 24 digits, so they can differ from the
    // exact value in the last digit: compare to 1e-9.
    const pinned: Array<[string, ...number[]]> = [
      ['000020229523', 51.326086956521739130434782, 7.0, 58.326086956521739130434782],
      ['000061545509', 48.847826086956521739130434, 6.369565217391304347826087, 55.217391304347826086956521],
      ['000092331396', 46.673913043478260869565217, 8.489130434782608695652174, 55.163043478260869565217391],
      [ORGANISATION, 145.847826086956521739130433, 25.858695652173913043478261, 171.706521739130434782608694],
    ];
    const rows = ps11(sample, { from: '2023-10-01', to: '2023-12-31' });
    expect(rows.map((r) => r.location)).toEqual(pinned.map((p) => p[0]));
    rows.forEach((r, i) => {
      expect(r.totaal.denominator).toBe(92);
      for (const [j, v] of [r.zorg, r.nietZorg, r.totaal].entries()) expect(Math.abs(v.value - Number(pinned[i]![j + 1]))).toBeLessThan(1e-9);
    });
  });

  it('9.1 volunteers in Q4 2023', () => {
    expect(volunteers(sample, { from: '2023-10-01', to: '2023-12-31' }).map((r) => [r.location, r.volunteers])).toEqual([
      ['000020229523', 3],
      ['000061545509', 4],
      ['000092331396', 4],
      [ORGANISATION, 11],
    ]);
  });
});
