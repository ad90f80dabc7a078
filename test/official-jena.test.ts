import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../src/config/load.js';
import { openDb, type Db } from '../src/db/open.js';
import { JenaQueryError, runJenaQueries, runJenaQuery } from '../src/engines/jena/index.js';
import { bindOfficialQuery, declaredParameters, peildatumParameter, quarterParameters, zorgkantoor } from '../src/engines/jena/official.js';
import type { SparqlJsonResults } from '../src/engines/types.js';
import { importSource } from '../src/pipeline/import.js';
import { normaliseQuery } from '../src/sparql/normalise.js';
import { readSnapshot } from '../src/store/snapshot.js';
import { ROOT, SHARED, tempDir } from './helpers.js';

/**
 * Queries whose per-vestiging rows need mapping work. They put a row on a vestiging only through the
 * postcode -> ZorgkantoorRegio chain (REGION_PROBE shows which link is there): PC4 area identifiedBy
 * the PC4 IRI, partOf+ a ZorgkantoorRegio, which the zorgkantoor reaches by hasOperatingRange. The
 * shipped RML mapping carries that chain, so the list is empty; put an id back here (its pinned
 * per-vestiging test is then skipped, its organisation row still checked) if a mapping change drops it.
 */
const NEEDS_MAPPING_WORK: ReadonlySet<string> = new Set<QueryId>([]);

/**
 * 1.1 as written is slow on Jena 4.5: it crosses its shared pattern with a 100-row VALUES table (the
 * 0..99 day offsets) and ARQ evaluates that pattern once per row, a few minutes on the sample (the
 * normaliser's Jena rewrite avoids that; the normalised text runs in every mode). It runs in its own
 * JVM beside the others; KIKV_OFFICIAL_FAST=1 leaves it out for quick local runs (never in CI).
 */
const LEFT_OUT: ReadonlySet<string> = new Set(process.env.KIKV_OFFICIAL_FAST === '1' ? ['1.1'] : []);

const OFFICIAL = join(SHARED, 'kikv-official/zorgkantoren-1.3.4');
const SAMPLE = join(ROOT, 'config/sample');
const ORG = 'Organisatie (gecontracteerd + algemeen)';
/** Reporting year 2023: quarter queries take its last quarter, reference-date queries its last day. */
const PEILDATUM = '2023-12-31';
const Q_START = '2023-10-01';
const PARAMETERS = { ...quarterParameters(2023, 'Q4'), ...peildatumParameter(PEILDATUM), zorgkantoor: zorgkantoor('MiddenIJssel') };
/** 1.1 on the sample (Q4 2023), per vestiging and for the organisation. */
const PINNED_1_1 = [
  ['000020229523', '51.326086956521739130434782', '7.0', '58.326086956521739130434782'],
  ['000061545509', '48.847826086956521739130434', '6.369565217391304347826087', '55.217391304347826086956521'],
  ['000092331396', '46.673913043478260869565217', '8.489130434782608695652174', '55.163043478260869565217391'],
  [ORG, '145.847826086956521739130433', '25.858695652173913043478261', '171.706521739130434782608694'],
];
const QUERIES = ['1.1', '1.2', '2.1', '3.1', '6.1', '8.2', '9.1', '11.1', '14.1', '14.2'] as const;
type QueryId = (typeof QUERIES)[number];
/** The queries with per-vestiging rows through the region chain (2.1 has none on Jena: see its test). */
const REGION_QUERIES: QueryId[] = ['1.1', '1.2', '3.1', '6.1', '8.2', '9.1', '11.1', '14.1', '14.2'];

/** Per vestiging of the sample: which link of the region chain the official queries walk is present. */
const REGION_PROBE = `PREFIX onz-g: <http://purl.org/ozo/onz-g#>
PREFIX onz-org: <http://purl.org/ozo/onz-org#>
SELECT ?vestiging ?postcode ?pc_gebied ?zk_regio ?zorgkantoor WHERE {
  ?vestiging_uri a onz-org:Vestiging ;
    onz-g:hasLocalizableArea/onz-g:identifiedBy/onz-g:hasPart/onz-g:hasPart ?postcode_6 ;
    onz-g:identifiedBy ?vest_nr .
  ?vest_nr a onz-org:Vestigingsnummer ; onz-g:hasDataValue ?vestiging .
  BIND(IRI(SUBSTR(STR(?postcode_6), 1, STRLEN(STR(?postcode_6)) - 2)) AS ?postcode)
  OPTIONAL {
    ?pc_gebied onz-g:identifiedBy ?postcode .
    OPTIONAL {
      ?pc_gebied onz-g:partOf+ ?zk_regio . ?zk_regio a onz-org:ZorgkantoorRegio .
      OPTIONAL { ?zorgkantoor onz-g:hasOperatingRange ?zk_regio }
    }
  }
}
ORDER BY ?vestiging`;

