/**
 * Generated providers for the profile and official sections, imported once and then reused from a
 * cache under os.tmpdir()/kikv-bench-cache. An entry is keyed by the generator options and code,
 * and its import by the staging files, the mapping rules, the staging checks and the calendar code, so
 * a change to any of them regenerates or re-imports instead of timing stale data. `--fresh` ignores
 * the cache (needed after a change to the mapping engine's code). A reused import prints the figures
 * measured when it was made.
 */
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AgentConfig } from '../config/schema.js';
import { writeSample, type SampleOptions } from '../sample/generate.js';
import { snapshotFile } from '../store/snapshot.js';
import { runChild } from './child.js';
import type { WorkerMessage } from './worker.js';

export const CACHE_ROOT = join(tmpdir(), 'kikv-bench-cache');
export const YEARS = { from: 2019, to: 2023 };
const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const DIST = fileURLToPath(new URL('..', import.meta.url));

/**
 * The provider shape of issue 4 scaled by its staff: 15,000 staff go with 6,000 clients and 120
 * locations; smaller providers keep the same ratios (1,000 staff: 400 clients, 8 locations).
 */
export function providerOptions(staff: number): SampleOptions {
  return { employees: staff, clients: Math.round(staff * 0.4), locations: Math.max(3, Math.round(staff / 125)), seed: 2023, years: YEARS };
}

export interface BenchProvider {
  options: SampleOptions;
  csvDir: string;
  dataDir: string;
  hash: string;
  snapshotFile: string;
  quads: number;
  rows: number;
  /** Vestigingsnummers, from the generated locations table. */
  locations: string[];
  generateMs: number;
  importMs: number;
  importPeakRss: number;
  /** SHACL validation ran during the import (it is skipped above mapping.validateUpTo statements). */
  validated: boolean;
  /** When the cached parts were made (absent: made by this run). */
  generatedAt?: string;
  importedAt?: string;
}

interface CsvMeta {
  generateMs: number;
  at: string;
}
interface ImportMeta {
  hash: string;
  quads: number;
  rows: number;
  ms: number;
  peakRss: number;
  validated: boolean;
  at: string;
}

function filesUnder(dir: string, ext: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p, ext));
    else if (e.name.endsWith(ext)) out.push(p);
  }
  return out.sort();
}

function digest(parts: string[], files: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  for (const f of files) h.update(f).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Generates (or reuses) the provider of `staff` staff and imports it (or reuses its snapshot). */
export async function benchProvider(staff: number, cfg: AgentConfig, opts: { fresh: boolean; log: (s: string) => void }): Promise<BenchProvider> {
  const options = providerOptions(staff);
  const csvKey = digest([JSON.stringify(options)], filesUnder(join(DIST, 'sample'), '.js'));
  const entry = join(CACHE_ROOT, `${staff}-${csvKey}`);
  const csvDir = join(entry, 'csv');
  const csvMetaFile = join(entry, 'csv.json');
  if (opts.fresh) rmSync(entry, { recursive: true, force: true });
  // Older entries for the same size were made by other code: they would only fill the disk.
  if (existsSync(CACHE_ROOT)) for (const e of readdirSync(CACHE_ROOT)) if (e.startsWith(`${staff}-`) && e !== `${staff}-${csvKey}`) rmSync(join(CACHE_ROOT, e), { recursive: true, force: true });

  let csvMeta: CsvMeta;
  let generatedAt: string | undefined;
  if (existsSync(csvMetaFile)) {
    csvMeta = JSON.parse(readFileSync(csvMetaFile, 'utf8')) as CsvMeta;
    generatedAt = csvMeta.at;
  } else {
    rmSync(entry, { recursive: true, force: true });
    mkdirSync(entry, { recursive: true });
    opts.log(`generating ${staff.toLocaleString('en-US')} staff, ${options.clients.toLocaleString('en-US')} clients, ${options.locations} locations, ${YEARS.from}–${YEARS.to} …`);
    const t = performance.now();
    const tmp = `${csvDir}.tmp`;
    await writeSample(options, tmp);
    renameSync(tmp, csvDir);
    csvMeta = { generateMs: performance.now() - t, at: new Date().toISOString() };
    writeFileSync(csvMetaFile, JSON.stringify(csvMeta));
  }

  // The mapping's rules, the staging checks and the calendar shape the snapshot. The mapping engine's
  // own code is left out of the key (it changes often and is meant not to change its output):
  // --fresh re-imports after a change to it.
  const snapKey = digest(
    [JSON.stringify(cfg.mapping)],
    [cfg.mapping.rules, ...(cfg.mapping.staging ? [cfg.mapping.staging] : []), ...filesUnder(csvDir, '.csv'), ...filesUnder(join(DIST, 'ontology'), '.js')],
  );
  const dataDir = join(entry, `import-${snapKey}`);
  const importMetaFile = join(dataDir, 'import.json');
  let imp: ImportMeta;
  let importedAt: string | undefined;
  if (existsSync(importMetaFile) && existsSync(snapshotFile(dataDir, (JSON.parse(readFileSync(importMetaFile, 'utf8')) as ImportMeta).hash))) {
    imp = JSON.parse(readFileSync(importMetaFile, 'utf8')) as ImportMeta;
    importedAt = imp.at;
  } else {
    for (const e of readdirSync(entry)) if (e.startsWith('import-')) rmSync(join(entry, e), { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    opts.log(`importing it (importSource, in its own process) …`);
    let imported: Extract<WorkerMessage, { kind: 'imported' }> | undefined;
    const out = await runChild<WorkerMessage>(WORKER, { kind: 'import', config: cfg.file, csvDir, dataDir }, { timeoutMs: 900_000, execArgv: ['--max-old-space-size=8192'] });
    for (const m of out.messages) if (m.kind === 'imported') imported = m;
    const done = out.messages.find((m) => m.kind === 'done');
    if (!imported) throw new Error(`importing the ${staff}-staff provider failed: ${done?.kind === 'done' && done.error ? done.error : (out.failure ?? 'no snapshot')}`);
    imp = { hash: imported.hash, quads: imported.quads, rows: imported.rows, ms: imported.ms, peakRss: Math.max(imported.peakRss, out.treePeakRss), validated: imported.validated, at: new Date().toISOString() };
    writeFileSync(importMetaFile, JSON.stringify(imp));
  }

  const locations = locationNumbers(join(csvDir, 'locations.csv'));
  return {
    options,
    csvDir,
    dataDir,
    hash: imp.hash,
    snapshotFile: snapshotFile(dataDir, imp.hash),
    quads: imp.quads,
    rows: imp.rows,
    locations,
    generateMs: csvMeta.generateMs,
    importMs: imp.ms,
    importPeakRss: imp.peakRss,
    validated: imp.validated,
    ...(generatedAt ? { generatedAt } : {}),
    ...(importedAt ? { importedAt } : {}),
  };
}

function locationNumbers(file: string): string[] {
  const rows = parse(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  return rows.map((r) => r.vestigingsnummer ?? '').filter((v) => v !== '');
}

export function fileSize(file: string): number {
  return statSync(file).size;
}
