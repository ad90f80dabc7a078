import { decodeValidatedQuery } from '../validated-query.js';
import { ExchangeError, type CredentialPolicy, type VerifiedCredential } from '../types.js';

export const VQ_TYPE = 'ValidatedQueryCredential';

/** A credential whose signature verified, in the data-model terms both formats map to. */
export interface SignedCredential {
  format: 'ldp' | 'jwt';
  id?: string;
  types: string[];
  issuer: string;
  /** The DID whose key made the signature. */
  signer: string;
  subjectId?: string;
  subject: unknown;
  issuanceDate?: string;
  expirationDate?: string;
  /** JSON paths of the fields, as the sender wrote them (they differ between JSON-LD and JWT). */
  paths: { signature: string; type: string; issuer: string; subject: string; id: string; issuanceDate: string; expirationDate: string; credentialSubject: string };
}

/**
 * The checks every ValidatedQueryCredential must pass after its signature, in this order: signed by
 * its issuer, type, subject = holder, trusted issuer, issuanceDate ≤ at ≤ expirationDate, not revoked.
 */
export async function checkedCredential(c: SignedCredential, holder: string, at: Date, policy: CredentialPolicy): Promise<VerifiedCredential> {
  const { paths } = c;
  if (c.signer !== c.issuer) {
    throw new ExchangeError('e.p.req.credential-signature', 401, `the credential names issuer ${c.issuer} but was signed with a key of ${c.signer}; the issuer must sign its own credential`, paths.signature);
  }
  if (!c.types.includes(VQ_TYPE)) {
    throw new ExchangeError('e.p.req.credential-type', 400, `the credential's type [${c.types.join(', ')}] does not include ${VQ_TYPE}; present only validated-query credentials`, paths.type);
  }
  if (c.subjectId !== holder) {
    throw new ExchangeError('e.p.req.credential-subject', 403, `the credential was issued to ${c.subjectId ?? '(no subject id)'}, not to the presenter ${holder}; present only credentials issued to yourself`, paths.subject);
  }
  if (!policy.trustedIssuers.includes(c.issuer)) {
    throw new ExchangeError('e.p.req.credential-untrusted-issuer', 403, `issuer ${c.issuer} is not trusted for ${VQ_TYPE} by this datastation; use a credential from the KIK-V beheerorganisatie`, paths.issuer);
  }
  const issued = instant(c.issuanceDate, paths.issuanceDate, 'issuanceDate', true) as Date;
  const expires = instant(c.expirationDate, paths.expirationDate, 'expirationDate', false);
  if (issued.getTime() > at.getTime()) {
    throw new ExchangeError('e.p.req.credential-not-yet-valid', 403, `the credential is valid from ${c.issuanceDate}, after ${at.toISOString()}; send it once it is valid`, paths.issuanceDate);
  }
  if (expires && expires.getTime() < at.getTime()) {
    throw new ExchangeError('e.p.req.credential-expired', 403, `the credential expired at ${c.expirationDate} (checked at ${at.toISOString()}); ask the beheerorganisatie for a new one`, paths.expirationDate);
  }
  if (!c.id) {
    throw new ExchangeError('e.p.req.credential-invalid', 400, 'the credential has no id, so its revocation status cannot be checked; issue it with an id', paths.id);
  }
  if (await policy.isRevoked(c.id)) {
    throw new ExchangeError('e.p.req.credential-revoked', 403, `credential ${c.id} has been revoked by its issuer; ask the beheerorganisatie for a current one`, paths.id);
  }
  const query = decodeValidatedQuery(c.subject, paths.credentialSubject);
  return {
    id: c.id,
    format: c.format,
    types: c.types,
    issuer: c.issuer,
    subject: holder,
    issuanceDate: issued.toISOString(),
    ...(expires ? { expirationDate: expires.toISOString() } : {}),
    query,
  };
}

function instant(value: string | undefined, path: string, name: string, required: boolean): Date | undefined {
  if (value === undefined && !required) return undefined;
  const d = typeof value === 'string' ? new Date(value) : undefined;
  if (!d || Number.isNaN(d.getTime())) {
    throw new ExchangeError('e.p.req.credential-invalid', 400, `${name} ${value === undefined ? 'is missing' : `"${value}" is not an RFC 3339 date-time`}`, path);
  }
  return d;
}
