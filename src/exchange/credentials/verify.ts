import { checkedCredential, type SignedCredential } from './checks.js';
import { JWT_FORM, signedJwtCredential, verifiedJwt } from './jwt.js';
import { signedLdCredential, typeList } from './ld-credential.js';
import { verifiedJws2020Signer } from './ld-proof.js';
import { ExchangeError, type CredentialPolicy, type KeyResolver, type PresentationVerifier, type VerifiedCredential } from '../types.js';

const BASE = '$.body.vp';

/**
 * Verifies a presentation and every credential in it (see PresentationVerifier in ../types.ts).
 * Accepts a JSON-LD VP object, its standard Base64 text (the request body's `vp`), or a VP-JWT.
 * Checks in order: the presentation's signature, its signer = holder, then per credential the
 * signature (by its issuer), type, subject = holder, trusted issuer, validity at `at`, revocation.
 */
export const verifyPresentation: PresentationVerifier = async (vp, { holder, at, resolveKey, policy }) => {
  const parsed = presentationForm(vp);
  if (typeof parsed === 'string') return verifyJwtPresentation(parsed, holder, at, resolveKey, policy);
  return verifyLdPresentation(parsed, holder, at, resolveKey, policy);
};

/** A JSON-LD VP object or a VP-JWT string, from whichever form the sender used. */
function presentationForm(vp: unknown): Record<string, unknown> | string {
  if (typeof vp === 'object' && vp !== null && !Array.isArray(vp)) return vp as Record<string, unknown>;
  if (typeof vp !== 'string' || vp.trim() === '') throw invalid('is missing: send the verifiable presentation (Base64 of the JSON-LD VP, or a VP-JWT)');
  const text = vp.trim();
  if (JWT_FORM.test(text)) return text;
  if (text.startsWith('{')) return parseObject(text, 'is JSON text that does not parse');
  const decoded = Buffer.from(text, 'base64').toString('utf8').trim();
  if (JWT_FORM.test(decoded)) return decoded;
  if (!decoded.startsWith('{')) throw invalid('is neither a JSON-LD presentation, nor its standard Base64 encoding, nor a VP-JWT');
  return parseObject(decoded, 'is Base64 of text that is not a JSON object');
}

function parseObject(text: string, why: string): Record<string, unknown> {
  try {
    const o = JSON.parse(text) as unknown;
    if (typeof o === 'object' && o !== null && !Array.isArray(o)) return o as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw invalid(why);
}

async function verifyLdPresentation(vp: Record<string, unknown>, holder: string, at: Date, resolveKey: KeyResolver, policy: CredentialPolicy): Promise<VerifiedCredential[]> {
  if (!typeList(vp.type).includes('VerifiablePresentation')) throw invalid('has no type VerifiablePresentation', `${BASE}.type`);
  const { key, proof } = await verifiedJws2020Signer(vp, BASE, resolveKey, 'e.p.req.presentation-signature');
  if (proof.proofPurpose !== 'assertionMethod' && proof.proofPurpose !== 'authentication') {
    throw new ExchangeError('e.p.req.presentation-signature', 401, `proofPurpose "${String(proof.proofPurpose)}" is not accepted for a presentation; use assertionMethod or authentication`, `${BASE}.proof.proofPurpose`);
  }
  assertSigner(key.did, holder, `${BASE}.proof.verificationMethod`);
  if (vp.holder !== undefined && vp.holder !== holder) {
    throw new ExchangeError('e.p.req.presentation-signer', 403, `the presentation's holder ${String(vp.holder)} is not the sender ${holder}`, `${BASE}.holder`);
  }
  if (typeof proof.expires === 'string' && Date.parse(proof.expires) < at.getTime()) {
    throw new ExchangeError('e.p.req.presentation-expired', 403, `the presentation's proof expired at ${proof.expires}; sign a new presentation`, `${BASE}.proof.expires`);
  }
  const list = credentialList(vp.verifiableCredential, `${BASE}.verifiableCredential`);
  return checkAll(list, `${BASE}.verifiableCredential`, holder, at, resolveKey, policy, (vc, path) => signedLdCredential(vc, path, resolveKey));
}

async function verifyJwtPresentation(jwt: string, holder: string, at: Date, resolveKey: KeyResolver, policy: CredentialPolicy): Promise<VerifiedCredential[]> {
  const { claims, key } = await verifiedJwt(jwt, BASE, resolveKey, 'e.p.req.presentation-signature');
  if (claims.iss !== holder) {
    throw new ExchangeError('e.p.req.presentation-signer', 403, `the VP-JWT's iss ${String(claims.iss)} is not the sender ${holder}; the sender must sign its own presentation`, `${BASE}.payload.iss`);
  }
  assertSigner(key.did, holder, `${BASE}.header.kid`);
  const now = at.getTime() / 1000;
  if (typeof claims.nbf === 'number' && claims.nbf > now) throw new ExchangeError('e.p.req.presentation-not-yet-valid', 403, `the VP-JWT is valid from ${new Date(claims.nbf * 1000).toISOString()}`, `${BASE}.payload.nbf`);
  if (typeof claims.exp === 'number' && claims.exp < now) throw new ExchangeError('e.p.req.presentation-expired', 403, `the VP-JWT expired at ${new Date(claims.exp * 1000).toISOString()}; sign a new presentation`, `${BASE}.payload.exp`);
  const vp = claims.vp;
  if (typeof vp !== 'object' || vp === null) throw invalid('is a JWT without a "vp" claim', `${BASE}.payload.vp`);
  const at0 = `${BASE}.payload.vp.verifiableCredential`;
  const list = credentialList((vp as Record<string, unknown>).verifiableCredential, at0);
  return checkAll(list, at0, holder, at, resolveKey, policy, (vc, path) =>
    typeof vc === 'string' && JWT_FORM.test(vc) ? signedJwtCredential(vc, path, resolveKey) : signedLdCredential(vc, path, resolveKey),
  );
}

async function checkAll(
  list: unknown[],
  base: string,
  holder: string,
  at: Date,
  resolveKey: KeyResolver,
  policy: CredentialPolicy,
  signed: (vc: unknown, path: string) => Promise<SignedCredential>,
): Promise<VerifiedCredential[]> {
  const out: VerifiedCredential[] = [];
  for (const [i, vc] of list.entries()) out.push(await checkedCredential(await signed(vc, `${base}[${i}]`), holder, at, policy));
  return out;
}

function credentialList(v: unknown, path: string): unknown[] {
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  if (list.length === 0) throw invalid('holds no credentials: put at least one ValidatedQueryCredential in verifiableCredential', path);
  return list;
}

function assertSigner(did: string, holder: string, path: string): void {
  if (did !== holder) {
    throw new ExchangeError('e.p.req.presentation-signer', 403, `the presentation was signed with a key of ${did}, not of the sender ${holder}; sign it with your own DID's key`, path);
  }
}

function invalid(why: string, path = BASE): ExchangeError {
  return new ExchangeError('e.p.req.presentation-invalid', 400, `the presentation ${why}`, path);
}
