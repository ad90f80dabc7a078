/**
 * Engine conformance: every official Zorgkantoren 1.3.4 query and every computed item of our pack, on
 * the sample provider and generated providers, on every available engine, each compared with the
 * reference engine (Jena). The verdicts form conformance/engine-matrix.json, which routing
 * (src/engines/routing.ts) reads to pick, per query, an engine proven to answer it right.
 *
 *   npm run conformance:engines                 run, print the matrix, rewrite the matrix file
 *   npm run conformance:engines -- --check      run, print, and fail naming every cell whose verdict
 *                                               changed (an engine or normaliser change that fixes or
 *                                               breaks something); engines not available are reported,
 *                                               and so are changes to or from a timeout, which depend
 *                                               on the machine (--strict-timeouts fails those too)
 *   options: --engines a,b  --providers p,q  --queries official/9.1,ps-1.1  (a reduced scope: only
 *            those cells are compared or merged)  --timeout <s> (per query, default 60)  --jobs <n>
 *            (engine processes at a time, default 2)  --remote-endpoint <url>  --matrix <file>
 *            --skip-recorded-timeouts (cells the matrix records as timeouts are not run again: CI)
 *
 * Each engine runs in a child process (engine-worker.ts) that is killed when a query overruns, as
 * Oxigraph and Comunica cannot be interrupted mid-query. Providers run smallest first; a query that
 * timed out on an engine is not tried again on that engine's larger providers (it is recorded as a
 * timeout there too), which keeps the run within minutes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import { withMappingDirectory, type AgentConfig } from '../config/schema.js';
import { openDb } from '../db/open.js';
import { runJenaQueries, runJenaQuery } from '../engines/jena/index.js';
import { bindOfficialQuery, peildatumParameter, quarterParameters, zorgkantoor } from '../engines/jena/official.js';
import { availableEngines, type EngineOptions } from '../engines/registry.js';
import { queryKey, type EngineMatrix, type MatrixCell, type ProviderVerdict, type Verdict } from '../engines/routing.js';
import type { QueryEngine, SparqlJsonResults, SparqlJsonTerm } from '../engines/types.js';
import { itemRows } from '../indicators/item-rows.js';
import { snapshotVestigingen } from '../indicators/run-profile.js';
import { itemResults, loadPack, runIndicator, type IndicatorDef, type ProfilePack } from '../indicators/pack.js';
import { normaliseQuery } from '../sparql/normalise.js';
import { importSource } from '../pipeline/import.js';
import { DEFAULT_SAMPLE, writeSample, type SampleOptions } from '../sample/generate.js';
import { sha256, snapshotFile } from '../store/snapshot.js';
import type { WorkerReply, WorkerRequest } from './engine-worker.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const OFFICIAL_DIR = resolve(repoRoot, '../shared/kikv-official/zorgkantoren-1.3.4');
export const MATRIX_PATH = join(repoRoot, 'conformance/engine-matrix.json');
export const REFERENCE = 'jena';
const PACK = { dir: join(repoRoot, 'queries'), profile: 'zorginstituut-verpleeghuiszorg', version: '2023.1.0' };
const YEAR = 2023;
/** Per query; an engine that overruns it is killed and the cell "fails (timeout)". */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Reporting year 2023: the quarter queries take its last quarter, the reference-date queries its last day (as in test/official-jena.test.ts). */
export const OFFICIAL_PARAMETERS = { ...quarterParameters(YEAR, 'Q4'), ...peildatumParameter(`${YEAR}-12-31`), zorgkantoor: zorgkantoor('MiddenIJssel') };

export interface ProviderSpec {
  name: string;
  options: SampleOptions;
}

/** The sample provider and three generated ones (other seeds, sizes and location counts), small enough for minutes. */
export const PROVIDERS: ProviderSpec[] = [
  { name: 'sample', options: DEFAULT_SAMPLE },
  ...[
    { seed: 11, employees: 40, clients: 30, locations: 2 },
    { seed: 29, employees: 25, clients: 20, locations: 1 },
    { seed: 47, employees: 60, clients: 45, locations: 3 },
  ].map((o) => ({ name: `gen-s${o.seed}-e${o.employees}-c${o.clients}-l${o.locations}`, options: o })),
];

export interface QuerySpec {
  key: string;
  id: string;
  kind: 'official' | 'pack';
  sha256: string;
  /** Official: the text with its parameters bound. */
  text?: string;
}

export type Outcome = { status: 'ok'; results: SparqlJsonResults; ms: number } | { status: 'error'; error: string; ms: number } | { status: 'timeout'; ms: number };

