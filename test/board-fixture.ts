/**
 * Shared set-up for the board's tests (issue 6): a small sample provider (two locations) imported
 * into a real data dir, and every item of the 2023 profile computed on it (and, with
 * `previousYear`, of 2022 too, for the trend and the previous year's value), with a delivery window
 * for 2023 that is open now unless the test says otherwise.
 */
import { join } from 'node:path';
import { RoundError } from '../src/answers/rounds.js';
import { loadConfig } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/schema.js';
import { openDb, type Db } from '../src/db/open.js';
import { runProfile } from '../src/indicators/run-profile.js';
import { importSource } from '../src/pipeline/import.js';
import { writeSample } from '../src/sample/generate.js';
import { rewriteConfig } from './exchange-agent.js';
import { tempDir, writeConfig } from './helpers.js';

export const PROFILE = 'zorginstituut-verpleeghuiszorg';

export interface BoardFixture {
  file: string;
  dir: string;
  cfg: AgentConfig;
  db: Db;
}

const DAY = 86_400_000;

/** A window around now (open), or one that closed yesterday ('locked'), or opens tomorrow ('upcoming'). */
export function windowFor(year: number, phase: 'open' | 'locked' | 'upcoming', now = Date.now()) {
  const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (phase === 'open') return { profile: PROFILE, year, opens: iso(now - 30 * DAY), closes: iso(now + 30 * DAY) };
  if (phase === 'locked') return { profile: PROFILE, year, opens: iso(now - 60 * DAY), closes: iso(now - DAY) };
  return { profile: PROFILE, year, opens: iso(now + DAY), closes: iso(now + 60 * DAY) };
}

export async function boardFixture(opts: { previousYear?: boolean; windows?: Array<ReturnType<typeof windowFor>>; board?: Record<string, unknown>; seed?: number } = {}): Promise<BoardFixture> {
  const source = join(tempDir('kikv-board-src-'), 'source');
  await writeSample({ employees: 16, clients: 10, locations: 2, seed: opts.seed ?? 21 }, source);
  const c = writeConfig({ source });
  const base = loadConfig(c.file);
  rewriteConfig(c.file, {
    import: { schedule: 'off', timezone: 'Europe/Amsterdam' },
    delivery: { ...base.delivery, windows: opts.windows ?? [windowFor(2023, 'open')] },
    // Many logins from 127.0.0.1 in one file: the per-address login limit is tested in test/auth.test.ts.
    board: { secureCookie: false, loginRateLimit: 1000, ...opts.board },
  });
  const cfg = loadConfig(c.file);
  const db = openDb(cfg.storage.dataDir);
  await importSource(cfg, db, 'test');
  if (opts.previousYear) await runProfile(cfg, db, { year: 2022, actor: 'test' });
  await runProfile(cfg, db, { year: 2023, actor: 'test' });
  return { file: c.file, dir: c.dir, cfg, db };
}

/** The RoundError a domain call refuses with (fails the test when it does not refuse). */
export function refusal(f: () => unknown): RoundError {
  try {
    f();
  } catch (e) {
    if (e instanceof RoundError) return e;
    throw e;
  }
  throw new Error('expected a RoundError');
}
