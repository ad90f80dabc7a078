import type { Command } from 'commander';
import { configFileFrom, loadConfig } from '../../config/load.js';
import type { AgentConfig } from '../../config/schema.js';
import { jwksOfKeyring, loadKeyring, rotateSigningKey, type Keyring } from '../../exchange/keys.js';
import { UsageError } from '../context.js';

/**
 * `kikv keys show|rotate`: the standalone signing keys. Replaces a `keys` command registered before
 * (src/cli/commands/delivery.ts had `keys show` without rotation), so there is one `keys` command.
 */
export function registerKeysCommands(program: Command): void {
  const existing = program.commands.findIndex((c) => c.name() === 'keys');
  if (existing >= 0) (program.commands as Command[]).splice(existing, 1);
  const keys = program.command('keys').description("the agent's signing keys (standalone trust): show the JWKS, rotate the current key");
  keys
    .command('show')
    .description('print the current key (kid, created), the retired keys still published, and the JWKS')
    .option('--json', 'print {current, retired, jwks} as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const cfg = standaloneConfig(cmd);
      const ring = await loadKeyring(cfg.trust.keysDir);
      console.log(o.json ? JSON.stringify(summaryOf(ring), null, 2) : formatKeyring(ring, cfg.trust.keysDir));
    });
  keys
    .command('rotate')
    .description('make a new current signing key; the old one stays in the JWKS as retired for trust.keyRetentionDays')
    .option('--json', 'print the new key ring as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const cfg = standaloneConfig(cmd);
      const before = await loadKeyring(cfg.trust.keysDir);
      const ring = await rotateSigningKey(cfg.trust.keysDir, { retentionDays: cfg.trust.keyRetentionDays });
      if (o.json) console.log(JSON.stringify(summaryOf(ring), null, 2));
      else {
        console.log(`Rotated: new current key ${ring.current.kid}; ${before.current.kid} is retired and stays in the JWKS until ${ring.retired[0]!.keepUntil}.`);
        console.log('A running agent picks the new key up at its next signature; no restart needed.');
        console.log(formatKeyring(ring, cfg.trust.keysDir));
      }
    });
}

function standaloneConfig(cmd: Command): AgentConfig {
  const cfg = loadConfig(configFileFrom(cmd.optsWithGlobals().config as string | undefined));
  if (cfg.trust.mode !== 'standalone') throw new UsageError('trust.mode is nuts: the Nuts node holds the signing keys; manage them with the node, not with `kikv keys`');
  return cfg;
}

function summaryOf(ring: Keyring) {
  return {
    current: { kid: ring.current.kid, created: ring.current.created },
    retired: ring.retired.map((k) => ({ kid: k.kid, created: k.created, retiredAt: k.retiredAt, keepUntil: k.keepUntil })),
    jwks: jwksOfKeyring(ring),
  };
}

/** The operator's view of the key ring. */
export function formatKeyring(ring: Keyring, keysDir: string): string {
  const out = [`Current key  ${ring.current.kid}`, `  created    ${ring.current.created}`, `  private    ${keysDir} (mode 0600)`];
  if (ring.retired.length === 0) out.push('Retired keys none');
  for (const k of ring.retired) out.push(`Retired key  ${k.kid}`, `  retired    ${k.retiredAt}`, `  published until ${k.keepUntil}`);
  out.push('JWKS (GET /.well-known/jwks.json):', JSON.stringify(jwksOfKeyring(ring), null, 2));
  return out.join('\n');
}
