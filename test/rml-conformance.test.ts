import { describe, expect, it } from 'vitest';
import { compareDatasets, formatResults, runRmlConformance } from '../src/conformance/rml.js';

describe('RML conformance (W3C KG-Construct test cases in ../shared/conformance)', () => {
  it('passes every RML-Core JSON and CSV case and every applicable RML-IO source case, the PostgreSQL one included', async () => {
    const results = await runRmlConformance();
    const report = formatResults(results);
    const byFolder = Object.fromEntries(results.map((r) => [r.folder, r]));
    expect(byFolder['rml-core']!.cases.length, report).toBeGreaterThanOrEqual(76);
    expect(byFolder['rml-core-csv-legacy']!.cases.length, report).toBeGreaterThanOrEqual(48);
    for (const r of results) expect(r.failed, report).toBe(0);
    // Only sources the engine deliberately does not read (XML, compressed, SPARQL) are not applicable.
    expect(byFolder['rml-core']!.notApplicable + byFolder['rml-core-csv-legacy']!.notApplicable, report).toBe(0);
    const io = byFolder['rml-io']!;
    expect(io.cases.find((c) => c.id === 'RMLSTC0006a')?.status, report).toBe('passed');
    for (const c of io.cases.filter((c) => c.status === 'not applicable')) expect(c.reason).toMatch(/XML|compress|SPARQL|remote/);
  });

  it('compares datasets up to blank-node renaming and reports differences', () => {
    const a = '_:x <http://e/p> _:y .\n_:y <http://e/p> "1" .\n';
    expect(compareDatasets(a, '_:b2 <http://e/p> "1" .\n_:b1 <http://e/p> _:b2 .')).toBeUndefined();
    expect(compareDatasets(a, '_:b1 <http://e/p> "1" .\n_:b2 <http://e/p> _:b1 . \n_:b1 <http://e/p> "1" .')).toBeUndefined();
    expect(compareDatasets(a, '_:b1 <http://e/p> _:b1 .\n_:b2 <http://e/p> "1" .')).toMatch(/output differs/);
    expect(compareDatasets('<http://e/s> <http://e/p> "a"^^<http://www.w3.org/2001/XMLSchema#string> <http://e/g> .', '<http://e/s> <http://e/p> "a" <http://e/g> .')).toBeUndefined();
    expect(compareDatasets('<http://e/s> <http://e/p> "a" .', '<http://e/s> <http://e/p> "b" .')).toMatch(/missing:\n.*"a"/);
  });
});
