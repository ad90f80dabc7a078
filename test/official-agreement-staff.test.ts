/**
 * Where an official KIK-V Zorgkantoren 1.3.4 query and one of our personeelssamenstelling items measure
 * the same thing for the same period and scope, they must agree on the sample provider; where they
 * differ by definition, the test pins the difference and says why. The official queries run on Jena
 * (the reference engine), ours through runIndicator on Oxigraph (the embedded default).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { runJenaQueries } from '../src/engines/jena/index.js';
import { bindOfficialQuery, peildatumParameter, quarterParameters, zorgkantoor } from '../src/engines/jena/official.js';
import { OxigraphQueryEngine } from '../src/engines/oxigraph.js';
import type { SparqlJsonResults } from '../src/engines/types.js';
import { itemRows, type ItemRow } from '../src/indicators/item-rows.js';
import { runIndicator, type ProfilePack } from '../src/indicators/pack.js';
import type { StagingRows } from '../src/oracle/personeel.js';
import { SAMPLE_LAYOUT, SAMPLE_TABLE_NAMES } from '../src/sample/generate.js';
import { importTables, loadTestPack } from './pack-harness.js';
import { ROOT, SHARED, tempDir } from './helpers.js';

const OFFICIAL = join(SHARED, 'kikv-official/zorgkantoren-1.3.4');
const ORG = 'Organisatie (gecontracteerd + algemeen)';
const Q4 = { start_periode: '2023-10-01', eind_periode: '2023-12-31' };
const PARAMETERS = { ...quarterParameters(2023, 'Q4'), ...peildatumParameter('2023-12-31'), zorgkantoor: zorgkantoor('MiddenIJssel') };

/** The pack with one item's parameter values replaced (a quarter instead of the year). */
function withParameters(pack: ProfilePack, item: string, values: Record<string, string>): ProfilePack {
  const indicators = pack.manifest.indicators.map((i) =>
    i.id === item ? { ...i, parameters: Object.fromEntries(Object.entries(i.parameters).map(([k, p]) => [k, { ...p, value: values[k] ?? p.value }])) } : i,
  );
  return { ...pack, manifest: { ...pack.manifest, indicators } };
}

const byIndeling = (r: SparqlJsonResults) => new Map(r.results.bindings.map((b) => [b.Indeling!.value === ORG ? 'Organisatie' : b.Indeling!.value, b]));

let sample: StagingRows;
let official: Map<string, SparqlJsonResults>;
let ours: Map<string, ItemRow[]>;