const PREFIXES: Array<[string, string]> = [
  ['onz-zorg:', 'http://purl.org/ozo/onz-zorg#'],
  ['onz-org:', 'http://purl.org/ozo/onz-org#'],
];

/** Rows as lexical values in the order of the head (IRIs shortened), '' for unbound. */
function table(r: SparqlJsonResults): string[][] {
  return r.results.bindings.map((b) =>
    r.head.vars.map((v) => {
      const t = b[v];
      if (!t) return '';
      const p = t.type === 'uri' ? PREFIXES.find(([, ns]) => t.value.startsWith(ns)) : undefined;
      return p ? p[0] + t.value.slice(p[1].length) : t.value;
    }),
  );
}
const orgRows = (rows: string[][]) => rows.filter((r) => r[0] === ORG);
const num = (v: string | undefined) => Number(v);

function csv(file: string): Array<Record<string, string>> {
  return parse(readFileSync(join(SAMPLE, file), 'utf8'), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
}
const activeOn = (day: string, start: string, end: string) => start <= day && (end === '' || end >= day);
const overlaps = (from: string, to: string, start: string, end: string) => start <= to && (end === '' || end >= from);

const VESTIGINGEN = csv('locations.csv').map((l) => l.vestigingsnummer!).sort();

describe('official KIK-V Zorgkantoren 1.3.4 queries on Apache Jena over the mapped sample provider', () => {
  let db: Db;
  let dataFile: string;
  const results = new Map<QueryId | 'probe' | '1.1 jena', SparqlJsonResults>();

  beforeAll(async () => {
    // The default configuration (so this follows the shipped mapping), with a private data directory.
    const base = loadConfig(DEFAULT_CONFIG_FILE);
    const dataDir = join(tempDir(), 'data');
    db = openDb(dataDir);
    const imported = await importSource({ ...base, storage: { dataDir } }, db, 'test');
    expect(imported.report.totals.rowsRejected, 'the sample imports without rejections').toBe(0);
    const hash = imported.snapshot!.meta.hash;
    // The snapshot's own N-Quads file, checked against its content hash first.
    expect(readSnapshot(dataDir, hash).meta.quads).toBeGreaterThan(0);
    dataFile = join(dataDir, 'snapshots', `${hash}.nq`);

    const ids = QUERIES.filter((id) => !LEFT_OUT.has(id));
    const texts = ids.map((id) => bindOfficialQuery(readFileSync(join(OFFICIAL, `${id}.rq`), 'utf8'), PARAMETERS).text);
    const started = Date.now();
    // 1.1 as the exchange sends it to Jena: normalised, its independent VALUES tables as sub-selects
    // (src/sparql/normalise.ts, isolateValuesTables), which Jena answers in seconds instead of minutes.
    const jena11 = normaliseQuery(bindOfficialQuery(readFileSync(join(OFFICIAL, '1.1.rq'), 'utf8'), PARAMETERS).text, {}, 'jena').text;
    const out = await runJenaQueries({ dataFile, queries: [...texts, REGION_PROBE, jena11], processes: 2, timeoutMs: 1_200_000 });
    console.log(`official queries on Jena: ${ids.join(', ')}, the region probe and 1.1 normalised for Jena in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    ids.forEach((id, i) => results.set(id, out[i]!));
    results.set('probe', out.at(-2)!);
    results.set('1.1 jena', out.at(-1)!);
  }, 1_300_000);
  afterAll(() => db?.close());

  const result = (id: QueryId) => {
    const r = results.get(id);
    if (!r) throw new Error(`query ${id} did not run`);
    return r;
  };

  describe('parameter binding', () => {
    const official = (id: string) => readFileSync(join(OFFICIAL, `${id}.rq`), 'utf8');

    it('activates the commented example BINDs with the runner values, in every sub-select', () => {
      const q = bindOfficialQuery(official('11.1'), PARAMETERS);
      expect(declaredParameters(official('11.1'))).toEqual(['jaar', 'kwartaal', 'zorgkantoor']);
      expect(q.text.match(/^\s*BIND\(2023 AS \?jaar\)/gm)).toHaveLength(2);
      expect(q.text.match(/^\s*BIND\("Q4" AS \?kwartaal\)/gm)).toHaveLength(2);
      // 11.1 shows no example for ?zorgkantoor: it is added beside the others.
      expect(q.text.match(/^\s*BIND\(<http:\/\/purl.org\/ozo\/onz-org#ZorgkantoorMiddenIJssel> AS \?zorgkantoor\) # parameter$/gm)).toHaveLength(2);
      expect(q.binds).toBe(6);
    });

    it('keeps an alternative example for the same parameter commented, and keeps the line endings', () => {
      const q = bindOfficialQuery(official('1.2'), PARAMETERS);
      expect(q.text).toContain('BIND("2023-12-31"^^<http://www.w3.org/2001/XMLSchema#date> AS ?peildatum)');
      expect(q.text).toContain('#BIND(onz-org:ZorgkantoorZilverenKruis AS ?zorgkantoor)');
      expect(q.text.match(/^\s*BIND\(<[^>]+> AS \?zorgkantoor\)/gm)).toHaveLength(1);
      const crlf = bindOfficialQuery(official('14.1'), PARAMETERS).text;
      expect(crlf.split('\r\n').length).toBe(official('14.1').split('\r\n').length + 1);
    });

    it('refuses a query whose declared parameter has no value', () => {
      expect(() => bindOfficialQuery(official('9.1'), { jaar: 2023, kwartaal: 'Q4' })).toThrow(/needs a value for \?zorgkantoor/);
    });
  });

  describe('runner', () => {
    it('a batched query gives exactly what it gives on its own, in its own order', async () => {
      const tiny = join(tempDir(), 'tiny.nt');
      writeFileSync(tiny, [1, 2, 3].map((i) => `<urn:x:s${i}> <urn:x:p> "${i}"^^<http://www.w3.org/2001/XMLSchema#integer> .`).join('\n') + '\n');
      const queries = [
        'SELECT ?s ?o { ?s <urn:x:p> ?o } ORDER BY DESC(?o) # comment on the last line',
        'PREFIX x: <urn:x:>\nSELECT (SUM(?o) AS ?sum) (COUNT(*) AS ?n) { ?s x:p ?o }',
        'ASK { ?s ?p ?o }',
      ];
      const batch = await runJenaQueries({ dataFile: tiny, queries });
      expect(batch[0]!.results.bindings.map((b) => b.o!.value)).toEqual(['3', '2', '1']);
      expect(batch[1]).toEqual({ head: { vars: ['sum', 'n'] }, results: { bindings: [{ sum: { type: 'literal', datatype: 'http://www.w3.org/2001/XMLSchema#integer', value: '6' }, n: { type: 'literal', datatype: 'http://www.w3.org/2001/XMLSchema#integer', value: '3' } }] } });
      expect(batch[2]).toMatchObject({ boolean: true });
      expect(batch.slice(0, 2)).toEqual(await Promise.all(queries.slice(0, 2).map((query) => runJenaQuery({ dataFile: tiny, query }))));
    });

    it("names Jena's complaint about a broken query, and the fix for an unknown data format", async () => {
      const tiny = join(tempDir(), 'tiny.nt');
      writeFileSync(tiny, '<urn:a> <urn:b> "1" .\n');
      const err = await runJenaQuery({ dataFile: tiny, query: 'SELECT * { ?s ?p }' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JenaQueryError);
      expect((err as Error).message).toMatch(/Jena exited with code \d+: Encountered .* at line 1, column 18/);
      await expect(runJenaQuery({ dataFile: join(SAMPLE, 'clients.csv'), query: 'ASK {}' })).rejects.toThrow(/use one of \.nq, \.nt/);
    });
  });

  // Organisation rows: independent of the region chain.
  describe('organisation rows ("Organisatie (gecontracteerd + algemeen)")', () => {
    it('1.2 staff on 2023-12-31: care / non-care / total, as counted from the staging CSV', () => {
      const [row] = orgRows(table(result('1.2')));
      expect(row).toEqual([ORG, '144', '24', '168']);
      // Oracle: active clauses of Arbeids/Oproep/Uitzend/Inhuur agreements on the date, per person.
      const staffKinds = new Set(['permanent', 'fixed_term', 'bbl', 'on_call', 'zzp', 'agency', 'payroll']);
      const care = new Map(csv('functions.csv').map((f) => [f.function_code!, f.care === 'yes']));
      const agreements = new Map(csv('agreements.csv').map((a) => [a.agreement_id!, a]));
      const persons = new Map<string, { care: boolean; nonCare: boolean }>();
      for (const c of csv('clauses.csv')) {
        const a = agreements.get(c.agreement_id!)!;
        if (!staffKinds.has(a.kind!) || !activeOn(PEILDATUM, c.start_date!, c.end_date!)) continue;
        const p = persons.get(a.employee_id!) ?? { care: false, nonCare: false };
        if (care.get(c.function_code!)) p.care = true;
        else p.nonCare = true;
        persons.set(a.employee_id!, p);
      }
      const counted = [...persons.values()];
      expect(row).toEqual([ORG, String(counted.filter((p) => p.care).length), String(counted.filter((p) => p.nonCare).length), String(persons.size)]);
    });

    it('2.1 hours worked by care staff in Q4 2023 (organisation row only: see the note)', () => {
      // The published text computes ?locatie_safe = COALESCE(?locatie, guard) inside the vestiging
      // branch of the UNION, where ?locatie is out of scope under SPARQL's bottom-up evaluation: it is
      // always the guard IRI, so no vestiging row can appear on Jena, whatever the data. Not a mapping gap.
      expect(table(result('2.1'))).toEqual([[ORG, '43498.25']]);
      expect(num(table(result('2.1'))[0]![1])).toBeGreaterThanOrEqual(num(orgRows(table(result('6.1'))).find((r) => r[1] === 'Totaal')![2]));
    });

    it('3.1 fixed-term share of employment contracts on 2023-12-31', () => {
      const [row] = orgRows(table(result('3.1')));
      expect(row).toEqual([ORG, '21', '135', '15.555555555555555555555556']);
      expect(num(row![1])).toBeLessThanOrEqual(num(row![2]));
      expect(num(row![3])).toBeCloseTo((100 * num(row![1])) / num(row![2]), 10);
    });

    it('6.1 care hours by qualification level in Q4 2023: levels add up to the total, shares to 100 %', () => {
      const rows = orgRows(table(result('6.1')));
      expect(rows).toEqual([
        [ORG, 'Behandelaar', '3774.25', '9.7207466501831855615008'],
        [ORG, 'Leerling', '1556.5', '4.0088341156547998480429'],
        [ORG, 'Kwalificatieniveau 1', '2385.25', '6.143316141577649429839'],
        [ORG, 'Kwalificatieniveau 2', '4733.0', '12.1900493860547174306374'],
        [ORG, 'Kwalificatieniveau 3', '14990.25', '38.6080472869864204446677'],
        [ORG, 'Kwalificatieniveau 4', '4735.25', '12.1958443598807523163798'],
        [ORG, 'Kwalificatieniveau 5', '3702.25', '9.5353074877500692177429'],
        [ORG, 'Kwalificatieniveau 6', '621.5', '1.600700547946969550632'],
        [ORG, 'Overig zorgpersoneel', '2328.5', '5.9971540239654362005576'],
        [ORG, 'Totaal', '38826.75', '100.0'],
      ]);
      checkLevels(rows);
    });

    it('9.1 volunteers in Q4 2023, as counted from the staging CSV', () => {
      expect(orgRows(table(result('9.1')))).toEqual([[ORG, '11']]);
      const volunteer = new Map(csv('agreements.csv').filter((a) => a.kind === 'volunteer').map((a) => [a.agreement_id!, a.employee_id!]));
      const persons = new Set(csv('clauses.csv').filter((c) => volunteer.has(c.agreement_id!) && overlaps(Q_START, PEILDATUM, c.start_date!, c.end_date!)).map((c) => volunteer.get(c.agreement_id!)));
      expect(orgRows(table(result('9.1')))).toEqual([[ORG, String(persons.size)]]);
    });

    it('11.1 short-term sickness absence % in Q4 2023 (OWL-Time calendar): total between care and non-care', () => {
      const [row] = orgRows(table(result('11.1')));
      expect(row).toEqual([ORG, '2.26', '0.96', '2.02']);
      checkAbsence(row!);
    });

    it('14.1 clients per care profile on 2023-12-31, as counted from the staging CSV', () => {
      const rows = orgRows(table(result('14.1')));
      expect(rows).toEqual([
        [ORG, 'onz-zorg:4VV', '14'],
        [ORG, 'onz-zorg:5VV', '31'],
        [ORG, 'onz-zorg:6VV', '26'],
        [ORG, 'onz-zorg:7VV', '16'],
        [ORG, 'onz-zorg:8VV', '12'],
        [ORG, 'onz-zorg:9BVV', '1'],
      ]);
      const indications = new Map(csv('indications.csv').map((i) => [i.indication_id!, i]));
      const clients = new Map<string, Set<string>>();
      for (const e of csv('care_episodes.csv')) {
        const i = indications.get(e.indication_id!)!;
        if (!activeOn(PEILDATUM, e.start_date!, e.end_date!) || !activeOn(PEILDATUM, i.start_date!, i.end_date!)) continue;
        const profile = `onz-zorg:${i.care_profile!.replace(/^VV(\d+)(B?)$/, '$1$2VV')}`;
        clients.set(profile, (clients.get(profile) ?? new Set()).add(i.client_id!));
      }
      expect(Object.fromEntries(rows.map((r) => [r[1], num(r[2])]))).toEqual(Object.fromEntries([...clients].map(([p, s]) => [p, s.size])));
    });

    // 8.2 reaches a vestiging through post isAbout Kostenplaats isAbout Vestiging; postings without a
    // location count for the organisation only.
    it('8.2 PIL and PNIL costs in Q4 2023 per vestiging and organisation, as summed from the staging ledger', () => {
      const PIL = new Set(['WPerLes', 'WPerSol']);
      const PNIL = new Set(['WBedOvpUik', 'WBedOvpUit', 'WBedOvpMaf', 'WBedOvpZzp', 'WBedOvpPay', 'WBedOvpOip']);
      const cents = (v: string) => Math.round(Number(v) * 100);
      const sums = new Map<string, { pil: number; pnil: number }>();
      const vestiging = new Map(csv('locations.csv').map((l) => [l.location_id!, l.vestigingsnummer!]));
      for (const p of csv('ledger.csv')) {
        if (p.booking_date! < Q_START || p.booking_date! > PEILDATUM) continue;
        const kind = PIL.has(p.rgs_code!) ? 'pil' : PNIL.has(p.rgs_code!) ? 'pnil' : undefined;
        if (!kind) continue;
        for (const key of [ORG, ...(p.location_id ? [vestiging.get(p.location_id)!] : [])]) {
          const t = sums.get(key) ?? { pil: 0, pnil: 0 };
          t[kind] += cents(p.amount!);
          sums.set(key, t);
        }
      }
      const rows = table(result('8.2'));
      expect(rows.map((r) => r[0]).sort()).toEqual([...VESTIGINGEN, ORG].sort());
      for (const [label, pnil, pil] of rows) expect({ label, pnil: cents(pnil!), pil: cents(pil!) }).toEqual({ label, ...sums.get(label!) });
    });

    // 14.2 needs onz-org:vestigingVan on every vestiging, and the reference facts (care profile isAbout
    // the sector VV, delivery form a Leveringsvorm) in the snapshot.
    it('14.2 clients per delivery form on 2023-12-31 per vestiging and organisation, as counted from the staging CSV', () => {
      const FORMS = ['instelling', 'vpt', 'mpt', 'pgb'];
      const indications = new Map(csv('indications.csv').map((i) => [i.indication_id!, i]));
      const wardVestiging = new Map(csv('wards.csv').map((w) => [w.ward_id!, w.location_id!]));
      const vestiging = new Map(csv('locations.csv').map((l) => [l.location_id!, l.vestigingsnummer!]));
      const counts = new Map<string, number[]>();
      for (const e of csv('care_episodes.csv')) {
        const i = indications.get(e.indication_id!)!;
        if (!activeOn(PEILDATUM, e.start_date!, e.end_date!) || !activeOn(PEILDATUM, i.start_date!, i.end_date!)) continue;
        const location = e.ward_id ? wardVestiging.get(e.ward_id) : undefined;
        for (const key of [ORG, ...(location ? [vestiging.get(location)!] : [])]) {
          const c = counts.get(key) ?? [0, 0, 0, 0];
          c[FORMS.indexOf(i.delivery_form!)]! += 1;
          counts.set(key, c);
        }
      }
      const rows = table(result('14.2'));
      expect(rows.map((r) => r[0]).sort()).toEqual([...counts.keys()].sort());
      for (const [label, verblijf, vpt, mpt, pgb] of rows) expect({ label, n: [verblijf, vpt, mpt, pgb].map(num) }).toEqual({ label, n: counts.get(label!) });
    });

    it('no query puts a row on anything but a vestiging of the sample or the organisation', () => {
      for (const id of QUERIES.filter((q) => results.has(q))) {
        for (const [label] of table(result(id))) expect([...VESTIGINGEN, ORG], id).toContain(label);
      }
    });
  });

  describe.skipIf(LEFT_OUT.has('1.1'))('1.1 (slow on Jena: minutes)', () => {
    it('1.1 average staff in Q4 2023, day-weighted through the OWL-Time calendar', () => {
      const rows = table(result('1.1'));
      expect(rows).toEqual(NEEDS_MAPPING_WORK.has('1.1') ? orgRows(PINNED_1_1) : PINNED_1_1);
      for (const r of rows) {
        const [zorg, nietZorg, totaal] = [num(r[1]), num(r[2]), num(r[3])];
        expect(totaal).toBeGreaterThanOrEqual(Math.max(zorg, nietZorg) - 1e-9);
        expect(totaal).toBeLessThanOrEqual(zorg + nietZorg + 1e-9);
      }
      // A quarter average stays close to the head count on its last day (1.2: 144 / 24 / 168).
      expect(num(orgRows(rows)[0]![3])).toBeGreaterThan(150);
      expect(num(orgRows(rows)[0]![3])).toBeLessThan(190);
    });

    it('1.1 as normalised for Jena (its VALUES tables as sub-selects) gives exactly the rows of the text as written', () => {
      expect(results.get('1.1 jena')).toEqual(result('1.1'));
    });
  });

  // Runs even when KIKV_OFFICIAL_FAST leaves the text as written out: the rewritten text takes seconds.
  it('1.1 as normalised for Jena gives the pinned rows', () => {
    const rows = table(results.get('1.1 jena')!);
    expect(rows).toEqual(NEEDS_MAPPING_WORK.has('1.1') ? orgRows(PINNED_1_1) : PINNED_1_1);
  });

  // Per-vestiging rows: skipped for the queries listed in NEEDS_MAPPING_WORK.
  describe('per-vestiging rows (need the postcode -> ZorgkantoorRegio chain)', () => {
    const enabled = (id: QueryId) => !NEEDS_MAPPING_WORK.has(id);

    it.runIf(REGION_QUERIES.some(enabled))('the snapshot holds the region chain for every vestiging of the sample', () => {
      expect(table(results.get('probe')!)).toEqual(
        VESTIGINGEN.map((v) => [v, expect.stringMatching(/\/postcode\/\d{4}$/), expect.any(String), expect.stringMatching(/./), 'onz-org:ZorgkantoorMiddenIJssel']),
      );
    });

    it.runIf(enabled('1.2'))('1.2 per vestiging', () => {
      const rows = table(result('1.2'));
      expect(rows).toEqual([
        ['000020229523', '52', '7', '59'],
        ['000061545509', '47', '6', '53'],
        ['000092331396', '46', '7', '53'],
        [ORG, '144', '24', '168'],
      ]);
      for (const r of rows) expect(num(r[3])).toBeLessThanOrEqual(num(orgRows(rows)[0]![3]));
    });

    it.runIf(enabled('3.1'))('3.1 per vestiging', () => {
      const rows = table(result('3.1')).sort((a, b) => a[0]!.localeCompare(b[0]!));
      expect(rows).toEqual([
        ['000020229523', '6', '49', '12.244897959183673469387755'],
        ['000061545509', '10', '45', '22.222222222222222222222222'],
        ['000092331396', '5', '37', '13.513513513513513513513514'],
        [ORG, '21', '135', '15.555555555555555555555556'],
      ]);
    });

    it.runIf(enabled('6.1'))('6.1 per vestiging: levels add up to each total, totals to the organisation', () => {
      const rows = table(result('6.1'));
      expect(rows.filter((r) => r[1] === 'Totaal')).toEqual([
        ['000020229523', 'Totaal', '15071.5', '100.0'],
        ['000061545509', 'Totaal', '13331.0', '100.0'],
        ['000092331396', 'Totaal', '10424.25', '100.0'],
        [ORG, 'Totaal', '38826.75', '100.0'],
      ]);
      expect(rows.filter((r) => r[0] === '000092331396' && r[2] === '0')).toEqual([
        ['000092331396', 'Leerling', '0', '0.0'],
        ['000092331396', 'Kwalificatieniveau 6', '0', '0.0'],
      ]);
      expect(rows).toHaveLength(40);
      for (const v of VESTIGINGEN) checkLevels(rows.filter((r) => r[0] === v));
    });

    it.runIf(enabled('9.1'))('9.1 per vestiging', () => {
      expect(table(result('9.1'))).toEqual([
        ['000020229523', '3'],
        ['000061545509', '4'],
        ['000092331396', '4'],
        [ORG, '11'],
      ]);
    });

    it.runIf(enabled('11.1'))('11.1 per vestiging', () => {
      const rows = table(result('11.1'));
      expect(rows).toEqual([
        ['000020229523', '2.18', '1.65', '2.11'],
        ['000061545509', '2.3', '1.93', '2.25'],
        ['000092331396', '2.32', '0.03', '1.88'],
        [ORG, '2.26', '0.96', '2.02'],
      ]);
      rows.forEach(checkAbsence);
    });

    it.runIf(enabled('14.1'))('14.1 per vestiging: vestigingen add up to the organisation per care profile', () => {
      const rows = table(result('14.1'));
      expect(rows.filter((r) => r[0] !== ORG)).toEqual([
        ['000020229523', 'onz-zorg:4VV', '6'],
        ['000020229523', 'onz-zorg:5VV', '10'],
        ['000020229523', 'onz-zorg:6VV', '8'],
        ['000020229523', 'onz-zorg:7VV', '7'],
        ['000020229523', 'onz-zorg:8VV', '1'],
        ['000061545509', 'onz-zorg:4VV', '2'],
        ['000061545509', 'onz-zorg:5VV', '10'],
        ['000061545509', 'onz-zorg:6VV', '12'],
        ['000061545509', 'onz-zorg:7VV', '4'],
        ['000061545509', 'onz-zorg:8VV', '6'],
        ['000092331396', 'onz-zorg:4VV', '6'],
        ['000092331396', 'onz-zorg:5VV', '11'],
        ['000092331396', 'onz-zorg:6VV', '6'],
        ['000092331396', 'onz-zorg:7VV', '5'],
        ['000092331396', 'onz-zorg:8VV', '5'],
        ['000092331396', 'onz-zorg:9BVV', '1'],
      ]);
      for (const [, profile, count] of orgRows(rows)) {
        expect(rows.filter((r) => r[0] !== ORG && r[1] === profile).reduce((s, r) => s + num(r[2]), 0), profile).toBe(num(count));
      }
    });
  });
});

/** 6.1 rows of one Indeling: level hours add up to the Totaal row, shares to 100 %, all within bounds. */
function checkLevels(rows: string[][]): void {
  const total = rows.find((r) => r[1] === 'Totaal')!;
  const levels = rows.filter((r) => r !== total);
  expect(levels).toHaveLength(9);
  for (const r of levels) {
    expect(num(r[2])).toBeGreaterThanOrEqual(0);
    expect(num(r[3])).toBeGreaterThanOrEqual(0);
    expect(num(r[3])).toBeLessThanOrEqual(100);
  }
  expect(levels.reduce((s, r) => s + num(r[2]), 0)).toBeCloseTo(num(total[2]), 6);
  expect(levels.reduce((s, r) => s + num(r[3]), 0)).toBeCloseTo(100, 6);
}

/** 11.1 row: percentages in [0, 100], and the total a weighted mean of care and non-care (up to rounding). */
function checkAbsence(row: string[]): void {
  const [zorg, nietZorg, totaal] = row.slice(1).map(Number) as [number, number, number];
  for (const v of [zorg, nietZorg, totaal]) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(100);
  }
  expect(totaal).toBeGreaterThanOrEqual(Math.min(zorg, nietZorg) - 0.01);
  expect(totaal).toBeLessThanOrEqual(Math.max(zorg, nietZorg) + 0.01);
}
