import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVirtuoso, type VirtuosoServer } from '../src/conformance/virtuoso.js';
import { availableEngines, createEngine } from '../src/engines/registry.js';
import { RemoteEngineError, RemoteQueryEngine } from '../src/engines/remote.js';
import type { SparqlJsonResults } from '../src/engines/types.js';
import { normaliseQuery } from '../src/sparql/normalise.js';
import { snapshotFile, storeSnapshotFromLines } from '../src/store/snapshot.js';
import { tempDir } from './helpers.js';

/**
 * The remote engine against a real Virtuoso (Debian's virtuoso-opensource, started on loopback by
 * startVirtuoso): Graph Store upload with digest authentication, SPARQL Protocol queries, and one
 * known Virtuoso defect (docs/research/engine-anchors.md §7) pinned raw and after the normaliser.
 */

const XSD = 'http://www.w3.org/2001/XMLSchema#';
const PASSWORD_ENV = 'KIKV_TEST_VIRTUOSO_PASSWORD';
const LINES = [
  `<urn:kikv:v1> <urn:kikv:naam> "Vestiging Één" .`,
  `<urn:kikv:v1> <urn:kikv:datum> "2023-10-15"^^<${XSD}date> .`,
  `<urn:kikv:v1> <urn:kikv:uren> "36.5"^^<${XSD}decimal> .`,
  `<urn:kikv:v2> <urn:kikv:naam> "Vestiging Twee"@nl .`,
  `<urn:kikv:v2> <urn:kikv:datum> "2024-02-01"^^<${XSD}date> .`,
  `<urn:kikv:v2> <urn:kikv:uren> "12"^^<${XSD}integer> .`,
];

let server: VirtuosoServer;
let file: string;

beforeAll(async () => {
  server = await startVirtuoso();
  process.env[PASSWORD_ENV] = server.password;
  const dataDir = tempDir('kikv-remote-');
  const meta = await storeSnapshotFromLines(dataDir, LINES, { createdAt: '2024-01-08T00:00:00Z', ontology: { name: 'onz', version: 'test' }, mappingRules: { file: 'none', sha256: 'none' }, source: 'test' });
  file = snapshotFile(dataDir, meta.hash);
}, 180_000);

afterAll(async () => {
  await server?.stop();
  delete process.env[PASSWORD_ENV];
});

function remote(extra: Record<string, unknown> = {}) {
  return createEngine('remote', { remote: { endpoint: server.endpoint, graphStore: server.graphStore, user: server.user, passwordEnv: PASSWORD_ENV, ...extra } });
}

function rows(r: SparqlJsonResults, ...vars: string[]): string[][] {
  return r.results.bindings.map((b) => vars.map((v) => b[v]?.value ?? 'unbound'));
}

