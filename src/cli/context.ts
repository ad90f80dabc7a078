import { InvalidArgumentError, type Command } from 'commander';
import type { AgentConfig } from '../config/schema.js';
import { configFileFrom, loadConfig } from '../config/load.js';
import { openDb, type Db } from '../db/open.js';
import { loadOrCreateSigningKey, type SigningKey } from '../exchange/keys.js';
import type { DeliverySettings } from '../exchange/outbox.js';

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
  key: SigningKey;
  close(): void;
}

/** Reads the configuration first (so a bad one touches nothing), then opens state and keys. */
export async function openAgent(configOption: string | undefined, adjust?: (cfg: AgentConfig) => AgentConfig): Promise<AgentContext> {
  let cfg = loadConfig(configFileFrom(configOption));
  if (adjust) cfg = adjust(cfg);
  const db = openDb(cfg.storage.dataDir);
  const key = await loadOrCreateSigningKey(cfg.trust.keysDir);
  return { cfg, db, key, close: () => db.close() };
}

export function deliverySettings(cfg: AgentConfig): DeliverySettings {
  return { from: cfg.agent.did, kikStarter: cfg.delivery.kikStarter, retry: cfg.delivery.retry, timeoutMs: cfg.delivery.timeoutMs };
}

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
