import { getAnswer, type Answer } from '../answers/answers.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { runProfile } from '../indicators/run-profile.js';

/**
 * Snapshot -> indicators -> answers: `kikv run` for every configured profile and the configured
 * reporting year. Returns the answers that wait for the board; items the conformance matrix proves
 * no engine for are refused (and audited) by runProfile.
 */
export async function computeAnswers(cfg: AgentConfig, db: Db, snapshotHash: string, actor: string): Promise<Array<{ answer: Answer; created: boolean }>> {
  const out: Array<{ answer: Answer; created: boolean }> = [];
  for (const { profile, version } of cfg.indicators.profiles) {
    const run = await runProfile(cfg, db, { profile, version, year: cfg.indicators.reportingYear, snapshotHash, actor });
    for (const item of run.items) if (item.answerId) out.push({ answer: getAnswer(db, item.answerId), created: item.created ?? false });
  }
  return out;
}
