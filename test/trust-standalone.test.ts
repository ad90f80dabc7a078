import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, calculateJwkThumbprint, type CryptoKey, type JWK } from 'jose';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { loadKeyring, rotateSigningKey } from '../src/exchange/keys.js';
import { createTrust, StandaloneTrust, type TokenIssuer } from '../src/exchange/trust/index.js';
import { peerOf } from '../src/exchange/trust/peers.js';
import { revocationListOf } from '../src/exchange/trust/revocation.js';
import { ExchangeError, KIKV_SERVICE, type PresentationVerifier, type VerifiedCredential } from '../src/exchange/types.js';
import { tokenRoutes } from '../src/server/token.js';
import { tempDir, writeConfig } from './helpers.js';

const AGENT = 'did:web:datastation.test';
const CONSUMER = 'did:web:kik-starter.test';
const ISSUER = 'did:web:beheer.test';
const STRANGER = 'did:web:stranger.test';
const BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

interface Party {
  did: string;
  privateKey: CryptoKey;
  jwk: JWK;
  kid: string;
}

async function party(did: string): Promise<Party> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { did, privateKey, jwk: { ...jwk, kid }, kid };
}

/**
 * A small real verifier standing in for src/exchange/credentials: a VP-JWT by the holder with VC-JWTs,
 * every signature checked with the adapter's resolveKey, issuer and revocation by the adapter's policy.
 * It shows the adapter hands over the right key resolver and policy.
 */
const vpJwtVerifier: PresentationVerifier = async (vp, { holder, resolveKey, policy }) => {
  const vpJwt = String(vp);
  const vpKey = await resolveKey(String(decodeProtectedHeader(vpJwt).kid));
  if (vpKey.did !== holder) throw new ExchangeError('e.p.req.presentation-signer', 403, `signed by ${vpKey.did}`);
  const { payload } = await jwtVerify(vpJwt, await importJWK(vpKey.jwk, 'ES256'));
  const out: VerifiedCredential[] = [];
  for (const vcJwt of (payload.vp as { verifiableCredential: string[] }).verifiableCredential) {
    const key = await resolveKey(String(decodeProtectedHeader(vcJwt).kid));
    const { payload: vc } = await jwtVerify(vcJwt, await importJWK(key.jwk, 'ES256'));
    if (!policy.trustedIssuers.includes(String(vc.iss)) || key.did !== vc.iss) throw new ExchangeError('e.p.req.untrusted-issuer', 403, `issuer ${String(vc.iss)}`);
    if (await policy.isRevoked(String(vc.jti))) throw new ExchangeError('e.p.req.credential-revoked', 403, `revoked ${String(vc.jti)}`);
    out.push({ id: String(vc.jti), format: 'jwt', types: ['VerifiableCredential', 'ValidatedQueryCredential'], issuer: String(vc.iss), subject: String(vc.sub), issuanceDate: new Date(vc.iat! * 1000).toISOString(), query: { identifier: 'x', uuid: 'x', ontology: [], profile: 'p', sparql: 'ASK {}' } });
  }
  return out;
};

/** An RFC 7523 assertion as a consumer signs it; `patch` changes claims or the key to make it wrong. */
async function assertion(signer: Party, aud: string, patch: { iss?: string; sub?: string; aud?: string; exp?: number; jti?: string; kid?: string; key?: CryptoKey } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: patch.jti ?? randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: patch.kid ?? `${signer.did}#${signer.kid}` })
    .setIssuer(patch.iss ?? signer.did)
    .setSubject(patch.sub ?? signer.did)
    .setAudience(patch.aud ?? aud)
    .setIssuedAt(now)
    .setExpirationTime(patch.exp ?? now + 60)
    .sign(patch.key ?? signer.privateKey);
}

