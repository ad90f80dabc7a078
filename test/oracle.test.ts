import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { OxigraphQueryEngine } from '../src/engines/oxigraph.js';
import { canonicalDecimal, type ItemRow } from '../src/indicators/item-rows.js';
import { yearTemplate, type IndicatorDef, type ProfilePack, type SharedRuns } from '../src/indicators/pack.js';
import { ITEM_ORACLES } from '../src/oracle/index.js';
import { fixedTermShare, headCount, ORGANISATION, ps11, toDecimal, volunteers, type Ps11Row, type StagingRows } from '../src/oracle/personeel.js';
import { generateSample, SAMPLE_LAYOUT, SAMPLE_TABLE_NAMES, type SampleOptions } from '../src/sample/generate.js';
import { ROOT } from './helpers.js';
import { importTables, loadTestPack, runItem } from './pack-harness.js';
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
// (b) every item oracle (src/oracle/index.ts) against its pack query on Oxigraph, the default
// engine, through the real import pipeline: hand-built providers and ≥ 50 generated ones.

/** One disagreement between an item's query (through itemRows) and its oracle. */
interface Mismatch {
  provider: string;
  /** Clauses in the provider: the smallest failing provider is the one to report. */
  size: number;
  item: string;
  year: number;
  indeling: string;
  sparql: { teller: string | null; noemer: string | null; notComputable?: string };
  oracle: { teller: string; noemer: string | null } | 'no row';
}

const fmt = (m: Mismatch) =>
  `${m.item} ${m.year} [${m.indeling}] on ${m.provider}: SPARQL teller ${m.sparql.teller} noemer ${m.sparql.noemer}${m.sparql.notComputable ? ` (not computable: ${m.sparql.notComputable})` : ''}, oracle ${m.oracle === 'no row' ? 'no row' : `teller ${m.oracle.teller} noemer ${m.oracle.noemer}`}`;

/** The item's parameters for the year, as the manifest gives them (what an ItemOracle receives). */
function oracleParams(ind: IndicatorDef, year: number): Record<string, string> {
  return Object.fromEntries(Object.entries(ind.parameters).map(([k, p]) => [k, yearTemplate(p.value, year)]));
}

/**
 * Compares one item's rows with its oracle: for every indeling the oracle gives, the item row must
 * carry exactly that teller and noemer (canonical decimals); an indeling the oracle leaves out must be
 * a not-computable row (no query row, or a zero noemer). Ward detail rows are not the oracle's business.
 */
function compareItem(rows: ItemRow[], want: ReturnType<(typeof ITEM_ORACLES)[string]>, at: Omit<Mismatch, 'indeling' | 'sparql' | 'oracle'>): Mismatch[] {
  const out: Mismatch[] = [];
  const byIndeling = new Map(rows.filter((r) => r.afdeling === undefined).map((r) => [r.indeling, r]));
  const oracle = new Map<string, { teller: string; noemer: string | null }>();
  for (const w of want) {
    if (oracle.has(w.indeling)) throw new Error(`oracle ${at.item}: two rows for ${w.indeling}`);
    oracle.set(w.indeling, { teller: canonicalDecimal(w.teller, `oracle ${at.item} teller`), noemer: w.noemer === null ? null : canonicalDecimal(w.noemer, `oracle ${at.item} noemer`) });
  }
  for (const [indeling, o] of oracle) {
    const r = byIndeling.get(indeling);
    const sparql = r ? { teller: r.teller, noemer: r.noemer, ...(r.notComputable ? { notComputable: r.notComputable } : {}) } : { teller: null, noemer: null, notComputable: 'no item row for this indeling (not a location of the snapshot or a level of the item)' };
    if (!r || r.teller !== o.teller || r.noemer !== o.noemer) out.push({ ...at, indeling, sparql, oracle: o });
  }
  for (const [indeling, r] of byIndeling) {
    if (oracle.has(indeling) || r.notComputable !== undefined) continue;
    out.push({ ...at, indeling, sparql: { teller: r.teller, noemer: r.noemer }, oracle: 'no row' });
  }
  return out;
}

/**
 * Oxigraph (WASM) answers a query synchronously: a query that never finishes blocks the test's
 * thread, so neither vitest's timeout nor any timer in it can fire, and CI would hang without a word.
 * A watchdog thread is told which item runs on which provider; when one query runs longer than the
 * limit it writes that to stderr and ends the test process.
 */
