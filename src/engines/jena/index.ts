import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, extname, join } from 'node:path';
import type { SparqlJsonResults, SparqlJsonTerm } from '../types.js';
import { INSTALL_HINT, resolveJenaClasspath, type ResolvedClasspath } from './classpath.js';
import { queryShape } from './sparql-text.js';
import { jenaFailureHint, runJava } from './java.js';
import { readZipEntries } from './zip.js';

export { INSTALL_HINT, resolveJenaClasspath } from './classpath.js';

/** Where Debian's relocated Xerces keeps its message resources inside jena-core.jar. */
const XERCES_IN_JAR = 'org/apache/jena/ext/xerces/';
/** Where that Xerces looks them up (the packaging defect: it never finds them inside the jar). */
const XERCES_LOOKUP = 'xerces/';
const COMPLETE_MARK = '.complete';

/** Data file extensions Jena's RIOT recognises, and the syntax each stands for. */
const DATA_SYNTAX: Record<string, string> = { '.nq': 'N-Quads', '.nt': 'N-Triples', '.ttl': 'Turtle', '.trig': 'TriG' };

export interface JenaOptions {
  /** Kill the JVM after this long (default 5 minutes). */
  timeoutMs?: number;
  /** Extra JVM options, e.g. ['-Xmx2g']. */
  javaOptions?: string[];
  /** Directory for the extracted Xerces resources (default: os.tmpdir()/kikv-jena-<version>-<uid>-<jar stamp>). */
  cacheDir?: string;
}

export interface JenaQueryOptions extends JenaOptions {
  /** N-Quads (.nq) or N-Triples (.nt) file; the triples without a graph form the default graph. */
  dataFile: string;
  /** One SELECT or ASK query; an ASK result is Jena's `{ head: {}, boolean }` JSON. */
  query: string;
}

export interface JenaBatchOptions extends JenaOptions {
  dataFile: string;
  /** SELECT queries, run over one load of the data where possible (an ASK runs on its own). */
  queries: string[];
  /**
   * Split the combinable queries over this many JVMs running at the same time (default 1). Each
   * loads the data once; worth it on a machine with spare cores when the queries dominate the load.
   */
  processes?: number;
}

/** A query Jena rejected or could not finish; `index` is its position in a batch. */
export class JenaQueryError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly index?: number,
  ) {
    super(message);
    this.name = 'JenaQueryError';
  }
}

/** The java command and classpath Jena runs with (resolved once per process). */
export interface JenaRuntime {
  java: string;
  classpath: string[];
  javaOptions: string[];
  version: string;
  resolved: ResolvedClasspath;
}

let runtimeCache: { key: string; runtime: JenaRuntime } | undefined;

/**
 * Resolves Jena's classpath and works around Debian's packaging defect: the relocated Xerces in
 * jena-core.jar looks up its message resources under xerces/impl/... while the jar ships them under
 * org/apache/jena/ext/xerces/..., so every start dies in XSSimpleTypeDecl.applyFacets1 with
 * "internal error". Copies of those .properties files, extracted once into a cache directory outside
 * the repository, go first on the classpath.
 */
export function jenaRuntime(opts: Pick<JenaOptions, 'cacheDir'> = {}): JenaRuntime {
  const key = opts.cacheDir ?? '';
  if (runtimeCache?.key === key) return runtimeCache.runtime;
  const resolved = resolveJenaClasspath();
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const classpath = [...resolved.jars];
  const javaOptions: string[] = [];
  if (resolved.loggingJar) {
    classpath.push(resolved.loggingJar);
    javaOptions.push('-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-Dorg.slf4j.simpleLogger.logFile=System.err');
  }
  const resources = xercesResourceDir(resolved, opts.cacheDir);
  if (resources) classpath.unshift(resources);
  const runtime = { java, classpath, javaOptions, version: resolved.jenaVersion, resolved };
  runtimeCache = { key, runtime };
  return runtime;
}

