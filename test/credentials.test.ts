import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import {
  encodePresentation,
  issueValidatedQueryCredential,
  KIKV_CONTEXT,
  NUTS_JWS2020_CONTEXT,
  presentCredentials,
  VC_CONTEXT,
  verifiedJws2020Signer,
  verifyPresentation,
  withJws2020Proof,
  type CredentialFormat,
  type JsonLdDocument,
  type Signer,
} from '../src/exchange/credentials/index.js';
import { ExchangeError, type CredentialPolicy, type KeyResolver, type ResolvedKey } from '../src/exchange/types.js';

const ISSUER = 'did:nuts:beheerorganisatie';
const HOLDER = 'did:nuts:kikstarter';
const OTHER = 'did:nuts:someone-else';
const AT = new Date('2026-06-01T12:00:00Z');
const SPARQL = 'PREFIX onz-g: <http://purl.org/ozo/onz-g#>\nSELECT (COUNT(?x) AS ?n) WHERE { ?x a onz-g:Location }';
const QUERY = {
  identifier: 'urn:uuid:2f1d6c1e-8d1b-4a4c-9d57-0b1b6a4b7f10',
  name: '1.1 Aantal locaties',
  profile: 'https://kik-v.gitlab.io/uitwisselprofielen/uitwisselprofiel-odb/',
  ontology: ['http://purl.org/ozo/onz-g#3.0.0'],
  sparql: SPARQL,
};

interface Party {
  did: string;
  signer: Signer;
  jwk: JWK;
}
const keys = new Map<string, ResolvedKey>();
const resolveKey: KeyResolver = async (kid) => {
  const k = keys.get(kid);
  if (!k) throw new ExchangeError('e.p.req.unknown-key', 401, `no key ${kid}`);
  return k;
};

async function party(did: string): Promise<Party> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `${did}#key-1`;
  const jwk = await exportJWK(publicKey);
  keys.set(kid, { did, kid, jwk });
  return { did, signer: { kid, privateKey: privateKey as CryptoKey }, jwk };
}

let issuer: Party;
let holder: Party;
let other: Party;
const revoked = new Set<string>();
const policy: CredentialPolicy = { trustedIssuers: [ISSUER], isRevoked: async (id) => revoked.has(id) };
const opts = { holder: HOLDER, at: AT, resolveKey, policy };

beforeAll(async () => {
  issuer = await party(ISSUER);
  holder = await party(HOLDER);
  other = await party(OTHER);
});

function issue<F extends CredentialFormat>(format: F, over: Partial<Parameters<typeof issueValidatedQueryCredential<F>>[0]> = {}) {
  return issueValidatedQueryCredential({
    issuer: ISSUER,
    signer: issuer.signer,
    subject: HOLDER,
    query: QUERY,
    issuanceDate: new Date('2026-01-01T00:00:00Z'),
    expirationDate: new Date('2027-01-01T00:00:00Z'),
    format,
    ...over,
  });
}

function present<F extends CredentialFormat>(format: F, credentials: Array<JsonLdDocument | string>, by: Party = holder, did = HOLDER) {
  return presentCredentials({ holder: did, signer: by.signer, credentials, format, created: AT });
}

/** The ExchangeError a promise rejects with. */
async function refusal(p: Promise<unknown>): Promise<ExchangeError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ExchangeError);
  return e as ExchangeError;
}

