/**
 * Where an official KIK-V Zorgkantoren 1.3.4 query (run on Apache Jena, the reference engine) and one of
 * our personeelssamenstelling 2.x–4.x items measure the same thing for the same period and scope, they
 * must agree on the shipped sample provider (config/sample):
 *
 * - official 9.1 (volunteers in a quarter) = our 2.3 with its period set to that quarter, per vestiging and
 *   for the organisation (both count distinct persons with a volunteer clause overlapping the period);
 * - official 13.1 (instroom of care staff in loondienst, peildatum vs. one year earlier) = our 4.1;
 * - official 13.2 (uitstroom, likewise) = our 4.2.
 *
 * Where they differ by definition, no equality can hold, and this file says why instead:
 * - 11.1–11.4 (verzuim) vs our 3.1: 11.x splits short (≤ 28 days) and long absence, measures a quarter,
 *   clips sickness to the clause but not to the agreement, and counts a clause on a quarter-end day beyond
 *   its agreement; 3.1 is the total over the year without a duration split. Their sum over the four
 *   quarters of 11.1 + 11.3 is not 3.1 either: each quarter has its own noemer.
 * - 12.1 (verzuimfrequentie per quarter: new reports / distinct persons in loondienst, × 100) vs our 3.2
 *   (reports in the year / average number of employment agreements, pro rata per day): other noemer.
 * - 13.3/13.4 (doorstroom up resp. down; 13.4 against peildatum − 3 months, parsing the level from the label)
 *   vs our 4.3 (up or down against one year earlier): other look-back and teller.
 * - 6.1 (hours per qualification category, arbeidsovereenkomsten only, per quarter, a worked period
 *   counted for every clause valid at its begin) vs our 2.1.x (all staff incl. PNIL, the year, each worked
 *   period attributed to one clause).
 * - 13.1/13.2 count only clauses located in the zorgkantoor's region; 4.1/4.2 count every clause. The
 *   sample's vestigingen all lie in the region and its care clauses all have a ward, which the test checks,
 *   so the organisation rows must agree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { OxigraphQueryEngine } from '../src/engines/oxigraph.js';
import { runJenaQueries } from '../src/engines/jena/index.js';
import { bindOfficialQuery, peildatumParameter, quarterParameters, zorgkantoor } from '../src/engines/jena/official.js';
import type { SparqlJsonResults } from '../src/engines/types.js';
import type { ItemRow } from '../src/indicators/item-rows.js';
import type { ProfilePack } from '../src/indicators/pack.js';
import type { StagingRows } from '../src/oracle/personeel.js';
import { SAMPLE_LAYOUT, SAMPLE_TABLE_NAMES } from '../src/sample/generate.js';
import { ROOT, SHARED, tempDir } from './helpers.js';
import { importTables, loadTestPack, runItem } from './pack-harness.js';

const OFFICIAL = join(SHARED, 'kikv-official/zorgkantoren-1.3.4');
const ORG = 'Organisatie (gecontracteerd + algemeen)';
const PARAMETERS = { ...quarterParameters(2023, 'Q4'), ...peildatumParameter('2023-12-31'), zorgkantoor: zorgkantoor('MiddenIJssel') };
const QUERIES = ['9.1', '13.1', '13.2'] as const;

/** The pack with one item's parameter values replaced (here: a quarter instead of the year). */
function withParameters(pack: ProfilePack, item: string, values: Record<string, string>): ProfilePack {
  const indicators = pack.manifest.indicators.map((i) =>
    i.id === item ? { ...i, parameters: Object.fromEntries(Object.entries(i.parameters).map(([k, p]) => [k, { ...p, value: values[k] ?? p.value }])) } : i,
  );
  return { ...pack, manifest: { ...pack.manifest, indicators } };
}

const byIndeling = (rows: ItemRow[]) => Object.fromEntries(rows.filter((r) => r.teller !== null).map((r) => [r.indeling, [r.teller, r.noemer]]));
const column = (r: SparqlJsonResults, name: string) => r.results.bindings.map((b) => b[name]?.value);