class QueryWatchdog {
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  constructor(readonly limitMs: number) {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { writeSync } = require('node:fs');
      const state = workerData.state;
      parentPort.on('message', ({ gen, label }) => {
        setTimeout(() => {
          if (Atomics.load(state, 0) !== gen) return;
          writeSync(2, '\\noracle test: ' + label + ' has run for more than ' + workerData.limitMs / 1000 + ' s on Oxigraph; ending the test process (raise ORACLE_QUERY_LIMIT_S if the query is merely slow)\\n');
          process.kill(process.pid, 'SIGKILL');
        }, workerData.limitMs);
      });`;
    this.worker = new Worker(code, { eval: true, workerData: { state: this.state, limitMs } });
    this.worker.unref();
  }
  /** Runs `f` (which may block the thread) under the limit. */
  async guard<T>(label: string, f: () => Promise<T>): Promise<T> {
    const gen = Atomics.add(this.state, 0, 1) + 1;
    this.worker.postMessage({ gen, label });
    // Let the message reach the watchdog before the thread may block.
    await new Promise((r) => setTimeout(r, 0));
    try {
      return await f();
    } finally {
      Atomics.add(this.state, 0, 1);
    }
  }
}
const watchdog = new QueryWatchdog(Number(process.env.ORACLE_QUERY_LIMIT_S ?? 60) * 1000);

let pack: ProfilePack;
const engine = new OxigraphQueryEngine();
/** Milliseconds per stage and per item, over the whole file (printed at the end of the property test). */
const timing = { import: 0, load: 0, oracle: 0, items: new Map<string, number>() };

/** Items with an oracle, in handbook order. Every one must be a computed item of the pack. */
function oracleItems(): IndicatorDef[] {
  const ids = Object.keys(ITEM_ORACLES);
  const missing = ids.filter((id) => !pack.queries.has(id));
  if (missing.length > 0) throw new Error(`ITEM_ORACLES has oracles for ${missing.join(', ')}, which are not computed items of ${pack.manifest.profile.id} ${pack.manifest.profile.version}: add the item to the pack (or fix the oracle's key)`);
  return pack.manifest.indicators.filter((i) => ids.includes(i.id));
}

/** Imports the provider once, loads it into Oxigraph, and compares every oracle item for each year. */
async function compareProvider(tables: StagingRows, years: number[], provider: string): Promise<Mismatch[]> {
  const t0 = Date.now();
  const imported = await importTables(tables);
  const t1 = Date.now();
  expect(imported.report.fileErrors, provider).toEqual([]);
  expect(imported.rowsRejected, `${provider}: generated rows import without rejections`).toBe(0);
  await engine.load(imported.nquads);
  timing.import += t1 - t0;
  timing.load += Date.now() - t1;
  const size = tables.clauses?.length ?? 0;
  const out: Mismatch[] = [];
  const shared: SharedRuns = new Map();
  for (const ind of oracleItems())
    for (const year of years) {
      const q0 = Date.now();
      const rows = await watchdog.guard(`item ${ind.id} (${year}) on ${provider}`, () => runItem(engine, pack, ind.id, year, imported.locations, shared));
      const q1 = Date.now();
      const want = ITEM_ORACLES[ind.id]!(tables, oracleParams(ind, year));
      timing.oracle += Date.now() - q1;
      timing.items.set(ind.id, (timing.items.get(ind.id) ?? 0) + (q1 - q0));
      out.push(...compareItem(rows, want, { provider, size, item: ind.id, year }));
    }
  return out;
}

function expectNoMismatches(mismatches: Mismatch[]): void {
  if (mismatches.length === 0) return;
  // Per item, the smallest provider that disagrees, then up to 10 more lines.
  const smallest = new Map<string, Mismatch>();
  for (const m of mismatches) if (!smallest.has(m.item) || m.size < smallest.get(m.item)!.size) smallest.set(m.item, m);
  const lines = [...[...smallest.values()].map((m) => `smallest for ${m.item} (${m.size} clauses): ${fmt(m)}`), ...mismatches.slice(0, 10).map(fmt)];
  expect.fail(`${mismatches.length} disagreement(s) between SPARQL and the oracle, in ${[...smallest.keys()].join(', ')}:\n${lines.join('\n')}`);
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

/** Per generated provider: the options, and a second reporting year for some. */
interface Case {
  opts: SampleOptions;
  otherYear: number | null;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    // Small providers mostly (the import, with its calendar, is the cost), some up to 60 staff.
    employees: fc.oneof({ arbitrary: fc.integer({ min: 5, max: 15 }), weight: 4 }, { arbitrary: fc.integer({ min: 16, max: 60 }), weight: 1 }),
    clients: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 12 }), weight: 5 }, { arbitrary: fc.constant(0), weight: 1 }),
    locations: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    from: fc.oneof({ arbitrary: fc.constant(2022), weight: 3 }, { arbitrary: fc.integer({ min: 2019, max: 2023 }), weight: 2 }),
    edgeCases: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
    // Mostly a short history before the period (a shorter calendar: the import and load are the cost).
    historyYears: fc.option(fc.integer({ min: 1, max: 3 }), { freq: 4, nil: undefined }),
    // A second reporting year for about one provider in five (each item query costs as much as an import).
    otherYear: fc.oneof({ arbitrary: fc.constant(true), weight: 1 }, { arbitrary: fc.constant(false), weight: 3 }),
  })
  .map(({ from, otherYear, historyYears, ...o }) => ({
    opts: { ...o, years: { from, to: 2023 }, ...(historyYears === undefined ? {} : { historyYears }) },
    // 2020 (a leap year) when the data covers it, else 2022 when covered.
    otherYear: otherYear && from <= 2022 ? (from <= 2020 ? 2020 : 2022) : null,
  }));

