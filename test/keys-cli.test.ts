import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { loadKeyring, loadOrCreateSigningKey, jwksOf } from '../src/exchange/keys.js';
import { StandaloneTrust } from '../src/exchange/trust/standalone.js';
import { runCli, writeConfig } from './helpers.js';

interface Shown {
  current: { kid: string; created: string };
  retired: Array<{ kid: string; retiredAt: string; keepUntil: string }>;
  jwks: { keys: JWK[] };
}

describe('kikv keys show | rotate', () => {
  it('shows the current key, rotates it, keeps the old one published for the retention, files stay 0600', async () => {
    const { file, dataDir } = writeConfig({ extra: { trust: { mode: 'standalone', keysDir: './state/keys', keyRetentionDays: 7 } } });
    const keysDir = join(file, '..', 'state/keys');
    const shown = await runCli(['keys', 'show', '--json', '--config', file]);
    expect(shown.code, shown.stderr).toBe(0);
    const first = JSON.parse(shown.stdout) as Shown;
    expect(first.retired).toEqual([]);
    expect(first.jwks.keys.map((k) => k.kid)).toEqual([first.current.kid]);
    expect(first.jwks.keys[0]).not.toHaveProperty('d');
    // The key the existing callers load is the same key.
    expect((await loadOrCreateSigningKey(keysDir)).kid).toBe(first.current.kid);
    expect(existsSync(dataDir)).toBe(false);

    const text = await runCli(['keys', 'show', '--config', file]);
    expect(text.stdout).toContain(`Current key  ${first.current.kid}`);
    expect(text.stdout).toContain('Retired keys none');

    const rotated = await runCli(['keys', 'rotate', '--config', file]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(new RegExp(`Rotated: new current key \\S+; ${first.current.kid} is retired and stays in the JWKS until`));
    const after = JSON.parse((await runCli(['keys', 'show', '--json', '--config', file])).stdout) as Shown;
    expect(after.current.kid).not.toBe(first.current.kid);
    expect(after.retired.map((k) => k.kid)).toEqual([first.current.kid]);
    const days = (Date.parse(after.retired[0]!.keepUntil) - Date.parse(after.retired[0]!.retiredAt)) / 86_400_000;
    expect(days).toBe(7);
    expect(after.jwks.keys.map((k) => k.kid)).toEqual([after.current.kid, first.current.kid]);
    for (const f of ['signing-key.jwk.json', 'retired-keys.json', 'signing-key.meta.json']) expect(statSync(join(keysDir, f)).mode & 0o777).toBe(0o600);
    // The retired key's private half is gone; only its public key is kept.
    expect(readFileSync(join(keysDir, 'retired-keys.json'), 'utf8')).not.toMatch(/"d"/);
    expect(jwksOf(await loadOrCreateSigningKey(keysDir)).keys[0]!.kid).toBe(after.current.kid);

    // A running adapter signs with the new key without a restart, and the JWKS verifies both generations.
    const ring = await loadKeyring(keysDir);
    const trust = new StandaloneTrust({ did: 'did:web:datastation.test', keysDir, tokenEndpoint: 'http://x/oauth2/token', peers: [], trustedIssuers: [], isRevoked: async () => false, verifyPresentation: async () => [] });
    const jws = await trust.signJws(new TextEncoder().encode('x'));
    expect((await compactVerify(jws, createLocalJWKSet(await trust.jwks()))).protectedHeader.kid).toBe(ring.current.kid);

    // A second rotation keeps both older keys while their retention lasts.
    await runCli(['keys', 'rotate', '--config', file]);
    const third = JSON.parse((await runCli(['keys', 'show', '--json', '--config', file])).stdout) as Shown;
    expect(third.retired.map((k) => k.kid)).toEqual([after.current.kid, first.current.kid]);
  });

  it('refuses in nuts mode: the node holds the keys', async () => {
    const { file } = writeConfig({ extra: { trust: { mode: 'nuts', keysDir: './keys', nuts: { url: 'http://127.0.0.1:1323' } } } });
    const r = await runCli(['keys', 'rotate', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/trust.mode is nuts: the Nuts node holds the signing keys/);
  });
});