beforeAll(async () => {
  sample = {};
  for (const name of SAMPLE_TABLE_NAMES) {
    sample[name] = parse(readFileSync(join(ROOT, 'config/sample', SAMPLE_LAYOUT[name].file), 'utf8'), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  }
  const imported = await importTables(sample);
  expect(imported.rowsRejected).toBe(0);
  const dataFile = join(tempDir('kikv-agree-'), 'sample.nq');
  writeFileSync(dataFile, imported.nquads);
  const ids = ['1.1', '2.1', '3.1'];
  const texts = ids.map((id) => bindOfficialQuery(readFileSync(join(OFFICIAL, `${id}.rq`), 'utf8'), PARAMETERS).text);
  const out = await runJenaQueries({ dataFile, queries: texts, processes: 2, timeoutMs: 1_200_000 });
  official = new Map(ids.map((id, i) => [id, out[i]!]));

  const engine = new OxigraphQueryEngine();
  await engine.load(imported.nquads);
  const pack = loadTestPack();
  const run = async (p: ProfilePack, item: string) => {
    const r = await runIndicator(engine, p, item, 2023);
    return itemRows(r.indicator, r.results, imported.locations);
  };
  ours = new Map([
    ['ps-1.1 Q4', await run(withParameters(pack, 'ps-1.1', Q4), 'ps-1.1')],
    ['ps-1.3', await run(pack, 'ps-1.3')],
    ['ps-1.4 Q4', await run(withParameters(pack, 'ps-1.4', Q4), 'ps-1.4')],
  ]);
}, 1_300_000);

describe('official Zorgkantoren queries (Jena) vs our personeelssamenstelling items (Oxigraph), sample provider', () => {
  it('1.1 gemiddeld aantal personeelsleden, Q4 2023: the same day-weighted definition, equal per vestiging and for the organisation', () => {
    const off = byIndeling(official.get('1.1')!);
    const rows = ours.get('ps-1.1 Q4')!;
    expect(rows.map((r) => r.indeling).sort()).toEqual([...off.keys()].sort());
    for (const r of rows) {
      const b = off.get(r.indeling)!;
      const n = Number(r.noemer);
      expect(n).toBe(92);
      // Jena's decimals are sums of per-person quotients cut at 24 digits: compare to 1e-9.
      expect(Math.abs(Number(b.Totaal!.value) - Number(r.teller) / n), `${r.indeling} Totaal`).toBeLessThan(1e-9);
      expect(Math.abs(Number(b.Zorg!.value) - Number(r.details!.zorg_dagen) / n), `${r.indeling} Zorg`).toBeLessThan(1e-9);
      expect(Math.abs(Number(b.Niet_zorg!.value) - Number(r.details!.niet_zorg_dagen) / n), `${r.indeling} Niet_zorg`).toBeLessThan(1e-9);
    }
  });

  it('3.1 vs ps-1.3 on 2023-12-31: different by definition (agreements vs persons; oproep in our noemer), reconciled exactly', () => {
    // Official 3.1 counts agreements (bepaalde / bepaalde + onbepaalde tijd); the handbook's 1.3 counts
    // personeelsleden, and we count every arbeidsovereenkomst (oproep too) in the noemer. From the staging
    // rows: persons active on the date per kind, so the two can be reconciled without trusting either query.
    const off = byIndeling(official.get('3.1')!).get('Organisatie')!;
    const offFixed = Number(off.Aantal_arbeidsovereenkomsten_bepaalde_tijd!.value);
    const offTotal = Number(off.Aantal_arbeidsovereenkomsten_voor_bepaalde_en_onbepaalde_tijd!.value);
    const org = ours.get('ps-1.3')!.find((r) => r.indeling === 'Organisatie')!;
    const day = '2023-12-31';
    const activeClause = new Set((sample.clauses ?? []).filter((c) => c.start_date! <= day && (!c.end_date || c.end_date >= day)).map((c) => c.agreement_id!));
    const active = (sample.agreements ?? []).filter((a) => activeClause.has(a.agreement_id!) && a.start_date! <= day && (!a.end_date || a.end_date >= day));
    const persons = (kinds: string[]) => new Set(active.filter((a) => kinds.includes(a.kind!)).map((a) => a.employee_id!));
    const agreements = (kinds: string[]) => active.filter((a) => kinds.includes(a.kind!)).length;
    // The official counts are agreement counts …
    expect([offFixed, offTotal]).toEqual([agreements(['fixed_term', 'bbl']), agreements(['fixed_term', 'bbl', 'permanent'])]);
    // … ours are person counts, with oproep in the noemer.
    expect([Number(org.teller), Number(org.noemer)]).toEqual([persons(['fixed_term', 'bbl']).size, persons(['fixed_term', 'bbl', 'permanent', 'on_call']).size]);
    // On the sample nobody holds two fixed-term agreements at once, so the tellers coincide; the noemers differ by the on-call staff.
    expect(Number(org.teller)).toBe(offFixed);
    expect(Number(org.noemer)).toBeGreaterThanOrEqual(offTotal - (agreements(['fixed_term', 'bbl', 'permanent']) - persons(['fixed_term', 'bbl', 'permanent']).size));
  });

  it('2.1 vs ps-1.4: not the same measure (care staff hours vs all staff hours); 2.1 is bounded by our noemer', () => {
    // Official 2.1 sums worked hours of care clauses (PIL + PNIL) in the quarter; ps-1.4's noemer sums the
    // hours of all staff (care and non-care) in it. Official 2.1 yields only an organisation row, a known defect
    // of its query text (test/official-jena.test.ts), so there is no per-vestiging comparison.
    const off = official.get('2.1')!.results.bindings;
    expect(off.map((b) => b.Indeling!.value)).toEqual([ORG]);
    const org = ours.get('ps-1.4 Q4')!.find((r) => r.indeling === 'Organisatie')!;
    expect(Number(off[0]!.Ingezette_uren!.value)).toBeGreaterThan(0);
    expect(Number(off[0]!.Ingezette_uren!.value)).toBeLessThanOrEqual(Number(org.noemer));
  });
});
