import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { CompactSign, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/*
 * A test double of a Nuts v5 node's internal API: only the calls a datastation makes
 * (research/kikv-protocol.md §3.5), built from the node's published OpenAPI specs
 * (nuts-foundation/nuts-node docs/_static): auth/v1.yaml, vcr/v2.yaml, vdr/v1.yaml, crypto/v1.yaml,
 * didman/v1.yaml, errors as common/error_response.yaml (RFC 7807 problem JSON {title, status, detail}).
 * Request bodies are validated with the spec's schemas; status codes are the spec's.
 * What it cannot do: check JSON-LD proofs (it decides VP validity from its trust list, the
 * credentials' dates and the configured behaviour), gossip with other nodes.
 */

/** Switches a test flips to make the node misbehave the way a real one can. */
export interface NutsNodeBehaviour {
  /** Every token is reported inactive (verify 403, introspect active:false). */
  tokensInactive?: boolean;
  /** verifier/vp answers validity:false with this message. */
  vpInvalid?: string;
  /** Every call fails with this status (500: internal error; 503: unavailable) as problem JSON. */
  failWith?: number;
  /** request-access-token is refused by the authorizer (problem JSON, status 400 as the node relays it). */
  refuseAccessToken?: string;
}

export interface NutsParty {
  did: string;
  /** The verification method id, `did#key-1`. */
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface NutsNodeSim {
  url: string;
  /** The node's own organisation (the datastation). */
  self: NutsParty;
  behaviour: NutsNodeBehaviour;
  /** Every request as `METHOD path`, in order. */
  calls: string[];
  /** Registers another DID (with one P-256 key) the node can resolve, e.g. a consumer or the issuer. */
  addParty(did: string, services?: Array<{ type: string; serviceEndpoint: string | Record<string, string> }>): Promise<NutsParty>;
  /** An access token as the node's /n2n/auth/v1/accesstoken would issue it to `subject` (issuer: the node's own DID). */
  issueToken(subject: string, service: string, lifetimeSeconds?: number, issuer?: string): string;
  /** Issuers the node's VCR trusts (POST /internal/vcr/v2/verifier/trust). */
  trusted: Set<string>;
  close(): Promise<void>;
}

interface Doc {
  id: string;
  verificationMethod: Array<{ id: string; type: string; controller: string; publicKeyJwk: JWK }>;
  assertionMethod: string[];
  keyAgreement: string[];
  authentication: string[];
  capabilityInvocation: string[];
  service: Array<{ id: string; type: string; serviceEndpoint: string | Record<string, string> }>;
}

const problem = (reply: FastifyReply, status: number, title: string, detail: string) =>
  reply.code(status).type('application/problem+json').send({ title, status, detail });

/** components/schemas from the specs, as JSON Schema for fastify. */
const schemas = {
  // auth/v1.yaml RequestAccessTokenRequest
  RequestAccessTokenRequest: {
    type: 'object',
    required: ['authorizer', 'requester', 'service', 'credentials'],
    properties: { authorizer: { type: 'string' }, requester: { type: 'string' }, identity: { type: 'object' }, service: { type: 'string' }, credentials: { type: 'array', items: { type: 'object' } } },
  },
  // vcr/v2.yaml VPVerificationRequest (VerifiablePresentation requires @context and type)
  VPVerificationRequest: {
    type: 'object',
    required: ['verifiablePresentation'],
    properties: {
      verifiablePresentation: { type: 'object', required: ['@context', 'type'], properties: { '@context': {}, type: {}, verifiableCredential: {}, proof: {} } },
      validAt: { type: 'string', format: 'date-time' },
      verifyCredentials: { type: 'boolean', default: true },
    },
  },
  // crypto/v1.yaml SignJwsRequest
  SignJwsRequest: {
    type: 'object',
    required: ['headers', 'payload', 'kid'],
    properties: { kid: { type: 'string' }, headers: { type: 'object' }, payload: { type: 'string' }, detached: { type: 'boolean', default: false } },
  },
} as const;

export async function startNutsNodeSim(opts: { did: string; trustedIssuers?: string[] }): Promise<NutsNodeSim> {
  const docs = new Map<string, Doc>();
  const keys = new Map<string, CryptoKey>();
  const tokens = new Map<string, { iss: string; sub: string; service: string; iat: number; exp: number }>();
  const behaviour: NutsNodeBehaviour = {};
  const calls: string[] = [];
  const trusted = new Set(opts.trustedIssuers ?? []);

  async function addParty(did: string, services: Array<{ type: string; serviceEndpoint: string | Record<string, string> }> = []): Promise<NutsParty> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = `${did}#key-1`;
    keys.set(kid, privateKey);
    docs.set(did, {
      id: did,
      verificationMethod: [{ id: kid, type: 'JsonWebKey2020', controller: did, publicKeyJwk: publicJwk }],
      assertionMethod: [kid],
      keyAgreement: [kid],
      authentication: [kid],
      capabilityInvocation: [kid],
      service: services.map((s, i) => ({ id: `${did}#service-${i + 1}`, ...s })),
    });
    return { did, kid, privateKey, publicJwk };
  }
  const self = await addParty(opts.did);
  const now = () => Math.floor(Date.now() / 1000);
  const active = (token: string | undefined) => {
    const t = token ? tokens.get(token) : undefined;
    return !behaviour.tokensInactive && t && t.exp > now() ? t : undefined;
  };

  const app: FastifyInstance = Fastify({ ajv: { customOptions: { strict: false } } });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  app.addHook('onRequest', async (req, reply) => {
    calls.push(`${req.method} ${req.url.split('?')[0]}`);
    if (behaviour.failWith) return problem(reply, behaviour.failWith, 'Internal server error', 'the node is in a failing state (test double)');
  });
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err.validation) return problem(reply, 400, 'Invalid request', `${err.validationContext ?? 'body'}${err.validation[0]?.instancePath ?? ''} ${err.validation[0]?.message ?? 'invalid'}`);
    return problem(reply, err.statusCode && err.statusCode < 500 ? err.statusCode : 500, 'Error', err.message);
  });

  // auth/v1.yaml verifyAccessToken: 200 valid, 403 otherwise; no body.
  app.head('/internal/auth/v1/accesstoken/verify', { schema: { headers: { type: 'object', required: ['authorization'], properties: { authorization: { type: 'string' } } } } }, async (req, reply) => {
    const token = /^Bearer (.+)$/i.exec(String(req.headers.authorization))?.[1];
    return reply.code(active(token) ? 200 : 403).send();
  });

  // auth/v1.yaml introspectAccessToken: RFC 7662 response, `active:false` for anything not valid.
  app.post('/internal/auth/v1/accesstoken/introspect', { schema: { body: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } } } }, async (req) => {
    const t = active((req.body as { token: string }).token);
    return t ? { active: true, iss: t.iss, sub: t.sub, service: t.service, aud: `${app.listeningOrigin}/n2n/auth/v1/accesstoken`, iat: t.iat, exp: t.exp, vcs: [] } : { active: false };
  });

  // auth/v1.yaml requestAccessToken: the node asks the authorizer's node for a token (simulated here).
  app.post('/internal/auth/v1/request-access-token', { schema: { body: schemas.RequestAccessTokenRequest } }, async (req, reply) => {
    const b = req.body as { authorizer: string; requester: string; service: string };
    if (!docs.has(b.authorizer)) return problem(reply, 400, 'Unable to request access token', `unable to resolve authorizer ${b.authorizer}: DID document not found`);
    if (!docs.has(b.requester)) return problem(reply, 400, 'Unable to request access token', `invalid requester: DID document not found`);
    if (!docs.get(b.authorizer)!.service.some((s) => s.type === b.service)) return problem(reply, 400, 'Unable to request access token', `authorizer has no compound service of type ${b.service}`);
    if (behaviour.refuseAccessToken) return problem(reply, 400, 'Unable to request access token', `remote server returned invalid_grant: ${behaviour.refuseAccessToken}`);
    return { access_token: issueToken(b.requester, b.service, 900, b.authorizer), token_type: 'nuts_session_token', expires_in: 900 };
  });

  // vcr/v2.yaml verifyVP: 200 with validity (false with a message when a check fails), 400 for malformed input.
  app.post('/internal/vcr/v2/verifier/vp', { schema: { body: schemas.VPVerificationRequest } }, async (req, reply) => {
    const b = req.body as { verifiablePresentation: Record<string, unknown>; validAt?: string; verifyCredentials?: boolean };
    const vp = b.verifiablePresentation;
    const at = b.validAt ? Date.parse(b.validAt) : Date.now();
    const proof = (Array.isArray(vp.proof) ? vp.proof[0] : vp.proof) as { verificationMethod?: string } | undefined;
    if (!proof?.verificationMethod) return problem(reply, 400, 'Unable to verify Verifiable Presentation', 'verifiable presentation has no proof');
    const creds = (Array.isArray(vp.verifiableCredential) ? vp.verifiableCredential : vp.verifiableCredential ? [vp.verifiableCredential] : []) as Array<Record<string, unknown>>;
    const invalid = (message: string) => ({ validity: false, message });
    if (behaviour.vpInvalid) return invalid(behaviour.vpInvalid);
    if (!docs.has(proof.verificationMethod.split('#')[0]!)) return invalid(`unable to resolve signing key: ${proof.verificationMethod}`);
    if (b.verifyCredentials !== false) {
      for (const vc of creds) {
        const issuer = typeof vc.issuer === 'string' ? vc.issuer : '';
        if (!trusted.has(issuer)) return invalid(`credential ${String(vc.id)} is not valid: untrusted issuer`);
        if (typeof vc.expirationDate === 'string' && Date.parse(vc.expirationDate) < at) return invalid(`credential ${String(vc.id)} is not valid: credential not valid at given time`);
        if (typeof vc.issuanceDate === 'string' && Date.parse(vc.issuanceDate) > at) return invalid(`credential ${String(vc.id)} is not valid: credential not valid at given time`);
      }
    }
    return { validity: true, credentials: creds };
  });

  // vdr/v1.yaml getDID: DIDResolutionResult, 400 malformed DID, 404 unknown.
  app.get('/internal/vdr/v1/did/:did', { schema: { params: { type: 'object', required: ['did'], properties: { did: { type: 'string' } } } } }, async (req, reply) => {
    const did = (req.params as { did: string }).did;
    if (!/^did:[a-z0-9]+:.+$/.test(did)) return problem(reply, 400, 'Invalid DID', `invalid DID: ${did}`);
    const doc = docs.get(did);
    if (!doc) return problem(reply, 404, 'Unable to resolve DID', 'unable to find the DID document');
    return { document: doc, documentMetadata: { created: '2023-01-01T00:00:00Z', hash: 'a'.repeat(64), originJWSHash: 'b'.repeat(64), version: 1, deactivated: false } };
  });

  // crypto/v1.yaml signJws: text/plain JWS; 400 when the key is not held.
  app.post('/internal/crypto/v1/sign_jws', { schema: { body: schemas.SignJwsRequest } }, async (req, reply) => {
    const b = req.body as { kid: string; headers: Record<string, unknown>; payload: string; detached?: boolean };
    const key = keys.get(b.kid);
    if (!key || !b.kid.startsWith(`${self.did}#`)) return problem(reply, 400, 'SignJWS failed', `private key not found: ${b.kid}`);
    const jws = await new CompactSign(Buffer.from(b.payload, 'base64')).setProtectedHeader({ ...b.headers, alg: 'ES256', kid: b.kid }).sign(key);
    const [h, p, s] = jws.split('.');
    return reply.type('text/plain').send(b.detached ? `${h}..${s}` : `${h}.${p}.${s}`);
  });

  // didman/v1.yaml getCompoundServiceEndpoint: {endpoint}; 400 not a compound service, 404 unknown DID/service/endpoint.
  app.get('/internal/didman/v1/did/:did/compoundservice/:compoundServiceType/endpoint/:endpointType', async (req, reply) => {
    const p = req.params as { did: string; compoundServiceType: string; endpointType: string };
    const doc = docs.get(p.did);
    if (!doc) return problem(reply, 404, 'Unable to find compound service endpoint', 'unable to find the DID document');
    const svc = doc.service.find((s) => s.type === p.compoundServiceType);
    if (!svc) return problem(reply, 404, 'Unable to find compound service endpoint', 'service not found in DID Document');
    if (typeof svc.serviceEndpoint === 'string') return problem(reply, 400, 'Unable to find compound service endpoint', 'service is not a compound service');
    let endpoint = svc.serviceEndpoint[p.endpointType];
    if (!endpoint) return problem(reply, 404, 'Unable to find compound service endpoint', `endpoint type ${p.endpointType} not found in compound service`);
    // A reference `did:…/serviceEndpoint?type=X` resolves to that service's URL (resolve=true, the default).
    const ref = /^(did:[^/?]+)\/serviceEndpoint\?type=(.+)$/.exec(endpoint);
    if (ref) {
      const target = docs.get(ref[1]!)?.service.find((s) => s.type === ref[2]);
      if (!target || typeof target.serviceEndpoint !== 'string') return problem(reply, 404, 'Unable to find compound service endpoint', `unable to resolve reference ${endpoint}`);
      endpoint = target.serviceEndpoint;
    }
    return { endpoint };
  });

  function issueToken(subject: string, service: string, lifetimeSeconds = 900, issuer = self.did): string {
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, { iss: issuer, sub: subject, service, iat: now(), exp: now() + lifetimeSeconds });
    return token;
  }

  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return { url, self, behaviour, calls, addParty, issueToken, trusted, close: () => app.close() };
}
