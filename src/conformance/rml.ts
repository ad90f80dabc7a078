/**
 * Runs the W3C KG-Construct RML conformance cases (../shared/conformance, read in place) against our
 * engine and compares the output with the expected N-Quads as RDF datasets (blank nodes up to
 * isomorphism). Folders:
 *   rml-core/            current RML-Core cases (JSON), base IRI http://example.com/
 *   rml-core-csv-legacy/ the frozen CSV variants, base IRI http://example.com/base/
 *   rml-io/              RMLSTC* source cases; XML, compressed, SPARQL and remote sources are "not
 *                        applicable" (the engine reads CSV, JSON and PostgreSQL); the PostgreSQL case
 *                        runs against a throwaway cluster (rml-database.ts).
 *
 *   npm run conformance:rml      prints per folder "RML: N passed, M failed" and every failure
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { compileMapping, runMapping, type CompiledMapping, type OpenSource } from '../mapping/rml/index.js';
import { RmlError, RmlNotSupportedError } from '../mapping/rml/errors.js';
import { SourceFileError } from '../sources/csv.js';
import { databaseCaseSources } from './rml-database.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const conformanceRoot = resolve(repoRoot, '../shared/conformance');

export type CaseStatus = 'passed' | 'failed' | 'not applicable';

export interface CaseResult {
  id: string;
  status: CaseStatus;
  /** Why it failed or is not applicable. */
  reason?: string;
  ms: number;
}

export interface FolderResult {
  folder: string;
  passed: number;
  failed: number;
  notApplicable: number;
  cases: CaseResult[];
}

interface FolderSpec {
  folder: string;
  baseIri: string;
  /** Which case folders belong to the set. */
  include: (id: string) => boolean;
}

export const FOLDERS: FolderSpec[] = [
  { folder: 'rml-core', baseIri: 'http://example.com/', include: (id) => /^RMLTC\d{4}[a-z]?-JSON$/.test(id) },
  { folder: 'rml-core-csv-legacy', baseIri: 'http://example.com/base/', include: (id) => /^RMLTC\d{4}[a-z]?-CSV$/.test(id) },
  { folder: 'rml-io', baseIri: 'http://example.com/', include: (id) => /^RMLSTC\d{4}[a-z]?$/.test(id) },
];

const CASE_TIMEOUT_MS = 30_000;

export async function runRmlConformance(options: { folders?: string[]; cases?: string[] } = {}): Promise<FolderResult[]> {
  const results: FolderResult[] = [];
  for (const spec of FOLDERS) {
    if (options.folders && !options.folders.includes(spec.folder)) continue;
    const dir = join(conformanceRoot, spec.folder);
    if (!existsSync(dir)) throw new Error(`conformance folder ${dir} not found (expected next to the repository, in ../shared/conformance)`);
    const errors = errorFlags(dir);
    const ids = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && spec.include(d.name))
      .map((d) => d.name)
      .filter((id) => !options.cases || options.cases.includes(id))
      .sort();
    const cases: CaseResult[] = [];
    for (const id of ids) {
      const started = Date.now();
      let result: Omit<CaseResult, 'ms'>;
      try {
        result = await withTimeout(runCase(join(dir, id), id, spec.baseIri, errors.get(id) ?? false), CASE_TIMEOUT_MS, id);
      } catch (e) {
        result = { id, status: 'failed', reason: `runner error: ${(e as Error).message}` };
      }
      cases.push({ ...result, ms: Date.now() - started });
    }
    results.push({
      folder: spec.folder,
      passed: cases.filter((c) => c.status === 'passed').length,
      failed: cases.filter((c) => c.status === 'failed').length,
      notApplicable: cases.filter((c) => c.status === 'not applicable').length,
      cases,
    });
  }
  return results;
}

/** The error flag of every case from metadata.csv (`error` column). */
function errorFlags(dir: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const file = join(dir, 'metadata.csv');
  if (!existsSync(file)) return out;
  const rows = parseCsv(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true, relax_column_count: true }) as Array<Record<string, string>>;
  for (const r of rows) if (r.ID) out.set(r.ID.trim(), (r.error ?? '').trim().toLowerCase() === 'true');
  return out;
}

function expectedOutputFile(caseDir: string): string | undefined {
  for (const name of ['output.nq', 'default.nq']) if (existsSync(join(caseDir, name))) return join(caseDir, name);
  return undefined;
}