describe('JSON-LD presentations (JsonWebSignature2020)', () => {
  it('round-trips two credentials, as an object and as Base64 text', async () => {
    const second = await issue('ldp', { query: { ...QUERY, identifier: '7c0b6f43-45b5-4c55-9a8e-2b1c3d4e5f60', name: '1.2' } });
    const vp = await present('ldp', [await issue('ldp'), second]);
    expect((vp.proof as Record<string, string>).jws).toMatch(/^eyJ[\w-]+\.\.[\w-]+$/);
    for (const form of [vp, encodePresentation(vp)]) {
      const verified = await verifyPresentation(form, opts);
      expect(verified.map((v) => v.query.uuid)).toEqual(['2f1d6c1e-8d1b-4a4c-9d57-0b1b6a4b7f10', '7c0b6f43-45b5-4c55-9a8e-2b1c3d4e5f60']);
      expect(verified[0]).toMatchObject({ format: 'ldp', issuer: ISSUER, subject: HOLDER, types: ['VerifiableCredential', 'ValidatedQueryCredential'] });
      expect(verified[0]?.query.sparql).toBe(SPARQL);
    }
  });

  it('refuses a credential changed after signing', async () => {
    const vc = await issue('ldp');
    const vq = (vc.credentialSubject as { validatedQuery: Record<string, string> }).validatedQuery;
    vq.sparql = Buffer.from('SELECT * WHERE { ?s ?p ?o }').toString('base64');
    const e = await refusal(verifyPresentation(await present('ldp', [vc]), opts));
    expect([e.code, e.status, e.path]).toEqual(['e.p.req.credential-signature', 401, '$.body.vp.verifiableCredential[0].proof.jws']);
  });

  it('refuses a presentation changed after signing', async () => {
    const vp = await present('ldp', [await issue('ldp')]);
    const e = await refusal(verifyPresentation({ ...vp, verifiableCredential: [await issue('ldp')] }, opts));
    expect([e.code, e.path]).toEqual(['e.p.req.presentation-signature', '$.body.vp.proof.jws']);
  });

  it('refuses a presentation signed by someone other than the sender', async () => {
    const e = await refusal(verifyPresentation(await present('ldp', [await issue('ldp')], other, HOLDER), opts));
    expect([e.code, e.status, e.path]).toEqual(['e.p.req.presentation-signer', 403, '$.body.vp.proof.verificationMethod']);
    expect(e.message).toContain(OTHER);
  });

  it('refuses a presentation whose holder field names someone else', async () => {
    const vp = await withJws2020Proof({ '@context': [VC_CONTEXT, NUTS_JWS2020_CONTEXT], type: ['VerifiablePresentation'], holder: OTHER, verifiableCredential: [await issue('ldp')] }, holder.signer, { proofPurpose: 'assertionMethod' });
    const e = await refusal(verifyPresentation(vp, opts));
    expect([e.code, e.path]).toEqual(['e.p.req.presentation-signer', '$.body.vp.holder']);
  });

  it('refuses a credential issued to someone else', async () => {
    const e = await refusal(verifyPresentation(await present('ldp', [await issue('ldp', { subject: OTHER })]), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-subject', '$.body.vp.verifiableCredential[0].credentialSubject.id']);
  });

  it('refuses an issuer not on the trusted list', async () => {
    const vc = await issue('ldp');
    const e = await refusal(verifyPresentation(await present('ldp', [vc]), { ...opts, policy: { ...policy, trustedIssuers: ['did:nuts:another-issuer'] } }));
    expect([e.code, e.status, e.path]).toEqual(['e.p.req.credential-untrusted-issuer', 403, '$.body.vp.verifiableCredential[0].issuer']);
  });

  it('refuses a credential signed by a key that is not the issuer’s', async () => {
    const vc = await issueValidatedQueryCredential({ issuer: ISSUER, signer: other.signer, subject: HOLDER, query: QUERY, issuanceDate: new Date('2026-01-01'), expirationDate: new Date('2027-01-01'), format: 'ldp' });
    const e = await refusal(verifyPresentation(await present('ldp', [vc]), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-signature', '$.body.vp.verifiableCredential[0].proof.verificationMethod']);
  });

  it('refuses an expired and a not yet valid credential', async () => {
    const expired = await issue('ldp', { issuanceDate: new Date('2025-01-01'), expirationDate: new Date('2026-05-31') });
    let e = await refusal(verifyPresentation(await present('ldp', [expired]), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-expired', '$.body.vp.verifiableCredential[0].expirationDate']);
    const early = await issue('ldp', { issuanceDate: new Date('2026-06-02'), expirationDate: new Date('2027-01-01') });
    e = await refusal(verifyPresentation(await present('ldp', [early]), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-not-yet-valid', '$.body.vp.verifiableCredential[0].issuanceDate']);
  });

  it('refuses a revoked credential', async () => {
    const vc = await issue('ldp', { id: `${ISSUER}#revoked-1` });
    revoked.add(`${ISSUER}#revoked-1`);
    const e = await refusal(verifyPresentation(await present('ldp', [vc]), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-revoked', '$.body.vp.verifiableCredential[0].id']);
  });

  it('refuses a credential that is not a ValidatedQueryCredential', async () => {
    const { proof: _p, ...unsigned } = await issue('ldp');
    const vc = await withJws2020Proof({ ...unsigned, type: ['VerifiableCredential'] }, issuer.signer, { proofPurpose: 'assertionMethod' });
    const e = await refusal(verifyPresentation(await present('ldp', [vc]), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-type', '$.body.vp.verifiableCredential[0].type']);
  });

  it('refuses a context URL it does not ship, naming the URL and contexts/', async () => {
    const vc = await issue('ldp');
    vc['@context'] = [...(vc['@context'] as string[]), 'https://example.org/unknown/v1'];
    const vp = { '@context': [VC_CONTEXT, NUTS_JWS2020_CONTEXT], type: ['VerifiablePresentation'], verifiableCredential: [vc], proof: { type: 'JsonWebSignature2020', verificationMethod: holder.signer.kid, proofPurpose: 'assertionMethod', jws: 'eyJhbGciOiJFUzI1NiJ9..AA' } };
    const e = await refusal(verifyPresentation(vp, opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-context', '$.body.vp.verifiableCredential[0].@context']);
    expect(e.message).toContain('https://example.org/unknown/v1');
    expect(e.message).toContain('contexts/');
  });

  it('refuses a property its contexts do not define (it would not be signed)', async () => {
    const vc = await issue('ldp');
    (vc.credentialSubject as Record<string, unknown>).sparqlOverride = 'SELECT * WHERE { ?s ?p ?o }';
    // Our own signer refuses to sign it too, so the presentation is put together by hand.
    await expect(present('ldp', [vc])).rejects.toThrow(/sparqlOverride/);
    const vp = { '@context': [VC_CONTEXT, NUTS_JWS2020_CONTEXT], type: ['VerifiablePresentation'], verifiableCredential: [vc], proof: { type: 'JsonWebSignature2020', verificationMethod: holder.signer.kid, proofPurpose: 'assertionMethod', jws: 'eyJhbGciOiJFUzI1NiJ9..AA' } };
    const e = await refusal(verifyPresentation(vp, opts));
    expect([e.code, e.status]).toEqual(['e.p.req.credential-context', 400]);
    expect(e.message).toContain('sparqlOverride');
  });

  it('decodes a legacy (G1) URL-encoded sparql', async () => {
    const { proof: _p, ...unsigned } = await issue('ldp');
    const subject = unsigned.credentialSubject as { id: string; validatedQuery: Record<string, unknown> };
    const legacy = { ...unsigned, credentialSubject: { ...subject, validatedQuery: { ...subject.validatedQuery, sparql: encodeURIComponent(SPARQL) } } };
    const vc = await withJws2020Proof(legacy, issuer.signer, { proofPurpose: 'assertionMethod' });
    const [v] = await verifyPresentation(await present('ldp', [vc]), opts);
    expect(v?.query.sparql).toBe(SPARQL);
  });

  it('accepts the query as "id" (urn:uuid) and refuses a bare UUID id, which a JSON-LD signature does not cover', async () => {
    const { proof: _p, ...unsigned } = await issue('ldp');
    const subject = unsigned.credentialSubject as { id: string; validatedQuery: Record<string, unknown> };
    const { identifier: _i, ...rest } = subject.validatedQuery;
    const withId = (id: string) => ({ ...unsigned, credentialSubject: { ...subject, validatedQuery: { ...rest, id } } });
    const vc = await withJws2020Proof(withId('urn:uuid:2f1d6c1e-8d1b-4a4c-9d57-0b1b6a4b7f10'), issuer.signer, { proofPurpose: 'assertionMethod' });
    const [v] = await verifyPresentation(await present('ldp', [vc]), opts);
    expect(v?.query.uuid).toBe('2f1d6c1e-8d1b-4a4c-9d57-0b1b6a4b7f10');
    const bare = { ...withId('2f1d6c1e-8d1b-4a4c-9d57-0b1b6a4b7f10'), proof: vc.proof };
    const vp = { '@context': [VC_CONTEXT, NUTS_JWS2020_CONTEXT], type: ['VerifiablePresentation'], verifiableCredential: [bare], proof: { type: 'JsonWebSignature2020', verificationMethod: holder.signer.kid, proofPurpose: 'assertionMethod', jws: 'eyJhbGciOiJFUzI1NiJ9..AA' } };
    const e = await refusal(verifyPresentation(vp, opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-context', '$.body.vp.verifiableCredential[0].credentialSubject.validatedQuery.id']);
  });

  it('refuses text that is no presentation', async () => {
    const e = await refusal(verifyPresentation(Buffer.from('hello').toString('base64'), opts));
    expect([e.code, e.status, e.path]).toEqual(['e.p.req.presentation-invalid', 400, '$.body.vp']);
  });
});

describe('VC-JWT and VP-JWT', () => {
  it('round-trips VC-JWTs and a JSON-LD credential in a VP-JWT', async () => {
    const vp = await present('jwt', [await issue('jwt'), await issue('ldp')]);
    expect(vp.split('.')).toHaveLength(3);
    for (const form of [vp, Buffer.from(vp).toString('base64')]) {
      const verified = await verifyPresentation(form, opts);
      expect(verified.map((v) => v.format)).toEqual(['jwt', 'ldp']);
      expect(verified[0]).toMatchObject({ issuer: ISSUER, subject: HOLDER, issuanceDate: '2026-01-01T00:00:00.000Z', expirationDate: '2027-01-01T00:00:00.000Z' });
      expect(verified[0]?.id).toMatch(new RegExp(`^${ISSUER}#`));
      expect(verified[0]?.query.sparql).toBe(SPARQL);
    }
  });

  it('refuses a VC-JWT changed after signing', async () => {
    const [h, p, s] = (await issue('jwt')).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { sub: string };
    claims.sub = OTHER;
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const e = await refusal(verifyPresentation(await present('jwt', [tampered]), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-signature', '$.body.vp.payload.vp.verifiableCredential[0].signature']);
  });

  it('refuses a VP-JWT whose iss is not the sender, and one signed with another key', async () => {
    let e = await refusal(verifyPresentation(await present('jwt', [await issue('jwt')], other, OTHER), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.presentation-signer', '$.body.vp.payload.iss']);
    e = await refusal(verifyPresentation(await present('jwt', [await issue('jwt')], other, HOLDER), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.presentation-signer', '$.body.vp.header.kid']);
  });

  it('refuses an expired VC-JWT and one for another subject', async () => {
    let e = await refusal(verifyPresentation(await present('jwt', [await issue('jwt', { expirationDate: new Date('2026-05-01') })]), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-expired', '$.body.vp.payload.vp.verifiableCredential[0].payload.exp']);
    e = await refusal(verifyPresentation(await present('jwt', [await issue('jwt', { subject: OTHER })]), opts));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-subject', '$.body.vp.payload.vp.verifiableCredential[0].payload.sub']);
  });
});

describe('a credential signed by the Nuts node code (nuts-node jsonld/testsuite)', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/credentials/nuts-orgcred_001.json', import.meta.url), 'utf8')) as {
    verificationMethod: string;
    publicJwk: JWK;
    credential: JsonLdDocument;
  };
  const nutsDid = (fixture.credential.issuer as string) ?? '';
  const nutsKeys: KeyResolver = async (kid) => (kid === fixture.verificationMethod ? { did: nutsDid, kid, jwk: fixture.publicJwk } : resolveKey(kid));

  it('verifies its JsonWebSignature2020 proof, and refuses it once a field changes', async () => {
    const { key } = await verifiedJws2020Signer(fixture.credential, '$.vc', nutsKeys, 'e.p.req.credential-signature');
    expect(key.did).toBe('did:nuts:CuE3qeFGGLhEAS3gKzhMCeqd1dGa9at5JCbmCfyMU2Ey');
    const changed = structuredClone(fixture.credential);
    (changed.credentialSubject as { organization: { city: string } }).organization.city = 'Amsterdam';
    const e = await refusal(verifiedJws2020Signer(changed, '$.vc', nutsKeys, 'e.p.req.credential-signature'));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-signature', '$.vc.proof.jws']);
  });

  it('passes the whole verifier up to the type check (it is an organisation credential)', async () => {
    const nutsHolder = await party(nutsDid);
    const vp = await present('ldp', [fixture.credential], nutsHolder, nutsDid);
    const e = await refusal(verifyPresentation(vp, { ...opts, holder: nutsDid, resolveKey: nutsKeys }));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-type', '$.body.vp.verifiableCredential[0].type']);
  });

  it('ships the KIK-V context it signs ValidatedQueryCredentials with', async () => {
    const vc = await issue('ldp');
    expect(vc['@context']).toEqual([VC_CONTEXT, KIKV_CONTEXT, NUTS_JWS2020_CONTEXT]);
  });
});
