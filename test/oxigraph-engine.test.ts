import { describe, expect, it } from 'vitest';
import { ComunicaQueryEngine } from '../src/engines/comunica.js';
import { OxigraphQueryEngine, OxigraphEngineError } from '../src/engines/oxigraph.js';
import type { SparqlJsonResults } from '../src/engines/types.js';

const NQ = `<http://ex/a> <http://ex/name> "Ann" .
<http://ex/a> <http://ex/label> "Anna"@nl .
<http://ex/a> <http://ex/age> "41"^^<http://www.w3.org/2001/XMLSchema#integer> .
<http://ex/a> <http://ex/born> "1983-02-01"^^<http://www.w3.org/2001/XMLSchema#date> .
<http://ex/b> <http://ex/name> "Bob" .
<http://ex/b> <http://ex/age> "29"^^<http://www.w3.org/2001/XMLSchema#integer> .
<http://ex/b> <http://ex/knows> _:x .
_:x <http://ex/name> "X" .
<http://ex/c> <http://ex/name> "Cas" <http://ex/g> .
`;

const QUERIES: Record<string, string> = {
  typed: 'SELECT ?s ?age ?born WHERE { ?s <http://ex/age> ?age OPTIONAL { ?s <http://ex/born> ?born } } ORDER BY ?s',
  lang: 'SELECT ?s ?l WHERE { ?s <http://ex/label> ?l }',
  optionalUnbound: 'SELECT ?s ?n ?l WHERE { ?s <http://ex/name> ?n OPTIONAL { ?s <http://ex/label> ?l } } ORDER BY ?n',
  aggregates: 'SELECT (COUNT(*) AS ?n) (SUM(?age) AS ?total) (MAX(?age) AS ?oldest) WHERE { ?s <http://ex/age> ?age }',
  grouped: 'SELECT ?s (COUNT(?p) AS ?c) WHERE { ?s ?p ?o } GROUP BY ?s ORDER BY ?s',
  namedGraph: 'SELECT ?s ?g WHERE { GRAPH ?g { ?s <http://ex/name> ?n } }',
  defaultGraphOnly: 'SELECT ?n WHERE { ?s <http://ex/name> ?n } ORDER BY ?n',
  computed: 'SELECT (STR(?age) AS ?t) (?age * 2 AS ?d) (STRLEN(?n) AS ?len) WHERE { ?s <http://ex/age> ?age ; <http://ex/name> ?n } ORDER BY ?t',
};

/** Blank-node labels differ between engines: replace them by their order of first appearance. */
function canonical(r: SparqlJsonResults): SparqlJsonResults {
  const labels = new Map<string, string>();
  return {
    head: r.head,
    results: {
      bindings: r.results.bindings.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([k, t]) => {
            if (t.type !== 'bnode') return [k, t];
            if (!labels.has(t.value)) labels.set(t.value, `b${labels.size}`);
            return [k, { type: 'bnode', value: labels.get(t.value)! }];
          }),
        ),
      ),
    },
  };
}

describe('OxigraphQueryEngine', () => {
  it('returns the same SPARQL JSON as Comunica', async () => {
    const ox = new OxigraphQueryEngine();
    const cm = new ComunicaQueryEngine();
    await ox.load(NQ);
    await cm.load(NQ);
    for (const [name, q] of Object.entries(QUERIES)) {
      const a = canonical(await ox.select(q));
      const b = canonical(await cm.select(q));
      expect({ name, ...a }).toEqual({ name, ...b });
    }
  });

  it('encodes typed, language-tagged, plain and blank-node terms', async () => {
    const ox = new OxigraphQueryEngine();
    await ox.load(NQ);
    const r = await ox.select('SELECT ?age ?l ?n ?k WHERE { <http://ex/a> <http://ex/age> ?age ; <http://ex/label> ?l ; <http://ex/name> ?n . <http://ex/b> <http://ex/knows> ?k }');
    expect(r.head.vars).toEqual(['age', 'l', 'n', 'k']);
    const row = r.results.bindings[0]!;
    expect(row.age).toEqual({ type: 'literal', value: '41', datatype: 'http://www.w3.org/2001/XMLSchema#integer' });
    expect(row.l).toEqual({ type: 'literal', value: 'Anna', 'xml:lang': 'nl' });
    expect(row.n).toEqual({ type: 'literal', value: 'Ann' });
    expect(row.k?.type).toBe('bnode');
  });

  it('replaces the data on load and reports clear errors', async () => {
    const ox = new OxigraphQueryEngine();
    await ox.load(NQ);
    await ox.load('<http://ex/z> <http://ex/name> "Zed" .\n');
    const r = await ox.select('SELECT ?n WHERE { ?s <http://ex/name> ?n }');
    expect(r.results.bindings).toEqual([{ n: { type: 'literal', value: 'Zed' } }]);
    await expect(ox.load('<http://ex/z> <http://ex/name> .\n')).rejects.toThrow(OxigraphEngineError);
    await expect(ox.select('SELECT * WHERE {')).rejects.toThrow(/oxigraph: query failed/);
    await expect(ox.select('ASK { ?s ?p ?o }')).rejects.toThrow(/ASK/);
    await expect(ox.select('CONSTRUCT WHERE { ?s ?p ?o }')).rejects.toThrow(/CONSTRUCT/);
    // The data before the failed load is still there.
    expect((await ox.select('SELECT ?n WHERE { ?s <http://ex/name> ?n }')).results.bindings).toHaveLength(1);
  });
});