describe('remote engine on Virtuoso', () => {
  it('is available only when an endpoint is configured', async () => {
    expect((await availableEngines()).find((e) => e.name === 'remote')).toMatchObject({ available: false, reason: expect.stringContaining('engines.remote.endpoint') });
    expect((await availableEngines({ remote: { endpoint: server.endpoint } })).find((e) => e.name === 'remote')?.available).toBe(true);
  });

  it('uploads a snapshot file through the Graph Store Protocol (digest auth) and answers SELECTs in the in-process engines\' shape', async () => {
    const e = remote();
    await e.loadFile(file);
    const r = await e.select('SELECT ?v ?naam ?uren WHERE { ?v <urn:kikv:naam> ?naam ; <urn:kikv:uren> ?uren } ORDER BY ?v');
    expect(r.head.vars).toEqual(['v', 'naam', 'uren']);
    expect(r.results.bindings).toEqual([
      { v: { type: 'uri', value: 'urn:kikv:v1' }, naam: { type: 'literal', value: 'Vestiging Één' }, uren: { type: 'literal', value: '36.5', datatype: `${XSD}decimal` } },
      { v: { type: 'uri', value: 'urn:kikv:v2' }, naam: { type: 'literal', value: 'Vestiging Twee', 'xml:lang': 'nl' }, uren: { type: 'literal', value: '12', datatype: `${XSD}integer` } },
    ]);
    const sum = await e.select('SELECT (SUM(?u) AS ?totaal) (COUNT(*) AS ?n) WHERE { ?v <urn:kikv:uren> ?u }');
    expect(Number(sum.results.bindings[0]!.totaal!.value)).toBe(48.5);
    expect(sum.results.bindings[0]!.n!.value).toBe('2');
  });

  it('a second load replaces the graph, and other graphs on the endpoint stay out of the answers', async () => {
    const e = remote();
    await e.loadFile(file);
    const other = remote({ graph: 'urn:kikv:other' });
    await other.load('<urn:kikv:x> <urn:kikv:naam> "Elders" .\n');
    expect(rows(await e.select('SELECT ?naam WHERE { ?v <urn:kikv:naam> ?naam } ORDER BY ?v'), 'naam')).toEqual([['Vestiging Één'], ['Vestiging Twee']]);
    await e.load('<urn:kikv:v9> <urn:kikv:naam> "Nieuw" .\n');
    expect(rows(await e.select('SELECT ?naam WHERE { ?v <urn:kikv:naam> ?naam }'), 'naam')).toEqual([['Nieuw']]);
    expect(rows(await other.select('SELECT ?naam WHERE { ?v <urn:kikv:naam> ?naam }'), 'naam')).toEqual([['Elders']]);
  });

  it('read-only: never uploads, refuses an empty graph with the fix, and queries what the endpoint holds', async () => {
    await remote().loadFile(file);
    const ro = remote({ readOnly: true });
    await ro.loadFile('/nonexistent/snapshot.nq');
    expect(rows(await ro.select('SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }'), 'n')).toEqual([[String(LINES.length)]]);
    await expect(remote({ readOnly: true, graph: 'urn:kikv:empty' }).loadFile(file)).rejects.toThrow(/is empty, and engines.remote.readOnly is set/);
  });

  it('pins Virtuoso\'s date + xsd:duration defect: raw empty, normalised (constants folded) right', async () => {
    const e = remote();
    await e.loadFile(file);
    const raw = `PREFIX xsd: <${XSD}>
SELECT ?v WHERE { ?v <urn:kikv:datum> ?d FILTER(?d >= "2023-10-01"^^xsd:date && ?d < "2023-10-01"^^xsd:date + "P3M"^^xsd:duration) }`;
    // Virtuoso 7.2 evaluates date + xsd:duration to nothing, so the quarter filter drops every row.
    expect(rows(await e.select(raw), 'v')).toEqual([]);
    const bound = `PREFIX xsd: <${XSD}>\nSELECT ?end WHERE { BIND("2023-10-01"^^xsd:date + "P3M"^^xsd:duration AS ?end) }`;
    expect(rows(await e.select(bound), 'end')).toEqual([['unbound']]);
    const { text, applied } = normaliseQuery(raw, {}, 'generic');
    expect(applied.some((a) => a.startsWith('fold:'))).toBe(true);
    expect(rows(await e.select(text), 'v')).toEqual([['urn:kikv:v1']]);
  });

  it('errors name the HTTP status, the endpoint\'s message and what to check', async () => {
    process.env.KIKV_TEST_WRONG_PASSWORD = 'wrong';
    try {
      const bad = createEngine('remote', { remote: { endpoint: server.endpoint, graphStore: server.graphStore, user: server.user, passwordEnv: 'KIKV_TEST_WRONG_PASSWORD' } });
      const err = await bad.loadFile(file).then(() => undefined, (x: unknown) => x);
      expect(err).toBeInstanceOf(RemoteEngineError);
      expect((err as RemoteEngineError).status).toBe(401);
      expect((err as Error).message).toMatch(/HTTP 401.*\$KIKV_TEST_WRONG_PASSWORD/);
    } finally {
      delete process.env.KIKV_TEST_WRONG_PASSWORD;
    }
    const e = remote();
    await expect(e.select('SELECT ?x WHERE { ?x ?y }')).rejects.toThrow(/HTTP 400.*SP030|HTTP 400.*syntax/i);
    expect(() => createEngine('remote', { remote: { endpoint: server.endpoint, user: 'dba', passwordEnv: 'KIKV_TEST_UNSET_VARIABLE' } })).toThrow(/KIKV_TEST_UNSET_VARIABLE .* is not set/);
    const closed = new RemoteQueryEngine({ endpoint: 'http://127.0.0.1:9/sparql', timeoutMs: 5000 });
    await expect(closed.select('SELECT * WHERE { ?s ?p ?o }')).rejects.toThrow(/cannot reach http:\/\/127.0.0.1:9 .*check that the endpoint is running/);
    await expect(remote().loadFile(join(tempDir(), 'missing.nq'))).rejects.toThrow(/cannot read .*missing.nq/);
  });
});
