import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CompactSign, decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { jwksOfKeyring, loadKeyring, type Keyring } from '../keys.js';
import { ExchangeError, KIKV_SERVICE, type AccessTokenClaims, type CredentialPolicy, type PresentationVerifier, type ResolvedKey, type Trust, type VerifiedCredential } from '../types.js';
import { JWT_BEARER, OAuthError, type IntrospectionResponse, type TokenIssuer, type TokenResponse } from './oauth.js';
import type { Peer } from './peers.js';

export interface StandaloneTrustOptions {
  /** Our DID (config agent.did). */
  did: string;
  keysDir: string;
  /** Our token endpoint URL (publicUrl + /oauth2/token): the `aud` consumers put in assertions. */
  tokenEndpoint: string;
  peers: Peer[];
  trustedIssuers: string[];
  isRevoked: (credentialId: string) => Promise<boolean>;
  verifyPresentation: PresentationVerifier;
  tokenLifetimeSeconds?: number;
  /** Timeout for calls to peers' token endpoints. */
  timeoutMs?: number;
  /** The clock, for tests (epoch ms). */
  now?: () => number;
}

/** Longest lifetime we accept for a client's JWT assertion (RFC 7523 §3 leaves it to the server). */
const MAX_ASSERTION_SECONDS = 300;
/** Clock skew tolerated between us and a peer. */
const SKEW_SECONDS = 30;

/**
 * Trust without a Nuts node: our own ES256 keys (src/exchange/keys.ts) and DID, peers and their keys
 * from configuration, our own OAuth2 token endpoint (RFC 7523 JWT bearer) issuing JWT access tokens.
 */
export class StandaloneTrust implements Trust, TokenIssuer {
  readonly mode = 'standalone' as const;
  readonly did: string;
  private ring?: { keyring: Keyring; stamp: string; publics: Map<string, CryptoKey> };
  /** Assertion jti → its expiry (epoch s): a jti is refused again until its assertion expired. */
  private readonly seenJti = new Map<string, number>();
  private readonly tokens = new Map<string, { token: string; until: number }>();
  private readonly policy: CredentialPolicy;

  constructor(private readonly o: StandaloneTrustOptions) {
    this.did = o.did;
    const issuers = o.trustedIssuers.length > 0 ? o.trustedIssuers : o.peers.filter((p) => p.roles.includes('issuer')).map((p) => p.did);
    this.policy = { trustedIssuers: issuers, isRevoked: o.isRevoked };
  }

  private nowSeconds(): number {
    return Math.floor((this.o.now?.() ?? Date.now()) / 1000);
  }

  /** The key ring, re-read when `kikv keys rotate` changed the files while we run. */
  private async keys(): Promise<NonNullable<StandaloneTrust['ring']>> {
    const stamp = ['signing-key.jwk.json', 'retired-keys.json']
      .map((f) => {
        try {
          return String(statSync(join(this.o.keysDir, f)).mtimeMs);
        } catch {
          return '-';
        }
      })
      .join('/');
    if (!this.ring || this.ring.stamp !== stamp) {
      const keyring = await loadKeyring(this.o.keysDir, new Date(this.o.now?.() ?? Date.now()));
      const publics = new Map<string, CryptoKey>();
      for (const k of jwksOfKeyring(keyring).keys) publics.set(k.kid!, (await importJWK(k, 'ES256')) as CryptoKey);
      this.ring = { keyring, stamp, publics };
    }
    return this.ring;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return jwksOfKeyring((await this.keys()).keyring);
  }

  async signJws(payload: Uint8Array, headers: Record<string, unknown> = {}): Promise<string> {
    const { current } = (await this.keys()).keyring;
    // alg and kid last: a caller's header cannot make the JWS name another key.
    return new CompactSign(payload).setProtectedHeader({ ...headers, alg: 'ES256', kid: current.kid }).sign(current.privateKey);
  }

  resolveKey = async (kidOrVm: string): Promise<ResolvedKey> => {
    const hash = kidOrVm.indexOf('#');
    const did = hash >= 0 ? kidOrVm.slice(0, hash) : undefined;
    const fragment = hash >= 0 ? kidOrVm.slice(hash + 1) : kidOrVm;
    if (did === undefined || did === this.did) {
      const own = (await this.jwks()).keys.find((k) => k.kid === fragment);
      if (own) return { did: this.did, kid: kidOrVm, jwk: own };
    }
    const candidates = did === undefined ? this.o.peers : this.o.peers.filter((p) => p.did === did);
    if (did !== undefined && did !== this.did && candidates.length === 0) {
      throw new ExchangeError('e.p.req.unknown-key', 403, `the key ${kidOrVm} belongs to ${did}, which is not a configured peer; add it to trust.peers with its JWKS or DID document`);
    }
    for (const p of candidates) {
      const k = p.keys.find((key) => key.kid === kidOrVm || key.kid === `${p.did}#${fragment}` || key.jwk.kid === fragment);
      if (k) return { did: p.did, kid: kidOrVm, jwk: k.jwk };
    }
    throw new ExchangeError('e.p.req.unknown-key', 403, `no key "${kidOrVm}" is known${did ? ` for ${did}` : ''}; sign with a key listed in the peer's configured JWKS or DID document`);
  };

