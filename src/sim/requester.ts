import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { encodePresentation, presentCredentials, type CredentialFormat, type JsonLdDocument, type QueryToIssue } from '../exchange/credentials/index.js';
import { DIDCOMM_PLAIN, type ResultSetPayload } from '../exchange/messages.js';
import { JWT_BEARER } from '../exchange/trust/oauth.js';
import { KIKV_SERVICE } from '../exchange/types.js';
import type { ParameterValue } from '../indicators/bind.js';
import { Beheerorganisatie, type IssuedCredential, type SimParty } from './beheerorganisatie.js';
import { agentKeys, tamperedResponse, verifyResponse, type ResponseCheck } from './kik-starter.js';

/**
 * The KIK-starter's sending side: obtains an access token from the datastation's token endpoint (RFC
 * 7523 assertion signed with its key), builds validated-query requests exactly as DOMAIN §3 and
 * research/kikv-protocol.md §3.2 describe, POSTs them to /didcomm and pulls GET /answers/:id. It can
 * misbehave on purpose, each way producing a request the datastation must refuse with a known code.
 */

export const REQUEST_TYPE = 'https://www.kik-v.nl/validated-query-request/1.0/request';

/** The ways the simulator misbehaves, and what a conforming datastation answers. */
export const MISBEHAVIOURS = {
  'expired-credential': { what: 'a credential whose expirationDate has passed', status: 403, code: 'e.p.req.credential-expired' },
  'credential-not-yet-valid': { what: 'a credential whose issuanceDate is tomorrow', status: 403, code: 'e.p.req.credential-not-yet-valid' },
  'wrong-signer': { what: 'a presentation signed with the beheerorganisatie\'s key instead of the sender\'s', status: 403, code: 'e.p.req.presentation-signer' },
  'untrusted-issuer': { what: 'a credential the consumer issued to itself (not by a trusted issuer)', status: 403, code: 'e.p.req.credential-untrusted-issuer' },
  'revoked-credential': { what: 'a credential the beheerorganisatie revoked (written to the agent\'s revocation list)', status: 403, code: 'e.p.req.credential-revoked' },
  'tampered-credential': { what: 'a credential whose query was changed after the issuer signed it', status: 401, code: 'e.p.req.credential-signature' },
  'replayed-message': { what: 'the same message id sent twice (the second is refused)', status: 409, code: 'e.p.msg.replay' },
  'expired-message': { what: 'a message whose expires_time has passed', status: 400, code: 'e.p.msg.expired' },
  'wrong-audience-token': { what: 'an access token issued for another datastation', status: 401, code: 'e.p.req.unauthorized' },
  'tampered-response': { what: 'the answer\'s JWS changed in transit: the simulator must refuse it (a check on our side, not the agent\'s)', status: 202, code: 'none' },
} as const;
export type Misbehaviour = keyof typeof MISBEHAVIOURS;

export function isMisbehaviour(s: string): s is Misbehaviour {
  return Object.hasOwn(MISBEHAVIOURS, s);
}

export interface RequesterOptions {
  /** The consumer (KIK-starter) that sends; must be a peer of the agent with role consumer. */
  party: SimParty;
  /** The beheerorganisatie issuing the credentials (a trusted issuer of the agent). */
  issuer: Beheerorganisatie;
  /** The datastation's base URL (its /didcomm, /oauth2/token, /answers/:id and JWKS live under it). */
  agentUrl: string;
  agentDid: string;
  /** Defaults to `<agentUrl>/oauth2/token`. */
  tokenEndpoint?: string;
  /** For wrong-audience-token: a token endpoint of another datastation that knows us (else a token minted for another audience is sent). */
  foreignTokenEndpoint?: string;
  timeoutMs?: number;
}

export interface RequestSpec {
  /** One credential per query, all in one presentation. */
  queries: QueryToIssue[];
  format: CredentialFormat;
  /** body.param_values (JSON form); none when empty. */
  paramValues?: Record<string, ParameterValue>;
  /** `to` as a string (default) or as a list. */
  toForm?: 'string' | 'list';
  /** The body form: a presentation (default) or the legacy bare credentialSubject (one query). */
  body?: 'vp' | 'credentialSubject';
  misbehave?: Misbehaviour;
}

/** A request as it will be (or was) sent, with what went into it. */
export interface BuiltRequest {
  message: Record<string, unknown> & { id: string };
  token: string;
  credentials: IssuedCredential[];
  misbehave?: Misbehaviour;
}

export interface Sent {
  request: BuiltRequest;
  status: number;
  /** The agent's answer: `{status, requestId, queries}` on 202, a problem report otherwise. */
  body: Record<string, any>;
}

export interface Pulled {
  status: number;
  body: Record<string, any>;
  /** For a 200: the response checked as the KIK-starter checks it. */
  check?: ResponseCheck;
}

/** Refused by the token endpoint or unreachable: says which and what to change. */
export class RequesterError extends Error {
  override readonly name = 'RequesterError';
  constructor(
    message: string,
    /** Who said no: the token endpoint's OAuth2 error, or nobody (unreachable). */
    readonly refusedBy: 'token-endpoint' | 'unreachable' | 'usage' = 'unreachable',
  ) {
    super(message);
  }
}

