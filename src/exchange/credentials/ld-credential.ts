import { verifiedJws2020Signer } from './ld-proof.js';
import type { SignedCredential } from './checks.js';
import { ExchangeError, type KeyResolver } from '../types.js';

/** A JSON-LD credential whose JsonWebSignature2020 proof verified, read into data-model terms. */
export async function signedLdCredential(vc: unknown, path: string, resolveKey: KeyResolver): Promise<SignedCredential> {
  if (typeof vc !== 'object' || vc === null || Array.isArray(vc)) {
    throw new ExchangeError('e.p.req.credential-invalid', 400, `${path} is not a credential (expected a JSON-LD object or a VC-JWT)`, path);
  }
  const doc = vc as Record<string, unknown>;
  const { key, proof } = await verifiedJws2020Signer(doc, path, resolveKey, 'e.p.req.credential-signature');
  if (proof.proofPurpose !== 'assertionMethod') {
    throw new ExchangeError('e.p.req.credential-signature', 401, `a credential proof must have proofPurpose "assertionMethod", not "${String(proof.proofPurpose)}"`, `${path}.proof.proofPurpose`);
  }
  const subject = doc.credentialSubject;
  const subjectObj = typeof subject === 'object' && subject !== null && !Array.isArray(subject) ? (subject as Record<string, unknown>) : undefined;
  return {
    format: 'ldp',
    id: typeof doc.id === 'string' ? doc.id : undefined,
    types: typeList(doc.type),
    issuer: idOf(doc.issuer) ?? '',
    signer: key.did,
    subjectId: typeof subjectObj?.id === 'string' ? subjectObj.id : undefined,
    subject: subjectObj,
    issuanceDate: typeof doc.issuanceDate === 'string' ? doc.issuanceDate : undefined,
    expirationDate: typeof doc.expirationDate === 'string' ? doc.expirationDate : undefined,
    paths: {
      signature: `${path}.proof.verificationMethod`,
      type: `${path}.type`,
      issuer: `${path}.issuer`,
      subject: `${path}.credentialSubject.id`,
      id: `${path}.id`,
      issuanceDate: `${path}.issuanceDate`,
      expirationDate: `${path}.expirationDate`,
      credentialSubject: `${path}.credentialSubject`,
    },
  };
}

export function typeList(t: unknown): string[] {
  return (Array.isArray(t) ? t : [t]).filter((x): x is string => typeof x === 'string');
}

/** `issuer` as a DID string or as an object with an id (both allowed by VC 1.1). */
function idOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string') return (v as { id: string }).id;
  return undefined;
}