/** Why the engine cannot run a case by design, judged from the mapping text; undefined if it can. */
function notApplicable(mappingText: string): string | undefined {
  if (/rml:XPath|XPathReferenceFormulation|rml:namespace\b/.test(mappingText)) return 'XML source (XPath reference formulation): the engine reads CSV, JSON and PostgreSQL';
  if (/rml:compression\s+rml:(gzip|zip|tarxz|targz)/.test(mappingText)) return 'compressed input (rml:compression): not supported; sources are read uncompressed';
  if (/SPARQL|sd:Service|sd:endpoint/.test(mappingText)) return 'SPARQL source: the engine does not query SPARQL endpoints';
  if (/rml:path\s+"https?:/.test(mappingText)) return 'remote HTTP source: the engine reads local files and databases';
  return undefined;
}

async function runCase(caseDir: string, id: string, baseIri: string, errorExpected: boolean): Promise<Omit<CaseResult, 'ms'>> {
  const mappingFile = join(caseDir, 'mapping.ttl');
  let text = readFileSync(mappingFile, 'utf8');
  const na = notApplicable(text);
  if (na) return { id, status: 'not applicable', reason: na };
  const expectedFile = expectedOutputFile(caseDir);
  // RMLSTC0009a is flagged as an error upstream but ships an expected output; the output wins.
  const expectError = errorExpected && !expectedFile;

  let db: Awaited<ReturnType<typeof databaseCaseSources>> | undefined;
  let openSource: OpenSource | undefined;
  if (/d2rq:jdbcDSN/.test(text)) {
    db = await databaseCaseSources(caseDir);
    openSource = db.openSource;
    for (const [k, v] of Object.entries(db.placeholders)) text = text.split(`"${k}"`).join(JSON.stringify(v));
  }
  const lines: string[] = [];
  try {
    let mapping: CompiledMapping;
    try {
      mapping = compileMapping(text, mappingFile);
      await runMapping(mapping, {
        baseIri,
        mappingDirectory: caseDir,
        currentWorkingDirectory: caseDir,
        ...(openSource ? { openSource } : {}),
        emit: (s) => lines.push(s),
      });
    } catch (e) {
      if (e instanceof RmlNotSupportedError) return { id, status: 'not applicable', reason: e.message };
      const expectedKind = e instanceof RmlError || e instanceof SourceFileError;
      if (expectError && expectedKind) return { id, status: 'passed' };
      if (expectError) return { id, status: 'failed', reason: `an error was expected and raised, but it is not an RmlError (a bug?): ${(e as Error).stack ?? e}` };
      return { id, status: 'failed', reason: `unexpected error: ${(e as Error).message}` };
    }
    if (expectError) return { id, status: 'failed', reason: `an error was expected, but the mapping ran and produced ${lines.length} statements` };
    if (!expectedFile) return { id, status: 'failed', reason: 'no expected output (output.nq/default.nq) in the case folder' };
    const expected = readFileSync(expectedFile, 'utf8');
    const diff = compareDatasets(expected, lines.join('\n'));
    return diff ? { id, status: 'failed', reason: diff } : { id, status: 'passed' };
  } finally {
    await db?.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, id: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${id} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

// --- dataset comparison ---------------------------------------------------------------------------

type Quad = [string, string, string, string];

/**
 * A tolerant N-Quads reader for comparing: upstream expected files contain IRIs with spaces (UnsafeIRI
 * cases) that strict parsers reject. Terms are normalised: IRIs and literals unescaped and re-written
 * one way, xsd:string dropped, language tags lower-cased.
 */
export function parseNQuads(text: string): Quad[] {
  const quads: Quad[] = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    let i = 0;
    const terms: string[] = [];
    const fail = (why: string): never => {
      throw new Error(`line ${n + 1}: ${why}: ${line}`);
    };
    const ws = () => {
      while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    };
    const unescape = (s: string) =>
      s.replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_, e: string) => {
        if (e[0] === 'u' || e[0] === 'U') return String.fromCodePoint(parseInt(e.slice(1), 16));
        return ({ t: '\t', b: '\b', n: '\n', r: '\r', f: '\f', '"': '"', "'": "'", '\\': '\\' } as Record<string, string>)[e] ?? e;
      });
    const iri = (): string => {
      const end = line.indexOf('>', i);
      if (end < 0) fail('unclosed IRI');
      const v = unescape(line.slice(i + 1, end));
      i = end + 1;
      return '<' + v + '>';
    };
    while (true) {
      ws();
      if (i >= line.length) fail('missing final "."');
      const c = line[i];
      if (c === '.') break;
      if (c === '<') terms.push(iri());
      else if (c === '_' && line[i + 1] === ':') {
        const m = /^_:[^\s.]+(?:\.[^\s.]+)*/.exec(line.slice(i));
        if (!m) fail('bad blank node');
        terms.push(m![0]);
        i += m![0].length;
      } else if (c === '"') {
        let j = i + 1;
        while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
        if (j >= line.length) fail('unclosed literal');
        const lex = unescape(line.slice(i + 1, j));
        i = j + 1;
        let suffix = '';
        if (line[i] === '@') {
          const m = /^@[A-Za-z0-9-]+/.exec(line.slice(i))!;
          suffix = m[0].toLowerCase();
          i += m[0].length;
        } else if (line.startsWith('^^', i)) {
          i += 2;
          const dt = iri();
          if (dt !== '<http://www.w3.org/2001/XMLSchema#string>') suffix = '^^' + dt;
        }
        terms.push(JSON.stringify(lex) + suffix);
      } else fail(`unexpected "${c}"`);
    }
    if (terms.length < 3 || terms.length > 4) fail(`${terms.length} terms`);
    quads.push([terms[0]!, terms[1]!, terms[2]!, terms[3] ?? '']);
  });
  return quads;
}

