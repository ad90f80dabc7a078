import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
