import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSample } from '../src/sample/generate.js';
import { runCli, spawnCli, tempDir, writeConfig } from './helpers.js';

describe('the kikv command', () => {
  it('--help lists every subcommand, and each subcommand has its own help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'demo', 'generate', 'import', 'compute', 'answers', 'deliver', 'outbox', 'audit', 'keys', 'sim']) expect(r.stdout).toContain(cmd);
    const a = await runCli(['answers', '--help']);
    expect(a.code).toBe(0);
    for (const cmd of ['list', 'show', 'approve', 'reject']) expect(a.stdout).toContain(cmd);
    const approve = await runCli(['answers', 'approve', '--help']);
    expect(approve.stdout).toContain('--as <name>');
  });

  it('usage errors exit 2; a failed job exits 1', async () => {
    expect((await runCli(['no-such-command'])).code).toBe(2);
    expect((await runCli(['generate'])).code).toBe(2); // --out is required
    expect((await runCli(['generate', '--out', tempDir(), '--employees', 'many'])).code).toBe(2);
    const c = writeConfig();
    const unknown = await runCli(['answers', 'approve', 'does-not-exist', '--as', 'X', '--config', c.file]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no answer with id does-not-exist');
  });

  it('generate is deterministic for a seed', async () => {
    const [a, b] = [tempDir(), tempDir()];
    await runCli(['generate', '--out', a, '--employees', '8', '--clients', '4', '--locations', '1', '--seed', '5']);
    await writeSample({ employees: 8, clients: 4, locations: 1, seed: 5 }, b);
    const { readFileSync, readdirSync } = await import('node:fs');
    expect(readdirSync(a).sort()).toEqual(readdirSync(b).sort());
    for (const f of readdirSync(a)) expect(readFileSync(join(a, f), 'utf8')).toBe(readFileSync(join(b, f), 'utf8'));
    const [c, d] = [tempDir(), tempDir()];
    await runCli(['generate', '--out', c, '--employees', '8', '--clients', '4', '--locations', '1', '--seed', '5', '--from-year', '2019', '--to-year', '2023']);
    await writeSample({ employees: 8, clients: 4, locations: 1, seed: 5, years: { from: 2019, to: 2023 } }, d);
    for (const f of readdirSync(c)) expect(readFileSync(join(c, f), 'utf8')).toBe(readFileSync(join(d, f), 'utf8'));
    expect(readFileSync(join(c, 'agreements.csv'), 'utf8')).not.toBe(readFileSync(join(a, 'agreements.csv'), 'utf8'));
  });

  it('serve imports and computes on first start, then answers /health and publishes the JWKS', async () => {
    const source = join(tempDir(), 'source');
    await writeSample({ employees: 15, clients: 8, locations: 2, seed: 3 }, source);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const c = writeConfig({ source });
    const { child, done } = spawnCli(['serve', '--config', c.file, '--port', String(port)]);
    try {
      const base = `http://127.0.0.1:${port}`;
      await expect.poll(async () => (await fetch(`${base}/health`).catch(() => null))?.status, { timeout: 60_000, interval: 250 }).toBe(200);
      const health = (await (await fetch(`${base}/health`)).json()) as { status: string; answers: Record<string, number>; snapshot: string };
      expect(health.status).toBe('ok');
      // Every computed item of the 2023 pack the conformance matrix proves an engine for (44 with Jena installed).
      expect(health.answers.awaiting_approval).toBeGreaterThanOrEqual(40);
      expect(health.snapshot).toMatch(/^[0-9a-f]{64}$/);
      const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; kty: string; d?: string }> };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kty: 'EC' });
      expect(jwks.keys[0]!.d).toBeUndefined();
    } finally {
      child.kill('SIGTERM');
    }
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('awaiting approval');
  });

  it('demo runs one full exchange and exits 0 with a verified delivery', async () => {
    const source = join(tempDir(), 'unused');
    const c = writeConfig({ source });
    const r = await runCli(['demo', '--config', c.file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('signature VERIFIED');
    const delivered = Number(/Done: (\d+) answer\(s\) delivered/.exec(r.stdout)?.[1] ?? 0);
    expect(delivered, r.stdout).toBeGreaterThanOrEqual(40);
    expect(r.stdout).toContain('Organisatie');
  });
});
