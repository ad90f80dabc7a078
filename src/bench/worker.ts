/**
 * One task of the profile and official sections of `npm run bench`, in its own process (see
 * child.ts). Receives a WorkerTask as its first IPC message; sends WorkerMessages back, the last one
 * `done`. Every time is wall time of the measured step only; memory is RSS sampled every 20 ms
 * during a step, and the kernel's maxRSS for the process.
 *
 *   import    importSource on a generated provider, keeping the snapshot (providers.ts caches it)
 *   profile   one engine: load the snapshot, then the given computed items of the pack, in pack order
 *   oracle    ITEM_ORACLES on the staging rows (the performance floor)
 *   official  official Zorgkantoren queries, each on its own, on Jena with the snapshot in memory
 *             (one long-lived JVM; a query that overruns kills it, and the data is read in again)
 *
 * `scratch` is a directory the parent made and removes when the bench ends (the profile section's
 * Jena TDB2 store lives there).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from 'csv-parse/sync';
import { hwm, treeOf } from './proc.js';

export type WorkerTask =
  | { kind: 'import'; config: string; csvDir: string; dataDir: string }
  | { kind: 'profile'; engine: string; snapshotFile: string; packs: string; profile: string; version: string; year: number; locations: string[]; budgetMs: number; scratch: string; items: string[] }
  | { kind: 'oracle'; csvDir: string; packs: string; profile: string; version: string; year: number }
  | { kind: 'official'; dataFile: string; queries: Array<{ id: string; text: string }>; queryTimeoutMs: number; budgetMs: number; scratch: string };

/** A row of an item as teller/noemer per indeling (canonical decimals), for comparing engine and oracle. */
export interface BenchRow {
  indeling: string;
  teller: string | null;
  noemer: string | null;
}

export type WorkerMessage =
  | { kind: 'imported'; hash: string; quads: number; rows: number; ms: number; peakRss: number; validated: boolean }
  | { kind: 'loaded'; ms: number; peakRss: number }
  | { kind: 'item'; id: string; ms: number; peakRss: number; rows?: BenchRow[]; error?: string; skipped?: string }
  | { kind: 'official'; id: string; ms: number; peakRss: number; rowCount?: number; error?: string; skipped?: string }
  | { kind: 'done'; maxRss: number; error?: string };

const send = (m: WorkerMessage) =>
  new Promise<void>((resolve) => {
    if (process.send) process.send(m, () => resolve());
    else {
      process.stdout.write(JSON.stringify(m) + '\n');
      resolve();
    }
  });

const maxRss = () => process.resourceUsage().maxRSS * 1024;

/**
 * Times one step and the highest RSS seen while it ran: this process's RSS (the sampler runs only
 * between awaits, so a synchronous engine call shows as its RSS after the call) or, when the step
 * starts processes (Jena's JVM), the highest peak RSS (VmHWM) of any of them.
 */
async function measured<T>(f: () => Promise<T> | T, tree = false): Promise<{ value?: T; error?: string; ms: number; peakRss: number }> {
  let peakRss = process.memoryUsage.rss();
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (tree) for (const pid of treeOf(process.pid).slice(1)) peakRss = Math.max(peakRss, hwm(pid));
  };
  const timer = setInterval(sample, tree ? 100 : 20);
  const t = performance.now();
  try {
    const value = await f();
    const ms = performance.now() - t;
    sample();
    return { value, ms, peakRss };
  } catch (e) {
    const ms = performance.now() - t;
    sample();
    return { error: e instanceof Error ? e.message : String(e), ms, peakRss };
  } finally {
    clearInterval(timer);
  }
}

async function importTask(task: Extract<WorkerTask, { kind: 'import' }>): Promise<void> {
  const { loadConfig } = await import('../config/load.js');
  const { withMappingDirectory } = await import('../config/schema.js');
  const { openDb } = await import('../db/open.js');
  const { importSource } = await import('../pipeline/import.js');
  const base = loadConfig(task.config);
  const cfg = { ...withMappingDirectory(base, task.csvDir), storage: { dataDir: task.dataDir }, trust: { ...base.trust, keysDir: join(task.dataDir, 'keys') } };
  const db = openDb(task.dataDir);
  const r = await measured(() => importSource(cfg, db, 'bench'));
  db.close();
  if (r.error || !r.value?.snapshot) {
    const why = r.error ?? r.value?.report.fileErrors.map((e) => `${e.file}: ${e.reason}`).join('; ') ?? 'no snapshot';
    throw new Error(`import failed: ${why}`);
  }
  const rep = r.value.report;
  await send({
    kind: 'imported',
    hash: r.value.snapshot.meta.hash,
    quads: r.value.snapshot.meta.quads,
    rows: rep.totals.rowsRead,
    ms: r.ms,
    peakRss: Math.max(r.peakRss, maxRss()),
    validated: r.value.snapshot.meta.quads <= base.mapping.validateUpTo,
  });
}

