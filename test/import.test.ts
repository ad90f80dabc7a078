import { appendFileSync, cpSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { openDb, type Db } from '../src/db/open.js';
import { importSource, type ImportResult } from '../src/pipeline/import.js';
import { DEFAULT_SAMPLE, generateSample, toCsv } from '../src/sample/generate.js';
import { SAMPLE_LAYOUT } from '../src/sample/tables.js';
import { readSnapshot, sha256 } from '../src/store/snapshot.js';
import { ROOT, runCli, tempDir, writeConfig } from './helpers.js';

const ONZ_PERS = 'http://purl.org/ozo/onz-pers#';
const RDF_TYPE = '<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>';

describe('import: staging CSV -> ONZ RDF snapshot with a processing report', () => {
  let db: Db;
  let broken: ImportResult;
  let dataDir: string;

  beforeAll(async () => {
    const source = join(tempDir(), 'source');
    cpSync(join(ROOT, 'config/sample'), source, { recursive: true });
    // Three broken rows: an end date before its start, a row with a missing field,
    // and a clause pointing at an agreement that does not exist.
    appendFileSync(join(source, 'agreements.csv'), 'AX1,E0001,permanent,2023-05-01,2023-04-30\n');
    appendFileSync(join(source, 'agreements.csv'), 'AX2,E0001,permanent\n');
    appendFileSync(join(source, 'clauses.csv'), 'CX1,NOPE,2023-01-01,,VIG,W01,36,hours_per_week\n');
    const c = writeConfig({ source });
    dataDir = c.dataDir;
    db = openDb(dataDir);
    broken = await importSource(loadConfig(c.file), db, 'test');
  });
  afterAll(() => db.close());

  it('the embedded sample is exactly what the generator writes with the default seed', () => {
    const tables = generateSample(DEFAULT_SAMPLE);
    for (const [name, layout] of Object.entries(SAMPLE_LAYOUT)) {
      expect(readFileSync(join(ROOT, 'config/sample', layout.file), 'utf8'), layout.file).toBe(toCsv([...layout.columns], tables[name]!));
    }
  });

  it('reports each broken row with file, row, line, column and reason', () => {
    const agreements = broken.report.files.find((f) => f.file === 'agreements.csv')!;
    const lines = readFileSync(join(ROOT, 'config/sample/agreements.csv'), 'utf8').trimEnd().split('\n').length;
    expect(agreements.rejections).toEqual([
      { file: 'agreements.csv', row: lines, line: lines + 1, column: 'end_date', value: '2023-04-30', reason: expect.stringContaining('is before start_date 2023-05-01') },
      { file: 'agreements.csv', row: lines + 1, line: lines + 2, column: null, value: null, reason: expect.stringContaining('has 3 fields where the header has 5') },
    ]);
    const clauses = broken.report.files.find((f) => f.file === 'clauses.csv')!;
    expect(clauses.rejections).toEqual([expect.objectContaining({ column: 'agreement_id', value: 'NOPE', reason: expect.stringContaining('not in agreements') })]);
  });

  it('rows read = rows mapped + rows rejected, per file and in total', () => {
    for (const f of broken.report.files) expect(f.rowsRead, f.file).toBe(f.rowsMapped + f.rowsRejected);
    expect(broken.report.totals.rowsRejected).toBe(3);
    expect(broken.report.totals.rowsRead).toBe(broken.report.totals.rowsMapped + 3);
    const onDisk = JSON.parse(readFileSync(broken.reportFile, 'utf8')) as { totals: unknown; snapshot: string };
    expect(onDisk.totals).toEqual(broken.report.totals);
    expect(onDisk.snapshot).toBe(broken.snapshot!.meta.hash);
  });

  it('stores a content-addressed snapshot in ONZ terms, identical for identical input', async () => {
    const snap = readSnapshot(dataDir, broken.snapshot!.meta.hash);
    expect(sha256(snap.nquads)).toBe(snap.meta.hash);
    const lines = snap.nquads.split('\n');
    expect([...lines].filter(Boolean).sort()).toEqual(lines.filter(Boolean));
    // A BBL agreement carries every superclass the official queries test.
    const bbl = readFileSync(join(ROOT, 'config/sample/agreements.csv'), 'utf8').split('\n').find((l) => l.includes(',bbl,'))!.split(',')[0];
    const types = lines.filter((l) => l.startsWith(`<https://data.test.example/id/overeenkomst/${bbl}> ${RDF_TYPE}`)).map((l) => l.split(' ')[2]);
    expect(types.sort()).toEqual(['ArbeidsOvereenkomst', 'ArbeidsOvereenkomstBBL', 'ArbeidsOvereenkomstBepaaldeTijd', 'WerkOvereenkomst'].map((c) => `<${ONZ_PERS}${c}>`));
    expect(snap.nquads).toContain('<http://purl.org/ozo/onz-org#Vestigingsnummer>');
    expect(snap.nquads).toMatch(/<http:\/\/www.w3.org\/2006\/time#numericPosition> "8582"\^\^<http:\/\/www.w3.org\/2001\/XMLSchema#integer>/); // 2023-07-01
    expect(snap.nquads).toContain('<http://purl.org/ozo/onz-zorg#4VV>');
    expect(snap.nquads).not.toContain('_:');
    const again = await importSource(loadConfig(writeConfig({ source: broken.report.source }).file), db, 'test');
    expect(again.snapshot!.meta.hash).toBe(broken.snapshot!.meta.hash);
  });

  it('SHACL results name their source row; above mapping.validateUpTo validation is skipped and says so, the snapshot unchanged', async () => {
    const warning = broken.report.violations.find((v) => v.origin?.file === 'employees.csv');
    expect(warning, 'the sample has staff without a birth date').toBeDefined();
    const row = readFileSync(join(ROOT, 'config/sample/employees.csv'), 'utf8').split('\n')[warning!.origin!.row]!;
    expect(row).toMatch(/^E\d+,$/);
    expect(warning!.focusNode).toBe(`https://data.test.example/id/persoon/${row.slice(0, -1)}`);
    expect(broken.report.validation).toEqual({ statements: expect.any(Number), validated: true });

    const cfg = loadConfig(writeConfig({ source: broken.report.source }).file);
    const r = await importSource({ ...cfg, mapping: { ...cfg.mapping, validateUpTo: 1000 } }, db, 'test');
    expect(r.report.validation).toMatchObject({ validated: false, note: expect.stringMatching(/^SHACL validation skipped: \d+ statements exceed mapping.validateUpTo \(1000\)/) });
    expect(r.report.violations).toEqual([]);
    expect(r.report.missing).toEqual(broken.report.missing);
    expect(r.snapshot!.meta.hash).toBe(broken.snapshot!.meta.hash);
  });

  it('a missing file makes no snapshot and names the file to export', async () => {
    const source = join(tempDir(), 'source');
    cpSync(join(ROOT, 'config/sample'), source, { recursive: true });
    rmSync(join(source, 'clauses.csv'));
    const c = writeConfig({ source });
    const r = await runCli(['import', '--config', c.file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('clauses.csv');
    expect(r.stdout).toContain('NOT READ: not found in');
    expect(readdirSync(join(c.dataDir)).includes('snapshots')).toBe(false);
  });
});