describe('standalone trust: keys, token endpoint, access tokens', () => {
  const dir = tempDir('kikv-trust-');
  const keysDir = join(dir, 'keys');
  let consumer: Party;
  let issuer: Party;
  let stranger: Party;
  let app: FastifyInstance;
  let base: string;
  let tokenUrl: string;
  let trust: StandaloneTrust;
  const revokedFile = join(dir, 'revoked.txt');

  function trustAt(now?: () => number): StandaloneTrust {
    return new StandaloneTrust({
      did: AGENT,
      keysDir,
      tokenEndpoint: tokenUrl,
      peers: [
        peerOf({ did: CONSUMER, name: 'KIK-starter', roles: ['consumer'], jwks: join(dir, 'consumer.jwks.json'), endpoint: 'http://127.0.0.1:9/didcomm' }, 0),
        peerOf({ did: ISSUER, name: 'beheerorganisatie', roles: ['issuer'], didDocument: join(dir, 'issuer.did.json') }, 1),
      ],
      trustedIssuers: [],
      isRevoked: revocationListOf(revokedFile),
      verifyPresentation: vpJwtVerifier,
      tokenLifetimeSeconds: 600,
      ...(now ? { now } : {}),
    });
  }

  const post = (path: string, form: Record<string, string>) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  const tokenFor = async (a: string, scope?: string) => {
    const res = await post('/oauth2/token', { grant_type: BEARER, assertion: a, ...(scope !== undefined ? { scope } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const refusal = async (p: Promise<unknown>): Promise<ExchangeError> => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(ExchangeError);
    return e as ExchangeError;
  };

  beforeAll(async () => {
    consumer = await party(CONSUMER);
    issuer = await party(ISSUER);
    stranger = await party(STRANGER);
    writeFileSync(join(dir, 'consumer.jwks.json'), JSON.stringify({ keys: [consumer.jwk] }));
    writeFileSync(join(dir, 'issuer.did.json'), JSON.stringify({ id: ISSUER, verificationMethod: [{ id: '#key-1', type: 'JsonWebKey2020', controller: ISSUER, publicKeyJwk: issuer.jwk }], assertionMethod: ['#key-1'] }));
    writeFileSync(revokedFile, '# revoked credentials\n');
    // The plugin is registered before the port (and so the token URL) is known: delegate to `trust` once made.
    const issuerProxy: TokenIssuer = { tokenForAssertion: (a, s) => trust.tokenForAssertion(a, s), introspect: (t) => trust.introspect(t) };
    app = Fastify();
    await app.register(tokenRoutes(issuerProxy));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
    tokenUrl = `${base}/oauth2/token`;
    trust = trustAt();
  });
  afterAll(async () => {
    await app.close();
  });

  it('issues a short-lived access token for a registered consumer that verifies and introspects', async () => {
    const { status, body } = await tokenFor(await assertion(consumer, tokenUrl), KIKV_SERVICE);
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: KIKV_SERVICE });
    const token = String(body.access_token);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: AGENT, aud: AGENT, sub: CONSUMER, service: KIKV_SERVICE });
    expect(claims.exp! - claims.iat!).toBe(600);
    expect(await trust.verifyAccessToken(token, { from: CONSUMER, service: KIKV_SERVICE })).toMatchObject({ subject: CONSUMER, issuer: AGENT, service: KIKV_SERVICE, expiresAt: claims.exp });
    const intro = await post('/oauth2/introspect', { token });
    expect(intro.status).toBe(200);
    expect(await intro.json()).toMatchObject({ active: true, iss: AGENT, sub: CONSUMER, service: KIKV_SERVICE, exp: claims.exp });
    const inactive = await post('/oauth2/introspect', { token: `${token.slice(0, -4)}AAAA` });
    expect(await inactive.json()).toEqual({ active: false });
    // aud may also be our DID instead of the token endpoint URL; scope defaults to the KIK-V service.
    expect((await tokenFor(await assertion(consumer, AGENT))).status).toBe(200);
  });

  it('refuses bad token requests with the OAuth2 error and a description of what to fix', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, () => Promise<{ status: number; body: Record<string, unknown> }>, number, string, RegExp]> = [
      ['wrong grant type', async () => { const r = await post('/oauth2/token', { grant_type: 'client_credentials' }); return { status: r.status, body: (await r.json()) as Record<string, unknown> }; }, 400, 'unsupported_grant_type', /jwt-bearer/],
      ['no assertion', async () => { const r = await post('/oauth2/token', { grant_type: BEARER }); return { status: r.status, body: (await r.json()) as Record<string, unknown> }; }, 400, 'invalid_request', /assertion is missing/],
      ['no grant_type', async () => { const r = await post('/oauth2/token', { assertion: 'x' }); return { status: r.status, body: (await r.json()) as Record<string, unknown> }; }, 400, 'invalid_request', /grant_type/],
      ['JSON body', async () => { const r = await fetch(`${base}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }); return { status: r.status, body: (await r.json()) as Record<string, unknown> }; }, 400, 'invalid_request', /x-www-form-urlencoded/],
      ['not a JWT', () => tokenFor('not-a-jwt'), 400, 'invalid_grant', /compact JWT/],
      ['unregistered consumer', async () => tokenFor(await assertion(stranger, tokenUrl)), 401, 'invalid_client', /did:web:stranger.test is not a registered consumer/],
      ['an issuer is no consumer', async () => tokenFor(await assertion(issuer, tokenUrl, { kid: `${ISSUER}#key-1` })), 401, 'invalid_client', /not a registered consumer/],
      ['sub differs from iss', async () => tokenFor(await assertion(consumer, tokenUrl, { sub: STRANGER })), 400, 'invalid_grant', /sub must equal iss/],
      ['wrong audience', async () => tokenFor(await assertion(consumer, tokenUrl, { aud: 'https://elsewhere.example/token' })), 400, 'invalid_grant', /aud must be our token endpoint/],
      ['expired', async () => tokenFor(await assertion(consumer, tokenUrl, { exp: now - 120 })), 400, 'invalid_grant', /expired/],
      ['lives too long', async () => tokenFor(await assertion(consumer, tokenUrl, { exp: now + 3600 })), 400, 'invalid_grant', /at most 300 s/],
      ['signed by another key', async () => tokenFor(await assertion(consumer, tokenUrl, { key: stranger.privateKey })), 400, 'invalid_grant', /signature does not verify/],
      ['unknown kid', async () => tokenFor(await assertion(consumer, tokenUrl, { kid: `${CONSUMER}#nope` })), 400, 'invalid_grant', /kid .* names no key/],
      ['wrong scope', async () => tokenFor(await assertion(consumer, tokenUrl), 'fhir-read'), 400, 'invalid_scope', /didcomm-service-kikv/],
    ];
    for (const [name, run, status, error, description] of cases) {
      const r = await run();
      expect({ name, status: r.status, error: r.body.error }).toEqual({ name, status, error });
      expect(String(r.body.error_description), name).toMatch(description);
    }
    const a = await assertion(consumer, tokenUrl, { jti: 'once-only' });
    expect((await tokenFor(a)).status).toBe(200);
    const replay = await tokenFor(a);
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(String(replay.body.error_description)).toMatch(/jti "once-only" was already used/);
  });

  it('refuses access tokens that are missing, foreign, for someone else, for another service, or expired', async () => {
    const token = String((await tokenFor(await assertion(consumer, tokenUrl))).body.access_token);
    const expectOk = { from: CONSUMER, service: KIKV_SERVICE };
    let e = await refusal(trust.verifyAccessToken('', expectOk));
    expect([e.code, e.status]).toEqual(['e.p.req.unauthorized', 401]);
    expect(e.message).toMatch(/no bearer token/);
    e = await refusal(trust.verifyAccessToken('garbage', expectOk));
    expect([e.code, e.status]).toEqual(['e.p.req.unauthorized', 401]);
    e = await refusal(trust.verifyAccessToken(token, { from: STRANGER, service: KIKV_SERVICE }));
    expect([e.code, e.status, e.path]).toEqual(['e.p.req.forbidden', 403, 'from']);
    expect(e.message).toMatch(/sub is "did:web:kik-starter.test"/);
    // A token we signed for another service (made here with our own key).
    const { current } = await loadKeyring(keysDir);
    const now = Math.floor(Date.now() / 1000);
    const other = await new SignJWT({ service: 'fhir' }).setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' }).setIssuer(AGENT).setAudience(AGENT).setSubject(CONSUMER).setIssuedAt(now).setExpirationTime(now + 60).sign(current.privateKey);
    e = await refusal(trust.verifyAccessToken(other, expectOk));
    expect([e.code, e.status]).toEqual(['e.p.req.forbidden', 403]);
    expect(e.message).toMatch(/service claim is "fhir"/);
    const wrongAud = await new SignJWT({ service: KIKV_SERVICE }).setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' }).setIssuer(AGENT).setAudience(CONSUMER).setSubject(CONSUMER).setIssuedAt(now).setExpirationTime(now + 60).sign(current.privateKey);
    e = await refusal(trust.verifyAccessToken(wrongAud, expectOk));
    expect(e.message).toMatch(/aud claim is wrong/);
    // An assertion (typ JWT) is not an access token, even when signed by a registered consumer.
    e = await refusal(trust.verifyAccessToken(await assertion(consumer, AGENT), expectOk));
    expect(e.message).toMatch(/typ undefined, not "at\+jwt"/);
    const forged = await new SignJWT({ service: KIKV_SERVICE }).setProtectedHeader({ alg: 'ES256', kid: consumer.kid, typ: 'at+jwt' }).setIssuer(AGENT).setAudience(AGENT).setSubject(CONSUMER).setExpirationTime(now + 60).sign(consumer.privateKey);
    e = await refusal(trust.verifyAccessToken(forged, expectOk));
    expect(e.message).toMatch(/kid .* is none of our keys/);
    // The same token 11 minutes later.
    const later = trustAt(() => Date.now() + 11 * 60_000);
    e = await refusal(later.verifyAccessToken(token, expectOk));
    expect([e.code, e.status]).toEqual(['e.p.req.unauthorized', 401]);
    expect(e.message).toMatch(/expired/);
  });

  it('resolves our keys and the peers\' keys by DID URL or bare kid, and names unknown ones', async () => {
    const { current } = await loadKeyring(keysDir);
    expect(await trust.resolveKey(`${AGENT}#${current.kid}`)).toMatchObject({ did: AGENT, jwk: { x: current.publicJwk.x } });
    expect((await trust.resolveKey(current.kid)).did).toBe(AGENT);
    expect(await trust.resolveKey(`${CONSUMER}#${consumer.kid}`)).toMatchObject({ did: CONSUMER, jwk: { x: consumer.jwk.x } });
    expect((await trust.resolveKey(consumer.kid)).did).toBe(CONSUMER);
    expect(await trust.resolveKey(`${ISSUER}#key-1`)).toMatchObject({ did: ISSUER, jwk: { x: issuer.jwk.x } });
    let e = await refusal(trust.resolveKey(`${STRANGER}#k`));
    expect([e.code, e.status]).toEqual(['e.p.req.unknown-key', 403]);
    expect(e.message).toMatch(/not a configured peer/);
    e = await refusal(trust.resolveKey(`${CONSUMER}#key-9`));
    expect(e.message).toMatch(/no key "did:web:kik-starter.test#key-9"/);
    expect(await trust.endpointOf(CONSUMER, KIKV_SERVICE)).toEqual(new URL('http://127.0.0.1:9/didcomm'));
    e = await refusal(trust.endpointOf(ISSUER, KIKV_SERVICE));
    expect(e.code).toBe('e.p.xfer.no-endpoint');
  });

  it('verifies presentations through the given verifier with its own keys, trusted issuers and revocation list', async () => {
    const now = Math.floor(Date.now() / 1000);
    const vcId = `urn:uuid:${randomUUID()}`;
    const vc = await new SignJWT({ vc: { type: ['VerifiableCredential', 'ValidatedQueryCredential'] } }).setProtectedHeader({ alg: 'ES256', kid: `${ISSUER}#key-1` }).setIssuer(ISSUER).setSubject(CONSUMER).setJti(vcId).setIssuedAt(now).sign(issuer.privateKey);
    const vpOf = (signer: Party, creds: string[]) => new SignJWT({ vp: { verifiableCredential: creds } }).setProtectedHeader({ alg: 'ES256', kid: `${signer.did}#${signer.kid}` }).setIssuer(signer.did).setIssuedAt(now).sign(signer.privateKey);
    const verified = await trust.verifyPresentation(await vpOf(consumer, [vc]), { holder: CONSUMER, at: new Date() });
    expect(verified.map((c) => [c.issuer, c.subject, c.id])).toEqual([[ISSUER, CONSUMER, vcId]]);
    // A credential "issued" by the consumer itself is not from a trusted issuer.
    const selfIssued = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: `${CONSUMER}#${consumer.kid}` }).setIssuer(CONSUMER).setSubject(CONSUMER).setJti('x').setIssuedAt(now).sign(consumer.privateKey);
    expect((await refusal(trust.verifyPresentation(await vpOf(consumer, [selfIssued]), { holder: CONSUMER, at: new Date() }))).code).toBe('e.p.req.untrusted-issuer');
    // Revoked by listing it in the configured file: picked up without a restart.
    writeFileSync(revokedFile, `# revoked\n${vcId}\n`);
    const { utimesSync } = await import('node:fs');
    utimesSync(revokedFile, new Date(), new Date(Date.now() + 5000));
    expect((await refusal(trust.verifyPresentation(await vpOf(consumer, [vc]), { holder: CONSUMER, at: new Date() }))).code).toBe('e.p.req.credential-revoked');
  });

  it('signs compact ES256 JWS with the current key; after rotation the old key stays published until its retention ends', async () => {
    const payload = new TextEncoder().encode('{"resultset":[]}');
    const before = await trust.signJws(payload, { kid: 'attempted-override', typ: 'JWT' });
    const headerBefore = decodeProtectedHeader(before);
    expect(headerBefore).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    const oldKid = headerBefore.kid!;
    expect(oldKid).toBe((await loadKeyring(keysDir)).current.kid);
    const oldToken = String((await tokenFor(await assertion(consumer, tokenUrl))).body.access_token);

    const ring = await rotateSigningKey(keysDir, { retentionDays: 30 });
    expect(ring.current.kid).not.toBe(oldKid);
    expect(ring.retired.map((k) => k.kid)).toEqual([oldKid]);
    const jwks = await trust.jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([ring.current.kid, oldKid]);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    const after = await trust.signJws(payload);
    expect(decodeProtectedHeader(after).kid).toBe(ring.current.kid);
    // Both signatures verify against the published JWKS; a token issued before rotation still verifies.
    for (const jws of [before, after]) expect(new TextDecoder().decode((await compactVerify(jws, createLocalJWKSet(jwks))).payload)).toBe('{"resultset":[]}');
    expect((await trust.verifyAccessToken(oldToken, { from: CONSUMER, service: KIKV_SERVICE })).subject).toBe(CONSUMER);
    // 31 days later the retired key is gone from the JWKS.
    const later = trustAt(() => Date.now() + 31 * 86_400_000);
    expect((await later.jwks()).keys.map((k) => k.kid)).toEqual([ring.current.kid]);
  });
});

