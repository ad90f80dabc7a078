import { createHash } from 'node:crypto';
import { FlattenedSign, flattenedVerify, importJWK, type CryptoKey } from 'jose';
import { canonicalNQuads } from './canonical.js';
import { ExchangeError, type KeyResolver, type ResolvedKey } from '../types.js';

/**
 * JsonWebSignature2020 as a Nuts v5 node makes and checks it (nuts-foundation/nuts-node
 * vcr/signature/proof/jsonld.go LDProof.Sign/Verify and vcr/signature/json_web_signature.go):
 *
 *   proofOptions = the proof's fields (created, domain, challenge, expires, proofPurpose, nonce, type,
 *                  verificationMethod) without jws/proofValue/signature, plus
 *                  "@context": ["https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json"]
 *                  and "@type": <type>  (asCanonicalizableMap)
 *   tbs          = SHA-256(URDNA2015(proofOptions)) || SHA-256(URDNA2015(document without proof)), 64 raw bytes
 *   jws          = detached JWS, protected header {"alg":"ES256","b64":false,"crit":["b64"],"kid":…},
 *                  signing input ASCII(BASE64URL(header)) || "." || tbs  (RFC 7797), written "<header>..<signature>"
 *
 * Verified against a Nuts-signed fixture (test/fixtures/credentials/nuts-orgcred_001.json). Nuts re-reads
 * the proof into a Go struct before canonicalising; we use the proof's fields as given, which is the
 * same for anything a Nuts node wrote (Go writes `created` in RFC 3339 and reads it back unchanged).
 */
export const JWS2020_TYPE = 'JsonWebSignature2020';
/** The proof context Nuts adds (signature.JSONWebSignature2020Context). */
export const NUTS_JWS2020_CONTEXT = 'https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json';
const PROOF_FIELDS = ['created', 'domain', 'challenge', 'expires', 'proofPurpose', 'nonce', 'type', 'verificationMethod'] as const;

export interface ProofOptions {
  proofPurpose: 'assertionMethod' | 'authentication';
  created?: Date;
  challenge?: string;
  domain?: string;
  expires?: Date;
}

export interface Signer {
  /** The verification method (a DID URL such as did:nuts:abc#key-1) or kid the verifier resolves. */
  kid: string;
  privateKey: CryptoKey;
}

/** The document with a JsonWebSignature2020 proof by `signer`. */
export async function withJws2020Proof(document: Record<string, unknown>, signer: Signer, options: ProofOptions): Promise<Record<string, unknown>> {
  const proof: Record<string, unknown> = {
    type: JWS2020_TYPE,
    created: rfc3339(options.created ?? new Date()),
    proofPurpose: options.proofPurpose,
    verificationMethod: signer.kid,
    ...(options.challenge !== undefined ? { challenge: options.challenge } : {}),
    ...(options.domain !== undefined ? { domain: options.domain } : {}),
    ...(options.expires !== undefined ? { expires: rfc3339(options.expires) } : {}),
  };
  const tbs = await signingBytes(document, proof, '$');
  const jws = await new FlattenedSign(tbs).setProtectedHeader({ alg: 'ES256', b64: false, crit: ['b64'], kid: signer.kid }).sign(signer.privateKey);
  return { ...document, proof: { ...proof, jws: `${jws.protected}..${jws.signature}` } };
}

/** The key that made the document's JsonWebSignature2020 proof, after checking the signature. */
export async function verifiedJws2020Signer(document: Record<string, unknown>, path: string, resolveKey: KeyResolver, code: string): Promise<{ key: ResolvedKey; proof: Record<string, unknown> }> {
  const { proof, ...unsigned } = document;
  const fail = (why: string, at = `${path}.proof`) => new ExchangeError(code, 401, why, at);
  if (typeof proof !== 'object' || proof === null || Array.isArray(proof)) throw fail(`${path}.proof is missing: a JsonWebSignature2020 proof is required`);
  const p = proof as Record<string, unknown>;
  if (p.type !== JWS2020_TYPE) throw fail(`proof type "${String(p.type)}" is not supported; sign with ${JWS2020_TYPE} (ES256)`, `${path}.proof.type`);
  if (typeof p.verificationMethod !== 'string' || p.verificationMethod === '') throw fail('proof.verificationMethod is missing: it names the key that signed', `${path}.proof.verificationMethod`);
  const parts = typeof p.jws === 'string' ? p.jws.split('..') : [];
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw fail('proof.jws is not a detached JWS ("<header>..<signature>")', `${path}.proof.jws`);
  const key = await resolved(resolveKey, p.verificationMethod, `${path}.proof.verificationMethod`);
  let publicKey: CryptoKey;
  try {
    publicKey = (await importJWK(key.jwk, 'ES256')) as CryptoKey;
  } catch (e) {
    throw fail(`the key ${p.verificationMethod} is not an ES256 (P-256) key: ${(e as Error).message}`, `${path}.proof.verificationMethod`);
  }
  const tbv = await signingBytes(unsigned, p, path);
  try {
    await flattenedVerify({ protected: parts[0], payload: tbv, signature: parts[1] }, publicKey, { algorithms: ['ES256'] });
  } catch (e) {
    throw fail(`the proof's signature does not verify with ${p.verificationMethod} (${(e as Error).message}): the document was changed after signing, or signed with another key`, `${path}.proof.jws`);
  }
  return { key, proof: p };
}

async function signingBytes(document: Record<string, unknown>, proof: Record<string, unknown>, path: string): Promise<Uint8Array> {
  const options: Record<string, unknown> = { '@context': [NUTS_JWS2020_CONTEXT], '@type': proof.type };
  for (const f of PROOF_FIELDS) if (proof[f] !== undefined) options[f] = proof[f];
  const [p, d] = await Promise.all([canonicalNQuads(options, `${path}.proof`), canonicalNQuads(document, path)]);
  return Buffer.concat([sha256(p), sha256(d)]);
}

/** Asks the resolver; its refusal keeps its code but points at the field that named the key. */
export async function resolved(resolveKey: KeyResolver, kid: string, path: string): Promise<ResolvedKey> {
  try {
    return await resolveKey(kid);
  } catch (e) {
    if (e instanceof ExchangeError) throw new ExchangeError(e.code, e.status, e.message, e.path ?? path);
    throw new ExchangeError('e.p.req.unknown-key', 401, `the key ${kid} cannot be resolved: ${(e as Error).message}`, path);
  }
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** RFC 3339 without milliseconds when there are none, as Go's time.Time marshals it. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}
