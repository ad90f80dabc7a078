/**
 * Runs the W3C SPARQL 1.1 query evaluation tests (../shared/conformance/w3c-sparql11, read in place)
 * through our QueryEngine interface for each in-process engine (Comunica, Oxigraph), with the query
 * normaliser (src/sparql/normalise.ts, no parameters, the engine's profile) in between, exactly as
 * pack and official queries run. When a test fails, the raw query is tried too: a failure that the
 * raw query does not have is reported as a normaliser regression.
 *
 * Scope: the mf:QueryEvaluationTest entries of the SPARQL 1.1 Query folders listed in QUERY_FOLDERS
 * (all of manifest-sparql11-query.ttl except syntax-query, which has no evaluation tests).
 *   - Data: qt:data (Turtle or RDF/XML) goes into the default graph, every qt:graphData file into a
 *     named graph named by the file's IRI; both are turned into N-Quads and passed to `load`.
 *     IRIs are resolved against the suite's published URL (https://w3c.github.io/rdf-tests/sparql/sparql11/).
 *   - Only SELECT queries run: QueryEngine has no ask/construct, so ASK, CONSTRUCT and DESCRIBE tests
 *     are "not applicable". Tests with service data or an entailment regime are not applicable too.
 *   - Expected results: .srx (SPARQL XML), .srj (SPARQL JSON) and .ttl (RDF result sets).
 *   - Comparison: solutions as a multiset, blank nodes up to a consistent bijection; in order when
 *     the query has ORDER BY. Numeric literals of the same datatype compare by value ("1.0" = "1.00"
 *     as xsd:decimal); everything else compares exactly; plain literals are xsd:string.
 *   - Each query gets QUERY_TIMEOUT_MS. Comunica is interrupted by the timeout; Oxigraph evaluates
 *     synchronously (WASM) and cannot be interrupted, so a query that ran longer is failed afterwards.
 *
 * conformance/sparql-expected-failures.json lists, per engine, the test ids ("folder/name") known to
 * fail. The run is enforced: an unlisted failure, or a listed test that now passes, makes it fail.
 *
 *   npm run conformance:sparql    prints per engine "<engine>: N passed, M failed, K skipped" (skipped = not applicable)
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import oxigraph from 'oxigraph';
import { DataFactory, Parser, Store, Writer, type Quad, type Term } from 'n3';
import { ComunicaQueryEngine } from '../engines/comunica.js';
import { OxigraphQueryEngine } from '../engines/oxigraph.js';
import type { QueryEngine, SparqlJsonResults, SparqlJsonTerm } from '../engines/types.js';
import { normaliserEngine } from '../indicators/pack.js';
import { normaliseQuery } from '../sparql/normalise.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const suiteRoot = resolve(repoRoot, '../shared/conformance/w3c-sparql11');
export const expectedFailuresPath = join(repoRoot, 'conformance/sparql-expected-failures.json');
export const SUITE_BASE = 'https://w3c.github.io/rdf-tests/sparql/sparql11/';

export const QUERY_FOLDERS = [
  'aggregates',
  'bind',
  'bindings',
  'cast',
  'construct',
  'exists',
  'functions',
  'grouping',
  'negation',
  'project-expression',
  'property-path',
  'subquery',
];

export const ENGINES: Record<string, () => QueryEngine> = {
  comunica: () => new ComunicaQueryEngine(),
  oxigraph: () => new OxigraphQueryEngine(),
};

const QUERY_TIMEOUT_MS = 10_000;

const MF = 'http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#';
const QT = 'http://www.w3.org/2001/sw/DataAccess/tests/test-query#';
const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';
const RS = 'http://www.w3.org/2001/sw/DataAccess/tests/result-set#';
const XSD = 'http://www.w3.org/2001/XMLSchema#';

export type TestStatus = 'passed' | 'failed' | 'not applicable';

export interface TestResult {
  /** "folder/name", e.g. "aggregates/agg01". */
  id: string;
  iri: string;
  status: TestStatus;
  reason?: string;
  ms: number;
}

