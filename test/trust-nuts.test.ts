import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { NutsTrust } from '../src/exchange/trust/nuts.js';
import { ExchangeError, KIKV_SERVICE } from '../src/exchange/types.js';
import { startNutsNodeSim, type NutsNodeSim, type NutsParty } from '../src/sim/nuts-node.js';

const AGENT = 'did:nuts:datastation';
const CONSUMER = 'did:nuts:kikstarter';
const ISSUER = 'did:nuts:beheerorganisatie';
const OTHER_ISSUER = 'did:nuts:other-issuer';
const SPARQL = 'SELECT (COUNT(?p) AS ?n) WHERE { ?p a <http://purl.org/ozo/onz-g#Human> }';

function credential(opts: { subject?: string; issuer?: string; id?: string; expirationDate?: string; type?: string } = {}) {
  return {
    '@context': ['https://www.w3.org/2018/credentials/v1', 'https://kik-v.nl/context/v1.json'],
    id: opts.id ?? `${opts.issuer ?? ISSUER}#${randomUUID()}`,
    type: ['VerifiableCredential', opts.type ?? 'ValidatedQueryCredential'],
    issuer: opts.issuer ?? ISSUER,
    issuanceDate: '2024-01-01T00:00:00Z',
    expirationDate: opts.expirationDate ?? '2099-01-01T00:00:00Z',
    credentialSubject: {
      id: opts.subject ?? CONSUMER,
      validatedQuery: { identifier: `urn:uuid:${randomUUID()}`, name: '1.1', profile: 'https://kik-v.gitlab.io/uitwisselprofielen/uitwisselprofiel-odb/', ontology: 'http://purl.org/ozo/onz-g#3.0.0', sparql: Buffer.from(SPARQL).toString('base64') },
    },
    proof: { type: 'JsonWebSignature2020', verificationMethod: `${opts.issuer ?? ISSUER}#key-1`, proofPurpose: 'assertionMethod', jws: 'e30..sig' },
  };
}

function presentation(signer: string, credentials: unknown[]) {
  return {
    '@context': ['https://www.w3.org/2018/credentials/v1'],
    type: ['VerifiablePresentation'],
    verifiableCredential: credentials,
    proof: { type: 'JsonWebSignature2020', verificationMethod: `${signer}#key-1`, proofPurpose: 'assertionMethod', jws: 'e30..sig' },
  };
}

async function refusal(p: Promise<unknown>): Promise<ExchangeError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(ExchangeError);
  return e as ExchangeError;
}

