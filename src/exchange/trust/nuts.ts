import type { JWK } from 'jose';
import { decodeValidatedQuery } from '../validated-query.js';
import { ExchangeError, type AccessTokenClaims, type ResolvedKey, type Trust, type VerifiedCredential } from '../types.js';

/*
 * A Nuts v5 node's internal API, exactly the calls research/kikv-protocol.md §3.5 lists. Request and
 * response bodies follow the node's published OpenAPI specs (nuts-foundation/nuts-node, docs/_static):
 *   auth/v1.yaml     HEAD /internal/auth/v1/accesstoken/verify (200 | 403),
 *                    POST /internal/auth/v1/accesstoken/introspect (form `token` → TokenIntrospectionResponse),
 *                    POST /internal/auth/v1/request-access-token (RequestAccessTokenRequest → AccessTokenResponse)
 *   vcr/v2.yaml      POST /internal/vcr/v2/verifier/vp (VPVerificationRequest → VPVerificationResult)
 *   vdr/v1.yaml      GET  /internal/vdr/v1/did/{did} (→ DIDResolutionResult {document, documentMetadata})
 *   crypto/v1.yaml   POST /internal/crypto/v1/sign_jws (SignJwsRequest → text/plain JWS)
 *   didman/v1.yaml   GET  /internal/didman/v1/did/{did}/compoundservice/{type}/endpoint/{type} (→ {endpoint}),
 *                    as the KIK-V library calls it (kik-commons RemoteNutsNode.java, retrieveEndpoint)
 *   common/error_response.yaml: errors are RFC 7807 application/problem+json {title, status, detail}.
 */

export interface NutsTrustOptions {
  /** Our DID, as registered on the node. */
  did: string;
  /** Base URL of the node's internal API, e.g. http://nuts:1323. */
  url: string;
  /** Issuers we accept ValidatedQueryCredentials from, checked on top of the node's own trust list. */
  trustedIssuers: string[];
  isRevoked: (credentialId: string) => Promise<boolean>;
  /** The verification method we sign with (default: our DID document's first keyAgreement key, as kik-commons does). */
  signingKeyId?: string;
  /** Endpoint type inside a peer's compound service (default didcomm). */
  endpointType?: string;
  timeoutMs?: number;
}

interface Problem {
  title?: string;
  status?: number;
  detail?: string;
}

interface NodeAnswer {
  status: number;
  text: string;
  contentType: string;
}

const VALIDATED_QUERY = 'ValidatedQueryCredential';

export class NutsTrust implements Trust {
  readonly mode = 'nuts' as const;
  readonly did: string;
  private readonly base: string;
  private signingKid?: string;

  constructor(private readonly o: NutsTrustOptions) {
    this.did = o.did;
    this.base = o.url.replace(/\/+$/, '');
  }

