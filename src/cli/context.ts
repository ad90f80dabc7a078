import { InvalidArgumentError, type Command } from 'commander';
import type { AgentConfig } from '../config/schema.js';
import { configFileFrom, loadConfig } from '../config/load.js';
import { openDb, type Db } from '../db/open.js';
import { verifyPresentation } from '../exchange/credentials/index.js';
import { loadOrCreateSigningKey } from '../exchange/keys.js';
import { createTrust } from '../exchange/trust/index.js';
import type { Trust } from '../exchange/types.js';

/** A usage mistake on the command line: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface AgentContext {
  cfg: AgentConfig;
  db: Db;
  /** The trust adapter every command signs, verifies and delivers with (standalone or Nuts). */
  trust: Trust;
  close(): void;
}

/** Reads the configuration first (so a bad one touches nothing), then opens state and keys. */
export async function openAgent(configOption: string | undefined, adjust?: (cfg: AgentConfig) => AgentConfig): Promise<AgentContext> {
  let cfg = loadConfig(configFileFrom(configOption));
  if (adjust) cfg = adjust(cfg);
  // Standalone: the key exists before the first signature or JWKS request. Nuts: the node holds the keys.
  if (cfg.trust.mode === 'standalone') await loadOrCreateSigningKey(cfg.trust.keysDir);
  const trust = createTrust(cfg, { verifyPresentation });
  const db = openDb(cfg.storage.dataDir);
  return { cfg, db, trust, close: () => db.close() };
}

/** Kept here for the commands; the server imports it from the exchange. */
export { deliverySettings } from '../exchange/delivery-round.js';

/** Parses a whole-number option, or fails as a usage error (exit 2). */
export function wholeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number, got "${v}"`);
    return n;
  };
}

/** Runs a command body with the agent opened from the command's --config, and closes it afterwards. */
export async function withAgent(cmd: Command, f: (ctx: AgentContext) => Promise<void>): Promise<void> {
  const ctx = await openAgent(cmd.optsWithGlobals().config as string | undefined);
  try {
    await f(ctx);
  } finally {
    ctx.close();
  }
}