const isBlank = (t: string) => t.startsWith('_:');

/** Undefined when both texts hold the same RDF dataset (blank nodes up to renaming); otherwise a description of the difference. */
export function compareDatasets(expectedText: string, actualText: string): string | undefined {
  let expected: Quad[];
  let actual: Quad[];
  try {
    expected = parseNQuads(expectedText);
  } catch (e) {
    return `expected output cannot be read: ${(e as Error).message}`;
  }
  try {
    actual = parseNQuads(actualText);
  } catch (e) {
    return `engine output is not valid N-Quads: ${(e as Error).message}`;
  }
  const key = (q: Quad) => q.join(' ');
  const e = [...new Set(expected.map(key))].map((k) => expected.find((q) => key(q) === k)!);
  const a = [...new Set(actual.map(key))].map((k) => actual.find((q) => key(q) === k)!);
  if (isomorphic(e, a)) return undefined;
  const eSet = new Set(e.map(key));
  const aSet = new Set(a.map(key));
  const missing = [...eSet].filter((k) => !aSet.has(k));
  const extra = [...aSet].filter((k) => !eSet.has(k));
  const show = (list: string[]) => list.slice(0, 8).map((l) => '      ' + l).join('\n') + (list.length > 8 ? `\n      … ${list.length - 8} more` : '');
  const blankNote = e.some((q) => q.some(isBlank)) || a.some((q) => q.some(isBlank)) ? ' (blank nodes compared up to renaming; lists below use the raw labels)' : '';
  return `output differs${blankNote}: ${e.length} expected, ${a.length} produced\n    missing:\n${show(missing) || '      (none)'}\n    unexpected:\n${show(extra) || '      (none)'}`;
}

/** Dataset isomorphism by colour refinement of blank nodes, with backtracking over ties. */
function isomorphic(a: Quad[], b: Quad[]): boolean {
  if (a.length !== b.length) return false;
  const ground = (qs: Quad[]) => qs.filter((q) => !q.some(isBlank)).map((q) => q.join(' '));
  const ga = new Set(ground(a));
  const gb = ground(b);
  if (ga.size !== gb.length || !gb.every((k) => ga.has(k))) return false;
  const ba = a.filter((q) => q.some(isBlank));
  const bb = b.filter((q) => q.some(isBlank));
  if (ba.length === 0) return true;
  const colA = refine(ba);
  const colB = refine(bb);
  const sigA = [...colA.values()].sort().join('|');
  const sigB = [...colB.values()].sort().join('|');
  if (sigA !== sigB) return false;
  const target = new Set(bb.map((q) => q.join(' ')));
  const nodesA = [...colA.keys()];
  const mapping = new Map<string, string>();
  const used = new Set<string>();
  const tryMap = (i: number): boolean => {
    if (i === nodesA.length) {
      return ba.every((q) => target.has(q.map((t) => (isBlank(t) ? mapping.get(t)! : t)).join(' ')));
    }
    const n = nodesA[i]!;
    for (const [m, c] of colB) {
      if (used.has(m) || c !== colA.get(n)) continue;
      mapping.set(n, m);
      used.add(m);
      if (tryMap(i + 1)) return true;
      used.delete(m);
    }
    mapping.delete(n);
    return false;
  };
  return tryMap(0);
}

function refine(quads: Quad[]): Map<string, string> {
  let colour = new Map<string, string>();
  for (const q of quads) for (const t of q) if (isBlank(t)) colour.set(t, '_');
  for (let round = 0; round < 6; round++) {
    const next = new Map<string, string>();
    for (const node of colour.keys()) {
      const sig = quads
        .filter((q) => q.includes(node))
        .map((q) => q.map((t) => (t === node ? '@' : isBlank(t) ? '_' + colour.get(t) : t)).join(' '))
        .sort()
        .join('\n');
      next.set(node, hash(sig));
    }
    colour = next;
  }
  return colour;
}

function hash(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x12345;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 16777619);
    h2 = Math.imul(h2 + c, 2654435761);
  }
  return (h1 >>> 0).toString(36) + (h2 >>> 0).toString(36);
}

// --- main -----------------------------------------------------------------------------------------

export function formatResults(results: FolderResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(`RML: ${r.passed} passed, ${r.failed} failed${r.notApplicable ? `, ${r.notApplicable} not applicable` : ''} [${r.folder}]`);
    for (const c of r.cases) if (c.status === 'failed') out.push(`  FAIL ${c.id}: ${c.reason}`);
    for (const c of r.cases) if (c.status === 'not applicable') out.push(`  n/a  ${c.id}: ${c.reason}`);
  }
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const results = await runRmlConformance(args.length ? { cases: args } : {});
  console.log(formatResults(results));
  process.exitCode = results.some((r) => r.failed > 0) ? 1 : 0;
}