export class Requester {
  private cached?: { token: string; until: number };
  readonly tokenEndpoint: string;
  private readonly keys;

  constructor(readonly o: RequesterOptions) {
    this.tokenEndpoint = o.tokenEndpoint ?? `${trimSlash(o.agentUrl)}/oauth2/token`;
    this.keys = agentKeys(`${trimSlash(o.agentUrl)}/.well-known/jwks.json`);
  }

  get did(): string {
    return this.o.party.did;
  }

  /** An access token for didcomm-service-kikv from `endpoint` (default: the agent's), reused until shortly before it expires. */
  async token(endpoint = this.tokenEndpoint): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    if (endpoint === this.tokenEndpoint && this.cached && this.cached.until > now) return this.cached.token;
    const { did, kid, privateKey } = this.o.party;
    // Both audiences the agent accepts: the endpoint URL as we reached it and the agent's DID (behind a proxy the URL may differ).
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(did)
      .setSubject(did)
      .setAudience([endpoint, this.o.agentDid])
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .setJti(randomUUID())
      .sign(privateKey);
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: JWT_BEARER, assertion, scope: KIKV_SERVICE }).toString(),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      });
    } catch (e) {
      throw new RequesterError(`the token endpoint ${endpoint} did not answer (${causeOf(e)}); is the agent running (kikv serve) and is --agent its URL?`);
    }
    const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (!res.ok || typeof body.access_token !== 'string') {
      throw new RequesterError(`the token endpoint ${endpoint} refused us: HTTP ${res.status} ${body.error ?? ''}${body.error_description ? `: ${body.error_description}` : ''}`, 'token-endpoint');
    }
    if (endpoint === this.tokenEndpoint) this.cached = { token: body.access_token, until: now + Math.max(0, (body.expires_in ?? 60) - 30) };
    return body.access_token;
  }

  /** Builds a request (credentials issued, presentation signed, token obtained) without sending it. */
  async build(spec: RequestSpec): Promise<BuiltRequest> {
    const bad = spec.misbehave;
    const issuer = this.o.issuer;
    const subject = this.did;
    const day = 86_400_000;
    const credentials: IssuedCredential[] = [];
    for (const query of spec.queries) {
      const validity = bad === 'expired-credential' ? { validFrom: new Date(Date.now() - 30 * day), validUntil: new Date(Date.now() - day) } : bad === 'credential-not-yet-valid' ? { validFrom: new Date(Date.now() + day), validUntil: new Date(Date.now() + 30 * day) } : {};
      // Self-issued: the consumer signs as issuer; it is a known peer, but no trusted issuer.
      const by = bad === 'untrusted-issuer' ? new Beheerorganisatie(this.o.party) : issuer;
      let c = await by.issue({ subject, query, format: spec.format, ...validity });
      if (bad === 'revoked-credential') issuer.revoke(c.id);
      if (bad === 'tampered-credential') c = { ...c, credential: tamperedCredential(c.credential) };
      credentials.push(c);
    }
    const now = Math.floor(Date.now() / 1000);
    const body: Record<string, unknown> = {};
    if (spec.body === 'credentialSubject') {
      const q = spec.queries[0];
      if (!q || spec.queries.length !== 1) throw new RequesterError('the legacy credentialSubject body carries exactly one query', 'usage');
      body.credentialSubject = { id: subject, validatedQuery: legacyQuery(q) };
    } else {
      const signer = bad === 'wrong-signer' ? issuer.party : this.o.party;
      const vp = await presentCredentials({ holder: signer.did, signer: { kid: signer.kid, privateKey: signer.privateKey }, credentials: credentials.map((c) => c.credential), format: spec.format, domain: this.o.agentDid });
      body.vp = encodePresentation(vp as JsonLdDocument | string);
    }
    if (spec.paramValues && Object.keys(spec.paramValues).length > 0) body.param_values = spec.paramValues;
    const id = randomUUID();
    const message = {
      id,
      typ: DIDCOMM_PLAIN,
      type: REQUEST_TYPE,
      thid: id,
      from: subject,
      to: spec.toForm === 'list' ? [this.o.agentDid] : this.o.agentDid,
      created_time: bad === 'expired-message' ? now - 7200 : now,
      expires_time: bad === 'expired-message' ? now - 3600 : now + 3600,
      body,
    };
    const token = bad === 'wrong-audience-token' ? await this.foreignToken() : await this.token();
    return { message, token, credentials, ...(bad ? { misbehave: bad } : {}) };
  }

  /** POSTs a built request to the agent's /didcomm. */
  async send(r: BuiltRequest): Promise<Sent> {
    let res: Response;
    try {
      res = await fetch(`${trimSlash(this.o.agentUrl)}/didcomm`, {
        method: 'POST',
        headers: { 'content-type': DIDCOMM_PLAIN, authorization: `Bearer ${r.token}` },
        body: JSON.stringify(r.message),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new RequesterError(`${this.o.agentUrl}/didcomm did not answer (${causeOf(e)}); is the agent running (kikv serve)?`);
    }
    const text = await res.text();
    let body: Record<string, any>;
    try {
      body = JSON.parse(text) as Record<string, any>;
    } catch {
      body = { text };
    }
    return { request: r, status: res.status, body };
  }

  /** Builds and sends; a replayed-message request is sent twice and the second answer returned. */
  async request(spec: RequestSpec): Promise<Sent> {
    const built = await this.build(spec);
    if (spec.misbehave === 'replayed-message') {
      const first = await this.send(built);
      if (first.status !== 202) return first;
    }
    return this.send(built);
  }

  /** GET /answers/:id; a 200 is checked (signature, thid, ids) as the KIK-starter checks a pushed response. */
  async pull(requestId: string, opts: { tamper?: boolean } = {}): Promise<Pulled> {
    let res: Response;
    try {
      res = await fetch(`${trimSlash(this.o.agentUrl)}/answers/${encodeURIComponent(requestId)}`, { headers: { authorization: `Bearer ${await this.token()}` }, signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000) });
    } catch (e) {
      throw new RequesterError(`${this.o.agentUrl}/answers did not answer (${causeOf(e)}); is the agent running?`);
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, any>;
    if (res.status !== 200) return { status: res.status, body };
    const msg = opts.tamper ? tamperedResponse(body) : body;
    return { status: 200, body: msg, check: await this.verify(msg) };
  }

  /** Pulls every `intervalMs` until the answer is no longer awaited (200, or a refusal), or the time is up. */
  async pollUntilAnswered(requestId: string, opts: { timeoutMs?: number; intervalMs?: number; tamper?: boolean; onWait?: (p: Pulled) => void } = {}): Promise<Pulled> {
    const until = Date.now() + (opts.timeoutMs ?? 600_000);
    for (;;) {
      const p = await this.pull(requestId, { tamper: opts.tamper });
      if (p.status !== 202) return p;
      opts.onWait?.(p);
      if (Date.now() + (opts.intervalMs ?? 2000) > until) return p;
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2000));
    }
  }

  /** Checks a response message against the agent's published JWKS. */
  verify(msg: unknown): Promise<ResponseCheck> {
    return verifyResponse(msg, { did: this.did, agentDid: this.o.agentDid }, this.keys);
  }

  private async foreignToken(): Promise<string> {
    if (this.o.foreignTokenEndpoint) return this.token(this.o.foreignTokenEndpoint);
    // No other datastation at hand: an access token whose audience is another datastation, as one would look.
    const { did, kid, privateKey } = this.o.party;
    return new SignJWT({ service: KIKV_SERVICE, scope: KIKV_SERVICE })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer('did:web:another-datastation.invalid')
      .setAudience('did:web:another-datastation.invalid')
      .setSubject(did)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  }
}

