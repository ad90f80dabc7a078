import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { JenaTdb2Engine } from '../src/engines/jena/tdb2.js';
import { availableEngines, createEngine } from '../src/engines/registry.js';
import { snapshotFile, storeSnapshotFromLines } from '../src/store/snapshot.js';
import { tempDir } from './helpers.js';

/**
 * Jena through Debian's tools: a TDB2 store built once per snapshot (tdb2.tdbloader), reused by a
 * later load of the same snapshot, queried with tdb2.tdbquery. Each step starts a JVM, so the test
 * keeps their number small.
 */

const XSD = 'http://www.w3.org/2001/XMLSchema#';
const LINES = [
  `<urn:kikv:p1> <urn:kikv:start> "2023-10-15"^^<${XSD}date> .`,
  `<urn:kikv:p2> <urn:kikv:start> "2024-01-01"^^<${XSD}date> .`,
  `<urn:kikv:p1> <urn:kikv:naam> "Één" .`,
  `<urn:kikv:p2> <urn:kikv:naam> "Twee"@nl .`,
];

let dataDir: string;
let file: string;
let hash: string;

beforeAll(async () => {
  dataDir = tempDir('kikv-tdb2-');
  const meta = await storeSnapshotFromLines(dataDir, LINES, { createdAt: '2024-01-08T00:00:00Z', ontology: { name: 'onz', version: 'test' }, mappingRules: { file: 'none', sha256: 'none' }, source: 'test' });
  hash = meta.hash;
  file = snapshotFile(dataDir, hash);
});

describe('Jena TDB2 engine', () => {
  it('is available here (CI installs libapache-jena-java and Java)', async () => {
    expect((await availableEngines()).find((e) => e.name === 'jena')).toEqual({ name: 'jena', available: true });
  });

  it('builds a store per snapshot, runs the official xsd:duration arithmetic as written, and reuses the store on the next load', async () => {
    const first = createEngine('jena', { dataDir }) as JenaTdb2Engine;
    await expect(first.select('SELECT * WHERE { ?s ?p ?o }')).rejects.toThrow(/no snapshot loaded; call load or loadFile/);
    await first.loadFile(file);
    expect(first.lastLoadBuilt).toBe(true);
    const storeRoot = join(dataDir, 'engines', 'tdb2');
    expect(readdirSync(storeRoot)).toEqual([hash]);

    // Jena is the reference: date + "P3M"^^xsd:duration is evaluated (Comunica and Virtuoso cannot).
    const q = `PREFIX xsd: <${XSD}>
SELECT ?p ?naam WHERE { ?p <urn:kikv:start> ?d ; <urn:kikv:naam> ?naam FILTER(?d >= "2023-10-01"^^xsd:date && ?d < "2023-10-01"^^xsd:date + "P3M"^^xsd:duration) }`;
    const r = await first.select(q);
    expect(r.head.vars).toEqual(['p', 'naam']);
    expect(r.results.bindings).toEqual([{ p: { type: 'uri', value: 'urn:kikv:p1' }, naam: { type: 'literal', value: 'Één' } }]);

    // A new engine (as in a later run) finds the store by the snapshot's hash and does not rebuild it;
    // load(string) of the same content keys on the same hash.
    const second = createEngine('jena', { dataDir }) as JenaTdb2Engine;
    const t0 = Date.now();
    await second.load(LINES.map((l) => `${l}\n`).sort().join(''));
    expect(second.lastLoadBuilt).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(readdirSync(storeRoot)).toEqual([hash]);
    const langs = await second.select('SELECT ?naam (LANG(?naam) AS ?taal) WHERE { <urn:kikv:p2> <urn:kikv:naam> ?naam }');
    expect(langs.results.bindings).toEqual([{ naam: { type: 'literal', value: 'Twee', 'xml:lang': 'nl' }, taal: { type: 'literal', value: 'nl' } }]);
  }, 240_000);

  it('agrees with the in-process engines loading the same snapshot file', async () => {
    const q = 'SELECT ?p ?naam ?d WHERE { ?p <urn:kikv:naam> ?naam OPTIONAL { ?p <urn:kikv:start> ?d } } ORDER BY ?p';
    const results = [];
    for (const name of ['jena', 'oxigraph', 'comunica']) {
      const e = createEngine(name, { dataDir });
      await e.loadFile(file);
      results.push((await e.select(q)).results.bindings);
    }
    expect(results[0]).toHaveLength(2);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  }, 120_000);

  it('loading another snapshot answers from the new store, and switching back from the old one', async () => {
    const e = createEngine('jena', { dataDir });
    const count = async () => (await e.select('SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }')).results.bindings[0]!.n!.value;
    await e.loadFile(file);
    expect(await count()).toBe(String(LINES.length));
    await e.load('<urn:kikv:other> <urn:kikv:naam> "Ander" .\n');
    expect(await count()).toBe('1');
    expect(readdirSync(join(dataDir, 'engines', 'tdb2'))).toHaveLength(2);
    await e.loadFile(file);
    expect(await count()).toBe(String(LINES.length));
  }, 180_000);

  it('a query Jena rejects fails with its parse message, in the long-lived JVM and with one tdbquery per select', async () => {
    const storeRoot = join(dataDir, 'engines', 'tdb2');
    for (const server of [true, false]) {
      const e = new JenaTdb2Engine({ storeRoot, server });
      await e.loadFile(file);
      await expect(e.select('SELECT ?x WHERE { ?x ?y }')).rejects.toThrow(/jena: query failed.*Encountered .* at line 1/s);
      // The JVM survives a bad query.
      const r = await e.select('SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }');
      expect(r.results.bindings[0]!.n!.value).toBe(String(LINES.length));
      // TDB2 lets one process at a time open a store: release it before tdbquery opens it.
      await e.close();
    }
  }, 180_000);
});