export interface RunOptions {
  engines?: string[];
  providers?: string[];
  queries?: string[];
  timeoutMs?: number;
  jobs?: number;
  remoteEndpoint?: string;
  /**
   * Cells (query key, engine, provider) this matrix records as timeouts are not run again but kept as
   * timeouts: a rerun costs the whole timeout and, a timeout being machine-dependent, fails nothing.
   */
  skipTimeoutsOf?: EngineMatrix;
  log?: (line: string) => void;
}

export interface RunResult {
  matrix: EngineMatrix;
  /** Engines that were asked for (or known) but are not available here, with the reason. */
  unavailable: Array<{ name: string; reason: string }>;
  /** key -> engine -> total ms over the providers it ran on. */
  times: Record<string, Record<string, number>>;
  /** Human-readable notes: errors and first differences, per cell. */
  notes: string[];
  /** Whether the scope was reduced (some providers or queries left out). */
  reduced: boolean;
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// Queries

export function officialQueries(): QuerySpec[] {
  if (!existsSync(OFFICIAL_DIR)) throw new Error(`official queries not found in ${OFFICIAL_DIR} (expected ../shared/kikv-official/zorgkantoren-1.3.4 next to the repository)`);
  const ids = readdirSync(OFFICIAL_DIR)
    .filter((f) => f.endsWith('.rq'))
    .map((f) => f.slice(0, -3))
    .sort((a, b) => compareNumbers(a, b));
  return ids.map((n) => {
    const raw = readFileSync(join(OFFICIAL_DIR, `${n}.rq`), 'utf8');
    const id = `official/${n}`;
    const hash = sha256(raw);
    return { key: queryKey(id, hash), id, kind: 'official' as const, sha256: hash, text: bindOfficialQuery(raw, OFFICIAL_PARAMETERS).text };
  });
}

export function packQueries(pack: ProfilePack): QuerySpec[] {
  return pack.manifest.indicators
    .filter((i) => pack.queries.has(i.id))
    .map((i) => {
      const hash = pack.queries.get(i.id)!.sha256;
      return { key: queryKey(i.id, hash), id: i.id, kind: 'pack' as const, sha256: hash };
    });
}

function compareNumbers(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? -1) !== (pb[i] ?? -1)) return (pa[i] ?? -1) - (pb[i] ?? -1);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Providers: generated staging tables through the real import to a snapshot file

interface ImportedProvider {
  name: string;
  file: string;
  locations: string[];
  quads: number;
}