async function profileTask(task: Extract<WorkerTask, { kind: 'profile' }>): Promise<void> {
  const { loadPack, runIndicator } = await import('../indicators/pack.js');
  const { itemRows } = await import('../indicators/item-rows.js');
  const { createBenchEngine } = await import('./engines.js');
  const pack = loadPack(task.packs, task.profile, task.version);
  const engine = createBenchEngine(task.engine, { scratch: task.scratch, queryTimeoutMs: task.budgetMs });
  const start = performance.now();
  const load = await measured(() => engine.loadFile(task.snapshotFile), task.engine === 'jena');
  if (load.error) throw new Error(`loading the snapshot: ${load.error}`);
  await send({ kind: 'loaded', ms: load.ms, peakRss: load.peakRss });
  // As in `kikv run`: items that share a query (2.1.1–2.1.9 read 2.1's columns) run it once.
  const shared: import('../indicators/pack.js').SharedRuns = new Map();
  for (const ind of pack.manifest.indicators) {
    if (!pack.queries.has(ind.id) || !task.items.includes(ind.id)) continue;
    if (performance.now() - start > task.budgetMs) {
      await send({ kind: 'item', id: ind.id, ms: 0, peakRss: 0, skipped: 'not run: the engine used up its time budget' });
      continue;
    }
    const r = await measured(() => runIndicator(engine, pack, ind.id, task.year, shared), task.engine === 'jena');
    let rows: BenchRow[] | undefined;
    let error = r.error;
    if (r.value) {
      try {
        rows = itemRows(ind, r.value.results, task.locations).filter((x) => !x.afdeling).map((x) => ({ indeling: x.indeling, teller: x.teller, noemer: x.noemer }));
      } catch (e) {
        error = `rows break the query contract: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    await send({ kind: 'item', id: ind.id, ms: r.ms, peakRss: r.peakRss, ...(rows ? { rows } : {}), ...(error ? { error } : {}) });
  }
}

async function oracleTask(task: Extract<WorkerTask, { kind: 'oracle' }>): Promise<void> {
  const { loadPack, yearTemplate } = await import('../indicators/pack.js');
  const { canonicalDecimal } = await import('../indicators/item-rows.js');
  const { ITEM_ORACLES } = await import('../oracle/index.js');
  const pack = loadPack(task.packs, task.profile, task.version);
  const tables: Record<string, Array<Record<string, string>>> = {};
  const read = await measured(() => {
    for (const f of readdirSync(task.csvDir)) {
      if (f.endsWith('.csv')) tables[f.slice(0, -4)] = parse(readFileSync(join(task.csvDir, f), 'utf8'), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
    }
  });
  if (read.error) throw new Error(`reading the staging CSV files: ${read.error}`);
  await send({ kind: 'loaded', ms: read.ms, peakRss: read.peakRss });
  for (const ind of pack.manifest.indicators) {
    const oracle = ITEM_ORACLES[ind.id];
    if (!pack.queries.has(ind.id) || !oracle) continue;
    const params = Object.fromEntries(Object.entries(ind.parameters).map(([k, p]) => [k, yearTemplate(p.value, task.year)]));
    const r = await measured(() => oracle(tables, params));
    const rows = r.value?.map((x) => ({ indeling: x.indeling, teller: canonicalDecimal(x.teller), noemer: x.noemer === null ? null : canonicalDecimal(x.noemer) }));
    await send({ kind: 'item', id: ind.id, ms: r.ms, peakRss: r.peakRss, ...(rows ? { rows } : {}), ...(r.error ? { error: r.error } : {}) });
  }
}

async function officialTask(task: Extract<WorkerTask, { kind: 'official' }>): Promise<void> {
  const { JenaMemoryEngine } = await import('../engines/jena/memory.js');
  // In memory: Jena answers the official queries as written, and there many times faster than on TDB2.
  const engine = new JenaMemoryEngine({ javaOptions: ['-Xmx6g'], timeoutMs: task.queryTimeoutMs });
  const start = performance.now();
  const load = await measured(() => engine.loadFile(task.dataFile), true);
  if (load.error) throw new Error(`Jena could not load the snapshot: ${load.error}`);
  await send({ kind: 'loaded', ms: load.ms, peakRss: load.peakRss });
  for (const q of task.queries) {
    const left = task.budgetMs - (performance.now() - start);
    if (left < 5_000) {
      await send({ kind: 'official', id: q.id, ms: 0, peakRss: 0, skipped: 'not run: the section used up its time budget' });
      continue;
    }
    // The engine kills its query JVM at queryTimeoutMs itself; a race here would start the next
    // query beside a JVM still dying. The section budget is checked between queries.
    const r = await measured(() => engine.select(q.text), true);
    await send({ kind: 'official', id: q.id, ms: r.ms, peakRss: r.peakRss, ...(r.value ? { rowCount: r.value.results.bindings.length } : {}), ...(r.error ? { error: r.error } : {}) });
    // A query that overran killed the JVM: the next one needs the data read in again.
    if (r.error && /timed out|JVM (exited|killed)/.test(r.error)) {
      const again = await measured(() => engine.loadFile(task.dataFile), true);
      if (again.error) throw new Error(`Jena could not reload the snapshot after ${q.id}: ${again.error}`);
    }
  }
  await engine.close();
}

async function main(): Promise<void> {
  const task = await new Promise<WorkerTask>((resolve) => process.once('message', (m: { kind: string; task: WorkerTask }) => resolve(m.task)));
  let error: string | undefined;
  try {
    if (task.kind === 'import') await importTask(task);
    else if (task.kind === 'profile') await profileTask(task);
    else if (task.kind === 'oracle') await oracleTask(task);
    else if (task.kind === 'official') await officialTask(task);
    else throw new Error(`unknown bench task ${(task as { kind?: string }).kind}`);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  await send({ kind: 'done', maxRss: maxRss(), ...(error ? { error } : {}) });
  // Engines may keep handles open (Comunica, a WASM store): this process is done.
  process.exit(0);
}

await main();