describe('standalone trust between two agents, and from configuration', () => {
  it('one agent obtains a token from another by a signed assertion; an unregistered one is refused', async () => {
    const dirA = tempDir('kikv-trust-a-');
    const dirB = tempDir('kikv-trust-b-');
    const didA = 'did:web:agent-a.test';
    const didB = 'did:web:agent-b.test';
    const ringB = await loadKeyring(join(dirB, 'keys'));
    writeFileSync(join(dirA, 'b.jwks.json'), JSON.stringify(await (async () => ({ keys: [ringB.current.publicJwk] }))()));
    let a!: StandaloneTrust;
    const app = Fastify();
    await app.register(tokenRoutes({ tokenForAssertion: (x, s) => a.tokenForAssertion(x, s), introspect: (t) => a.introspect(t) }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/oauth2/token`;
    try {
      const common = { trustedIssuers: [], isRevoked: async () => false, verifyPresentation: vpJwtVerifier };
      a = new StandaloneTrust({ ...common, did: didA, keysDir: join(dirA, 'keys'), tokenEndpoint: url, peers: [peerOf({ did: didB, name: 'B', roles: ['consumer'], jwks: join(dirA, 'b.jwks.json') }, 0)] });
      const b = new StandaloneTrust({ ...common, did: didB, keysDir: join(dirB, 'keys'), tokenEndpoint: 'http://unused.test/oauth2/token', peers: [{ did: didA, name: 'A', roles: ['consumer'], tokenEndpoint: url, keys: [] }] });
      const token = await b.accessTokenFor(didA, KIKV_SERVICE);
      expect(await a.verifyAccessToken(token, { from: didB, service: KIKV_SERVICE })).toMatchObject({ subject: didB, issuer: didA });
      // Cached until shortly before it expires.
      expect(await b.accessTokenFor(didA, KIKV_SERVICE)).toBe(token);
      const c = new StandaloneTrust({ ...common, did: 'did:web:agent-c.test', keysDir: join(dirB, 'keys-c'), tokenEndpoint: 'http://unused.test/t', peers: [{ did: didA, name: 'A', roles: ['consumer'], tokenEndpoint: url, keys: [] }] });
      const e = await c.accessTokenFor(didA, KIKV_SERVICE).then(() => undefined, (x: ExchangeError) => x);
      expect(e).toBeInstanceOf(ExchangeError);
      expect([e!.code, e!.status]).toEqual(['e.p.xfer.token-refused', 502]);
      expect(e!.message).toMatch(/invalid_client: iss did:web:agent-c.test is not a registered consumer/);
      const down = new StandaloneTrust({ ...common, did: didB, keysDir: join(dirB, 'keys'), tokenEndpoint: 'http://unused.test/t', peers: [{ did: didA, name: 'A', roles: ['consumer'], tokenEndpoint: 'http://127.0.0.1:9/oauth2/token', keys: [] }] });
      expect((await down.accessTokenFor(didA, KIKV_SERVICE).then(() => undefined, (x: ExchangeError) => x))?.code).toBe('e.p.xfer.token-unavailable');
    } finally {
      await app.close();
    }
  });

  it('createTrust builds the adapter from configuration; bad trust sections name the key', async () => {
    const consumer = await party(CONSUMER);
    const { file, dir } = writeConfig({
      extra: {
        agent: { did: AGENT },
        server: { host: '127.0.0.1', port: 0, publicUrl: 'https://ds.example/' },
        trust: { mode: 'standalone', keysDir: './keys', trustedIssuers: [ISSUER], peers: [{ did: CONSUMER, name: 'KIK-starter', roles: ['consumer'], jwks: './consumer.jwks.json', endpoint: 'https://ks.example/didcomm' }] },
      },
    });
    writeFileSync(join(dir, 'consumer.jwks.json'), JSON.stringify({ keys: [consumer.jwk] }));
    const cfg = loadConfig(file);
    expect(cfg.trust).toMatchObject({ keysDir: join(dir, 'keys'), tokenLifetimeSeconds: 600, keyRetentionDays: 400, peers: [{ jwks: join(dir, 'consumer.jwks.json') }] });
    const t = createTrust(cfg, { verifyPresentation: vpJwtVerifier }) as StandaloneTrust;
    expect(t.mode).toBe('standalone');
    // aud = publicUrl + /oauth2/token is accepted.
    const res = await t.tokenForAssertion(await assertion(consumer, 'https://ds.example/oauth2/token'), undefined);
    expect(decodeJwt(res.access_token).sub).toBe(CONSUMER);
    mkdirSync(join(dir, 'keys'), { recursive: true });
    chmodSync(join(dir, 'keys'), 0o700);

    const bad = (trust: Record<string, unknown>) => {
      const w = writeConfig({ extra: { trust: { keysDir: './keys', ...trust } } });
      try {
        const c = loadConfig(w.file);
        createTrust(c, { verifyPresentation: vpJwtVerifier });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
      }
      throw new Error('expected a ConfigError');
    };
    expect(bad({ mode: 'nuts' })).toContainEqual(expect.objectContaining({ path: 'trust.nuts' }));
    expect(bad({ mode: 'standalone', peers: [{ did: CONSUMER, name: 'x', roles: ['consumer'] }] })).toContainEqual(expect.objectContaining({ path: 'trust.peers[0]', expected: expect.stringMatching(/jwks.*didDocument/) }));
    expect(bad({ mode: 'standalone', peers: [{ did: CONSUMER, name: 'x', roles: ['buyer'], jwks: 'x' }] })).toContainEqual(expect.objectContaining({ path: 'trust.peers[0].roles[0]' }));
    expect(bad({ mode: 'standalone', peers: [{ did: CONSUMER, name: 'x', roles: ['consumer'], jwks: './missing.json' }] })).toContainEqual(expect.objectContaining({ path: 'trust.peers[0].jwks', found: expect.stringMatching(/ENOENT/) }));
    expect(bad({ mode: 'standalone', tokenLifetimeSeconds: 1 })).toContainEqual(expect.objectContaining({ path: 'trust.tokenLifetimeSeconds' }));
    const nuts = loadConfig(writeConfig({ extra: { trust: { mode: 'nuts', keysDir: './k', trustedIssuers: [ISSUER], nuts: { url: 'http://127.0.0.1:1323/' } } } }).file);
    expect(nuts.trust.nuts).toEqual({ url: 'http://127.0.0.1:1323', endpointType: 'didcomm', timeoutMs: 10_000 });
    expect(createTrust(nuts, { verifyPresentation: vpJwtVerifier }).mode).toBe('nuts');
  });
});
