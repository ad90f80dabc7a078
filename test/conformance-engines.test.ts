/**
 * Engine conformance matrix (src/conformance/engines.ts). What CI checks:
 *   - here (vitest): the comparison rules on small inputs, the matrix file's determinism and coverage
 *     of the official queries, and a real `--check` on a reduced scope (one generated provider, three
 *     official queries and one pack item, every available engine) against the checked-in matrix;
 *   - `npm run conformance:engines -- --check --skip-recorded-timeouts` in .ci/run: the full scope (all
 *     providers, all official queries, every pack item), which takes minutes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MATRIX_PATH,
  PROVIDERS,
  canonicalNumber,
  canonicalOfficial,
  cellVerdict,
  checkMatrix,
  mergeMatrix,
  officialQueries,
  readMatrix,
  runEngineConformance,
  serialiseMatrix,
  type RunResult,
} from '../src/conformance/engines.js';
import type { EngineMatrix } from '../src/engines/routing.js';
import type { SparqlJsonResults } from '../src/engines/types.js';

const XSD = 'http://www.w3.org/2001/XMLSchema#';
const lit = (value: string, datatype?: string) => ({ type: 'literal' as const, value, ...(datatype ? { datatype } : {}) });
const results = (vars: string[], rows: SparqlJsonResults['results']['bindings']): SparqlJsonResults => ({ head: { vars }, results: { bindings: rows } });

function run(matrix: EngineMatrix, reduced = false): RunResult {
  return { matrix, unavailable: [], times: {}, notes: [], reduced, ms: 0 };
}

function smallMatrix(): EngineMatrix {
  return {
    version: 1,
    reference: 'jena',
    providers: ['p1', 'p2'],
    engines: ['jena', 'oxigraph'],
    queries: {
      'official/1.2@aaaa': {
        id: 'official/1.2',
        kind: 'official',
        sha256: 'aaaa',
        engines: { jena: { verdict: 'same', providers: { p1: 'same', p2: 'same' } }, oxigraph: { verdict: 'same', providers: { p1: 'same', p2: 'same' } } },
      },
      'ps-1.1@bbbb': {
        id: 'ps-1.1',
        kind: 'pack',
        sha256: 'bbbb',
        engines: { jena: { verdict: 'same', providers: { p1: 'same', p2: 'same' } }, oxigraph: { verdict: 'fails', providers: { p1: 'same', p2: 'fails (timeout)' } } },
      },
    },
  };
}

describe('canonical results', () => {
  it('ignores row order, variable order and how an engine writes a number', () => {
    const jena = results(['indeling', 'teller'], [
      { indeling: lit('Organisatie'), teller: lit('12.50', `${XSD}decimal`) },
      { indeling: lit('A'), teller: lit('1', `${XSD}integer`) },
    ]);
    const other = results(['teller', 'indeling'], [
      { indeling: lit('A'), teller: lit('1.0', `${XSD}decimal`) },
      { indeling: lit('Organisatie'), teller: lit('1.25E1', `${XSD}double`) },
    ]);
    expect(canonicalOfficial(other)).toEqual(canonicalOfficial(jena));
    expect(canonicalNumber('0.333333333333333333')).toBe(canonicalNumber('3.33333333333333E-1'));
  });

  it('tells different numbers, missing rows and unbound values apart', () => {
    const base = results(['n'], [{ n: lit('2', `${XSD}integer`) }, { n: lit('3', `${XSD}integer`) }]);
    expect(canonicalOfficial(results(['n'], [{ n: lit('2', `${XSD}integer`) }, { n: lit('3.01', `${XSD}decimal`) }]))).not.toEqual(canonicalOfficial(base));
    expect(canonicalOfficial(results(['n'], [{ n: lit('2', `${XSD}integer`) }]))).not.toEqual(canonicalOfficial(base));
    expect(canonicalOfficial(results(['n'], [{ n: lit('2', `${XSD}integer`) }, {}]))).not.toEqual(canonicalOfficial(base));
    // A number and the same digits as a string are different answers.
    expect(canonicalOfficial(results(['n'], [{ n: lit('2') }, { n: lit('3', `${XSD}integer`) }]))).not.toEqual(canonicalOfficial(base));
  });

  it('a cell is same only when every provider is', () => {
    expect(cellVerdict(['same', 'same'])).toBe('same');
    expect(cellVerdict(['same', 'differs'])).toBe('differs');
    expect(cellVerdict(['differs', 'fails (error)'])).toBe('fails');
    expect(cellVerdict(['same', 'no reference'])).toBe('unproven');
  });
});

describe('the matrix check', () => {
  it('names every cell whose verdict changed, and keeps timeouts apart', () => {
    const now = smallMatrix();
    now.queries['official/1.2@aaaa']!.engines.oxigraph = { verdict: 'differs', providers: { p1: 'same', p2: 'differs' } };
    now.queries['ps-1.1@bbbb']!.engines.oxigraph = { verdict: 'same', providers: { p1: 'same', p2: 'same' } };
    const report = checkMatrix(smallMatrix(), run(now));
    expect(report.changes).toEqual(['official/1.2 × oxigraph on p2: was same, now differs']);
    expect(report.timing).toEqual(['ps-1.1 × oxigraph on p2: was fails (timeout), now same']);
    expect(checkMatrix(smallMatrix(), run(now), true).changes).toHaveLength(2);
    expect(checkMatrix(smallMatrix(), run(smallMatrix()))).toEqual({ changes: [], timing: [], notChecked: [] });
  });

  it('fails on a query whose text changed and, on a full run, on an entry no longer run', () => {
    const now = smallMatrix();
    const entry = now.queries['ps-1.1@bbbb']!;
    delete now.queries['ps-1.1@bbbb'];
    now.queries['ps-1.1@cccc'] = { ...entry, sha256: 'cccc' };
    const full = checkMatrix(smallMatrix(), run(now));
    expect(full.changes).toEqual([
      'ps-1.1: its query text changed since the checked-in matrix (run npm run conformance:engines and commit conformance/engine-matrix.json)',
      'ps-1.1: in the checked-in matrix (sha256 bbbb…) but no longer a query of this run (run npm run conformance:engines and commit the matrix)',
    ]);
    // A reduced run compares only what it ran.
    const onlyOne = smallMatrix();
    delete onlyOne.queries['ps-1.1@bbbb'];
    expect(checkMatrix(smallMatrix(), run(onlyOne, true)).changes).toEqual([]);
  });

  it('reports engines of the file that are not available here without failing', () => {
    const now = smallMatrix();
    for (const e of Object.values(now.queries)) delete e.engines.oxigraph;
    now.engines = ['jena'];
    const report = checkMatrix(smallMatrix(), { ...run(now), unavailable: [{ name: 'oxigraph', reason: 'not installed' }] });
    expect(report).toEqual({ changes: [], timing: [], notChecked: ['oxigraph (not installed)'] });
  });

  it('a reduced run merges its cells into the file; a full run replaces it; the text is deterministic', () => {
    const partial = smallMatrix();
    delete partial.queries['ps-1.1@bbbb'];
    partial.providers = ['p2'];
    partial.queries['official/1.2@aaaa']!.engines.oxigraph = { verdict: 'differs', providers: { p2: 'differs' } };
    const merged = mergeMatrix(smallMatrix(), run(partial, true));
    expect(merged.queries['official/1.2@aaaa']!.engines.oxigraph).toEqual({ verdict: 'differs', providers: { p1: 'same', p2: 'differs' } });
    expect(merged.queries['ps-1.1@bbbb']).toEqual(smallMatrix().queries['ps-1.1@bbbb']);
    // A reduced run of a query whose text changed keeps only the new text (the old one would be stale).
    const edited = smallMatrix();
    delete edited.queries['official/1.2@aaaa'];
    edited.queries['ps-1.1@cccc'] = { ...edited.queries['ps-1.1@bbbb']!, sha256: 'cccc' };
    delete edited.queries['ps-1.1@bbbb'];
    expect(Object.keys(mergeMatrix(smallMatrix(), run(edited, true)).queries).sort()).toEqual(['official/1.2@aaaa', 'ps-1.1@cccc']);
    const replaced = mergeMatrix(smallMatrix(), run(partial));
    expect(Object.keys(replaced.queries)).toEqual(['official/1.2@aaaa']);
    const text = serialiseMatrix(smallMatrix());
    expect(serialiseMatrix(JSON.parse(text) as EngineMatrix)).toBe(text);
    expect(text).not.toMatch(/"ms"|"times?"|"seconds"/);
  });
});

describe('the checked-in matrix (conformance/engine-matrix.json)', () => {
  const matrix = readMatrix();

  it('exists, is in its deterministic form and covers every official query and provider', () => {
    expect(matrix, `${MATRIX_PATH} is missing: run npm run conformance:engines`).toBeDefined();
    expect(serialiseMatrix(matrix!)).toBe(readFileSync(MATRIX_PATH, 'utf8'));
    expect(matrix!.reference).toBe('jena');
    expect(matrix!.providers).toEqual(PROVIDERS.map((p) => p.name).sort());
    for (const q of officialQueries()) expect(Object.keys(matrix!.queries), `${q.id} is not in the matrix`).toContain(q.key);
    expect(matrix!.engines).toEqual(expect.arrayContaining(['jena', 'oxigraph', 'comunica']));
  });

  it('still holds on a reduced scope (one generated provider, a few queries, every available engine)', { timeout: 900_000 }, async () => {
    const small = [...PROVIDERS].sort((a, b) => a.options.employees - b.options.employees)[0]!.name;
    const queries = ['official/1.2', 'official/3.1', 'official/9.1'];
    // One cell recorded as a timeout is not run again (--skip-recorded-timeouts): it stays a timeout,
    // which the check reports as timing-dependent instead of failing.
    const recorded = structuredClone(matrix!);
    const key = Object.keys(recorded.queries).find((k) => recorded.queries[k]!.id === 'official/9.1')!;
    const cell = recorded.queries[key]!.engines.oxigraph!;
    const before = cell.providers[small];
    cell.providers[small] = 'fails (timeout)';
    const r = await runEngineConformance({ providers: [small], queries, log: () => undefined, skipTimeoutsOf: recorded });
    expect(r.matrix.queries[key]!.engines.oxigraph!.providers[small]).toBe('fails (timeout)');
    expect(r.notes.join('\n')).toMatch(/1 cell\(s\) recorded as timeouts .* not run again/);
    if (before !== 'fails (timeout)') {
      expect(checkMatrix(matrix!, r).timing).toContain(`official/9.1 × oxigraph on ${small}: was ${before}, now fails (timeout)`);
      r.matrix.queries[key]!.engines.oxigraph!.providers[small] = before!;
    }
    expect(r.reduced).toBe(true);
    expect(r.matrix.engines).toContain('jena');
    expect(Object.values(r.matrix.queries).map((e) => e.id)).toEqual(queries);
    const report = checkMatrix(matrix!, r);
    expect(report.changes, report.changes.join('\n')).toEqual([]);
    // Jena, the reference, answered all of them.
    for (const e of Object.values(r.matrix.queries)) expect(e.engines.jena!.providers[small]).toBe('same');
  });
});
