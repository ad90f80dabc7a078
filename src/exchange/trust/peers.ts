import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { ConfigError } from '../../config/load.js';
import type { PeerConfig } from '../../config/schema.js';
import type { ResolvedKey } from '../types.js';

/** A configured peer with its public keys read from its JWKS or DID document file. */
export interface Peer extends PeerConfig {
  keys: ResolvedKey[];
}

/**
 * Reads a peer's keys. From a DID document: every verification method with a `publicKeyJwk`
 * (ids made absolute, so `#key-1` becomes `did:…#key-1`). From a JWKS: every key with a kid, known as
 * `did#kid`. A file that cannot be read or holds no usable key is a configuration error.
 */
export function peerOf(cfg: PeerConfig, index: number): Peer {
  const keys: ResolvedKey[] = [];
  if (cfg.didDocument) keys.push(...keysOfDidDocument(cfg.did, readJson(cfg.didDocument, `trust.peers[${index}].didDocument`), cfg.didDocument, index));
  if (cfg.jwks) keys.push(...keysOfJwks(cfg.did, readJson(cfg.jwks, `trust.peers[${index}].jwks`), cfg.jwks, index));
  return { ...cfg, keys };
}

function keysOfDidDocument(did: string, doc: unknown, file: string, index: number): ResolvedKey[] {
  const d = doc as { id?: unknown; verificationMethod?: unknown; assertionMethod?: unknown; authentication?: unknown; keyAgreement?: unknown };
  const path = `trust.peers[${index}].didDocument`;
  if (d?.id !== did) throw new ConfigError(file, [{ path, found: `a DID document for ${JSON.stringify(d?.id)}`, expected: `the DID document of ${did} (its "id" must be that DID)` }]);
  const methods: unknown[] = [];
  for (const k of ['verificationMethod', 'assertionMethod', 'authentication', 'keyAgreement'] as const) {
    const list = d[k];
    // Relationships may embed a method instead of naming one; both carry keys.
    if (Array.isArray(list)) methods.push(...list.filter((m) => typeof m === 'object' && m !== null));
  }
  const keys = methods.flatMap((m) => {
    const vm = m as { id?: unknown; controller?: unknown; publicKeyJwk?: unknown };
    if (typeof vm.id !== 'string' || typeof vm.publicKeyJwk !== 'object' || vm.publicKeyJwk === null) return [];
    const id = vm.id.startsWith('#') ? `${did}${vm.id}` : vm.id;
    return [{ did, kid: id, jwk: vm.publicKeyJwk as JWK }];
  });
  if (keys.length === 0) throw new ConfigError(file, [{ path, found: 'no verification method with a publicKeyJwk', expected: 'at least one JsonWebKey2020 verification method (publicKeyJwk) for the peer' }]);
  return keys;
}

function keysOfJwks(did: string, jwks: unknown, file: string, index: number): ResolvedKey[] {
  const list = (jwks as { keys?: unknown })?.keys;
  const path = `trust.peers[${index}].jwks`;
  if (!Array.isArray(list)) throw new ConfigError(file, [{ path, found: 'a file without a "keys" list', expected: 'a JWKS: { "keys": [ { "kty": "EC", "crv": "P-256", "x": …, "y": …, "kid": … } ] }' }]);
  const keys = list.flatMap((k: JWK) => (typeof k?.kid === 'string' && k.kid !== '' ? [{ did, kid: `${did}#${k.kid}`, jwk: k }] : []));
  if (keys.length === 0) throw new ConfigError(file, [{ path, found: 'no key with a "kid"', expected: 'every key in the JWKS with a "kid" (signatures name the key by it)' }]);
  return keys;
}

function readJson(file: string, path: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ConfigError(file, [{ path, found: `an unreadable file (${why})`, expected: 'a readable JSON file; check the path in the configuration' }]);
  }
}