describe('the comparison of item rows with an oracle', () => {
  const at = { provider: 'p', size: 1, item: 'ps-x', year: 2023 };
  const row = (indeling: string, teller: string | null, noemer: string | null, notComputable?: string): ItemRow => ({ indeling, teller, noemer, value: null, ...(notComputable ? { notComputable } : {}) });

  it('accepts equal tellers and noemers written differently (canonical decimals)', () => {
    expect(compareItem([row('000000000001', '12.5', '365'), row('Organisatie', '0', null)], [{ indeling: '000000000001', teller: '12.50', noemer: '365.0' }, { indeling: 'Organisatie', teller: '0.000', noemer: null }], at)).toEqual([]);
  });

  it('names the indeling and both sides when a teller or noemer differs, or a noemer is missing on one side', () => {
    const out = compareItem([row('000000000001', '12.5', '365'), row('Organisatie', '3', null)], [{ indeling: '000000000001', teller: '12.5', noemer: '366' }, { indeling: 'Organisatie', teller: '3', noemer: '1' }], at);
    expect(out.map((m) => [m.indeling, m.sparql.noemer, m.oracle === 'no row' ? null : m.oracle.noemer])).toEqual([
      ['000000000001', '365', '366'],
      ['Organisatie', null, '1'],
    ]);
  });

  it('lets the oracle leave out not-computable rows only', () => {
    const rows = [row('000000000001', null, null, 'no row'), row('000000000002', '0', '0', 'noemer is 0'), row('000000000003', '0', null), row('Organisatie', '1', '2')];
    const out = compareItem(rows, [{ indeling: 'Organisatie', teller: '1', noemer: '2' }], at);
    expect(out.map((m) => [m.indeling, m.oracle])).toEqual([['000000000003', 'no row']]);
  });

  it('reports an oracle row for an indeling the item has no row for', () => {
    const out = compareItem([row('Organisatie', '1', '2')], [{ indeling: 'Organisatie', teller: '1', noemer: '2' }, { indeling: '000000000009', teller: '1', noemer: '2' }], at);
    expect(out.map((m) => [m.indeling, m.sparql.teller])).toEqual([['000000000009', null]]);
  });
});