  /** One call to the node; unreachable or 5xx becomes an ExchangeError naming the operation. */
  private async call(op: string, method: string, path: string, init: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<NodeAnswer> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json, text/plain', ...init.headers };
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { method, headers, body, signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000) });
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs ?? 10_000} ms` : ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message);
      throw new ExchangeError('e.p.trust.unavailable', 503, `the Nuts node at ${this.base} could not be reached for ${op} (${why}); try again later`);
    }
    const answer = { status: res.status, text: method === 'HEAD' ? '' : await res.text(), contentType: res.headers.get('content-type') ?? '' };
    if (answer.status >= 500) throw new ExchangeError('e.p.trust.node-error', 502, `the Nuts node failed ${op}: ${describe(answer)}; try again later`);
    return answer;
  }

  async verifyAccessToken(token: string, expect: { from: string; service: string }): Promise<AccessTokenClaims> {
    const unauthorized = (m: string) => new ExchangeError('e.p.req.unauthorized', 401, m);
    if (!token) throw unauthorized('no bearer token: send "Authorization: Bearer <token>" with a token from our Nuts node (service didcomm-service-kikv)');
    const verified = await this.call('access token verification', 'HEAD', '/internal/auth/v1/accesstoken/verify', { headers: { authorization: `Bearer ${token}` } });
    if (verified.status === 403) throw unauthorized('the bearer token is not valid: our Nuts node did not issue it, or it expired; request a new one');
    if (verified.status !== 200) throw unauthorized(`the Nuts node answered ${verified.status} verifying the bearer token; request a new one`);
    const answer = await this.call('token introspection', 'POST', '/internal/auth/v1/accesstoken/introspect', { form: { token } });
    const c = this.json<{ active?: boolean; iss?: string; sub?: string; service?: string; exp?: number }>(answer, 'token introspection');
    if (c.active !== true) throw unauthorized('the bearer token is inactive (expired, revoked or malformed) according to our Nuts node; request a new one');
    if (c.iss !== this.did) throw unauthorized(`the bearer token's iss is ${JSON.stringify(c.iss)}, not this datastation (${this.did}); request the token from our authorisation server`);
    if (c.sub !== expect.from) throw new ExchangeError('e.p.req.forbidden', 403, `the access token's sub is ${JSON.stringify(c.sub)} but the message is from ${expect.from}; use a token issued to the sender`, 'from');
    if (c.service !== expect.service) throw new ExchangeError('e.p.req.forbidden', 403, `the access token's service is ${JSON.stringify(c.service)}; request a token for service ${expect.service}`);
    return { subject: c.sub, service: c.service, issuer: c.iss, expiresAt: c.exp ?? 0 };
  }

  async verifyPresentation(vp: unknown, expect: { holder: string; at: Date }): Promise<VerifiedCredential[]> {
    const presentation = presentationObject(vp);
    const signer = signerOf(presentation);
    if (signer !== expect.holder) {
      throw new ExchangeError('e.p.req.presentation-signer', 403, `the presentation is signed by ${signer ?? 'nobody (no proof.verificationMethod)'}, not by the sender ${expect.holder}; the holder signs its own presentation`, '$.body.vp.proof.verificationMethod');
    }
    const answer = await this.call('presentation verification', 'POST', '/internal/vcr/v2/verifier/vp', { json: { verifiablePresentation: presentation, validAt: expect.at.toISOString(), verifyCredentials: true } });
    if (answer.status === 400) throw new ExchangeError('e.p.req.invalid-presentation', 400, `the presentation is malformed: ${describe(answer)}`, '$.body.vp');
    if (answer.status !== 200) throw new ExchangeError('e.p.trust.node-error', 502, `the Nuts node answered ${answer.status} to presentation verification: ${describe(answer)}`);
    const result = this.json<{ validity?: boolean; message?: string; credentials?: unknown[] }>(answer, 'presentation verification');
    if (result.validity !== true) throw new ExchangeError('e.p.req.invalid-presentation', 403, `the presentation or a credential in it is not valid at ${expect.at.toISOString()}: ${result.message ?? 'no reason given by the node'}`, '$.body.vp');
    const credentials = (result.credentials ?? (presentation.verifiableCredential as unknown[] | undefined) ?? []) as Array<Record<string, unknown>>;
    const out: VerifiedCredential[] = [];
    for (const [i, vc] of (Array.isArray(credentials) ? credentials : [credentials]).entries()) {
      const types = Array.isArray(vc.type) ? (vc.type as string[]) : [String(vc.type)];
      if (!types.includes(VALIDATED_QUERY)) continue;
      out.push(await this.checkedCredential(vc, types, `$.body.vp.verifiableCredential[${i}]`, expect.holder));
    }
    if (out.length === 0) throw new ExchangeError('e.p.req.no-credential', 400, `the presentation holds no ${VALIDATED_QUERY}; present at least one`, '$.body.vp.verifiableCredential');
    return out;
  }

  /** What the node does not check for us: the subject is the holder, the issuer is on our list, our revocations. */
  private async checkedCredential(vc: Record<string, unknown>, types: string[], path: string, holder: string): Promise<VerifiedCredential> {
    const subject = (vc.credentialSubject ?? {}) as Record<string, unknown>;
    const issuer = typeof vc.issuer === 'string' ? vc.issuer : String((vc.issuer as { id?: unknown } | undefined)?.id ?? '');
    if (subject.id !== holder) throw new ExchangeError('e.p.req.credential-subject', 403, `${path}.credentialSubject.id is ${JSON.stringify(subject.id)}, not the sender ${holder}: a credential may only be presented by its subject`, `${path}.credentialSubject.id`);
    if (!this.o.trustedIssuers.includes(issuer)) {
      throw new ExchangeError('e.p.req.untrusted-issuer', 403, `${path}.issuer ${JSON.stringify(issuer)} is not a trusted issuer of ${VALIDATED_QUERY}s (trusted: ${this.o.trustedIssuers.join(', ') || 'none configured in trust.trustedIssuers'})`, `${path}.issuer`);
    }
    const id = typeof vc.id === 'string' ? vc.id : undefined;
    if (id && (await this.o.isRevoked(id))) throw new ExchangeError('e.p.req.credential-revoked', 403, `credential ${id} has been revoked; ask the issuer for a new one`, `${path}.id`);
    return {
      ...(id ? { id } : {}),
      format: 'ldp',
      types,
      issuer,
      subject: holder,
      issuanceDate: String(vc.issuanceDate ?? ''),
      ...(typeof vc.expirationDate === 'string' ? { expirationDate: vc.expirationDate } : {}),
      query: decodeValidatedQuery(subject, `${path}.credentialSubject`),
    };
  }

  /** The DID document of `did` as the node resolves it. */
  private async documentOf(did: string, purpose: string): Promise<Record<string, unknown>> {
    const answer = await this.call('DID resolution', 'GET', `/internal/vdr/v1/did/${encodeURIComponent(did)}`);
    if (answer.status === 404) throw new ExchangeError('e.p.req.unknown-did', 403, `${did} is unknown to our Nuts node, so ${purpose}; check the DID`);
    if (answer.status === 400) throw new ExchangeError('e.p.req.unknown-did', 400, `${JSON.stringify(did)} is not a valid DID (${describe(answer)})`);
    if (answer.status !== 200) throw new ExchangeError('e.p.trust.node-error', 502, `the Nuts node answered ${answer.status} resolving ${did}: ${describe(answer)}`);
    const doc = this.json<{ document?: Record<string, unknown> }>(answer, 'DID resolution').document;
    if (!doc) throw new ExchangeError('e.p.trust.node-error', 502, `the Nuts node resolved ${did} without a document`);
    return doc;
  }

  resolveKey = async (kidOrVm: string): Promise<ResolvedKey> => {
    const hash = kidOrVm.indexOf('#');
    if (hash < 0) throw new ExchangeError('e.p.req.unknown-key', 400, `key id ${JSON.stringify(kidOrVm)} is not a DID URL (did:…#key); with Nuts, keys are named by their verification method`);
    const did = kidOrVm.slice(0, hash);
    const doc = await this.documentOf(did, `key ${kidOrVm} cannot be found`);
    const vm = methodsOf(doc).find((m) => m.id === kidOrVm);
    if (!vm) throw new ExchangeError('e.p.req.unknown-key', 403, `the DID document of ${did} has no verification method ${kidOrVm}; sign with one of its keys`);
    return { did, kid: kidOrVm, jwk: vm.publicKeyJwk };
  };

  async signJws(payload: Uint8Array, headers: Record<string, unknown> = {}): Promise<string> {
    const kid = await this.ourSigningKid();
    const answer = await this.call('signing', 'POST', '/internal/crypto/v1/sign_jws', { json: { kid, headers, payload: Buffer.from(payload).toString('base64'), detached: false } });
    if (answer.status !== 200) throw new ExchangeError('e.p.trust.sign-failed', 500, `the Nuts node refused to sign with ${kid}: ${describe(answer)}; check trust.nuts.signingKeyId`);
    return answer.text.trim();
  }

  private async ourSigningKid(): Promise<string> {
    if (this.o.signingKeyId) return this.o.signingKeyId;
    if (!this.signingKid) {
      const doc = await this.documentOf(this.did, 'we cannot find our signing key');
      const first = (rel: string) => {
        const x = (doc[rel] as unknown[] | undefined)?.[0];
        return typeof x === 'string' ? x : (x as { id?: string } | undefined)?.id;
      };
      // kik-commons NutsCryptoService signs with the first keyAgreement method; fall back to assertionMethod.
      const kid = first('keyAgreement') ?? first('assertionMethod') ?? methodsOf(doc)[0]?.id;
      if (!kid) throw new ExchangeError('e.p.trust.sign-failed', 500, `our DID document (${this.did}) has no key to sign with; add one on the Nuts node or set trust.nuts.signingKeyId`);
      this.signingKid = kid.startsWith('#') ? `${this.did}${kid}` : kid;
    }
    return this.signingKid;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    const doc = await this.documentOf(this.did, 'our keys cannot be published');
    return { keys: methodsOf(doc).map((m) => ({ ...m.publicKeyJwk, kid: m.id })) };
  }

  async accessTokenFor(peer: string, service: string): Promise<string> {
    const answer = await this.call('access token request', 'POST', '/internal/auth/v1/request-access-token', { json: { authorizer: peer, requester: this.did, service, credentials: [] } });
    const body = answer.status === 200 ? this.json<{ access_token?: string }>(answer, 'access token request') : undefined;
    if (typeof body?.access_token !== 'string') throw new ExchangeError('e.p.xfer.token-refused', 502, `no access token from ${peer} for ${service}: ${describe(answer)}`);
    return body.access_token;
  }

  async endpointOf(peer: string, service: string): Promise<URL> {
    const type = this.o.endpointType ?? 'didcomm';
    const path = `/internal/didman/v1/did/${encodeURIComponent(peer)}/compoundservice/${encodeURIComponent(service)}/endpoint/${encodeURIComponent(type)}`;
    const answer = await this.call('endpoint lookup', 'GET', path);
    if (answer.status !== 200) throw new ExchangeError('e.p.xfer.no-endpoint', 502, `${peer} publishes no "${type}" endpoint in its ${service} service: ${describe(answer)}`);
    const endpoint = this.json<{ endpoint?: unknown }>(answer, 'endpoint lookup').endpoint;
    try {
      return new URL(String(endpoint));
    } catch {
      throw new ExchangeError('e.p.xfer.no-endpoint', 502, `${peer}'s ${service} endpoint ${JSON.stringify(endpoint)} is not a URL`);
    }
  }

  private json<T>(answer: NodeAnswer, op: string): T {
    try {
      return JSON.parse(answer.text) as T;
    } catch {
      throw new ExchangeError('e.p.trust.node-error', 502, `the Nuts node's answer to ${op} is not JSON`);
    }
  }
}