/** Extracts the Xerces resources under the name Xerces looks for; undefined when the jar has none (a fixed package). */
function xercesResourceDir(resolved: ResolvedClasspath, cacheDir?: string): string | undefined {
  const st = statSync(resolved.jenaCoreJar);
  const stamp = createHash('sha256').update(`${resolved.jenaCoreJar}:${st.size}:${st.mtimeMs}`).digest('hex').slice(0, 12);
  const dir = cacheDir ?? join(tmpdir(), `kikv-jena-${resolved.jenaVersion}-${safeUid()}-${stamp}`);
  if (existsSync(join(dir, COMPLETE_MARK))) return dir;
  const entries = readZipEntries(resolved.jenaCoreJar, (n) => n.startsWith(XERCES_IN_JAR) && n.endsWith('.properties'));
  if (entries.size === 0) return undefined;
  // Extract into a private directory and rename it into place, so concurrent test processes never
  // see a half-written cache.
  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(`${dir}.tmp-`);
  for (const [name, data] of entries) {
    const target = join(staging, XERCES_LOOKUP, name.slice(XERCES_IN_JAR.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
  }
  writeFileSync(join(staging, COMPLETE_MARK), `${resolved.jenaCoreJar}\n`);
  try {
    renameSync(staging, dir);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(dir, COMPLETE_MARK))) throw new Error(`cannot create the Jena resource cache ${dir}: ${(e as Error).message}`);
  }
  return dir;
}

function safeUid(): string {
  try {
    return String(userInfo().uid);
  } catch {
    return 'user';
  }
}

/** Runs one query with Jena's `arq.sparql` (in-memory dataset) and returns SPARQL JSON results. */
export async function runJenaQuery(opts: JenaQueryOptions): Promise<SparqlJsonResults> {
  const out = await runArq(opts.dataFile, opts.query, opts);
  try {
    return JSON.parse(out) as SparqlJsonResults;
  } catch {
    throw new JenaQueryError(`Jena returned no JSON results (${out.slice(0, 200)}); only SELECT and ASK queries give SPARQL JSON results`, '');
  }
}

/** The variable that tags each batched query's rows; it must not occur in any query. */
const BATCH_VAR = 'kikv_batch_query';

/**
 * Runs several SELECT queries over one load of the data, in one JVM: the queries become sub-selects
 * of one UNION, each branch tagged with its index, and the rows are split back per query (in the
 * order Jena produced them, which keeps each sub-select's ORDER BY). Queries that cannot be combined
 * (not SELECT, SELECT *, a FROM clause, conflicting prefixes) run on their own. If the combined run
 * fails, every query is rerun alone so the error names the query that caused it.
 */
export async function runJenaQueries(opts: JenaBatchOptions): Promise<SparqlJsonResults[]> {
  const results: Array<SparqlJsonResults | undefined> = opts.queries.map(() => undefined);
  const prefixes = new Map<string, string>();
  const batch: BatchItem[] = [];
  const alone: number[] = [];
  opts.queries.forEach((q, index) => {
    const shape = queryShape(q);
    const clash = shape.prefixes.some(([p, iri]) => prefixes.has(p) && prefixes.get(p) !== iri);
    if (shape.form !== 'SELECT' || shape.projection === '*' || shape.projection === undefined || shape.hasDatasetClause || shape.base !== undefined || clash || shape.variables.has(BATCH_VAR)) {
      alone.push(index);
      return;
    }
    for (const [p, iri] of shape.prefixes) prefixes.set(p, iri);
    batch.push({ index, vars: shape.projection, body: q.slice(shape.bodyStart) });
  });

  const processes = Math.max(1, Math.min(opts.processes ?? 1, batch.length));
  const groups: BatchItem[][] = Array.from({ length: processes }, () => []);
  batch.forEach((b, i) => groups[i % processes]!.push(b));
  const failed = await Promise.all(groups.map((g) => runCombined(opts, prefixes, g, results)));
  alone.push(...failed.flat());

  const rerun = async (index: number) => {
    try {
      results[index] = await runJenaQuery({ ...opts, query: opts.queries[index]! });
    } catch (e) {
      if (e instanceof JenaQueryError) throw new JenaQueryError(`query ${index + 1} of ${opts.queries.length}: ${e.message}`, e.stderr, index);
      throw e;
    }
  };
  const queue = alone.sort((a, b) => a - b);
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.processes ?? 1, queue.length)) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await rerun(next);
  }));
  return results as SparqlJsonResults[];
}

