/**
 * Shared by the item tests: staging rows -> CSV -> the real import (checks, RML, calendar) -> a
 * snapshot -> an engine -> a pack item through the normaliser -> item rows (teller, noemer, value).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../src/config/load.js';
import { withMappingDirectory, type AgentConfig } from '../src/config/schema.js';
import { openDb, type Db } from '../src/db/open.js';
import type { QueryEngine } from '../src/engines/types.js';
import { itemRows, type ItemRow } from '../src/indicators/item-rows.js';
import { loadPack, runIndicator, type ProfilePack, type SharedRuns } from '../src/indicators/pack.js';
import type { StagingRows } from '../src/oracle/personeel.js';
import { importSource } from '../src/pipeline/import.js';
import { SAMPLE_LAYOUT, SAMPLE_TABLE_NAMES, toCsv } from '../src/sample/generate.js';
import { readSnapshot } from '../src/store/snapshot.js';
import { ROOT, tempDir } from './helpers.js';

export const PROFILE = 'zorginstituut-verpleeghuiszorg';
export const PACK_VERSION = '2023.1.0';

export function loadTestPack(): ProfilePack {
  return loadPack(join(ROOT, 'queries'), PROFILE, PACK_VERSION);
}

export function writeTables(tables: StagingRows, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const name of SAMPLE_TABLE_NAMES) {
    const layout = SAMPLE_LAYOUT[name];
    writeFileSync(join(dir, layout.file), toCsv([...layout.columns], tables[name] ?? []), 'utf8');
  }
}

export interface ImportedTables {
  snapshotHash: string;
  nquads: string;
  /** Vestigingsnummers of the provider's locations. */
  locations: string[];
  rowsRejected: number;
  report: Awaited<ReturnType<typeof importSource>>['report'];
}

let shared: { db: Db; base: AgentConfig; dataDir: string } | undefined;

/** Imports staging tables through the real pipeline (SHACL off: it does not change the mapped data). */
export async function importTables(tables: StagingRows): Promise<ImportedTables> {
  if (!shared) {
    const dataDir = join(tempDir('kikv-pack-'), 'data');
    shared = { db: openDb(dataDir), base: loadConfig(DEFAULT_CONFIG_FILE), dataDir };
  }
  const { db, base, dataDir } = shared;
  const dir = tempDir('kikv-pack-src-');
  writeTables(tables, dir);
  const cfg: AgentConfig = { ...withMappingDirectory(base, dir), storage: { ...base.storage, dataDir }, mapping: { ...base.mapping, validateUpTo: 0 } };
  const imported = await importSource(cfg, db, 'pack-test');
  if (!imported.snapshot) throw new Error(`import failed: ${JSON.stringify(imported.report.fileErrors)}`);
  const hash = imported.snapshot.meta.hash;
  return {
    snapshotHash: hash,
    nquads: readSnapshot(dataDir, hash).nquads,
    locations: (tables.locations ?? []).map((l) => l.vestigingsnummer!).filter(Boolean),
    rowsRejected: imported.report.totals.rowsRejected,
    report: imported.report,
  };
}

/** Runs one computed item on an engine that has the snapshot loaded; returns its rows. `shared`: reuse runs of a query several items share (one map per loaded snapshot). */
export async function runItem(engine: QueryEngine, pack: ProfilePack, itemId: string, year: number, locations: string[], shared?: SharedRuns): Promise<ItemRow[]> {
  const run = await runIndicator(engine, pack, itemId, year, shared);
  return itemRows(run.indicator, run.results, locations);
}
