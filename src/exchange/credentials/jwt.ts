import { compactVerify, decodeProtectedHeader, importJWK, type CryptoKey } from 'jose';
import { resolved } from './ld-proof.js';
import { typeList } from './ld-credential.js';
import type { SignedCredential } from './checks.js';
import { ExchangeError, type KeyResolver, type ResolvedKey } from '../types.js';

export const JWT_FORM = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The claims of a JWT (VC-JWT / VP-JWT, VC Data Model 1.1 §6.3) after its ES256 signature verified
 * with the key its `kid` names, and the DID that key belongs to. A kid of the form "#key-1" is taken
 * relative to `iss`. Time claims are left to the caller, which reports them with its own codes.
 */
export async function verifiedJwt(jwt: string, path: string, resolveKey: KeyResolver, code: string): Promise<{ claims: Record<string, unknown>; key: ResolvedKey }> {
  const fail = (why: string, at = path) => new ExchangeError(code, 401, why, at);
  let header: { kid?: string; alg?: string };
  let claims: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwt);
    claims = JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw fail(`${path} is not a JWT: ${(e as Error).message}`);
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw fail(`${path} has no JSON claims`);
  if (header.alg !== 'ES256') throw fail(`JWT alg "${String(header.alg)}" is not accepted; sign with ES256`, `${path}.header.alg`);
  if (typeof header.kid !== 'string' || header.kid === '') throw fail('the JWT header has no kid naming the signing key', `${path}.header.kid`);
  const kid = header.kid.startsWith('#') && typeof claims.iss === 'string' ? `${claims.iss}${header.kid}` : header.kid;
  const key = await resolved(resolveKey, kid, `${path}.header.kid`);
  try {
    await compactVerify(jwt, (await importJWK(key.jwk, 'ES256')) as CryptoKey, { algorithms: ['ES256'] });
  } catch (e) {
    throw fail(`the JWT signature does not verify with ${kid} (${(e as Error).message}): it was changed after signing, or signed with another key`, `${path}.signature`);
  }
  return { claims, key };
}

/** A VC-JWT whose signature verified, read into data-model terms (iss, sub, jti, nbf, exp and `vc`). */
export async function signedJwtCredential(jwt: string, path: string, resolveKey: KeyResolver): Promise<SignedCredential> {
  const { claims, key } = await verifiedJwt(jwt, path, resolveKey, 'e.p.req.credential-signature');
  const vc = claims.vc;
  if (typeof vc !== 'object' || vc === null || Array.isArray(vc)) {
    throw new ExchangeError('e.p.req.credential-invalid', 400, 'the VC-JWT has no "vc" claim holding the credential', `${path}.payload.vc`);
  }
  const v = vc as Record<string, unknown>;
  const cs = typeof v.credentialSubject === 'object' && v.credentialSubject !== null ? (v.credentialSubject as Record<string, unknown>) : undefined;
  const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
  if (cs && typeof cs.id === 'string' && sub !== undefined && cs.id !== sub) {
    throw new ExchangeError('e.p.req.credential-subject', 403, `the JWT's sub ${sub} and vc.credentialSubject.id ${cs.id} disagree; they must name the same holder`, `${path}.payload.sub`);
  }
  const seconds = (n: unknown) => (typeof n === 'number' ? new Date(n * 1000).toISOString() : undefined);
  return {
    format: 'jwt',
    id: typeof claims.jti === 'string' ? claims.jti : typeof v.id === 'string' ? v.id : undefined,
    types: typeList(v.type),
    issuer: typeof claims.iss === 'string' ? claims.iss : '',
    signer: key.did,
    subjectId: sub ?? (typeof cs?.id === 'string' ? cs.id : undefined),
    subject: cs,
    issuanceDate: seconds(claims.nbf) ?? seconds(claims.iat) ?? (typeof v.issuanceDate === 'string' ? v.issuanceDate : undefined),
    expirationDate: seconds(claims.exp) ?? (typeof v.expirationDate === 'string' ? v.expirationDate : undefined),
    paths: {
      signature: `${path}.header.kid`,
      type: `${path}.payload.vc.type`,
      issuer: `${path}.payload.iss`,
      subject: `${path}.payload.sub`,
      id: `${path}.payload.jti`,
      issuanceDate: `${path}.payload.nbf`,
      expirationDate: `${path}.payload.exp`,
      credentialSubject: `${path}.payload.vc.credentialSubject`,
    },
  };
}
