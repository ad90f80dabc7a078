/**
 * One mapping run of `npm run bench`, in its own process so that its time and memory are its own.
 * Started by bench/mapping.ts with fork(); receives a WorkerTask as argv[2] (JSON) and sends one
 * WorkerResult over IPC.
 *
 *   engine     our RML-Core engine: loadMapping + runMapping, emit only counts (optionally writes the statements)
 *   import     the whole import (staging checks, mapping, calendar, canonical snapshot) through importSource
 *   rocketrml  RocketRML's parseFileLive on the legacy-namespace copy of the mapping, N-Quads output
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

export type WorkerTask =
  | { kind: 'engine'; rules: string; baseIri: string; dir: string; out?: string }
  | { kind: 'import'; config: string; dir: string }
  | { kind: 'rocketrml'; legacy: string; sources: string[]; out?: string };

export interface WorkerResult {
  ok: boolean;
  error?: string;
  /** Statements emitted (engine), quads in the snapshot (import), N-Quads lines (RocketRML). */
  statements: number;
  /** Wall time of the measured part, ms. */
  ms: number;
  /** Wall time of loading/compiling the mapping, ms (engine), included in ms for RocketRML. */
  loadMs?: number;
  /** RSS and heap right before the measured part (modules and mapping loaded), bytes. */
  baseRss: number;
  baseHeap: number;
  /** Highest RSS and heapUsed seen by the 50 ms sampler, bytes. */
  peakRss: number;
  peakHeap: number;
  /** Peak RSS as the kernel counts it (resourceUsage().maxRSS), bytes: also catches peaks between samples. */
  maxRss: number;
  /** Per logical source: records and statements (engine). */
  sources?: Array<{ label: string; records: number; statements: number }>;
  /** Rows read by the import (staging files). */
  rows?: number;
}

const timers = new Set<NodeJS.Timeout>();

function sampler(): { stop(): { peakRss: number; peakHeap: number } } {
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  sample();
  const timer = setInterval(sample, 50);
  timers.add(timer);
  return {
    stop() {
      clearInterval(timer);
      timers.delete(timer);
      sample();
      return { peakRss, peakHeap };
    },
  };
}