async function importProviders(specs: ProviderSpec[], work: string, log: (l: string) => void): Promise<ImportedProvider[]> {
  const base = loadConfig(DEFAULT_CONFIG_FILE);
  const dataDir = join(work, 'data');
  const db = openDb(dataDir);
  const out: ImportedProvider[] = [];
  try {
    for (const spec of specs) {
      const started = Date.now();
      const dir = join(work, 'sources', spec.name);
      await writeSample(spec.options, dir);
      // SHACL validation does not change the mapped data; it only costs time here.
      const cfg: AgentConfig = { ...withMappingDirectory(base, dir), storage: { ...base.storage, dataDir }, mapping: { ...base.mapping, validateUpTo: 0 } };
      const imported = await importSource(cfg, db, 'conformance:engines');
      if (!imported.snapshot) throw new Error(`provider ${spec.name}: import failed: ${JSON.stringify(imported.report.fileErrors)}`);
      const file = snapshotFile(dataDir, imported.snapshot.meta.hash);
      const locations = await snapshotVestigingen(file);
      out.push({
        name: spec.name,
        file,
        locations,
        quads: imported.snapshot.meta.quads,
      });
      log(`provider ${spec.name}: ${imported.snapshot.meta.quads} quads, ${locations.length} locations, imported in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    db.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One engine in a child process, killed on timeout and restarted for the next query

const WORKER = (() => {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  return { file: join(dirname(here), `engine-worker.${ts ? 'ts' : 'js'}`), execArgv: ts ? ['--import', 'tsx'] : [] };
})();

const LOAD_TIMEOUT_MS = 10 * 60_000;

class EngineSession {
  private child: ChildProcess | undefined;
  private waiting: { resolve: (m: WorkerReply) => void; timer: NodeJS.Timeout } | undefined;
  private stderr = '';
  private seq = 0;

  constructor(
    private readonly engine: string,
    private readonly options: EngineOptions,
    private readonly file: string,
  ) {}

  /** Starts the child and loads the provider; throws with the reason when the engine cannot. */
  private async start(): Promise<void> {
    this.stderr = '';
    // A process group of its own, so a kill also ends the JVMs Jena starts.
    const child = fork(WORKER.file, [], { execArgv: WORKER.execArgv, detached: true, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    // A killed child's late messages and exit must not answer the next child's request.
    child.on('message', (m: WorkerReply) => {
      if (this.child !== child) return;
      const w = this.waiting;
      if (!w) return;
      this.waiting = undefined;
      clearTimeout(w.timer);
      w.resolve(m);
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const w = this.waiting;
      if (!w) return;
      this.waiting = undefined;
      clearTimeout(w.timer);
      w.resolve({ type: 'failed', error: `engine process exited (${signal ?? `code ${code}`})${this.stderr ? `: ${lastLine(this.stderr)}` : ''}` });
    });
    const init = await this.request({ type: 'init', engine: this.engine, options: this.options, pack: PACK }, 120_000);
    if (init.type !== 'ready') throw new Error(init.type === 'failed' ? init.error : `engine did not start (${init.type})`);
    const loaded = await this.request({ type: 'load', file: this.file }, LOAD_TIMEOUT_MS);
    if (loaded.type !== 'loaded') throw new Error(`load failed: ${loaded.type === 'failed' ? loaded.error : loaded.type}`);
  }

  private request(m: WorkerRequest, timeoutMs: number): Promise<WorkerReply | { type: 'timeout' }> {
    return new Promise((resolveReply) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.kill();
        resolveReply({ type: 'timeout' });
      }, timeoutMs);
      this.waiting = { resolve: resolveReply, timer };
      this.child!.send(m);
    });
  }

  async run(q: QuerySpec, timeoutMs: number): Promise<Outcome> {
    if (!this.child) await this.start();
    const n = ++this.seq;
    const started = Date.now();
    const req: WorkerRequest = q.kind === 'official' ? { type: 'official', n, text: q.text! } : { type: 'pack', n, id: q.id, year: YEAR };
    const reply = await this.request(req, timeoutMs);
    const ms = Date.now() - started;
    if (reply.type === 'timeout') return { status: 'timeout', ms };
    if (reply.type === 'failed') return { status: 'error', error: reply.error, ms };
    if (reply.type !== 'done') return { status: 'error', error: `unexpected reply ${reply.type}`, ms };
    return reply.ok ? { status: 'ok', results: reply.results, ms } : { status: 'error', error: reply.error, ms };
  }

  kill(): void {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
}

function lastLine(s: string): string {
  return (
    s
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .at(-1) ?? ''
  ).slice(0, 300);
}

// ---------------------------------------------------------------------------------------------
// Canonical results

const NUMERIC = new Set(['integer', 'decimal', 'float', 'double', 'long', 'int', 'short', 'byte', 'nonNegativeInteger', 'positiveInteger', 'negativeInteger', 'nonPositiveInteger', 'unsignedLong', 'unsignedInt'].map((t) => `http://www.w3.org/2001/XMLSchema#${t}`));

/** A number's canonical text: 12 significant digits, so engines' decimal and double arithmetic compare equal. */
export function canonicalNumber(lexical: string): string {
  const n = Number(lexical.trim());
  if (!Number.isFinite(n)) return lexical.trim();
  return String(Number(n.toPrecision(12)));
}

function termText(t: SparqlJsonTerm): string {
  if (t.type === 'uri') return `<${t.value}>`;
  if (t.type === 'bnode') return '_:';
  if (t['xml:lang']) return `${JSON.stringify(t.value)}@${t['xml:lang'].toLowerCase()}`;
  if (t.datatype && NUMERIC.has(t.datatype)) return `#${canonicalNumber(t.value)}`;
  return t.datatype && t.datatype !== 'http://www.w3.org/2001/XMLSchema#string' ? `${JSON.stringify(t.value)}^^<${t.datatype}>` : JSON.stringify(t.value);
}

/** An official query's results as sorted row texts (variables by name, numbers canonical, blank nodes abstracted). */
export function canonicalOfficial(r: SparqlJsonResults): string[] {
  const vars = [...r.head.vars].sort();
  const rows = r.results.bindings.map((b) => vars.map((v) => (b[v] ? `${v}=${termText(b[v])}` : `${v}=`)).join(' '));
  return [`vars: ${vars.join(' ')}`, ...rows.sort()];
}

/** A pack item's results as its item rows (teller, noemer, value, not-computable reasons), sorted. */
export function canonicalPack(pack: ProfilePack, id: string, r: SparqlJsonResults, locations: string[]): string[] {
  const ind = pack.manifest.indicators.find((i) => i.id === id)!;
  return itemRows(ind, r, locations)
    .map((row) => JSON.stringify(row))
    .sort();
}

// ---------------------------------------------------------------------------------------------
// The run

export async function runEngineConformance(opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const log = opts.log ?? ((l: string) => console.log(l));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pack = loadPack(PACK.dir, PACK.profile, PACK.version);
  let queries = [...officialQueries(), ...packQueries(pack)];
  if (opts.queries) {
    const unknown = opts.queries.filter((q) => !queries.some((s) => s.id === q));
    if (unknown.length > 0) throw new Error(`unknown query id(s) ${unknown.join(', ')}; ids are official/<n> and pack item ids, e.g. ${queries[0]?.id}`);
    queries = queries.filter((s) => opts.queries!.includes(s.id));
  }
  let providers = PROVIDERS;
  if (opts.providers) {
    const unknown = opts.providers.filter((p) => !PROVIDERS.some((s) => s.name === p));
    if (unknown.length > 0) throw new Error(`unknown provider(s) ${unknown.join(', ')}; known: ${PROVIDERS.map((p) => p.name).join(', ')}`);
    providers = PROVIDERS.filter((p) => opts.providers!.includes(p.name));
  }
  const reduced = providers.length < PROVIDERS.length || queries.length < officialQueries().length + packQueries(pack).length;

  const engineOptions: EngineOptions = { ...(opts.remoteEndpoint ? { remote: { endpoint: opts.remoteEndpoint } } : {}) };
  const availability = await availableEngines(engineOptions);
  const wanted = opts.engines ?? availability.map((a) => a.name as string);
  if (!wanted.includes(REFERENCE)) wanted.unshift(REFERENCE);
  const unavailable = availability.filter((a) => wanted.includes(a.name) && !a.available).map((a) => ({ name: a.name as string, reason: a.reason ?? 'not available' }));
  const engines = availability.filter((a) => wanted.includes(a.name) && a.available).map((a) => a.name as string);
  const unknownEngines = wanted.filter((w) => !availability.some((a) => a.name === w));
  if (unknownEngines.length > 0) throw new Error(`unknown engine(s) ${unknownEngines.join(', ')}; known: ${availability.map((a) => a.name).join(', ')}`);
  for (const u of unavailable) log(`engine ${u.name}: not available here (${u.reason})`);

  const work = mkdtempSync(join(tmpdir(), 'kikv-conformance-engines-'));
  const outcomes = new Map<string, Map<string, Map<string, Outcome>>>(); // key -> engine -> provider -> outcome
  const notes: string[] = [];
  try {
    const imported = (await importProviders(providers, work, log)).sort((a, b) => a.quads - b.quads);
    if (!engines.includes(REFERENCE)) {
      return { matrix: emptyMatrix(providers), unavailable, times: {}, notes, reduced, ms: Date.now() - started };
    }
    // One task per engine: its providers smallest first, in one child process per provider.
    const recordedTimeout = (key: string, engine: string, provider: string) => opts.skipTimeoutsOf?.queries[key]?.engines[engine]?.providers[provider] === 'fails (timeout)';
    let skipped = 0;
    const tasks = engines.map((engine) => async () => {
      const timedOut = new Set<string>();
      for (const p of imported) {
        if (engine === REFERENCE) {
          const providerStart = Date.now();
          const skip = new Set([...timedOut, ...queries.filter((q) => recordedTimeout(q.key, engine, p.name)).map((q) => q.key)]);
          skipped += skip.size - timedOut.size;
          const got = await runJenaBatched(queries, p.file, pack, timeoutMs, skip);
          for (const q of queries) set(outcomes, q.key, engine, p.name, got.get(q.key)!);
          log(`engine ${engine} on ${p.name}: ${queries.length} queries in ${((Date.now() - providerStart) / 1000).toFixed(1)} s (batched)`);
          continue;
        }
        const jenaStore = join(work, 'tdb2');
        const session = new EngineSession(engine, { ...engineOptions, dataDir: work, jena: { storeRoot: jenaStore, timeoutMs: timeoutMs + 30_000 } }, p.file);
        const providerStart = Date.now();
        let loadError: string | undefined;
        for (const q of queries) {
          let outcome: Outcome;
          if (loadError) outcome = { status: 'error', error: loadError, ms: 0 };
          else if (timedOut.has(q.key)) outcome = { status: 'timeout', ms: 0 };
          else if (recordedTimeout(q.key, engine, p.name)) {
            outcome = { status: 'timeout', ms: 0 };
            skipped++;
          } else {
            try {
              outcome = await session.run(q, timeoutMs);
            } catch (e) {
              loadError = (e as Error).message;
              outcome = { status: 'error', error: loadError, ms: 0 };
            }
          }
          if (outcome.status === 'timeout') timedOut.add(q.key);
          set(outcomes, q.key, engine, p.name, outcome);
        }
        session.kill();
        log(`engine ${engine} on ${p.name}: ${queries.length} queries in ${((Date.now() - providerStart) / 1000).toFixed(1)} s${loadError ? ` (${loadError})` : ''}`);
      }
    });
    await pool(tasks, opts.jobs ?? 2);
    if (skipped > 0) notes.push(`${skipped} cell(s) recorded as timeouts in the checked-in matrix were not run again (they stay timeouts; drop --skip-recorded-timeouts to run them)`);

    // Verdicts against the reference.
    const matrix = emptyMatrix(providers);
    matrix.engines = engines;
    const times: Record<string, Record<string, number>> = {};
    for (const q of queries) {
      const entry = (matrix.queries[q.key] = { id: q.id, kind: q.kind, sha256: q.sha256, engines: {} as Record<string, MatrixCell> });
      times[q.key] = {};
      const canon = (o: Outcome | undefined, p: ImportedProvider): { rows?: string[]; error?: string } => {
        if (!o || o.status !== 'ok') return { error: o?.status === 'error' ? o.error : 'timeout' };
        try {
          return { rows: q.kind === 'official' ? canonicalOfficial(o.results) : canonicalPack(pack, q.id, o.results, p.locations) };
        } catch (e) {
          return { error: (e as Error).message };
        }
      };
      const reference = new Map(imported.map((p) => [p.name, canon(outcomes.get(q.key)?.get(REFERENCE)?.get(p.name), p)]));
      for (const engine of engines) {
        const providersVerdicts: Record<string, ProviderVerdict> = {};
        let total = 0;
        for (const p of imported) {
          const o = outcomes.get(q.key)?.get(engine)?.get(p.name);
          total += o?.ms ?? 0;
          const ref = reference.get(p.name)!;
          const mine = engine === REFERENCE ? ref : canon(o, p);
          let v: ProviderVerdict;
          if (o?.status === 'timeout') v = 'fails (timeout)';
          else if (mine.error !== undefined) {
            v = 'fails (error)';
            notes.push(`${q.id} × ${engine} on ${p.name}: ${mine.error}`);
          } else if (ref.rows === undefined) v = 'no reference';
          else if (JSON.stringify(mine.rows) === JSON.stringify(ref.rows)) v = 'same';
          else {
            v = 'differs';
            notes.push(`${q.id} × ${engine} on ${p.name}: ${firstDifference(ref.rows, mine.rows!)}`);
          }
          providersVerdicts[p.name] = v;
        }
        entry.engines[engine] = { verdict: cellVerdict(Object.values(providersVerdicts)), providers: sortKeys(providersVerdicts) };
        times[q.key]![engine] = total;
      }
    }
    return { matrix, unavailable, times, notes, reduced, ms: Date.now() - started };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Thrown by the capturing engine to stop runIndicator once it has handed over its normalised query. */
class Captured extends Error {
  constructor(readonly sparql: string) {
    super('captured');
  }
}

/** The exact text runIndicator sends an engine named `engine` for a pack item (parameters, normalisation). */
async function packQueryText(pack: ProfilePack, id: string, engine: string): Promise<string> {
  const capture: QueryEngine = {
    name: engine,
    load: async () => undefined,
    loadFile: async () => undefined,
    select: async (sparql: string) => {
      throw new Captured(sparql);
    },
  };
  try {
    await runIndicator(capture, pack, id, YEAR);
  } catch (e) {
    if (e instanceof Captured) return e.sparql;
    throw e;
  }
  throw new Error(`runIndicator did not query for ${id}`);
}

const JENA_CHUNK = 6;

/**
 * The reference runs Jena (Debian's arq) over one in-memory load per chunk of queries, combined into
 * one UNION query by runJenaQueries: one JVM per query (tdb2.tdbquery, as JenaTdb2Engine does) would
 * cost a JVM start per query and provider, about 20 minutes for this matrix on 2 cores. TDB2 and
 * in-memory Jena give the same results (docs/research/engine-anchors.md §7). A chunk that fails or
 * overruns is rerun query by query, each with the per-query timeout.
 */
async function runJenaBatched(queries: QuerySpec[], dataFile: string, pack: ProfilePack, timeoutMs: number, timedOut: Set<string>): Promise<Map<string, Outcome>> {
  const out = new Map<string, Outcome>();
  const texts: Array<{ q: QuerySpec; text: string }> = [];
  for (const q of queries) {
    if (timedOut.has(q.key)) {
      out.set(q.key, { status: 'timeout', ms: 0 });
      continue;
    }
    try {
      texts.push({ q, text: q.kind === 'official' ? normaliseQuery(q.text!, {}, 'jena').text : await packQueryText(pack, q.id, REFERENCE) });
    } catch (e) {
      out.set(q.key, { status: 'error', error: `normaliser: ${(e as Error).message.split('\n')[0]}`, ms: 0 });
    }
  }
  // Items that share a query (2.1.1–2.1.9 read 2.1's columns) run it once, as `kikv run` does.
  const unique = [...new Set(texts.map((t) => t.text))];
  const byText = new Map<string, Outcome>();
  for (let i = 0; i < unique.length; i += JENA_CHUNK) {
    const chunk = unique.slice(i, i + JENA_CHUNK);
    const started = Date.now();
    try {
      // The chunk shares a JVM start and a load; twice the per-query limit leaves room for both.
      const results = await runJenaQueries({ dataFile, queries: chunk, processes: 1, timeoutMs: 2 * timeoutMs });
      const ms = Math.round((Date.now() - started) / chunk.length);
      chunk.forEach((text, j) => byText.set(text, { status: 'ok', results: results[j]!, ms }));
      continue;
    } catch {
      // Fall through: one by one, so each query gets its own verdict and timeout.
    }
    for (const text of chunk) {
      const one = Date.now();
      try {
        byText.set(text, { status: 'ok', results: await runJenaQuery({ dataFile, query: text, timeoutMs }), ms: Date.now() - one });
      } catch (e) {
        const msg = (e as Error).message;
        if (/timed out/.test(msg)) byText.set(text, { status: 'timeout', ms: Date.now() - one });
        else byText.set(text, { status: 'error', error: msg.split('\n').slice(0, 3).join(' ').slice(0, 400), ms: Date.now() - one });
      }
    }
  }
  for (const { q, text } of texts) {
    const o = byText.get(text)!;
    if (o.status === 'timeout') timedOut.add(q.key);
    // A pack item reads its own columns of the results, as runIndicator gives them to the other engines.
    out.set(q.key, o.status === 'ok' && q.kind === 'pack' ? { ...o, results: itemResults(packItem(pack, q.id), o.results) } : o);
  }
  return out;
}

function packItem(pack: ProfilePack, id: string): IndicatorDef {
  return pack.manifest.indicators.find((i) => i.id === id)!;
}

function emptyMatrix(providers: ProviderSpec[]): EngineMatrix {
  return { version: 1, reference: REFERENCE, providers: providers.map((p) => p.name).sort(), engines: [], queries: {} };
}

function set(m: Map<string, Map<string, Map<string, Outcome>>>, key: string, engine: string, provider: string, o: Outcome): void {
  if (!m.has(key)) m.set(key, new Map());
  if (!m.get(key)!.has(engine)) m.get(key)!.set(engine, new Map());
  m.get(key)!.get(engine)!.set(provider, o);
}

export function cellVerdict(vs: ProviderVerdict[]): Verdict {
  if (vs.some((v) => v.startsWith('fails'))) return 'fails';
  if (vs.some((v) => v === 'differs')) return 'differs';
  if (vs.some((v) => v === 'no reference')) return 'unproven';
  return 'same';
}

function firstDifference(ref: string[], mine: string[]): string {
  const missing = ref.filter((r) => !mine.includes(r));
  const extra = mine.filter((r) => !ref.includes(r));
  const cut = (s: string | undefined) => (s ?? '').slice(0, 200);
  return `${ref.length - 1} reference rows, ${mine.length - 1} here; e.g. reference has ${cut(missing[0]) || '-'}; here ${cut(extra[0]) || '-'}`;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function pool(tasks: Array<() => Promise<void>>, jobs: number): Promise<void> {
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(jobs, queue.length)) }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) await t();
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The matrix file and the check

export function readMatrix(path = MATRIX_PATH): EngineMatrix | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as EngineMatrix;
}

/** Deterministic text: keys in a fixed order, no times. */
export function serialiseMatrix(m: EngineMatrix): string {
  const queries = Object.fromEntries(
    Object.entries(m.queries)
      .sort(([, a], [, b]) => orderQueries(a, b))
      .map(([k, e]) => [k, { id: e.id, kind: e.kind, sha256: e.sha256, engines: sortKeys(Object.fromEntries(Object.entries(e.engines).map(([n, c]) => [n, { verdict: c.verdict, providers: sortKeys(c.providers) }]))) }]),
  );
  return `${JSON.stringify({ version: 1, reference: m.reference, providers: [...m.providers].sort(), engines: [...m.engines].sort(), queries }, null, 2)}\n`;
}

function orderQueries(a: { id: string; kind: string }, b: { id: string; kind: string }): number {
  if (a.kind !== b.kind) return a.kind === 'official' ? -1 : 1;
  if (a.kind === 'official') return compareNumbers(a.id.slice('official/'.length), b.id.slice('official/'.length));
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The new file content: a full-scope run replaces the queries it ran (stale entries go); a reduced
 * run only updates the cells it computed. Cells of engines not available here are kept.
 */
export function mergeMatrix(old: EngineMatrix | undefined, run: RunResult): EngineMatrix {
  const out: EngineMatrix = { version: 1, reference: REFERENCE, providers: run.matrix.providers, engines: run.matrix.engines, queries: {} };
  const keep = new Set(run.unavailable.map((u) => u.name));
  if (old) {
    out.providers = [...new Set([...old.providers, ...run.matrix.providers])];
    out.engines = [...new Set([...run.matrix.engines, ...old.engines.filter((e) => keep.has(e) || run.reduced)])];
    // A query the run covered keeps only the version it ran: an older text of it proves nothing now, and
    // would fail the next full --check as stale.
    const ranIds = new Set(Object.values(run.matrix.queries).map((e) => e.id));
    for (const [k, e] of Object.entries(old.queries)) {
      if (!run.matrix.queries[k] && (!run.reduced || ranIds.has(e.id))) continue;
      out.queries[k] = structuredClone(e);
    }
  }
  for (const [k, e] of Object.entries(run.matrix.queries)) {
    const target = (out.queries[k] ??= { id: e.id, kind: e.kind, sha256: e.sha256, engines: {} });
    for (const [engine, cell] of Object.entries(e.engines)) {
      const providers = { ...(run.reduced ? (target.engines[engine]?.providers ?? {}) : {}), ...cell.providers };
      target.engines[engine] = { verdict: cellVerdict(Object.values(providers)), providers };
    }
    if (!run.reduced) for (const engine of Object.keys(target.engines)) if (!e.engines[engine] && !keep.has(engine)) delete target.engines[engine];
  }
  return out;
}

export interface CheckReport {
  /** Cells whose verdict changed, queries missing from or stale in the file: each fails the check. */
  changes: string[];
  /**
   * Changes to or from a timeout ("fails (timeout)", or "no reference" because Jena overran): they
   * depend on the machine's speed and load, and never let a wrong answer through (routing refuses a
   * timed-out cell; an engine that overruns at run time errors), so they are reported, not failed,
   * unless the check is strict.
   */
  timing: string[];
  /** Engines of the file that are not available here: reported, not failed. */
  notChecked: string[];
}

/** Compares a run with the checked-in matrix, cell by cell (only the providers and queries the run covered). */
export function checkMatrix(file: EngineMatrix, run: RunResult, strictTimeouts = false): CheckReport {
  const changes: string[] = [];
  const timing: string[] = [];
  const timingOnly = (a: ProviderVerdict, b: ProviderVerdict) => !strictTimeouts && [a, b].some((v) => v === 'fails (timeout)' || v === 'no reference');
  const notChecked = run.unavailable.filter((u) => file.engines.includes(u.name)).map((u) => `${u.name} (${u.reason})`);
  for (const [k, e] of Object.entries(run.matrix.queries)) {
    const old = file.queries[k];
    if (!old) {
      const other = Object.values(file.queries).find((o) => o.id === e.id);
      changes.push(`${e.id}: ${other ? 'its query text changed since' : 'not in'} the checked-in matrix (run npm run conformance:engines and commit conformance/engine-matrix.json)`);
      continue;
    }
    for (const [engine, cell] of Object.entries(e.engines)) {
      const was = old.engines[engine];
      if (!was) {
        changes.push(`${e.id} × ${engine}: not in the checked-in matrix, now ${cell.verdict}`);
        continue;
      }
      for (const [p, v] of Object.entries(cell.providers)) {
        const before = was.providers[p];
        if (before === undefined) changes.push(`${e.id} × ${engine} on ${p}: not in the checked-in matrix, now ${v}`);
        else if (before !== v) (timingOnly(before, v) ? timing : changes).push(`${e.id} × ${engine} on ${p}: was ${before}, now ${v}`);
      }
    }
  }
  if (!run.reduced) {
    for (const [k, e] of Object.entries(file.queries)) if (!run.matrix.queries[k]) changes.push(`${e.id}: in the checked-in matrix (sha256 ${e.sha256.slice(0, 16)}…) but no longer a query of this run (run npm run conformance:engines and commit the matrix)`);
  }
  return { changes, timing, notChecked };
}

// ---------------------------------------------------------------------------------------------
// Output

export function formatTable(run: RunResult): string {
  const engines = run.matrix.engines;
  const entries = Object.entries(run.matrix.queries).sort(([, a], [, b]) => orderQueries(a, b));
  const header = ['query', ...engines];
  const rows = entries.map(([k, e]) => [e.id, ...engines.map((n) => `${e.engines[n]?.verdict ?? '-'} ${((run.times[k]?.[n] ?? 0) / 1000).toFixed(1)}s`)]);
  const totals = ['total', ...engines.map((n) => `${entries.filter(([, e]) => e.engines[n]?.verdict === 'same').length}/${entries.length} same`)];
  const all = [header, ...rows, totals];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), line(totals)].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const list = (name: string) => opt(name)?.split(',').filter(Boolean);
  const check = args.includes('--check');
  const matrixPath = resolve(opt('--matrix') ?? MATRIX_PATH);
  const run = await runEngineConformance({
    engines: list('--engines'),
    providers: list('--providers'),
    queries: list('--queries'),
    timeoutMs: opt('--timeout') ? Number(opt('--timeout')) * 1000 : undefined,
    jobs: opt('--jobs') ? Number(opt('--jobs')) : undefined,
    remoteEndpoint: opt('--remote-endpoint'),
    skipTimeoutsOf: args.includes('--skip-recorded-timeouts') ? readMatrix(matrixPath) : undefined,
  });
  if (!run.matrix.engines.includes(REFERENCE)) {
    const why = run.unavailable.find((u) => u.name === REFERENCE)?.reason ?? 'not available';
    const msg = `the reference engine ${REFERENCE} is not available here (${why}): no engine can be compared, nothing was ${check ? 'checked' : 'written'}`;
    // CI installs Jena; a CI run without it would check nothing, so it fails there.
    if (process.env.CI) throw new Error(`${msg}; CI must install it (.ci/run)`);
    console.log(msg);
    return;
  }
  console.log(`\nEngine conformance (reference ${REFERENCE}; providers ${run.matrix.providers.join(', ')}; time = sum over providers)\n`);
  console.log(formatTable(run));
  if (run.notes.length > 0) console.log(`\nNotes:\n${run.notes.map((n) => `  ${n}`).join('\n')}`);
  for (const u of run.unavailable) console.log(`not run: ${u.name} (${u.reason})`);
  console.log(`\nconformance:engines took ${(run.ms / 1000).toFixed(1)} s`);

  const old = readMatrix(matrixPath);
  if (check) {
    if (!old) throw new Error(`${matrixPath} does not exist: run npm run conformance:engines (without --check) and commit it`);
    const report = checkMatrix(old, run, args.includes('--strict-timeouts'));
    for (const n of report.notChecked) console.log(`not checked (engine not available here): ${n}`);
    if (report.timing.length > 0) console.log(`\n${report.timing.length} timing-dependent change(s), not failed (--strict-timeouts fails them):\n${report.timing.map((c) => `  ${c}`).join('\n')}`);
    if (report.changes.length > 0) {
      console.log(`\n${report.changes.length} cell(s) changed against ${matrixPath}:\n${report.changes.map((c) => `  ${c}`).join('\n')}`);
      console.log('If the change is intended (an engine upgrade or a normaliser fix), run npm run conformance:engines and commit the matrix.');
      process.exitCode = 1;
    } else console.log(`matrix check: every computed cell matches ${matrixPath}`);
    return;
  }
  mkdirSync(dirname(matrixPath), { recursive: true });
  writeFileSync(matrixPath, serialiseMatrix(mergeMatrix(old, run)));
  console.log(`wrote ${matrixPath}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
