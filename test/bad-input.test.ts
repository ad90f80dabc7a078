import { appendFileSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { openDb, type Db } from '../src/db/open.js';
import { importSource, latestSnapshotHash, type ImportResult } from '../src/pipeline/import.js';
import { readSnapshot } from '../src/store/snapshot.js';
import { ROOT, tempDir, writeConfig } from './helpers.js';

/**
 * Bad input never crashes the import: a bad row is rejected with its position and a reason that says
 * what to change; a structural problem stops the import before a snapshot is written, and the previous
 * snapshot stays the latest, intact.
 */
describe('bad input: rejected with a reason, or a clear stop that keeps the previous snapshot', () => {
  let db: Db;
  let dataDir: string;
  let good: string;

  /** Imports a copy of the sample after `edit` changed it, into the same agent state. */
  async function importEdited(edit: (dir: string) => void): Promise<ImportResult> {
    const source = join(tempDir(), 'source');
    cpSync(join(ROOT, 'config/sample'), source, { recursive: true });
    edit(source);
    const c = writeConfig({ source });
    const cfg = loadConfig(c.file);
    return importSource({ ...cfg, storage: { ...cfg.storage, dataDir } }, db, 'test');
  }

  function rejectionsOf(r: ImportResult, file: string) {
    const f = r.report.files.find((x) => x.file === file);
    expect(f, `${file} in the report`).toBeDefined();
    expect(f!.rowsRead).toBe(f!.rowsMapped + f!.rowsRejected);
    return f!.rejections;
  }

  function expectStoppedKeepingPrevious(r: ImportResult, file: string, reason: RegExp): void {
    expect(r.snapshot).toBeUndefined();
    expect(r.report.fileErrors).toEqual([expect.objectContaining({ file, reason: expect.stringMatching(reason) })]);
    expect(latestSnapshotHash(db)).toBe(good);
    expect(readSnapshot(dataDir, good).meta.hash).toBe(good);
    expect(JSON.parse(readFileSync(r.reportFile, 'utf8')).fileErrors).toEqual(r.report.fileErrors);
  }

  beforeAll(async () => {
    dataDir = join(tempDir(), 'data');
    db = openDb(dataDir);
    const first = await importEdited(() => {});
    good = first.snapshot!.meta.hash;
  });
  afterAll(() => db.close());

  it('an unbalanced quote stops the import and names the line where the quote opened', async () => {
    const r = await importEdited((d) => appendFileSync(join(d, 'agreements.csv'), 'AQ1,E0001,"permanent,2023-01-01,\nAQ2,E0001,permanent,2023-01-01,\n'));
    const line = readFileSync(join(ROOT, 'config/sample/agreements.csv'), 'utf8').trimEnd().split('\n').length + 1;
    expectStoppedKeepingPrevious(r, 'agreements.csv', new RegExp(`line ${line}: a quoted field opened here is never closed`));
  });

  it('a row with the wrong number of columns is rejected with its counts', async () => {
    const r = await importEdited((d) => appendFileSync(join(d, 'absences.csv'), 'ABX1,A00002,sickness,2023-01-02,2023-01-03,100,extra\n'));
    expect(rejectionsOf(r, 'absences.csv')).toEqual([expect.objectContaining({ column: null, reason: 'row has 7 fields where the header has 6; check for an unquoted "," or a missing field' })]);
    expect(r.snapshot).toBeDefined();
  });

  it('invalid and impossible dates are rejected with the format to use', async () => {
    const r = await importEdited((d) => appendFileSync(join(d, 'agreements.csv'), 'AD1,E0001,permanent,01-02-2023,\nAD2,E0001,permanent,2023-02-30,\nAD3,E0001,permanent,2023-13-01,\n'));
    expect(rejectionsOf(r, 'agreements.csv').map((j) => [j.column, j.value, j.reason])).toEqual([
      ['start_date', '01-02-2023', '"01-02-2023" is not a date; write YYYY-MM-DD, e.g. 2023-07-01'],
      ['start_date', '2023-02-30', '"2023-02-30" is not a date; write YYYY-MM-DD, e.g. 2023-07-01'],
      ['start_date', '2023-13-01', '"2023-13-01" is not a date; write YYYY-MM-DD, e.g. 2023-07-01'],
    ]);
  });

  it('an end before its start is rejected', async () => {
    const r = await importEdited((d) => appendFileSync(join(d, 'indications.csv'), 'IX1,C00001,VV5,instelling,no,2023-05-01,2023-04-01\n'));
    expect(rejectionsOf(r, 'indications.csv')).toEqual([
      expect.objectContaining({ column: 'end_date', value: '2023-04-01', reason: '2023-04-01 is before start_date 2023-05-01; an end date cannot precede its start' }),
    ]);
  });

  it('unknown codes (care profile VV11, an unknown agreement type) are rejected with the allowed values', async () => {
    const r = await importEdited((d) => {
      appendFileSync(join(d, 'indications.csv'), 'IX2,C00001,VV11,instelling,no,2023-05-01,\n');
      appendFileSync(join(d, 'agreements.csv'), 'AK1,E0001,freelance,2023-01-01,\n');
    });
    expect(rejectionsOf(r, 'indications.csv')).toEqual([
      expect.objectContaining({ column: 'care_profile', value: 'VV11', reason: '"VV11" is not an allowed value; allowed: VV4, VV5, VV6, VV7, VV8, VV9B, VV10' }),
    ]);
    expect(rejectionsOf(r, 'agreements.csv')).toEqual([
      expect.objectContaining({ column: 'kind', value: 'freelance', reason: expect.stringMatching(/^"freelance" is not an allowed value; allowed: permanent, fixed_term, /) }),
    ]);
    expect(readSnapshot(dataDir, r.snapshot!.meta.hash).nquads).not.toContain('VV11');
  });

  it('a duplicate key is rejected; the first row with that key is kept', async () => {
    const r = await importEdited((d) => appendFileSync(join(d, 'clients.csv'), 'C00001,1940-01-01\n'));
    expect(rejectionsOf(r, 'clients.csv')).toEqual([expect.objectContaining({ column: 'client_id', value: 'C00001', reason: '"C00001" occurs more than once; client_id must be unique in clients.csv' })]);
  });

  it('a dangling reference (a clause for an unknown agreement) is rejected, and so is what hangs on a rejected row', async () => {
    const r = await importEdited((d) => {
      appendFileSync(join(d, 'clauses.csv'), 'CLX1,A99999,2023-01-01,,VIG,W01,36,hours_per_week\n');
      appendFileSync(join(d, 'agreements.csv'), 'AR1,E0001,permanent,2023-05-01,2023-04-30\n');
      appendFileSync(join(d, 'clauses.csv'), 'CLX2,AR1,2023-05-01,,VIG,W01,36,hours_per_week\n');
    });
    expect(rejectionsOf(r, 'clauses.csv').map((j) => [j.column, j.value, j.reason])).toEqual([
      ['agreement_id', 'A99999', 'refers to agreement_id "A99999", which is not in agreements (missing there, or that row was rejected)'],
      ['agreement_id', 'AR1', 'refers to agreement_id "AR1", which is not in agreements (missing there, or that row was rejected)'],
    ]);
    expect(readSnapshot(dataDir, r.snapshot!.meta.hash).nquads).not.toContain('/afspraak/CLX');
  });

  it('an empty file stops the import and says which header to export', async () => {
    const r = await importEdited((d) => writeFileSync(join(d, 'absences.csv'), ''));
    expectStoppedKeepingPrevious(r, 'absences.csv', /^is empty \(0 bytes\); export it with at least the header line: absence_id,agreement_id,kind,start_date,end_date,percentage$/);
  });

  it('a header without a required column stops the import and shows the header found', async () => {
    const r = await importEdited((d) => writeFileSync(join(d, 'wards.csv'), 'ward_id,name\nW01,Noord\n'));
    expectStoppedKeepingPrevious(r, 'wards.csv', /the header lacks required column location_id; the header found is: ward_id,name/);
  });

  it('a missing file stops the import and names the table to export', async () => {
    const r = await importEdited((d) => rmSync(join(d, 'care_episodes.csv')));
    expectStoppedKeepingPrevious(r, 'care_episodes.csv', /^not found in .*; export the care_episodes table as care_episodes\.csv/);
  });

  it('a file that is not valid UTF-8 stops the import and names the encoding setting', async () => {
    const r = await importEdited((d) => appendFileSync(join(d, 'wards.csv'), Buffer.from('W99,L01,Caf\xe9 Noord\n', 'latin1')));
    const line = readFileSync(join(ROOT, 'config/sample/wards.csv'), 'utf8').trimEnd().split('\n').length + 1;
    expectStoppedKeepingPrevious(r, 'wards.csv', new RegExp(`line ${line}: is not valid utf-8; export it as UTF-8 or set the source's encoding \\(e\\.g\\. windows-1252\\)`));
  });

  it('the same file in windows-1252 imports when the source says so', async () => {
    const source = join(tempDir(), 'source');
    cpSync(join(ROOT, 'config/sample'), source, { recursive: true });
    appendFileSync(join(source, 'wards.csv'), Buffer.from('W99,L01,Caf\xe9 Noord\n', 'latin1'));
    const c = writeConfig({ source });
    const cfg = loadConfig(c.file);
    const staging = { ...cfg.sources.staging!, encoding: 'windows-1252' } as typeof cfg.sources.staging;
    const otherData = join(tempDir(), 'data');
    const r = await importSource({ ...cfg, sources: { ...cfg.sources, staging: staging! }, storage: { ...cfg.storage, dataDir: otherData } }, openDb(join(tempDir(), 'db')), 'test');
    expect(r.report.fileErrors).toEqual([]);
    expect(readSnapshot(otherData, r.snapshot!.meta.hash).nquads).toContain('"Café Noord"');
  });

  it('a mapping file that does not exist stops the import and names the setting', async () => {
    const c = writeConfig();
    const cfg = loadConfig(c.file);
    const r = await importSource({ ...cfg, mapping: { ...cfg.mapping, rules: join(c.dir, 'nope.rml.ttl') }, storage: { ...cfg.storage, dataDir } }, db, 'test');
    expectStoppedKeepingPrevious(r, join(c.dir, 'nope.rml.ttl'), /does not exist; point mapping.rules at your RML or YARRRML file/);
  });

  it('no report is lost: every failed import leaves its report file', () => {
    expect(existsSync(join(dataDir, 'reports'))).toBe(true);
  });
});