async function engine(task: Extract<WorkerTask, { kind: 'engine' }>): Promise<WorkerResult> {
  const { loadMapping, runMapping } = await import('../mapping/rml/index.js');
  const t0 = performance.now();
  const m = await loadMapping(task.rules);
  const loadMs = performance.now() - t0;
  const out = task.out ? createWriteStream(task.out) : undefined;
  let statements = 0;
  let pending: string[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const base = process.memoryUsage();
  const s = sampler();
  const t1 = performance.now();
  const stats = await runMapping(m, {
    baseIri: task.baseIri,
    mappingDirectory: dirname(task.rules),
    currentWorkingDirectory: task.dir,
    emit(statement) {
      statements++;
      if (out) {
        pending.push(statement);
        if (pending.length >= 4096) {
          out.write(pending.join('\n') + '\n');
          pending = [];
        }
      }
    },
  });
  const ms = performance.now() - t1;
  const peak = s.stop();
  if (out) {
    if (pending.length > 0) out.write(pending.join('\n') + '\n');
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
  return {
    ok: true,
    statements,
    ms,
    loadMs,
    baseRss: base.rss,
    baseHeap: base.heapUsed,
    ...peak,
    maxRss: process.resourceUsage().maxRSS * 1024,
    sources: stats.sources,
  };
}

async function importRun(task: Extract<WorkerTask, { kind: 'import' }>): Promise<WorkerResult> {
  const { loadConfig } = await import('../config/load.js');
  const { withMappingDirectory } = await import('../config/schema.js');
  const { openDb } = await import('../db/open.js');
  const { importSource } = await import('../pipeline/import.js');
  const state = mkdtempSync(join(tmpdir(), 'kikv-bench-import-'));
  try {
    const base = loadConfig(task.config);
    const cfg = { ...withMappingDirectory(base, task.dir), storage: { dataDir: state }, trust: { ...base.trust, keysDir: join(state, 'keys') } };
    const db = openDb(state);
    const before = process.memoryUsage();
    const s = sampler();
    const t = performance.now();
    const result = await importSource(cfg, db, 'bench');
    const ms = performance.now() - t;
    const peak = s.stop();
    db.close();
    const failed = result.report.fileErrors.map((e) => `${e.file}: ${e.reason}`).join('; ');
    return {
      ok: !!result.snapshot,
      ...(result.snapshot ? {} : { error: failed || 'no snapshot' }),
      statements: result.snapshot?.meta.quads ?? 0,
      ms,
      baseRss: before.rss,
      baseHeap: before.heapUsed,
      ...peak,
      maxRss: process.resourceUsage().maxRSS * 1024,
      rows: result.report.totals.rowsRead,
    };
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

async function rocketrml(task: Extract<WorkerTask, { kind: 'rocketrml' }>): Promise<WorkerResult> {
  // RocketRML is CommonJS and a dev dependency: required only here, only by the benchmark.
  const require = createRequire(import.meta.url);
  stubJsonLdHttpClient(require);
  const { parseFileLive } = require('rocketrml') as {
    parseFileLive(mapping: string, inputFiles: Record<string, string>, options: Record<string, unknown>): Promise<string>;
  };
  const mapping = readFileSync(task.legacy, 'utf8');
  const inputs: Record<string, string> = {};
  for (const file of task.sources) inputs[file] = readFileSync(file, 'utf8');
  const base = process.memoryUsage();
  const s = sampler();
  const t = performance.now();
  const rdf = await parseFileLive(mapping, inputs, { toRDF: true });
  const ms = performance.now() - t;
  const peak = s.stop();
  let statements = 0;
  for (let i = rdf.indexOf('\n'); i >= 0; i = rdf.indexOf('\n', i + 1)) statements++;
  if (rdf.length > 0 && !rdf.endsWith('\n')) statements++;
  if (task.out) writeFileSync(task.out, rdf, 'utf8');
  return { ok: true, statements, ms, baseRss: base.rss, baseHeap: base.heapUsed, ...peak, maxRss: process.resourceUsage().maxRSS * 1024 };
}

/**
 * jsonld (RocketRML's dependency) loads @digitalbazaar/http-client through the `esm` loader, which
 * fails on current Node ("Cannot use import statement outside a module"). The client only fetches
 * remote JSON-LD contexts, which this mapping never uses: an empty module stands in for it.
 */
function stubJsonLdHttpClient(require: NodeJS.Require): void {
  try {
    const rocket = dirname(require.resolve('rocketrml/package.json'));
    const jsonld = dirname(require.resolve('jsonld/package.json', { paths: [rocket] }));
    const file = require.resolve('@digitalbazaar/http-client', { paths: [jsonld] });
    const stub = new Module(file);
    stub.filename = file;
    stub.loaded = true;
    stub.exports = { httpClient: undefined };
    require.cache[file] = stub;
  } catch {
    // Not installed that way: let RocketRML load as it is.
  }
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as WorkerTask;
  let result: WorkerResult;
  try {
    result = task.kind === 'engine' ? await engine(task) : task.kind === 'import' ? await importRun(task) : await rocketrml(task);
  } catch (e) {
    for (const t of timers) clearInterval(t);
    const m = process.memoryUsage();
    result = {
      ok: false,
      error: e instanceof Error ? e.message : String(e),
      statements: 0,
      ms: 0,
      baseRss: m.rss,
      baseHeap: m.heapUsed,
      peakRss: m.rss,
      peakHeap: m.heapUsed,
      maxRss: process.resourceUsage().maxRSS * 1024,
    };
  }
  if (process.send) await new Promise<void>((resolve) => process.send!(result, () => resolve()));
  else writeFileSync(1, JSON.stringify(result) + '\n');
  // Whatever a failed run left behind (open handles, pending work), this process is done.
  process.exit(0);
}

await main();
