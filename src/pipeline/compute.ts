import { getAnswer, type Answer } from '../answers/answers.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { runProfile, type ProfileRun } from '../indicators/run-profile.js';

/**
 * Snapshot -> indicators -> answers: runs every configured profile for the reporting year
 * (`kikv run` for each) and returns the answers that wait for the board. Items the conformance
 * matrix does not prove an engine for are refused and listed in `runs`.
 */
export async function computeAnswers(cfg: AgentConfig, db: Db, snapshotHash: string, actor: string): Promise<Array<{ answer: Answer; created: boolean }> & { runs?: ProfileRun[] }> {
  const out: Array<{ answer: Answer; created: boolean }> & { runs?: ProfileRun[] } = [];
  out.runs = [];
  for (const { profile, version } of cfg.indicators.profiles) {
    const run = await runProfile(cfg, db, { profile, version, year: cfg.indicators.reportingYear, snapshotHash, actor });
    out.runs.push(run);
    for (const item of run.items) if (item.answerId) out.push({ answer: getAnswer(db, item.answerId), created: item.created ?? false });
  }
  return out;
}
