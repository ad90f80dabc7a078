import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { VQ_TYPE } from './checks.js';
import { NUTS_JWS2020_CONTEXT, withJws2020Proof, type Signer } from './ld-proof.js';

/**
 * Issuing ValidatedQueryCredentials and presenting them, for the simulator (the beheerorganisatie and
 * the KIK-starter) and tests: exactly the shapes verifyPresentation accepts and a Nuts v5 node makes.
 */
export const VC_CONTEXT = 'https://www.w3.org/2018/credentials/v1';
export const KIKV_CONTEXT = 'https://kik-v.nl/context/v1.json';

export type CredentialFormat = 'ldp' | 'jwt';
export type JsonLdDocument = Record<string, unknown>;
/** A JSON-LD document with a proof ('ldp') or a compact JWS ('jwt'). */
export type Issued<F extends CredentialFormat> = F extends 'jwt' ? string : JsonLdDocument;

export interface QueryToIssue {
  identifier: string;
  name?: string;
  description?: string;
  profile: string;
  ontology: string | string[];
  /** Plain SPARQL text; the credential carries it as standard Base64. */
  sparql: string;
  paramsSHACL?: string;
}

export interface IssueOptions<F extends CredentialFormat> {
  issuer: string;
  signer: Signer;
  subject: string;
  query: QueryToIssue;
  issuanceDate: Date;
  expirationDate: Date;
  /** Defaults to `<issuer>#<uuid>`, as a Nuts node names credentials. */
  id?: string;
  format: F;
}

/** A ValidatedQueryCredential for `subject`, signed by `issuer`. */
export async function issueValidatedQueryCredential<F extends CredentialFormat>(o: IssueOptions<F>): Promise<Issued<F>> {
  const id = o.id ?? `${o.issuer}#${randomUUID()}`;
  const q = o.query;
  const validatedQuery = {
    identifier: q.identifier,
    ...(q.name !== undefined ? { name: q.name } : {}),
    ...(q.description !== undefined ? { description: q.description } : {}),
    ontology: Array.isArray(q.ontology) ? q.ontology : [q.ontology],
    profile: q.profile,
    sparql: Buffer.from(q.sparql, 'utf8').toString('base64'),
    ...(q.paramsSHACL !== undefined ? { paramsSHACL: q.paramsSHACL } : {}),
  };
  const types = ['VerifiableCredential', VQ_TYPE];
  if (o.format === 'jwt') {
    const vc = { '@context': [VC_CONTEXT, KIKV_CONTEXT], type: types, credentialSubject: { validatedQuery } };
    const jwt = await new SignJWT({ vc })
      .setProtectedHeader({ alg: 'ES256', kid: o.signer.kid, typ: 'JWT' })
      .setIssuer(o.issuer)
      .setSubject(o.subject)
      .setJti(id)
      .setNotBefore(seconds(o.issuanceDate))
      .setIssuedAt(seconds(o.issuanceDate))
      .setExpirationTime(seconds(o.expirationDate))
      .sign(o.signer.privateKey);
    return jwt as Issued<F>;
  }
  const document = {
    '@context': [VC_CONTEXT, KIKV_CONTEXT, NUTS_JWS2020_CONTEXT],
    id,
    type: types,
    issuer: o.issuer,
    issuanceDate: o.issuanceDate.toISOString(),
    expirationDate: o.expirationDate.toISOString(),
    credentialSubject: { id: o.subject, validatedQuery },
  };
  return (await withJws2020Proof(document, o.signer, { proofPurpose: 'assertionMethod', created: o.issuanceDate })) as Issued<F>;
}

export interface PresentOptions<F extends CredentialFormat> {
  holder: string;
  signer: Signer;
  /** JSON-LD credentials or VC-JWTs; a JSON-LD presentation can carry only JSON-LD credentials. */
  credentials: Array<JsonLdDocument | string>;
  format: F;
  challenge?: string;
  domain?: string;
  /** Signing time; defaults to now. */
  created?: Date;
  /** A VP-JWT's lifetime (exp − nbf); defaults to 5 minutes. */
  ttlSeconds?: number;
}

/** A presentation of `credentials` signed by `holder`: a JSON-LD VP with a JsonWebSignature2020 proof, or a VP-JWT. */
export async function presentCredentials<F extends CredentialFormat>(o: PresentOptions<F>): Promise<Issued<F>> {
  const created = o.created ?? new Date();
  if (o.format === 'jwt') {
    const vp = { '@context': [VC_CONTEXT], type: ['VerifiablePresentation'], verifiableCredential: o.credentials };
    const jwt = new SignJWT({ vp, ...(o.challenge !== undefined ? { nonce: o.challenge } : {}) })
      .setProtectedHeader({ alg: 'ES256', kid: o.signer.kid, typ: 'JWT' })
      .setIssuer(o.holder)
      .setJti(`urn:uuid:${randomUUID()}`)
      .setNotBefore(seconds(created))
      .setIssuedAt(seconds(created))
      .setExpirationTime(seconds(created) + (o.ttlSeconds ?? 300));
    if (o.domain !== undefined) jwt.setAudience(o.domain);
    return (await jwt.sign(o.signer.privateKey)) as Issued<F>;
  }
  if (o.credentials.some((c) => typeof c === 'string')) throw new Error('a JSON-LD presentation carries JSON-LD credentials only; present VC-JWTs with format "jwt"');
  // The shape Nuts v5 builds (vcr/holder/holder.go BuildVP): no `holder`, the signer's key says who presents.
  const document = {
    '@context': [VC_CONTEXT, NUTS_JWS2020_CONTEXT],
    type: ['VerifiablePresentation'],
    verifiableCredential: o.credentials,
  };
  return (await withJws2020Proof(document, o.signer, { proofPurpose: 'assertionMethod', created, challenge: o.challenge, domain: o.domain })) as Issued<F>;
}

/** The request body's `vp`: standard Base64 of the serialised JSON-LD VP (a VP-JWT is sent as it is). */
export function encodePresentation(vp: JsonLdDocument | string): string {
  return typeof vp === 'string' ? vp : Buffer.from(JSON.stringify(vp), 'utf8').toString('base64');
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