/**
 * Queries grouped so that each group shares one set of parameter values: a message carries one
 * param_values, checked against every credential's paramsSHACL, so queries that take different
 * parameters (or other values) go in separate requests. Order is kept.
 */
export function groupsByParameters<Q extends { params: Record<string, ParameterValue> }>(queries: Q[]): Q[][] {
  const groups = new Map<string, Q[]>();
  for (const q of queries) {
    const key = JSON.stringify(Object.entries(q.params).sort(([a], [b]) => a.localeCompare(b)));
    groups.set(key, [...(groups.get(key) ?? []), q]);
  }
  return [...groups.values()];
}

/** The rows of a verified response, per query id. */
export function resultRows(resultset: ResultSetPayload['resultset']): Array<{ id: string; rows: Array<Record<string, string>> }> {
  return resultset.map((r) => ({ id: r.id, rows: r.result.results.bindings.map((b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v.value]))) }));
}

/** The legacy body's validatedQuery: the credential subject's query without a signature. */
function legacyQuery(q: QueryToIssue): Record<string, unknown> {
  return {
    identifier: q.identifier,
    ...(q.name !== undefined ? { name: q.name } : {}),
    profile: q.profile,
    ontology: Array.isArray(q.ontology) ? q.ontology : [q.ontology],
    sparql: Buffer.from(q.sparql, 'utf8').toString('base64'),
    ...(q.paramsSHACL !== undefined ? { paramsSHACL: q.paramsSHACL } : {}),
  };
}

/** The credential with its query's name changed after signing: the proof (or JWS) no longer covers it. */
function tamperedCredential(c: JsonLdDocument | string): JsonLdDocument | string {
  if (typeof c === 'string') {
    const [h, p, s] = c.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { vc: { credentialSubject: { validatedQuery: Record<string, unknown> } } };
    claims.vc.credentialSubject.validatedQuery.name = 'tampered';
    return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  }
  const copy = structuredClone(c) as { credentialSubject: { validatedQuery: Record<string, unknown> } };
  copy.credentialSubject.validatedQuery.name = 'tampered';
  return copy as unknown as JsonLdDocument;
}

const trimSlash = (u: string) => u.replace(/\/+$/, '');
const causeOf = (e: unknown) => {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (e as Error).message;
};