describe('Nuts v5 trust adapter against the node test double (real HTTP on loopback)', () => {
  let node: NutsNodeSim;
  let consumer: NutsParty;
  let trust: NutsTrust;
  const revoked = new Set<string>();

  beforeAll(async () => {
    node = await startNutsNodeSim({ did: AGENT, trustedIssuers: [ISSUER, OTHER_ISSUER] });
    consumer = await node.addParty(CONSUMER, [
      { type: KIKV_SERVICE, serviceEndpoint: { oauth: 'https://ks.example/n2n/auth/v1/accesstoken', didcomm: `${CONSUMER}/serviceEndpoint?type=didcomm-endpoint` } },
      { type: 'didcomm-endpoint', serviceEndpoint: 'https://ks.example/didcomm' },
    ]);
    await node.addParty(ISSUER);
    await node.addParty(OTHER_ISSUER);
    trust = new NutsTrust({ did: AGENT, url: node.url, trustedIssuers: [ISSUER], isRevoked: async (id) => revoked.has(id), timeoutMs: 2000 });
  });
  afterAll(async () => {
    await node.close();
  });

  it('verifies a bearer token with HEAD verify and introspection, and names the claim that fails', async () => {
    const ok = node.issueToken(CONSUMER, KIKV_SERVICE);
    node.calls.length = 0;
    expect(await trust.verifyAccessToken(ok, { from: CONSUMER, service: KIKV_SERVICE })).toMatchObject({ subject: CONSUMER, issuer: AGENT, service: KIKV_SERVICE });
    expect(node.calls).toEqual(['HEAD /internal/auth/v1/accesstoken/verify', 'POST /internal/auth/v1/accesstoken/introspect']);
    const cases: Array<[string, string, { from: string; service: string }, string, number, RegExp]> = [
      ['missing', '', { from: CONSUMER, service: KIKV_SERVICE }, 'e.p.req.unauthorized', 401, /no bearer token/],
      ['unknown to the node', 'made-up-token', { from: CONSUMER, service: KIKV_SERVICE }, 'e.p.req.unauthorized', 401, /our Nuts node did not issue it/],
      ['expired', node.issueToken(CONSUMER, KIKV_SERVICE, -5), { from: CONSUMER, service: KIKV_SERVICE }, 'e.p.req.unauthorized', 401, /not valid/],
      ['issued by another authoriser', node.issueToken(CONSUMER, KIKV_SERVICE, 900, 'did:nuts:someone-else'), { from: CONSUMER, service: KIKV_SERVICE }, 'e.p.req.unauthorized', 401, /iss is "did:nuts:someone-else"/],
      ['for another sender', ok, { from: 'did:nuts:intruder', service: KIKV_SERVICE }, 'e.p.req.forbidden', 403, /sub is "did:nuts:kikstarter" but the message is from did:nuts:intruder/],
      ['for another service', node.issueToken(CONSUMER, 'eOverdracht-sender'), { from: CONSUMER, service: KIKV_SERVICE }, 'e.p.req.forbidden', 403, /service is "eOverdracht-sender"/],
    ];
    for (const [name, token, expect_, code, status, message] of cases) {
      const e = await refusal(trust.verifyAccessToken(token, expect_));
      expect({ name, code: e.code, status: e.status }).toEqual({ name, code, status });
      expect(e.message, name).toMatch(message);
    }
    node.behaviour.tokensInactive = true;
    try {
      const e = await refusal(trust.verifyAccessToken(ok, { from: CONSUMER, service: KIKV_SERVICE }));
      expect([e.code, e.status]).toEqual(['e.p.req.unauthorized', 401]);
    } finally {
      node.behaviour.tokensInactive = false;
    }
  });

  it('verifies a presentation at the node, then checks subject = holder, trusted issuers and revocation itself', async () => {
    const vc = credential();
    const vp = presentation(CONSUMER, [vc, credential({ type: 'SomeOtherCredential' })]);
    const at = new Date('2024-06-01T12:00:00Z');
    const verified = await trust.verifyPresentation(vp, { holder: CONSUMER, at });
    expect(verified).toHaveLength(1);
    expect(verified[0]).toMatchObject({ id: vc.id, format: 'ldp', issuer: ISSUER, subject: CONSUMER, query: { sparql: SPARQL, ontology: ['http://purl.org/ozo/onz-g#3.0.0'] } });
    // The DIDComm body carries it as standard Base64.
    expect(await trust.verifyPresentation(Buffer.from(JSON.stringify(vp)).toString('base64'), { holder: CONSUMER, at })).toHaveLength(1);

    const cases: Array<[string, () => Promise<unknown>, string, number, RegExp]> = [
      ['signed by someone else', () => trust.verifyPresentation(presentation(ISSUER, [credential()]), { holder: CONSUMER, at }), 'e.p.req.presentation-signer', 403, /signed by did:nuts:beheerorganisatie, not by the sender/],
      ['a VP-JWT', () => trust.verifyPresentation('eyJhbGciOiJFUzI1NiJ9.eyJ2cCI6e319.c2ln', { holder: CONSUMER, at }), 'e.p.req.invalid-presentation', 400, /JSON-LD presentations only/],
      ['not JSON', () => trust.verifyPresentation('%%%', { holder: CONSUMER, at }), 'e.p.req.invalid-presentation', 400, /neither a JSON-LD object nor standard Base64/],
      ['malformed for the node (no @context)', () => trust.verifyPresentation({ type: ['VerifiablePresentation'], proof: { verificationMethod: `${CONSUMER}#key-1` } }, { holder: CONSUMER, at }), 'e.p.req.invalid-presentation', 400, /malformed: Invalid request: body\/verifiablePresentation must have required property '@context'/],
      ['credential expired at created_time', () => trust.verifyPresentation(presentation(CONSUMER, [credential({ expirationDate: '2024-03-01T00:00:00Z' })]), { holder: CONSUMER, at }), 'e.p.req.invalid-presentation', 403, /not valid at given time/],
      ['issuer untrusted by the node', () => trust.verifyPresentation(presentation(CONSUMER, [credential({ issuer: 'did:nuts:rogue' })]), { holder: CONSUMER, at }), 'e.p.req.invalid-presentation', 403, /untrusted issuer/],
      ['issuer trusted by the node but not by us', () => trust.verifyPresentation(presentation(CONSUMER, [credential({ issuer: OTHER_ISSUER })]), { holder: CONSUMER, at }), 'e.p.req.untrusted-issuer', 403, /issuer "did:nuts:other-issuer" is not a trusted issuer/],
      ['subject is not the holder', () => trust.verifyPresentation(presentation(CONSUMER, [credential({ subject: 'did:nuts:third-party' })]), { holder: CONSUMER, at }), 'e.p.req.credential-subject', 403, /credentialSubject.id is "did:nuts:third-party"/],
      ['no validated query', () => trust.verifyPresentation(presentation(CONSUMER, [credential({ type: 'NutsOrganizationCredential' })]), { holder: CONSUMER, at }), 'e.p.req.no-credential', 400, /no ValidatedQueryCredential/],
    ];
    for (const [name, run, code, status, message] of cases) {
      const e = await refusal(run());
      expect({ name, code: e.code, status: e.status }).toEqual({ name, code, status });
      expect(e.message, name).toMatch(message);
    }
    const revokedVc = credential();
    revoked.add(revokedVc.id);
    let e = await refusal(trust.verifyPresentation(presentation(CONSUMER, [revokedVc]), { holder: CONSUMER, at }));
    expect([e.code, e.path]).toEqual(['e.p.req.credential-revoked', '$.body.vp.verifiableCredential[0].id']);
    node.behaviour.vpInvalid = 'failed to verify VP signature: invalid proof signature';
    try {
      e = await refusal(trust.verifyPresentation(vp, { holder: CONSUMER, at }));
      expect([e.code, e.status]).toEqual(['e.p.req.invalid-presentation', 403]);
      expect(e.message).toMatch(/invalid proof signature/);
    } finally {
      node.behaviour.vpInvalid = undefined;
    }
  });

  it('resolves keys through the node, signs with our keyAgreement key and publishes our keys', async () => {
    expect(await trust.resolveKey(consumer.kid)).toEqual({ did: CONSUMER, kid: consumer.kid, jwk: consumer.publicJwk });
    let e = await refusal(trust.resolveKey('did:nuts:unknown#key-1'));
    expect([e.code, e.status]).toEqual(['e.p.req.unknown-did', 403]);
    expect(e.message).toMatch(/did:nuts:unknown is unknown to our Nuts node/);
    e = await refusal(trust.resolveKey('did:NUTS:x#k'));
    expect([e.code, e.status]).toEqual(['e.p.req.unknown-did', 400]);
    expect(e.message).toMatch(/Invalid DID/);
    e = await refusal(trust.resolveKey(`${CONSUMER}#key-7`));
    expect(e.code).toBe('e.p.req.unknown-key');
    e = await refusal(trust.resolveKey('key-1'));
    expect([e.code, e.status]).toEqual(['e.p.req.unknown-key', 400]);

    const jws = await trust.signJws(new TextEncoder().encode('{"resultset":[]}'), { typ: 'JOSE' });
    expect(decodeProtectedHeader(jws)).toMatchObject({ alg: 'ES256', kid: node.self.kid, typ: 'JOSE' });
    const jwks = await trust.jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([node.self.kid]);
    expect(new TextDecoder().decode((await compactVerify(jws, createLocalJWKSet(jwks))).payload)).toBe('{"resultset":[]}');
    const wrongKey = new NutsTrust({ did: AGENT, url: node.url, trustedIssuers: [], isRevoked: async () => false, signingKeyId: `${CONSUMER}#key-1` });
    e = await refusal(wrongKey.signJws(new Uint8Array([1])));
    expect([e.code, e.status]).toEqual(['e.p.trust.sign-failed', 500]);
    expect(e.message).toMatch(/private key not found: did:nuts:kikstarter#key-1/);
  });

  it('gets an access token and the DIDComm endpoint of a consumer from the node', async () => {
    const token = await trust.accessTokenFor(CONSUMER, KIKV_SERVICE);
    const intro = await fetch(`${node.url}/internal/auth/v1/accesstoken/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
    expect(await intro.json()).toMatchObject({ active: true, iss: CONSUMER, sub: AGENT, service: KIKV_SERVICE });
    let e = await refusal(trust.accessTokenFor('did:nuts:nobody', KIKV_SERVICE));
    expect([e.code, e.status]).toEqual(['e.p.xfer.token-refused', 502]);
    expect(e.message).toMatch(/unable to resolve authorizer did:nuts:nobody/);
    node.behaviour.refuseAccessToken = 'requester has no valid credentials';
    try {
      e = await refusal(trust.accessTokenFor(CONSUMER, KIKV_SERVICE));
      expect(e.message).toMatch(/invalid_grant: requester has no valid credentials/);
    } finally {
      node.behaviour.refuseAccessToken = undefined;
    }
    // The compound service's didcomm endpoint is a reference; the node resolves it.
    expect(await trust.endpointOf(CONSUMER, KIKV_SERVICE)).toEqual(new URL('https://ks.example/didcomm'));
    e = await refusal(trust.endpointOf(ISSUER, KIKV_SERVICE));
    expect([e.code, e.status]).toEqual(['e.p.xfer.no-endpoint', 502]);
    expect(e.message).toMatch(/service not found in DID Document/);
    e = await refusal(trust.endpointOf(CONSUMER, 'didcomm-endpoint'));
    expect(e.message).toMatch(/not a compound service/);
  });

  it('maps a failing node (500 problem JSON) and an unreachable node to precise errors', async () => {
    node.behaviour.failWith = 500;
    try {
      const e = await refusal(trust.verifyPresentation(presentation(CONSUMER, [credential()]), { holder: CONSUMER, at: new Date() }));
      expect([e.code, e.status]).toEqual(['e.p.trust.node-error', 502]);
      expect(e.message).toMatch(/failed presentation verification: Internal server error: the node is in a failing state .*\(HTTP 500\)/);
      expect((await refusal(trust.verifyAccessToken('t', { from: CONSUMER, service: KIKV_SERVICE }))).code).toBe('e.p.trust.node-error');
    } finally {
      node.behaviour.failWith = undefined;
    }
    // The double validates requests with the spec's schemas and answers problem JSON.
    const bad = await fetch(`${node.url}/internal/crypto/v1/sign_jws`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: 'AA==' }) });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await bad.json()).toMatchObject({ title: 'Invalid request', status: 400, detail: expect.stringMatching(/headers|kid/) });
    const badTime = await fetch(`${node.url}/internal/vcr/v2/verifier/vp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ verifiablePresentation: presentation(CONSUMER, []), validAt: 'yesterday' }) });
    expect(await badTime.json()).toEqual({ title: 'Invalid request', status: 400, detail: 'body/validAt must match format "date-time"' });

    const down = await startNutsNodeSim({ did: AGENT });
    const url = down.url;
    await down.close();
    const offline = new NutsTrust({ did: AGENT, url, trustedIssuers: [ISSUER], isRevoked: async () => false, timeoutMs: 1000 });
    const e = await refusal(offline.resolveKey(consumer.kid));
    expect([e.code, e.status]).toEqual(['e.p.trust.unavailable', 503]);
    expect(e.message).toMatch(new RegExp(`the Nuts node at ${url.replace(/[.]/g, '\\.')} could not be reached for DID resolution \\(ECONNREFUSED\\)`));
  });
});