export interface EngineResult {
  engine: string;
  passed: number;
  failed: number;
  notApplicable: number;
  tests: TestResult[];
  /** Failures not listed in the expected-failures file. */
  unexpectedFailures: string[];
  /** Listed expected failures that passed (or were not run as applicable). */
  unexpectedPasses: string[];
}

export interface SparqlConformanceOptions {
  engines?: string[];
  folders?: string[];
  /** Only these test ids ("folder/name"). */
  tests?: string[];
  /** Defaults to conformance/sparql-expected-failures.json. */
  expectedFailures?: Record<string, string[]>;
  queryTimeoutMs?: number;
  /** Engine factories by name (default ENGINES); the engine's `name` picks the normaliser profile. */
  engineFactories?: Record<string, () => QueryEngine>;
}

interface TestCase {
  id: string;
  iri: string;
  folder: string;
  queryFile: string;
  dataFiles: string[];
  graphDataFiles: Array<{ file: string; iri: string }>;
  resultFile?: string;
  notApplicable?: string;
}

export function readExpectedFailures(path = expectedFailuresPath): Record<string, string[]> {
  if (!existsSync(path)) return {};
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, string[]>;
}

export async function runSparqlConformance(options: SparqlConformanceOptions = {}): Promise<EngineResult[]> {
  if (!existsSync(suiteRoot)) throw new Error(`SPARQL test suite ${suiteRoot} not found (expected in ../shared/conformance/w3c-sparql11)`);
  const expected = options.expectedFailures ?? readExpectedFailures();
  const cases: TestCase[] = [];
  for (const folder of options.folders ?? QUERY_FOLDERS) cases.push(...readManifest(folder));
  const selected = options.tests ? cases.filter((c) => options.tests!.includes(c.id)) : cases;
  const out: EngineResult[] = [];
  const factories = options.engineFactories ?? ENGINES;
  for (const name of options.engines ?? Object.keys(factories)) {
    const make = factories[name];
    if (!make) throw new Error(`unknown engine ${name}; known: ${Object.keys(factories).join(', ')}`);
    const engine = make();
    const tests: TestResult[] = [];
    for (const c of selected) {
      const started = Date.now();
      let r: { status: TestStatus; reason?: string };
      try {
        r = await runTest(engine, c, options.queryTimeoutMs ?? QUERY_TIMEOUT_MS);
      } catch (e) {
        r = { status: 'failed', reason: `runner error: ${(e as Error).message}` };
      }
      tests.push({ id: c.id, iri: c.iri, ...r, ms: Date.now() - started });
    }
    const listed = new Set(expected[name] ?? []);
    const isListed = (t: TestResult) => listed.has(t.id) || listed.has(t.iri);
    const ran = new Set(tests.flatMap((t) => [t.id, t.iri]));
    out.push({
      engine: name,
      passed: tests.filter((t) => t.status === 'passed').length,
      failed: tests.filter((t) => t.status === 'failed').length,
      notApplicable: tests.filter((t) => t.status === 'not applicable').length,
      tests,
      unexpectedFailures: tests.filter((t) => t.status === 'failed' && !isListed(t)).map((t) => t.id),
      // A listed test only counts as "now passing" when it was part of this run.
      unexpectedPasses: [...listed].filter((id) => ran.has(id) && !tests.some((t) => (t.id === id || t.iri === id) && t.status === 'failed')),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Manifests

function readManifest(folder: string): TestCase[] {
  const path = join(suiteRoot, folder, 'manifest.ttl');
  const base = `${SUITE_BASE}${folder}/manifest.ttl`;
  const store = new Store(new Parser({ baseIRI: base }).parse(readFileSync(path, 'utf8')));
  const one = (s: Term, p: string): Term | undefined => store.getObjects(s, DataFactory.namedNode(p), null)[0];
  const all = (s: Term, p: string): Term[] => store.getObjects(s, DataFactory.namedNode(p), null);
  const manifest = store.getSubjects(DataFactory.namedNode(`${RDF}type`), DataFactory.namedNode(`${MF}Manifest`), null)[0];
  if (!manifest) throw new Error(`${path}: no mf:Manifest`);
  const entries = listItems(store, one(manifest, `${MF}entries`));
  const cases: TestCase[] = [];
  for (const entry of entries) {
    if (!store.has(DataFactory.quad(entry as Quad['subject'], DataFactory.namedNode(`${RDF}type`), DataFactory.namedNode(`${MF}QueryEvaluationTest`)))) continue;
    const iri = entry.value;
    const id = `${folder}/${iri.slice(iri.lastIndexOf('#') + 1)}`;
    const action = one(entry, `${MF}action`);
    if (!action) throw new Error(`${id}: no mf:action`);
    const local = (t: Term | undefined): string | undefined => (t && t.termType === 'NamedNode' ? toLocal(t.value) : undefined);
    const queryFile = local(one(action, `${QT}query`));
    if (!queryFile) throw new Error(`${id}: no qt:query`);
    const c: TestCase = {
      id,
      iri,
      folder,
      queryFile,
      dataFiles: all(action, `${QT}data`).map((t) => local(t)!).filter(Boolean),
      graphDataFiles: all(action, `${QT}graphData`).filter((t) => t.termType === 'NamedNode').map((t) => ({ file: toLocal(t.value), iri: t.value })),
      resultFile: local(one(entry, `${MF}result`)),
    };
    if (all(action, `${QT}serviceData`).length > 0) c.notApplicable = 'uses SERVICE data (federation)';
    else if (one(action, 'http://www.w3.org/ns/sparql-service-description#entailmentRegime')) c.notApplicable = 'uses an entailment regime';
    else if (!c.resultFile) c.notApplicable = 'no expected result file';
    cases.push(c);
  }
  return cases;
}

function listItems(store: Store, head: Term | undefined): Term[] {
  const items: Term[] = [];
  let node = head;
  while (node && node.value !== `${RDF}nil`) {
    const first = store.getObjects(node, DataFactory.namedNode(`${RDF}first`), null)[0];
    if (first) items.push(first);
    node = store.getObjects(node, DataFactory.namedNode(`${RDF}rest`), null)[0];
  }
  return items;
}

function toLocal(iri: string): string {
  for (const prefix of [SUITE_BASE, SUITE_BASE.replace('https:', 'http:')]) {
    if (iri.startsWith(prefix)) return join(suiteRoot, decodeURIComponent(iri.slice(prefix.length)));
  }
  throw new Error(`${iri} is outside the test suite`);
}

function toSuiteIri(file: string): string {
  return SUITE_BASE + file.slice(suiteRoot.length + 1).split('\\').join('/');
}

// ---------------------------------------------------------------------------------------------
// One test

async function runTest(engine: QueryEngine, c: TestCase, timeoutMs: number): Promise<{ status: TestStatus; reason?: string }> {
  if (c.notApplicable) return { status: 'not applicable', reason: c.notApplicable };
  const query = readFileSync(c.queryFile, 'utf8');
  const form = queryForm(query);
  if (form !== 'SELECT') return { status: 'not applicable', reason: `${form ?? 'unknown'} query (QueryEngine runs SELECT only)` };
  if (/\bFROM\b/i.test(stripForKeywords(query))) return { status: 'not applicable', reason: 'FROM / FROM NAMED dataset clauses are not supported by QueryEngine' };
  const expected = readExpectedResults(c.resultFile!);
  if (expected === 'boolean') return { status: 'not applicable', reason: 'boolean result (ASK)' };

  const quads: Quad[] = [];
  for (const f of c.dataFiles) quads.push(...parseRdf(f));
  for (const g of c.graphDataFiles) {
    const graph = DataFactory.namedNode(g.iri);
    for (const q of parseRdf(g.file)) quads.push(DataFactory.quad(q.subject, q.predicate, q.object, graph));
  }
  await engine.load(new Writer({ format: 'N-Quads' }).quadsToString(quads));

  // The same path a pack or official query takes: the normaliser (no parameters) with the engine's
  // profile, then the engine. A test that fails here but passes raw points at the normaliser.
  const raw = `BASE <${toSuiteIri(c.queryFile)}>\n${query}`;
  const ordered = /\bORDER\s+BY\b/i.test(stripForKeywords(query));
  let normalised: string;
  try {
    normalised = normaliseQuery(raw, {}, normaliserEngine(engine.name)).text;
  } catch (e) {
    return { status: 'failed', reason: `normaliser error: ${firstLine((e as Error).message)}` };
  }
  const reason = await evaluate(engine, normalised, expected, ordered, timeoutMs);
  if (!reason) return { status: 'passed' };
  // Tell a normaliser regression apart from an engine defect: does the engine pass the raw query?
  const rawReason = await evaluate(engine, raw, expected, ordered, timeoutMs);
  return { status: 'failed', reason: rawReason ? reason : `normaliser regression (the raw query passes): ${reason}` };
}

/** Runs one query and compares; undefined when it matches the expected results, else why not. */
async function evaluate(engine: QueryEngine, query: string, expected: ResultSet, ordered: boolean, timeoutMs: number): Promise<string | undefined> {
  const started = Date.now();
  let actual: SparqlJsonResults;
  try {
    actual = await withTimeout(engine.select(query), timeoutMs);
  } catch (e) {
    return `error: ${firstLine((e as Error).message)}`;
  }
  if (Date.now() - started > timeoutMs) return `timeout: took ${Date.now() - started} ms (limit ${timeoutMs} ms)`;
  return compareResults(expected, actual, ordered);
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? '').slice(0, 300);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms`)), ms);
    }),
  ]);
}

/** Query text without comments, IRIs and string literals, for keyword tests. */
function stripForKeywords(q: string): string {
  return q
    .replace(/("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')/g, '""')
    .replace(/<[^<>\s]*>/g, '<>')
    .replace(/#[^\n]*/g, '');
}

function queryForm(q: string): string | undefined {
  return /\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i.exec(stripForKeywords(q))?.[1]?.toUpperCase();
}

function parseRdf(file: string): Quad[] {
  const text = readFileSync(file, 'utf8');
  const base = toSuiteIri(file);
  if (file.endsWith('.rdf')) {
    // RDF/XML: parsed by Oxigraph, re-created as n3 terms.
    return oxigraph.parse(text, { format: 'application/rdf+xml', base_iri: base }).map((q) =>
      DataFactory.quad(n3Term(q.subject) as Quad['subject'], n3Term(q.predicate) as Quad['predicate'], n3Term(q.object) as Quad['object']),
    );
  }
  if (!file.endsWith('.ttl') && !file.endsWith('.nt')) throw new Error(`unsupported data file ${file}`);
  return new Parser({ baseIRI: base, format: file.endsWith('.nt') ? 'N-Triples' : 'Turtle' }).parse(text);
}

function n3Term(t: oxigraph.Term): Term {
  switch (t.termType) {
    case 'NamedNode':
      return DataFactory.namedNode(t.value);
    case 'BlankNode':
      return DataFactory.blankNode(t.value);
    case 'Literal':
      return t.language ? DataFactory.literal(t.value, t.language) : DataFactory.literal(t.value, DataFactory.namedNode(t.datatype.value));
    default:
      throw new Error(`unexpected term ${t.termType} in RDF/XML data`);
  }
}

// ---------------------------------------------------------------------------------------------
// Expected results

export type Row = Record<string, SparqlJsonTerm>;
export interface ResultSet {
  vars: string[];
  rows: Row[];
}

function readExpectedResults(file: string): ResultSet | 'boolean' {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.srj')) {
    const j = JSON.parse(text) as { head?: { vars?: string[] }; results?: { bindings: Row[] }; boolean?: boolean };
    if (typeof j.boolean === 'boolean') return 'boolean';
    return { vars: j.head?.vars ?? [], rows: (j.results?.bindings ?? []).map(normaliseRow) };
  }
  if (file.endsWith('.srx')) return parseSrx(text);
  if (file.endsWith('.ttl')) return parseRdfResultSet(text, toSuiteIri(file));
  throw new Error(`unsupported result file ${file}`);
}

function xmlDecode(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

function attr(attrs: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${name.replace(':', '\\:')}\\s*=\\s*("([^"]*)"|'([^']*)')`).exec(attrs);
  return m ? xmlDecode(m[2] ?? m[3] ?? '') : undefined;
}

/** A small SPARQL Query Results XML reader (the format is flat and fixed). */
function parseSrx(xml: string): ResultSet | 'boolean' {
  const body = xml.replace(/<!--[\s\S]*?-->/g, '');
  if (/<boolean>/.test(body)) return 'boolean';
  const vars = [...body.matchAll(/<variable\s([^>]*?)\/?>/g)].map((m) => attr(m[1]!, 'name')!);
  const rows: Row[] = [];
  for (const r of body.matchAll(/<result\s*>([\s\S]*?)<\/result>|<result\s*\/>/g)) {
    const row: Row = {};
    for (const b of (r[1] ?? '').matchAll(/<binding\s([^>]*)>([\s\S]*?)<\/binding>/g)) {
      const name = attr(b[1]!, 'name')!;
      const inner = b[2]!.trim();
      let m: RegExpExecArray | null;
      if ((m = /^<uri>([\s\S]*)<\/uri>$/.exec(inner))) row[name] = { type: 'uri', value: xmlDecode(m[1]!) };
      else if ((m = /^<bnode>([\s\S]*)<\/bnode>$/.exec(inner))) row[name] = { type: 'bnode', value: xmlDecode(m[1]!) };
      else if ((m = /^<literal([^>]*?)(?:\/>|>([\s\S]*?)<\/literal>)$/.exec(inner))) {
        const value = xmlDecode(m[2] ?? '');
        const lang = attr(m[1]!, 'xml:lang');
        const datatype = attr(m[1]!, 'datatype');
        row[name] = normaliseTerm(lang ? { type: 'literal', value, 'xml:lang': lang } : datatype ? { type: 'literal', value, datatype } : { type: 'literal', value });
      } else throw new Error(`unreadable SRX binding ${inner.slice(0, 80)}`);
    }
    rows.push(row);
  }
  return { vars, rows };
}

/** An RDF-encoded result set (rs:ResultSet vocabulary), as in a few .ttl result files. */
function parseRdfResultSet(text: string, base: string): ResultSet | 'boolean' {
  const store = new Store(new Parser({ baseIRI: base }).parse(text));
  const nn = (p: string) => DataFactory.namedNode(RS + p);
  const rs = store.getSubjects(DataFactory.namedNode(`${RDF}type`), nn('ResultSet'), null)[0];
  if (!rs) throw new Error('result file is an RDF graph, not a result set (CONSTRUCT/DESCRIBE)');
  if (store.getObjects(rs, nn('boolean'), null).length > 0) return 'boolean';
  const vars = store.getObjects(rs, nn('resultVariable'), null).map((t) => t.value);
  const rows: Row[] = [];
  for (const sol of store.getObjects(rs, nn('solution'), null)) {
    const row: Row = {};
    for (const b of store.getObjects(sol, nn('binding'), null)) {
      const v = store.getObjects(b, nn('variable'), null)[0];
      const val = store.getObjects(b, nn('value'), null)[0];
      if (v && val) row[v.value] = termToJson(val);
    }
    const index = store.getObjects(sol, nn('index'), null)[0];
    rows.push(index ? { ...row, '\u0000index': { type: 'literal', value: index.value } } : row);
  }
  if (rows.some((r) => r['\u0000index'])) rows.sort((a, b) => Number(a['\u0000index']?.value) - Number(b['\u0000index']?.value));
  for (const r of rows) delete r['\u0000index'];
  return { vars, rows };
}

function termToJson(t: Term): SparqlJsonTerm {
  if (t.termType === 'NamedNode') return { type: 'uri', value: t.value };
  if (t.termType === 'BlankNode') return { type: 'bnode', value: t.value };
  if (t.termType === 'Literal') {
    const l = t as Term & { language: string; datatype: { value: string } };
    return normaliseTerm(l.language ? { type: 'literal', value: l.value, 'xml:lang': l.language } : { type: 'literal', value: l.value, datatype: l.datatype.value });
  }
  throw new Error(`unexpected ${t.termType} in a result set`);
}

function normaliseTerm(t: SparqlJsonTerm): SparqlJsonTerm {
  if (t.type === 'literal') {
    if (t['xml:lang']) return { type: 'literal', value: t.value, 'xml:lang': t['xml:lang'].toLowerCase() };
    if (!t.datatype || t.datatype === `${XSD}string`) return { type: 'literal', value: t.value };
    return { type: 'literal', value: t.value, datatype: t.datatype };
  }
  // SPARQL JSON 'typed-literal' (old form) is not produced by our engines; keep as is.
  return t;
}

function normaliseRow(row: Row): Row {
  return Object.fromEntries(Object.entries(row).map(([k, t]) => [k, normaliseTerm(t)]));
}

// ---------------------------------------------------------------------------------------------
// Comparison

const NUMERIC = new Set(['integer', 'decimal', 'float', 'double'].map((t) => XSD + t));

function termKey(t: SparqlJsonTerm): string {
  if (t.type === 'uri') return `<${t.value}>`;
  if (t.type === 'bnode') return '_:';
  if (t['xml:lang']) return `${JSON.stringify(t.value)}@${t['xml:lang'].toLowerCase()}`;
  if (t.datatype && NUMERIC.has(t.datatype)) {
    const n = Number(t.value.trim().replace(/^\+/, ''));
    if (!Number.isNaN(n) || /^\s*NaN\s*$/.test(t.value)) return `${Number.isNaN(n) ? 'NaN' : String(n)}^^${t.datatype}`;
  }
  return `${JSON.stringify(t.value)}^^${t.datatype ?? XSD + 'string'}`;
}

/** Key of a row with blank nodes abstracted away. */
function rowKey(row: Row, vars: string[]): string {
  return vars.map((v) => (row[v] ? termKey(row[v]) : '')).join('\t');
}

function showRow(row: Row): string {
  return (
    '{' +
    Object.entries(row)
      .map(([k, t]) => `${k}=${t.type === 'bnode' ? `_:${t.value}` : termKey(t)}`)
      .join(' ') +
    '}'
  );
}

/** Returns undefined when equal, else a short description of the difference. */
export function compareResults(expected: ResultSet, actual: SparqlJsonResults, ordered: boolean): string | undefined {
  const actualRows = actual.results.bindings.map(normaliseRow);
  const ev = [...expected.vars].sort();
  const av = [...actual.head.vars].sort();
  if (ev.join(',') !== av.join(',')) return `variables differ: expected [${ev.join(', ')}], got [${av.join(', ')}]`;
  const vars = ev;
  if (expected.rows.length !== actualRows.length) return `expected ${expected.rows.length} rows, got ${actualRows.length}: ${sample(expected.rows, actualRows, vars)}`;
  // Quick multiset check with blank nodes abstracted away.
  const count = new Map<string, number>();
  for (const r of expected.rows) count.set(rowKey(r, vars), (count.get(rowKey(r, vars)) ?? 0) + 1);
  for (const r of actualRows) {
    const k = rowKey(r, vars);
    const n = count.get(k) ?? 0;
    if (n === 0) return `unexpected row ${showRow(r)}; ${sample(expected.rows, actualRows, vars)}`;
    count.set(k, n - 1);
  }
  if (ordered) {
    for (let i = 0; i < actualRows.length; i++) {
      if (rowKey(expected.rows[i]!, vars) !== rowKey(actualRows[i]!, vars)) {
        return `order differs at row ${i}: expected ${showRow(expected.rows[i]!)}, got ${showRow(actualRows[i]!)}`;
      }
    }
  }
  const hasBnodes = expected.rows.some((r) => Object.values(r).some((t) => t.type === 'bnode'));
  if (!hasBnodes) return undefined;
  return matchWithBnodes(expected.rows, actualRows, vars, ordered) ? undefined : 'rows match only without a consistent blank-node mapping';
}

function sample(expected: Row[], actual: Row[], vars: string[]): string {
  const e = expected.slice(0, 3).map(showRow).join(', ');
  const a = actual.slice(0, 3).map(showRow).join(', ');
  void vars;
  return `expected [${e}${expected.length > 3 ? ', ...' : ''}], got [${a}${actual.length > 3 ? ', ...' : ''}]`;
}

/** Backtracking search for a row matching under one blank-node bijection. */
function matchWithBnodes(expected: Row[], actual: Row[], vars: string[], ordered: boolean): boolean {
  const e2a = new Map<string, string>();
  const a2e = new Map<string, string>();
  const used = new Array<boolean>(actual.length).fill(false);
  let steps = 0;
  const tryRow = (e: Row, a: Row): string[] | undefined => {
    const added: string[] = [];
    for (const v of vars) {
      const et = e[v];
      const at = a[v];
      if (!et || !at) continue;
      if (et.type !== 'bnode') continue;
      const m = e2a.get(et.value);
      if (m !== undefined) {
        if (m !== at.value) return undo(added);
        continue;
      }
      if (a2e.has(at.value)) return undo(added);
      e2a.set(et.value, at.value);
      a2e.set(at.value, et.value);
      added.push(et.value);
    }
    return added;
  };
  const undo = (added: string[]): undefined => {
    for (const k of added) {
      a2e.delete(e2a.get(k)!);
      e2a.delete(k);
    }
    return undefined;
  };
  const go = (i: number): boolean => {
    if (i === expected.length) return true;
    if (++steps > 200_000) return false;
    const e = expected[i]!;
    const key = rowKey(e, vars);
    for (let j = ordered ? i : 0; j < (ordered ? i + 1 : actual.length); j++) {
      if (used[j] || rowKey(actual[j]!, vars) !== key) continue;
      const added = tryRow(e, actual[j]!);
      if (!added) continue;
      used[j] = true;
      if (go(i + 1)) return true;
      used[j] = false;
      undo(added);
    }
    return false;
  };
  return go(0);
}

// ---------------------------------------------------------------------------------------------
// Report

export function formatReport(results: EngineResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    // "<engine>: N passed, M failed, K skipped" is the plain closing-line form CI reads; skipped = not applicable.
    lines.push(`${r.engine}: ${r.passed} passed, ${r.failed} failed, ${r.notApplicable} skipped`);
    lines.push(`  (${r.notApplicable} not applicable: ASK/CONSTRUCT/DESCRIBE, FROM clauses, SERVICE, entailment)`);
    for (const t of r.tests.filter((x) => x.status === 'failed')) lines.push(`  FAIL ${t.id}: ${t.reason ?? ''}`);
    if (r.unexpectedFailures.length) lines.push(`  unexpected failures (not in conformance/sparql-expected-failures.json): ${r.unexpectedFailures.join(', ')}`);
    if (r.unexpectedPasses.length) lines.push(`  listed as expected failures but passed (remove them from the list): ${r.unexpectedPasses.join(', ')}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1]?.split(',') : undefined;
  };
  const results = await runSparqlConformance({ engines: opt('--engines'), folders: opt('--folders'), tests: opt('--tests') });
  console.log(formatReport(results));
  if (args.includes('--write-expected')) {
    const current = readExpectedFailures();
    for (const r of results) current[r.engine] = r.tests.filter((t) => t.status === 'failed').map((t) => t.id);
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync(dirname(expectedFailuresPath), { recursive: true });
    writeFileSync(expectedFailuresPath, JSON.stringify(current, null, 2) + '\n');
    console.log(`wrote ${expectedFailuresPath}`);
    return;
  }
  if (results.some((r) => r.unexpectedFailures.length > 0 || r.unexpectedPasses.length > 0)) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