describe('oracle vs SPARQL on Oxigraph, every item with an oracle (import pipeline)', () => {
  beforeAll(() => {
    pack = loadTestPack();
  });

  it('has an oracle for at least one item, and every oracle names a computed item of the pack', () => {
    expect(Object.keys(ITEM_ORACLES).length, 'ITEM_ORACLES (src/oracle/index.ts) is empty').toBeGreaterThan(0);
    expect(oracleItems().map((i) => i.id).sort()).toEqual(Object.keys(ITEM_ORACLES).sort());
  });

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
    it(`hand-built provider: ${name}`, async () => {
      expectNoMismatches(await compareProvider(build(), years, `hand-built "${name}"`));
    }, 120_000);
  }

  it('agrees exactly on at least 50 generated providers (different seeds, sizes, periods; edge cases mostly on)', async () => {
    const started = Date.now();
    const runs = Number(process.env.ORACLE_RUNS ?? 50);
    const seed = Number(process.env.ORACLE_SEED ?? 20231231);
    const mismatches: Mismatch[] = [];
    // What the providers contained, so a generator change that drops an edge case is noticed.
    const seen = { providers: 0, edgeCases: 0, leapDayClauses: 0, unlocated: 0, multiAgreement: 0, interns: 0, beforeCalendar: 0, volunteers: 0, overlappingAbsences: 0, partialAbsences: 0, pregnancy: 0, clientsInCare2023: 0, otherYear: 0 };
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ opts, otherYear }) => {
        const t = generateSample(opts);
        tally(seen, t, opts, otherYear);
        const provider = `generateSample(${JSON.stringify(opts)})`;
        mismatches.push(...(await compareProvider(t, otherYear === null ? [2023] : [2023, otherYear], provider)));
      }),
      // No shrinking: every run is a full import; the report below names the smallest failing provider per item.
      { numRuns: runs, seed, endOnFailure: true },
    );
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const perItem = [...timing.items].map(([id, ms]) => `${id} ${(ms / 1000).toFixed(1)} s`).join(', ');
    console.log(
      `oracle vs SPARQL (oxigraph): ${seen.providers} generated providers, items ${oracleItems().map((i) => i.id).join(' ')}, ${secs} s ` +
        `(import ${(timing.import / 1000).toFixed(1)} s, load ${(timing.load / 1000).toFixed(1)} s, oracle ${(timing.oracle / 1000).toFixed(1)} s; queries: ${perItem}); fast-check seed ${seed}; ${JSON.stringify(seen)}`,
    );
    expect(seen.providers).toBeGreaterThanOrEqual(Math.min(runs, 50));
    if (runs >= 50) for (const [k, v] of Object.entries(seen)) expect(v, `generated providers with ${k}: ${JSON.stringify(seen)}`).toBeGreaterThan(0);
    expectNoMismatches(mismatches);
    // Generous: the watchdog ends a run whose single query blocks; this bounds the sum of slow ones.
  }, 1_800_000);
});

/** Counts the edge cases a generated provider holds (per provider, so one big provider does not cover for the rest). */
function tally(seen: Record<string, number>, t: StagingRows, opts: SampleOptions, otherYear: number | null): void {
  const inc = (k: string, yes: boolean) => void (yes && (seen[k] = (seen[k] ?? 0) + 1));
  const agreements = t.agreements ?? [];
  const kind = new Map(agreements.map((x) => [x.agreement_id!, x.kind!]));
  const staffKinds = new Set(['permanent', 'fixed_term', 'on_call', 'bbl', 'zzp', 'agency', 'payroll']);
  const overlap = (s1: string, e1: string, s2: string, e2: string) => s1 <= (e2 || '9999') && s2 <= (e1 || '9999');
  inc('providers', true);
  inc('edgeCases', opts.edgeCases === true);
  inc('otherYear', otherYear !== null);
  inc('leapDayClauses', (t.clauses ?? []).some((k) => k.start_date!.endsWith('-02-29') || k.end_date!.endsWith('-02-29')));
  inc('unlocated', (t.clauses ?? []).some((k) => !k.ward_id && staffKinds.has(kind.get(k.agreement_id!)!)));
  const byPerson = new Map<string, Array<Record<string, string>>>();
  for (const x of agreements) byPerson.set(x.employee_id!, [...(byPerson.get(x.employee_id!) ?? []), x]);
  inc('multiAgreement', [...byPerson.values()].some((l) => l.some((x) => l.some((y) => x !== y && overlap(x.start_date!, x.end_date!, y.start_date!, y.end_date!)))));
  inc('interns', agreements.some((x) => x.kind === 'internship'));
  // The import's calendar starts at most 20 years before the reporting year.
  inc('beforeCalendar', agreements.some((x) => x.start_date! < '2003-01-01'));
  inc('volunteers', agreements.some((x) => x.kind === 'volunteer'));
  const absences = t.absences ?? [];
  const byAgreement = new Map<string, typeof absences>();
  for (const x of absences) byAgreement.set(x.agreement_id!, [...(byAgreement.get(x.agreement_id!) ?? []), x]);
  inc('overlappingAbsences', [...byAgreement.values()].some((l) => l.some((x) => l.some((y) => x !== y && overlap(x.start_date!, x.end_date!, y.start_date!, y.end_date!)))));
  inc('partialAbsences', absences.some((x) => Number(x.percentage) < 100));
  inc('pregnancy', absences.some((x) => x.kind === 'pregnancy_leave'));
  inc('clientsInCare2023', (t.care_episodes ?? []).some((e) => overlap(e.start_date!, e.end_date!, '2023-01-01', '2023-12-31')));
}

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
