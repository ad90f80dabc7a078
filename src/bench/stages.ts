/**
 * The "stages" section of `npm run bench`: each pipeline stage (generate, import, engine load, one
 * item, signing) on small generated providers, to see where time goes end to end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { withMappingDirectory, type AgentConfig } from '../config/schema.js';
import { openDb } from '../db/open.js';
import { ComunicaQueryEngine } from '../engines/comunica.js';
import { loadOrCreateSigningKey } from '../exchange/keys.js';
import { signResultSet } from '../exchange/messages.js';
import { loadPack, runIndicator } from '../indicators/pack.js';
import { importSource } from '../pipeline/import.js';
import { writeSample, type SampleOptions } from '../sample/generate.js';
import { readSnapshot } from '../store/snapshot.js';

const SIZES: SampleOptions[] = [
  { employees: 250, clients: 180, locations: 3, seed: 2023 },
  { employees: 1000, clients: 700, locations: 8, seed: 2023 },
];

async function time<T>(f: () => Promise<T> | T): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

export async function stagesSection(base: AgentConfig): Promise<void> {
  console.log('');
  console.log('== stages (Comunica, item ps-1.1; 2022–2023 data)');
  console.log('staff  clients  rows    generate  import   rows/s   quads    load     PS 1.1   sign');
  for (const size of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'kikv-bench-'));
    try {
      const source = join(dir, 'source');
      const [, gen] = await time(() => writeSample(size, source));
      const cfg = { ...withMappingDirectory(base, source), storage: { dataDir: dir }, trust: { ...base.trust, keysDir: join(dir, 'keys') } };
      const db = openDb(dir);
      const [imported, imp] = await time(() => importSource(cfg, db, 'bench'));
      const snap = readSnapshot(dir, imported.snapshot!.meta.hash);
      const engine = new ComunicaQueryEngine();
      const [, load] = await time(() => engine.load(snap.nquads));
      const { profile, version } = cfg.indicators.profiles[0]!;
      const pack = loadPack(cfg.indicators.packs, profile, version);
      const [run, query] = await time(() => runIndicator(engine, pack, 'ps-1.1', cfg.indicators.reportingYear));
      const key = await loadOrCreateSigningKey(join(dir, 'keys'));
      const [, sign] = await time(() => signResultSet(key, { resultset: [{ id: 'urn:uuid:bench#ps-1.1', result: run.results }] }));
      db.close();
      const rows = imported.report.totals.rowsRead;
      const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padEnd(9);
      console.log(
        `${String(size.employees).padEnd(7)}${String(size.clients).padEnd(9)}${String(rows).padEnd(8)}${s(gen)}${s(imp)}${String(Math.round(rows / (imp / 1000))).padEnd(9)}${String(snap.meta.quads).padEnd(9)}${s(load)}${s(query)}${sign.toFixed(1)} ms`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