  verifyPresentation(vp: unknown, expect: { holder: string; at: Date }): Promise<VerifiedCredential[]> {
    return this.o.verifyPresentation(vp, { holder: expect.holder, at: expect.at, resolveKey: this.resolveKey, policy: this.policy });
  }

  async endpointOf(peer: string, service: string): Promise<URL> {
    const p = this.peerNamed(peer);
    if (service !== KIKV_SERVICE) throw new ExchangeError('e.p.xfer.unknown-service', 400, `no endpoint for service "${service}": only ${KIKV_SERVICE} is configured for peers`);
    if (!p.endpoint) throw new ExchangeError('e.p.xfer.no-endpoint', 502, `peer ${peer} (${p.name}) has no DIDComm endpoint; set trust.peers[].endpoint`);
    return new URL(p.endpoint);
  }

  /** A token from the peer's token endpoint, by an RFC 7523 assertion we sign; reused until shortly before it expires. */
  async accessTokenFor(peer: string, service: string, opts: { refresh?: boolean } = {}): Promise<string> {
    const p = this.peerNamed(peer);
    if (!p.tokenEndpoint) throw new ExchangeError('e.p.xfer.no-token-endpoint', 502, `peer ${peer} (${p.name}) has no token endpoint; set trust.peers[].tokenEndpoint`);
    const cacheKey = `${peer} ${service}`;
    // The peer refused the cached token (expired early, revoked, its server restarted): ask again.
    if (opts.refresh) this.tokens.delete(cacheKey);
    const cached = this.tokens.get(cacheKey);
    const now = this.nowSeconds();
    if (cached && cached.until > now) return cached.token;
    const { current } = (await this.keys()).keyring;
    const assertion = await new SignJWT({ scope: service })
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'JWT' })
      .setIssuer(this.did)
      .setSubject(this.did)
      .setAudience(p.tokenEndpoint)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .setJti(randomUUID())
      .sign(current.privateKey);
    let res: Response;
    try {
      res = await fetch(p.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: JWT_BEARER, assertion, scope: service }).toString(),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      });
    } catch (e) {
      throw new ExchangeError('e.p.xfer.token-unavailable', 503, `the token endpoint of ${peer} (${p.tokenEndpoint}) did not answer: ${(e as Error).message}`);
    }
    const body = (await res.json().catch(() => undefined)) as { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } | undefined;
    if (!res.ok || typeof body?.access_token !== 'string') {
      const why = body?.error ? `${String(body.error)}${body.error_description ? `: ${String(body.error_description)}` : ''}` : `HTTP ${res.status} without an access_token`;
      throw new ExchangeError('e.p.xfer.token-refused', 502, `the token endpoint of ${peer} refused our assertion (${why})`);
    }
    const lifetime = typeof body.expires_in === 'number' ? body.expires_in : 60;
    this.tokens.set(cacheKey, { token: body.access_token, until: now + Math.max(0, lifetime - 30) });
    return body.access_token;
  }

  async verifyAccessToken(token: string, expect: { from: string; service: string }): Promise<AccessTokenClaims> {
    const claims = await this.ownToken(token);
    if (claims.sub !== expect.from) {
      throw new ExchangeError('e.p.req.forbidden', 403, `the access token's sub is ${JSON.stringify(claims.sub)} but the message is from ${expect.from}; use a token issued to the sender`, 'from');
    }
    if (claims.service !== expect.service) {
      throw new ExchangeError('e.p.req.forbidden', 403, `the access token's service claim is ${JSON.stringify(claims.service)}; request a token with scope ${expect.service}`);
    }
    return { subject: claims.sub, service: claims.service as string, issuer: claims.iss!, expiresAt: claims.exp! };
  }

  /** Checks a token as ours: signature by one of our keys, typ at+jwt, iss = aud = our DID, not expired. */
  private async ownToken(token: string): Promise<JWTPayload & { sub: string }> {
    const unauthorized = (m: string) => new ExchangeError('e.p.req.unauthorized', 401, m);
    if (!token) throw unauthorized('no bearer token: send "Authorization: Bearer <token>" with a token from our /oauth2/token endpoint');
    let header;
    try {
      header = decodeProtectedHeader(token);
      decodeJwt(token);
    } catch {
      throw unauthorized('the bearer token is not a JWT issued by this datastation; obtain one from our /oauth2/token endpoint');
    }
    if (header.typ !== 'at+jwt') throw unauthorized(`the bearer token has typ ${JSON.stringify(header.typ)}, not "at+jwt": it is not an access token from our token endpoint`);
    const { publics } = await this.keys();
    const key = typeof header.kid === 'string' ? publics.get(header.kid) : undefined;
    if (!key) throw unauthorized(`the bearer token's kid ${JSON.stringify(header.kid)} is none of our keys (see /.well-known/jwks.json); obtain a new token`);
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['ES256'], issuer: this.did, audience: this.did, requiredClaims: ['sub', 'exp'], currentDate: new Date(this.nowSeconds() * 1000), clockTolerance: SKEW_SECONDS });
      return payload as JWTPayload & { sub: string };
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthorized(`the bearer token expired (exp ${String(e.payload.exp)}); obtain a new one from our /oauth2/token endpoint`);
      if (e instanceof joseErrors.JWTClaimValidationFailed) throw unauthorized(`the bearer token's ${e.claim} claim is wrong (${e.reason}): expected ${e.claim === 'iss' || e.claim === 'aud' ? this.did : 'a value'}`);
      throw unauthorized('the bearer token\'s signature does not verify');
    }
  }

  async tokenForAssertion(assertion: string, scope: string | undefined): Promise<TokenResponse> {
    const service = scope ?? KIKV_SERVICE;
    if (!service.split(' ').includes(KIKV_SERVICE) || service.split(' ').length !== 1) {
      throw new OAuthError('invalid_scope', 400, `scope must be "${KIKV_SERVICE}", got ${JSON.stringify(scope)}`);
    }
    const grant = (m: string) => new OAuthError('invalid_grant', 400, m);
    let header;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(assertion);
      claims = decodeJwt(assertion);
    } catch {
      throw grant('assertion is not a compact JWT (header.payload.signature, base64url)');
    }
    if (typeof claims.iss !== 'string') throw grant('assertion has no iss: set iss (and sub) to your DID');
    const peer = this.o.peers.find((p) => p.did === claims.iss);
    if (!peer || !peer.roles.includes('consumer')) throw new OAuthError('invalid_client', 401, `iss ${claims.iss} is not a registered consumer of this datastation; ask its operator to add your DID to trust.peers with role consumer`);
    if (claims.sub !== claims.iss) throw grant(`sub must equal iss (${claims.iss}), got ${JSON.stringify(claims.sub)}`);
    if (header.alg !== 'ES256') throw grant(`alg ${JSON.stringify(header.alg)} is not accepted: sign the assertion with ES256`);
    const key = typeof header.kid === 'string' ? peer.keys.find((k) => k.kid === header.kid || k.kid === `${peer.did}#${header.kid}` || k.jwk.kid === header.kid) : peer.keys.length === 1 ? peer.keys[0] : undefined;
    if (!key) throw grant(`kid ${JSON.stringify(header.kid)} names no key of ${peer.did} in our configuration; sign with a key from your registered JWKS or DID document`);
    const now = this.nowSeconds();
    try {
      await jwtVerify(assertion, await importJWK(key.jwk, 'ES256'), {
        algorithms: ['ES256'],
        audience: [this.o.tokenEndpoint, this.did],
        requiredClaims: ['exp', 'jti'],
        currentDate: new Date(now * 1000),
        clockTolerance: SKEW_SECONDS,
      });
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw grant(`assertion expired (exp ${String(claims.exp)}, now ${now}); sign a fresh one`);
      if (e instanceof joseErrors.JWTClaimValidationFailed) {
        if (e.claim === 'aud') throw grant(`aud must be our token endpoint ${this.o.tokenEndpoint} or our DID ${this.did}, got ${JSON.stringify(claims.aud)}`);
        throw grant(`the ${e.claim} claim ${e.reason === 'missing' ? 'is missing' : `is invalid (${e.reason})`}: RFC 7523 requires iss, sub, aud, exp and (here) jti`);
      }
      throw grant(`the assertion's signature does not verify with key ${key.kid}`);
    }
    const exp = claims.exp as number;
    if (exp - now > MAX_ASSERTION_SECONDS + SKEW_SECONDS) throw grant(`exp is ${exp - now} s ahead; an assertion may live at most ${MAX_ASSERTION_SECONDS} s`);
    for (const [jti, until] of this.seenJti) if (until < now - SKEW_SECONDS) this.seenJti.delete(jti);
    const jtiKey = `${peer.did} ${String(claims.jti)}`;
    if (this.seenJti.has(jtiKey)) throw grant(`jti ${JSON.stringify(claims.jti)} was already used; sign every assertion with a new jti`);
    this.seenJti.set(jtiKey, exp);
    const lifetime = this.o.tokenLifetimeSeconds ?? 600;
    const { current } = (await this.keys()).keyring;
    const token = await new SignJWT({ service, scope: service, client_id: peer.did })
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' })
      .setIssuer(this.did)
      .setAudience(this.did)
      .setSubject(peer.did)
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .setJti(randomUUID())
      .sign(current.privateKey);
    return { access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: service };
  }

  async introspect(token: string): Promise<IntrospectionResponse> {
    try {
      const c = await this.ownToken(token);
      return { active: true, iss: c.iss, sub: c.sub, aud: this.did, service: c.service as string, scope: c.scope as string, client_id: c.sub, token_type: 'Bearer', exp: c.exp, iat: c.iat, jti: c.jti };
    } catch (e) {
      if (e instanceof ExchangeError) return { active: false };
      throw e;
    }
  }

  private peerNamed(did: string): Peer {
    const p = this.o.peers.find((x) => x.did === did);
    if (!p) throw new ExchangeError('e.p.xfer.unknown-peer', 400, `${did} is not a configured peer; add it to trust.peers`);
    return p;
  }
}