let sample: StagingRows;
let pack: ProfilePack;
let locations: string[];
const ours = new Map<string, ItemRow[]>();
const official = new Map<string, SparqlJsonResults>();

beforeAll(async () => {
  sample = {};
  for (const name of SAMPLE_TABLE_NAMES) {
    sample[name] = parse(readFileSync(join(ROOT, 'config/sample', SAMPLE_LAYOUT[name].file), 'utf8'), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  }
  pack = loadTestPack();
  const imported = await importTables(sample);
  expect(imported.rowsRejected).toBe(0);
  locations = imported.locations;
  const dataFile = join(tempDir('kikv-agreement-'), 'sample.nq');
  writeFileSync(dataFile, imported.nquads, 'utf8');
  const texts = QUERIES.map((id) => bindOfficialQuery(readFileSync(join(OFFICIAL, `${id}.rq`), 'utf8'), PARAMETERS).text);
  const out = await runJenaQueries({ dataFile, queries: texts, timeoutMs: 600_000 });
  QUERIES.forEach((id, i) => official.set(id, out[i]!));

  const engine = new OxigraphQueryEngine();
  await engine.load(imported.nquads);
  ours.set('ps-2.3 Q4', await runItem(engine, withParameters(pack, 'ps-2.3', { start_periode: '2023-10-01', eind_periode: '2023-12-31' }), 'ps-2.3', 2023, locations));
  ours.set('ps-4.1', await runItem(engine, pack, 'ps-4.1', 2023, locations));
  ours.set('ps-4.2', await runItem(engine, pack, 'ps-4.2', 2023, locations));
}, 900_000);

describe('official Zorgkantoren queries (Jena) and our personeelssamenstelling items agree on the sample', () => {
  it('9.1 volunteers in Q4 2023 = our 2.3 over Q4 2023, per vestiging and for the organisation', () => {
    const r = official.get('9.1')!;
    const theirs = Object.fromEntries(r.results.bindings.map((b) => [b.Indeling!.value === ORG ? 'Organisatie' : b.Indeling!.value, [b.Aantal_vrijwilligers!.value, null]]));
    expect(Object.keys(theirs).sort()).toEqual([...locations, 'Organisatie'].sort());
    expect(byIndeling(ours.get('ps-2.3 Q4')!)).toEqual(theirs);
  });

  it('the scope conditions for 13.x hold on the sample: every care clause of an arbeidsovereenkomst has a ward', () => {
    const careFns = new Set(sample.functions!.filter((f) => f.care === 'yes').map((f) => f.function_code));
    const pil = new Set(sample.agreements!.filter((a) => ['permanent', 'fixed_term', 'on_call', 'bbl'].includes(a.kind!)).map((a) => a.agreement_id));
    const unlocated = sample.clauses!.filter((c) => pil.has(c.agreement_id) && careFns.has(c.function_code) && !c.ward_id);
    expect(unlocated).toEqual([]);
  });

  it('13.1 instroom of care staff in loondienst (peildatum 2023-12-31) = our 4.1 for the organisation', () => {
    const r = official.get('13.1')!;
    const org = byIndeling(ours.get('ps-4.1')!).Organisatie!;
    expect([column(r, 'Aantal_ingestroomde_PIL_met_zorgfunctie')[0], column(r, 'Aantal_PIL_met_zorgfunctie')[0]]).toEqual(org);
    expect(Number(org[0])).toBeGreaterThan(0);
  });

  it('13.2 uitstroom of care staff in loondienst (peildatum 2023-12-31) = our 4.2 for the organisation', () => {
    const r = official.get('13.2')!;
    const org = byIndeling(ours.get('ps-4.2')!).Organisatie!;
    expect([column(r, 'Aantal_uitgestroomde_PIL_met_zorgfunctie')[0], column(r, 'Aantal_PIL_met_zorgfunctie')[0]]).toEqual(org);
    expect(Number(org[0])).toBeGreaterThan(0);
  });
});
