import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/** The agent's signing key (standalone trust): ES256 on P-256, kid = RFC 7638 thumbprint. */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const FILE = 'signing-key.jwk.json';

/**
 * Loads the signing key from keysDir, creating it on first start. The private key file is written
 * with mode 0600 and refused when others can read it.
 */
export async function loadOrCreateSigningKey(keysDir: string): Promise<SigningKey> {
  const file = join(keysDir, FILE);
  let jwk: JWK;
  try {
    jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) throw new Error(`${file} is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${file}\``);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    jwk = await createKeyFile(keysDir, file);
  }
  const { d: _d, ...pub } = jwk;
  const publicJwk: JWK = { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y };
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateKey: (await importJWK(jwk, 'ES256')) as CryptoKey, publicJwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' } };
}

async function createKeyFile(keysDir: string, file: string): Promise<JWK> {
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  try {
    // 'wx': if another process created the key meanwhile, keep theirs.
    writeFileSync(file, `${JSON.stringify(jwk)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return jwk;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(readFileSync(file, 'utf8')) as JWK;
    throw e;
  }
}

/** The public JSON Web Key Set published at /.well-known/jwks.json. */
export function jwksOf(key: SigningKey): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
}

/** A key that signed earlier answers: public only, published until `keepUntil`. */
export interface RetiredKey {
  kid: string;
  publicJwk: JWK;
  created: string;
  retiredAt: string;
  keepUntil: string;
}

/** The current signing key with its creation time, and the retired keys still published. */
export interface Keyring {
  current: SigningKey & { created: string };
  /** Only keys whose retention has not passed (at the time the ring was loaded). */
  retired: RetiredKey[];
}

const META = 'signing-key.meta.json';
const RETIRED = 'retired-keys.json';

/** Loads the current key (creating it on first start) and the retired keys still within retention. */
export async function loadKeyring(keysDir: string, now: Date = new Date()): Promise<Keyring> {
  const key = await loadOrCreateSigningKey(keysDir);
  return { current: { ...key, created: createdOf(keysDir, key.kid) }, retired: retiredKeysOf(keysDir).filter((k) => Date.parse(k.keepUntil) > now.getTime()) };
}

/**
 * Makes a new current key. The old key's public half stays in the JWKS for `retentionDays` (how long
 * answers it signed stay valid); its private half is deleted, since nothing may sign with it again.
 * Retired keys whose retention passed are dropped from the file.
 */
export async function rotateSigningKey(keysDir: string, opts: { retentionDays: number; now?: Date }): Promise<Keyring> {
  const now = opts.now ?? new Date();
  const old = await loadOrCreateSigningKey(keysDir);
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const file = join(keysDir, FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  // Write-then-rename: a crash leaves either the old or the new key, never a half-written file.
  writeFileSync(tmp, `${JSON.stringify(jwk)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  const retired: RetiredKey = {
    kid: old.kid,
    publicJwk: old.publicJwk,
    created: createdOf(keysDir, old.kid),
    retiredAt: now.toISOString(),
    keepUntil: new Date(now.getTime() + opts.retentionDays * 86_400_000).toISOString(),
  };
  const kept = retiredKeysOf(keysDir).filter((k) => Date.parse(k.keepUntil) > now.getTime() && k.kid !== old.kid);
  writeJson(join(keysDir, RETIRED), [retired, ...kept]);
  renameSync(tmp, file);
  const fresh = await loadOrCreateSigningKey(keysDir);
  writeJson(join(keysDir, META), { kid: fresh.kid, created: now.toISOString() });
  return loadKeyring(keysDir, now);
}

/** The JWKS of a key ring: the current key first, then the retired keys still needed. */
export function jwksOfKeyring(ring: Keyring): { keys: JWK[] } {
  return { keys: [ring.current.publicJwk, ...ring.retired.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: 'ES256', use: 'sig' }))] };
}

/** When the current key was made: recorded at rotation; for a key from before, the key file's time. */
function createdOf(keysDir: string, kid: string): string {
  try {
    const meta = JSON.parse(readFileSync(join(keysDir, META), 'utf8')) as { kid?: string; created?: string };
    if (meta.kid === kid && typeof meta.created === 'string') return meta.created;
  } catch {
    // no metadata yet: fall through to the file time
  }
  return statSync(join(keysDir, FILE)).mtime.toISOString();
}

function retiredKeysOf(keysDir: string): RetiredKey[] {
  try {
    const list = JSON.parse(readFileSync(join(keysDir, RETIRED), 'utf8')) as unknown;
    return Array.isArray(list) ? (list as RetiredKey[]) : [];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`${join(keysDir, RETIRED)} is not readable JSON (${(e as Error).message}); restore it from a backup or remove it to drop the retired keys`);
  }
}

function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}