/** "title: detail (status)" from a problem JSON, else the text, for messages. */
function describe(a: NodeAnswer): string {
  if (a.contentType.includes('json')) {
    try {
      const p = JSON.parse(a.text) as Problem;
      if (p.title || p.detail) return `${p.title ?? 'error'}${p.detail ? `: ${p.detail}` : ''} (HTTP ${p.status ?? a.status})`;
    } catch {
      // fall through to the text
    }
  }
  return a.text ? `${a.text.slice(0, 200)} (HTTP ${a.status})` : `HTTP ${a.status}`;
}

function methodsOf(doc: Record<string, unknown>): Array<{ id: string; publicKeyJwk: JWK }> {
  const did = String(doc.id ?? '');
  const list = Array.isArray(doc.verificationMethod) ? (doc.verificationMethod as Array<Record<string, unknown>>) : [];
  return list
    .filter((m) => typeof m.id === 'string' && typeof m.publicKeyJwk === 'object' && m.publicKeyJwk !== null)
    .map((m) => ({ id: (m.id as string).startsWith('#') ? `${did}${m.id as string}` : (m.id as string), publicKeyJwk: m.publicKeyJwk as JWK }));
}

/** The VP as a JSON-LD object: given as one, as its JSON text, or as standard Base64 of it. */
function presentationObject(vp: unknown): Record<string, unknown> {
  if (typeof vp === 'object' && vp !== null && !Array.isArray(vp)) return vp as Record<string, unknown>;
  if (typeof vp === 'string') {
    if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(vp)) {
      throw new ExchangeError('e.p.req.invalid-presentation', 400, 'the presentation is a JWT, but a Nuts v5 node verifies JSON-LD presentations only; send the VP as Base64 of its JSON-LD', '$.body.vp');
    }
    const text = vp.trim().startsWith('{') ? vp : Buffer.from(vp, 'base64').toString('utf8');
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
    } catch {
      // reported below
    }
  }
  throw new ExchangeError('e.p.req.invalid-presentation', 400, 'the presentation is neither a JSON-LD object nor standard Base64 of one', '$.body.vp');
}

/** The DID whose key signed the VP (its proof's verificationMethod before the `#`). */
function signerOf(vp: Record<string, unknown>): string | undefined {
  const proof = Array.isArray(vp.proof) ? vp.proof[0] : vp.proof;
  const vm = (proof as { verificationMethod?: unknown } | undefined)?.verificationMethod;
  return typeof vm === 'string' ? vm.split('#')[0] : undefined;
}
