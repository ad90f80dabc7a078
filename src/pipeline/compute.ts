import { recordAnswer, type Answer } from '../answers/answers.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { ComunicaQueryEngine } from '../engines/comunica.js';
import type { QueryEngine } from '../engines/types.js';
import { loadPack, runIndicator } from '../indicators/pack.js';
import { readSnapshot } from '../store/snapshot.js';

/**
 * Snapshot -> indicators -> answers: runs every indicator of the configured profiles for the
 * reporting year and stores each result as an answer awaiting approval.
 */
export async function computeAnswers(cfg: AgentConfig, db: Db, snapshotHash: string, actor: string, engine: QueryEngine = new ComunicaQueryEngine()): Promise<Array<{ answer: Answer; created: boolean }>> {
  const snapshot = readSnapshot(cfg.storage.dataDir, snapshotHash);
  await engine.load(snapshot.nquads);
  const out: Array<{ answer: Answer; created: boolean }> = [];
  const year = cfg.indicators.reportingYear;
  for (const { profile, version } of cfg.indicators.profiles) {
    const pack = loadPack(cfg.indicators.packs, profile, version);
    for (const ind of pack.manifest.indicators) {
      const run = await runIndicator(engine, pack, ind.id, year);
      out.push(recordAnswer(db, run, { profile, version, year, snapshotHash, actor }));
    }
  }
  return out;
}
