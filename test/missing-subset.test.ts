import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, Store } from 'n3';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { openDb } from '../src/db/open.js';
import { importSource } from '../src/pipeline/import.js';
import { loadIndicatorRequirements, missingData } from '../src/report/missing.js';
import { missingDataSubset } from '../src/report/missing-subset.js';
import { ROOT, writeConfig } from './helpers.js';

const storeOf = (lines: string[]) => new Store(new Parser({ format: 'N-Quads' }).parse(lines.join('\n')));

// Large imports check missing data on a subset of the statements; it must say exactly what the whole says.
describe('missing data on the subset of statements it reads', () => {
  let lines: string[];
  beforeAll(async () => {
    const c = writeConfig();
    const cfg = loadConfig(c.file);
    const r = await importSource(cfg, openDb(c.dataDir), 'test');
    lines = readFileSync(join(c.dataDir, 'snapshots', `${r.snapshot!.meta.hash}.nq`), 'utf8').split('\n').filter(Boolean);
  }, 60_000);

  it('is much smaller than the dataset and gives the same answers for every year, with and without data', () => {
    const subset = missingDataSubset(lines.filter((l) => !l.includes('/dag/')));
    expect(subset.length).toBeLessThan(lines.length / 2);
    const calendar = lines.filter((l) => l.includes('/dag/'));
    const whole = storeOf(lines);
    const part = storeOf([...subset, ...calendar]);
    const indicators = loadIndicatorRequirements(join(ROOT, 'queries'), [{ profile: 'zorginstituut-verpleeghuiszorg', version: '2023.1.0' }]);
    for (const year of [2019, 2022, 2023, 2031]) expect(missingData(part, indicators, year), String(year)).toEqual(missingData(whole, indicators, year));
    expect(missingData(whole, indicators, 2031).length).toBeGreaterThan(0);
  });

  it('drops a kind that is absent from the data in the subset too', () => {
    const noAbsences = lines.filter((l) => !l.includes('/verzuim/'));
    const indicators = [{ id: 'x', number: '3.1', requires: [{ kind: 'absences' }, { kind: 'clause-locations' }, { kind: 'qualifications' }] }];
    const expected = missingData(storeOf(noAbsences), indicators, 2023);
    expect(expected.map((m) => m.message).join()).toContain('no absence data');
    expect(missingData(storeOf(missingDataSubset(noAbsences)), indicators, 2023)).toEqual(expected);
  });
});