interface BatchItem {
  index: number;
  vars: string[];
  body: string;
}

/** Runs one group as a single UNION query; returns the indexes to run alone (all of them if the group failed). */
async function runCombined(opts: JenaBatchOptions, prefixes: Map<string, string>, group: BatchItem[], results: Array<SparqlJsonResults | undefined>): Promise<number[]> {
  if (group.length === 0) return [];
  if (group.length === 1) return [group[0]!.index];
  const text = [
    ...[...prefixes].map(([p, iri]) => `PREFIX ${p} <${iri}>`),
    'SELECT * WHERE {',
    // Newlines around each body: a query may end in a comment line.
    group.map((b, i) => `{\n{\n${b.body}\n}\nBIND(${i} AS ?${BATCH_VAR})\n}`).join('\nUNION\n'),
    '}',
  ].join('\n');
  let combined: SparqlJsonResults;
  try {
    combined = await runJenaQuery({ ...opts, query: text });
  } catch (e) {
    // Rerun alone, so the error (if it persists) names its query; a timeout would only repeat.
    if (e instanceof JenaQueryError && !/timed out/.test(e.message)) return group.map((b) => b.index);
    throw e;
  }
  const byBranch = new Map<string, Array<Record<string, SparqlJsonTerm>>>();
  for (const row of combined.results.bindings) {
    const tag = row[BATCH_VAR]?.value ?? '';
    delete row[BATCH_VAR];
    if (!byBranch.has(tag)) byBranch.set(tag, []);
    byBranch.get(tag)!.push(row);
  }
  group.forEach((b, i) => {
    results[b.index] = { head: { vars: b.vars }, results: { bindings: byBranch.get(String(i)) ?? [] } };
  });
  return [];
}

async function runArq(dataFile: string, query: string, opts: JenaOptions): Promise<string> {
  const syntax = DATA_SYNTAX[extname(dataFile).toLowerCase()];
  if (!syntax) throw new Error(`${dataFile}: Jena picks the data syntax by file extension; use one of ${Object.keys(DATA_SYNTAX).join(', ')}`);
  if (!existsSync(dataFile)) throw new Error(`data file ${dataFile} does not exist`);
  const rt = jenaRuntime(opts);
  const work = mkdtempSync(join(tmpdir(), 'kikv-jena-query-'));
  const queryFile = join(work, 'query.rq');
  writeFileSync(queryFile, query);
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const args = [...rt.javaOptions, ...(opts.javaOptions ?? []), '-cp', rt.classpath.join(':'), 'arq.sparql', '--data', dataFile, '--query', queryFile, '--results=json'];
  try {
    const r = await runJava(rt.java, args, timeoutMs, `no Java runtime: "${rt.java}" was not found (set JAVA_HOME or put java on PATH); ${INSTALL_HINT}`);
    if (r.timedOut) throw new JenaQueryError(`Jena timed out after ${timeoutMs} ms (raise timeoutMs for large data)`, r.stderr);
    if (r.code !== 0) throw new JenaQueryError(describeFailure(r.code, r.signal, r.stderr, rt), r.stderr);
    return r.stdout;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function describeFailure(code: number | null, signal: NodeJS.Signals | null, stderr: string, rt: JenaRuntime): string {
  const lines = stderr.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('SLF4J:'));
  const what = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const hint = jenaFailureHint(stderr, rt.resolved.missing);
  return `Jena ${what}${hint}: ${lines.slice(0, 12).join('\n')}`;
}
