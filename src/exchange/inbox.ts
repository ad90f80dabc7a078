import { randomUUID } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import type { AgentConfig, ExchangeInboxConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import type { EngineMatrix } from '../engines/routing.js';
import type { ProfilePack } from '../indicators/pack.js';
import { sha256 } from '../store/snapshot.js';
import { DIDCOMM_PLAIN, PROBLEM_REPORT_TYPE, problemReport, type DidcommMessage } from './messages.js';
import { checkParamValues, readParamValues } from './param-values.js';
import { claimMessageId, releaseMessageId } from './replay.js';
import { configuredPacks, createRequest, packForQuery, planQuery, type QueryPlan } from './requests.js';
import { decodeValidatedQuery } from './validated-query.js';
import { ExchangeError, KIKV_SERVICE, type Trust, type ValidatedQuery } from './types.js';

/**
 * The inbox: one validated-query request, checked in the protocol's order (token, message shape,
 * replay, size, presentation, credentials, query, parameters), each step audited with the full
 * message. The first failing check is the answer; nothing after it runs.
 */

export const REQUEST_TYPE = 'https://www.kik-v.nl/validated-query-request/1.0/request';

/** The inbox's limits and policies: config `exchange.inbox` (its schema describes each key). */
export type InboxSettings = ExchangeInboxConfig;

export const DEFAULT_INBOX: InboxSettings = {
  maxBodyBytes: 512 * 1024,
  hardBodyLimit: 2 * 1024 * 1024,
  maxCredentials: 20,
  maxSparqlChars: 64 * 1024,
  clockSkewSeconds: 60,
  legacyCredentialSubject: 'accept',
  notShippedQuery: 'run-and-hold',
};

export interface InboxDeps {
  db: Db;
  trust: Trust;
  cfg: AgentConfig;
  inbox?: Partial<InboxSettings>;
  /** Loaded packs (default: the configured ones, loaded once). */
  packs?: ProfilePack[];
  matrix?: EngineMatrix;
  now?: () => Date;
  actor?: string;
}

export type InboxOutcome =
  | { accepted: true; requestId: string; plans: QueryPlan[] }
  | { accepted: false; error: ExchangeError; report: DidcommMessage };

type Check = 'token' | 'shape' | 'replay' | 'size' | 'presentation' | 'credentials' | 'query' | 'parameters';

export function inboxSettings(deps: Pick<InboxDeps, 'inbox'>): InboxSettings {
  return { ...DEFAULT_INBOX, ...deps.inbox };
}

/** Checks and, when every check passes, records one request. Never throws for the sender's mistakes. */
export async function receiveRequest(deps: InboxDeps, input: { authorization?: string; raw: Buffer }): Promise<InboxOutcome> {
  const s = inboxSettings(deps);
  const now = deps.now?.() ?? new Date();
  const actor = deps.actor ?? 'inbox';
  const outcomes: Array<{ check: Check; outcome: 'passed' | 'failed'; code?: string; comment?: string; note?: string }> = [];
  let msg: Record<string, unknown> | undefined;
  let claimed: string | undefined;
  let deep = false;
  const pass = (check: Check, note?: string) => outcomes.push({ check, outcome: 'passed', ...(note ? { note } : {}) });

  try {
    // Parsed early only to read `from` for the token check; its shape is judged after the token.
    msg = parseJson(input.raw);
    const from = typeof msg?.from === 'string' ? msg.from : undefined;
    // Everything after the parse (audit, canonical JSON, credential checks) recurses over the message,
    // so a message nested deeper than any real one is refused (after the token) and kept only by its hash.
    deep = msg !== undefined && depthOf(msg, MAX_DEPTH) > MAX_DEPTH;

    // 1. Bearer token: valid, issued by/for us, to the sender, for the KIK-V DIDComm service.
    const token = /^Bearer\s+(\S+)\s*$/i.exec(input.authorization ?? '')?.[1];
    if (!token) throw new ExchangeError('e.p.auth.missing-token', 401, 'no bearer access token: send "Authorization: Bearer <token>" with an access token for didcomm-service-kikv issued by this datastation', '$.headers.authorization');
    if (!msg) throw new ExchangeError('e.p.msg.invalid-json', 400, 'the body is not a JSON object; send a DIDComm v2 plaintext message (application/didcomm-plain+json)', '$');
    if (!from) throw new ExchangeError('e.p.msg.invalid-from', 400, 'the message has no "from" (the sender\'s DID), so the access token cannot be matched to a sender; set "from" to the DID the token was issued to', '$.from');
    const claims = await deps.trust.verifyAccessToken(token, { from, service: KIKV_SERVICE });
    if (claims.subject !== from) throw new ExchangeError('e.p.auth.subject-mismatch', 403, `the access token was issued to ${claims.subject}, but the message is from ${from}; send the message from the DID the token was issued to`, '$.from');
    if (claims.service !== KIKV_SERVICE) throw new ExchangeError('e.p.auth.wrong-service', 403, `the access token is for service "${claims.service}"; request one for ${KIKV_SERVICE}`, '$.headers.authorization');
    pass('token');

    // 2. Message shape.
    if (deep) throw new ExchangeError('e.p.msg.too-deep', 400, `the message is nested more than ${MAX_DEPTH} levels deep; a DIDComm request is nested a few levels (body, vp, credentials): send the message without the extra nesting`, '$');
    const m = checkShape(msg, deps.trust.did, now, s);
    pass('shape');

    // 3. Replay: the id is claimed durably before anything expensive runs.
    claimMessageId(deps.db, m, now);
    claimed = m.id;
    pass('replay');

    // 4. Size: body bytes, number of credentials, SPARQL length (read from the unverified body).
    checkSize(input.raw.length, m.body, s);
    pass('size');

    // 5./6. Presentation and every credential in it (the trust adapter), or the legacy body.
    let queries: Array<{ query: ValidatedQuery; at: string }>;
    let form: 'vp' | 'credentialSubject';
    if (m.body.vp !== undefined) {
      form = 'vp';
      checkEncoding(m.body.vp);
      const creds = await deps.trust.verifyPresentation(m.body.vp, { holder: m.from, at: new Date(m.created_time * 1000) });
      pass('presentation');
      if (creds.length === 0) throw new ExchangeError('e.p.req.no-credentials', 400, 'the presentation holds no ValidatedQueryCredential; present at least one', '$.body.vp');
      for (const [i, c] of creds.entries()) {
        if (c.subject !== m.from) throw new ExchangeError('e.p.req.credential-subject', 403, `credential ${i} is about ${c.subject}, not the sender ${m.from}; present only credentials issued to you`, `$.body.vp.verifiableCredential[${i}].credentialSubject.id`);
      }
      pass('credentials', `${creds.length} credential(s): ${creds.map((c) => `${c.id ?? '?'} from ${c.issuer}`).join(', ')}`);
      queries = creds.map((c, i) => ({ query: c.query, at: `$.body.vp.verifiableCredential[${i}].credentialSubject.validatedQuery` }));
    } else {
      form = 'credentialSubject';
      if (s.legacyCredentialSubject === 'refuse') {
        throw new ExchangeError('e.p.req.legacy-refused', 403, 'this datastation does not accept the legacy "credentialSubject" body (it carries no signed credential); send the ValidatedQueryCredential in a verifiable presentation as body.vp', '$.body.credentialSubject');
      }
      const q = decodeValidatedQuery(m.body.credentialSubject, '$.body.credentialSubject');
      pass('presentation', 'legacy credentialSubject body: no presentation; accepted on the bearer access token alone');
      pass('credentials', 'legacy credentialSubject body: no credential to verify; the query is trusted because the token is');
      queries = [{ query: q, at: '$.body.credentialSubject.validatedQuery' }];
    }
    for (const q of queries) {
      if (q.query.sparql.length > s.maxSparqlChars) throw tooLarge(`${q.at}.sparql is ${q.query.sparql.length} characters; at most ${s.maxSparqlChars} are accepted`, `${q.at}.sparql`);
    }

    // 7. The query: a profile and ontology version this agent supports (and the not-shipped policy).
    const packs = deps.packs ?? configuredPacks(deps.cfg);
    const matched = queries.map((q) => ({ ...q, pack: packForQuery(packs, q.query, q.at) }));
    pass('query', matched.map((q) => `${q.query.identifier} -> ${q.pack.manifest.profile.id} ${q.pack.manifest.profile.version}`).join('; '));

    // 8. Parameters: against the credential's paramsSHACL, then the item's own shape.
    const values = readParamValues(m.body.param_values);
    const plans: QueryPlan[] = [];
    for (const q of matched) {
      const typed = await checkParamValues(q.query.paramsSHACL, values, `query ${q.query.identifier}`);
      plans.push(await planQuery(q.pack, q.query, typed, { policy: s.notShippedQuery, reportingYear: deps.cfg.indicators.reportingYear, at: q.at }));
    }
    pass('parameters');

    deps.db.transaction(() => {
      auditReceipt(deps.db, actor, m.id, msg, input.raw, outcomes, form);
      createRequest(deps.db, { id: m.id, consumer: m.from, bodyForm: form, plans, actor });
    }).immediate();
    return { accepted: true, requestId: m.id, plans };
  } catch (e) {
    const error = e instanceof ExchangeError ? e : new ExchangeError('e.p.req.not-processed', 503, 'the datastation could not check the message just now; send the same message again later');
    const failedAt: Check = (['token', 'shape', 'replay', 'size', 'presentation', 'credentials', 'query', 'parameters'] as Check[])[outcomes.length] ?? 'parameters';
    // Our own failure: the sender gets the generic 503, the audit log keeps the cause for the operator.
    const internal = e instanceof ExchangeError ? {} : { note: `internal error: ${e instanceof Error ? e.message : String(e)}`.slice(0, 1000) };
    outcomes.push({ check: failedAt, outcome: 'failed', code: error.code, comment: error.message, ...internal });
    // A refusal that was ours (5xx) gives the id back, so the very same message may be sent again.
    if (claimed && error.status >= 500) releaseMessageId(deps.db, claimed);
    // Only an id we could accept is echoed as the report's thread; anything else stays out of pthid/ack.
    const about = isMessageId(msg?.id) ? msg.id : undefined;
    const report = problemFor(error, { id: about, from: deps.trust.did, to: typeof msg?.from === 'string' ? msg.from : undefined });
    deps.db.transaction(() => auditReceipt(deps.db, actor, about, deep ? undefined : msg, input.raw, outcomes, undefined, report)).immediate();
    return { accepted: false, error, report };
  }
}

/** A problem report for a refusal; without a message id (unparsable body) it has no thread. */
export function problemFor(error: ExchangeError, opts: { id?: string; from: string; to?: string }): DidcommMessage {
  const comment = error.path ? `${error.message} [at ${error.path}]` : error.message;
  if (opts.id) {
    const report = problemReport({ about: { id: opts.id }, from: opts.from, to: opts.to ?? '', code: error.code, comment });
    // A message without a readable sender gets a report addressed to no one, not to "".
    return opts.to ? report : { ...report, to: [] };
  }
  return { id: randomUUID(), typ: DIDCOMM_PLAIN, type: PROBLEM_REPORT_TYPE, from: opts.from, to: opts.to ? [opts.to] : [], created_time: Math.floor(Date.now() / 1000), body: { code: error.code, comment } };
}

function auditReceipt(db: Db, actor: string, id: string | undefined, msg: unknown, raw: Buffer, outcomes: Array<Record<string, unknown>>, form?: string, report?: DidcommMessage): void {
  // The full message is kept; a body too large to keep (or not JSON) is kept by its hash.
  const message = msg !== undefined && raw.length <= DEFAULT_INBOX.hardBodyLimit ? msg : { unparsed: true, bytes: raw.length, sha256: sha256(raw) };
  appendAudit(db, { actor, action: 'inbox.received', subject: id, threadId: id, details: { bytes: raw.length, ...(form ? { bodyForm: form } : {}), message } });
  for (const o of outcomes) appendAudit(db, { actor, action: `inbox.check.${String(o.check)}`, subject: id, threadId: id, details: o });
  if (report) appendAudit(db, { actor, action: 'inbox.refused', subject: id, threadId: id, details: { message: report } });
}

/** Deeper than this, a message is refused: real requests are nested under ten levels (a JSON-LD VP as an object included). */
export const MAX_DEPTH = 32;

/** The nesting depth of a JSON value, counted without recursion and without looking further than `limit` + 1. */
function depthOf(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function parseJson(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(raw.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

interface RequestMessage {
  id: string;
  from: string;
  to: string[];
  created_time: number;
  expires_time?: number;
  body: Record<string, unknown>;
}

/**
 * A message id: it becomes a database key, a thread id and a path segment (GET /answers/{id}), so
 * only visible ASCII is accepted (a UUID, as the protocol uses, always is). Text with NUL or lone
 * surrogates would not survive the round trip through SQLite's UTF-8 unchanged.
 */
const MESSAGE_ID = /^[\x21-\x7e]{1,200}$/;

function isMessageId(v: unknown): v is string {
  return typeof v === 'string' && MESSAGE_ID.test(v);
}

const EPOCH_MS = 1e11; // seconds stay below this until the year 5138; milliseconds are above it

function checkShape(msg: Record<string, unknown> | undefined, us: string, now: Date, s: InboxSettings): RequestMessage {
  const bad = (code: string, message: string, path: string) => new ExchangeError(code, 400, message, path);
  if (!msg) throw bad('e.p.msg.invalid-json', 'the body is not a JSON object; send a DIDComm v2 plaintext message (application/didcomm-plain+json)', '$');
  if (!isMessageId(msg.id)) throw bad('e.p.msg.invalid-id', '"id" is missing or not 1 to 200 visible ASCII characters (no spaces, control characters or other scripts); give every message a fresh UUID', '$.id');
  if (msg.type !== REQUEST_TYPE) throw bad('e.p.msg.unsupported-type', `"type" is ${JSON.stringify(msg.type ?? null)}; this endpoint accepts only ${REQUEST_TYPE}`, '$.type');
  const from = msg.from as string;
  const to = typeof msg.to === 'string' ? [msg.to] : msg.to;
  if (!Array.isArray(to) || to.length === 0 || !to.every((t) => typeof t === 'string')) throw bad('e.p.msg.invalid-to', '"to" must be the recipient DID as a string or a list of DIDs', '$.to');
  if (!to.includes(us)) throw new ExchangeError('e.p.msg.not-for-us', 400, `"to" (${to.join(', ')}) does not name this datastation; address the message to ${us}`, '$.to');
  const time = (k: 'created_time' | 'expires_time', required: boolean): number | undefined => {
    const v = msg[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad('e.p.msg.invalid-time', `"${k}" must be a time in whole epoch seconds (e.g. ${Math.floor(now.getTime() / 1000)})`, `$.${k}`);
    if (v > EPOCH_MS) throw bad('e.p.msg.invalid-time', `"${k}" is ${v}, which looks like milliseconds; send epoch seconds (${Math.floor(v / 1000)})`, `$.${k}`);
    return v;
  };
  const created = time('created_time', true)!;
  const expires = time('expires_time', false);
  const nowS = now.getTime() / 1000;
  if (created > nowS + s.clockSkewSeconds) throw bad('e.p.msg.created-in-future', `"created_time" ${created} is ${Math.round(created - nowS)} s in the future (more than the ${s.clockSkewSeconds} s allowed for clock skew); check the sender's clock`, '$.created_time');
  if (expires !== undefined && expires < nowS) throw bad('e.p.msg.expired', `the message expired at ${new Date(expires * 1000).toISOString()} ("expires_time"); send a new message with a later expires_time`, '$.expires_time');
  if (expires !== undefined && expires < created) throw bad('e.p.msg.invalid-time', '"expires_time" lies before "created_time"', '$.expires_time');
  const body = msg.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('e.p.msg.invalid-body', '"body" must be an object holding "vp" (the presentation) or, legacy, "credentialSubject"', '$.body');
  const b = body as Record<string, unknown>;
  if (b.vp === undefined && b.credentialSubject === undefined) throw bad('e.p.msg.invalid-body', 'the body has neither "vp" (the verifiable presentation, Base64 or VP-JWT) nor the legacy "credentialSubject"; send the presentation as body.vp', '$.body.vp');
  if (b.vp !== undefined && b.credentialSubject !== undefined) throw bad('e.p.msg.invalid-body', 'the body has both "vp" and "credentialSubject"; send only "vp"', '$.body');
  if (b.vp !== undefined && (typeof b.vp !== 'string' || b.vp.trim() === '') && (typeof b.vp !== 'object' || b.vp === null)) throw bad('e.p.msg.invalid-body', '"vp" must be the presentation as standard Base64 of its JSON-LD, or a VP-JWT', '$.body.vp');
  return { id: msg.id, from, to: to as string[], created_time: created, ...(expires !== undefined ? { expires_time: expires } : {}), body: b };
}

const JWS_FORM = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The presentation's text encodes its bytes in exactly one way. Base64 decoders ignore the unused low
 * bits of the last character and skip characters outside the alphabet, so without this check many
 * different `vp` texts would carry one and the same signature (a VP-JWT with a changed last character
 * verifies). Line breaks in standard Base64 (MIME style) are tolerated.
 */
function checkEncoding(vp: unknown): void {
  if (typeof vp !== 'string') return;
  const t = vp.trim();
  const refuse = (why: string) => new ExchangeError('e.p.req.presentation-invalid', 400, `the presentation ${why}; send it exactly as encoded by the signer`, '$.body.vp');
  if (JWS_FORM.test(t)) {
    const i = t.split('.').findIndex((part) => Buffer.from(part, 'base64url').toString('base64url') !== part);
    if (i >= 0) throw refuse(`is a VP-JWT whose ${['header', 'payload', 'signature'][i]} is not canonical base64url (unused bits set)`);
    return;
  }
  if (t.startsWith('{')) return;
  const compact = t.replace(/[\r\n]+/g, '');
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(compact) && Buffer.from(compact, 'base64').toString('base64') !== compact) {
    throw refuse('is not canonical standard Base64 (unused bits set, or padding missing)');
  }
}

function tooLarge(message: string, path: string): ExchangeError {
  return new ExchangeError('e.p.msg.too-large', 413, message, path);
}

/** Size limits, read from the body before any signature is checked (so an oversized body costs nothing). */
function checkSize(bytes: number, body: Record<string, unknown>, s: InboxSettings): void {
  if (bytes > s.maxBodyBytes) throw tooLarge(`the message is ${bytes} bytes; at most ${s.maxBodyBytes} are accepted. Send fewer credentials per message`, '$');
  const creds = unverifiedCredentials(body);
  if (creds.length > s.maxCredentials) throw new ExchangeError('e.p.req.too-many-credentials', 413, `the presentation holds ${creds.length} credentials; at most ${s.maxCredentials} per message are accepted. Split the request`, '$.body.vp.verifiableCredential');
  for (const [i, c] of creds.entries()) {
    const sparql = sparqlOf(c);
    if (sparql !== undefined && sparql.length > s.maxSparqlChars) throw tooLarge(`credential ${i}'s SPARQL is ${sparql.length} characters; at most ${s.maxSparqlChars} are accepted`, `$.body.vp.verifiableCredential[${i}].credentialSubject.validatedQuery.sparql`);
  }
}

/** The credentials as sent (JSON-LD objects or VC-JWT payloads), unverified: only for counting and measuring. */
function unverifiedCredentials(body: Record<string, unknown>): unknown[] {
  if (body.vp === undefined) return body.credentialSubject === undefined ? [] : [{ credentialSubject: body.credentialSubject }];
  const vp = decodeLoosely(body.vp);
  const inner = isObj(vp) ? (isObj(vp.vp) ? vp.vp : vp) : undefined;
  const list = inner?.verifiableCredential;
  const arr = Array.isArray(list) ? list : list === undefined ? [] : [list];
  return arr.map((c) => (typeof c === 'string' ? decodeLoosely(c) : c)).map((c) => (isObj(c) && isObj(c.vc) ? c.vc : c));
}

function sparqlOf(c: unknown): string | undefined {
  const vq = isObj(c) && isObj(c.credentialSubject) && isObj(c.credentialSubject.validatedQuery) ? c.credentialSubject.validatedQuery : undefined;
  return typeof vq?.sparql === 'string' ? vq.sparql : undefined;
}

/** A JSON object, standard Base64 of one, or a JWT's payload; undefined when it is none of these. */
function decodeLoosely(v: unknown): unknown {
  if (isObj(v)) return v;
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  const parts = t.split('.');
  try {
    if (parts.length === 3) return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (t.startsWith('{')) return JSON.parse(t) as unknown;
    return JSON.parse(Buffer.from(t, 'base64').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
