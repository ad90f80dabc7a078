import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presentCredentials } from '../src/exchange/credentials/index.js';
import { DIDCOMM_PLAIN, PROBLEM_CODE, PROBLEM_REPORT_TYPE } from '../src/exchange/messages.js';
import { CONSUMER, importedSample, ISSUER, matrixProving, post, REQUEST_TYPE, startStation, validatedQuery, type Station } from './inbox-fixtures.js';

/**
 * Fuzzing POST /didcomm with mutations of one valid signed request (fast-check, fixed seed), through
 * fastify's inject for the bulk and a real socket at the end.
 *
 * What may be accepted (the model `acceptable` below, checked in both directions): a request is
 * accepted exactly when
 *  - its media type is application/didcomm-plain+json or application/json (parameters ignored),
 *  - it carries `Authorization: Bearer <the valid token>`,
 *  - its body is at most maxBodyBytes and parses (UTF-8 JSON) to an object M with
 *    M.type = the request type, M.from = the consumer the token was issued to,
 *    M nested at most 32 levels deep (objects and arrays),
 *    M.id 1..200 visible ASCII characters, never claimed before,
 *    M.to the datastation's DID, or a non-empty list of strings naming it,
 *    M.created_time an integer in (0, 1e11], at most now + clock skew, within the signed
 *    presentation's and credential's validity, M.expires_time absent or such an integer ≥ now and ≥ created_time,
 *    M.body an object whose `vp` is the valid request's presentation byte for byte (surrounding
 *    whitespace aside), with no `credentialSubject` and no parameter values (`param_values` absent, null, {}, or blank text).
 * Everything else is what the valid request may vary without meaning anything different: the id, the
 * form of `to`, the times within the window, and headers and body members the protocol does not act on
 * (typ, thid, pthid, dataset, record, unknown members). The signed presentation cannot vary at all.
 * Every other request must be refused with a 4xx DIDComm problem report; none may get a 5xx; a
 * problem code always comes with the same status. Within a second of a time limit (the server reads
 * its clock just after the model) either answer is right. The signed arm (credentials changed, then
 * signed again by the trusted issuer and presented by the holder) may only be accepted when the change
 * means nothing (the same value written again, or no parameters).
 */

const US = 'did:web:datastation.test';
const COUNT = 'SELECT (COUNT(?p) AS ?n) WHERE { ?p a <http://purl.org/ozo/onz-g#Human> }';
const MAX_BODY = 64 * 1024;
const SKEW = 60;
const SEED = 20_261_123;
const RUNS = Number(process.env.FUZZ_RUNS ?? 5_200);

interface Req {
  kind: string;
  contentType?: string;
  authorization?: string;
  raw: Buffer;
  /** A signed mutation: the body is built (and signed) when sent; `benign` when the change means nothing. */
  signed?: { build: () => Promise<Buffer>; benign: boolean };
}

type Json = unknown;

const DEEP = '__nested_arrays__';
/** The inbox's limit on nesting (more than any real request needs). */
const MAX_DEPTH = 32;
/** Nesting depth, looking no deeper than MAX_DEPTH + 1 (the fuzzer nests arrays 100,000 deep). */
function nesting(v: unknown, d = 0): number {
  if (typeof v !== 'object' || v === null) return d;
  if (d > MAX_DEPTH) return d;
  let max = d + 1;
  for (const c of Array.isArray(v) ? v : Object.values(v)) max = Math.max(max, nesting(c, d + 1));
  return max;
}
/** JSON text of `v`, with every deep-array marker written out as that many nested arrays. */
function serialised(v: unknown): string {
  return (JSON.stringify(v) ?? 'null').replace(new RegExp(`\\{"${DEEP}":(\\d+)\\}`, 'g'), (_m, d: string) => `${'['.repeat(Number(d))}${']'.repeat(Number(d))}`);
}

describe('fuzz: mutated requests never crash the inbox, never get a 5xx, and nothing invalid is accepted', () => {
  let s: Station;
  let token: string;
  let base: Record<string, any>;
  let window: { from: number; to: number };
  let baseQuery: Record<string, unknown>;
  const nowS = () => Math.floor(Date.now() / 1000);

  let ramDir: string | undefined;
  const tmpBefore = process.env.TMPDIR;

  beforeAll(async () => {
    // The SQLite file (synchronous = FULL) on a RAM file system where there is one: every refusal is an
    // audited transaction, and 5,000 fsyncs on a shared disk would measure the disk, not the inbox.
    if (existsSync('/dev/shm')) {
      ramDir = mkdtempSync('/dev/shm/kikv-fuzz-');
      process.env.TMPDIR = ramDir;
    }
    const sample = await importedSample();
    s = await startStation(sample, {}, undefined, { matrix: { ...matrixProving(sample.packs), reference: 'oxigraph' } });
    token = await s.parties.token(s.trust, CONSUMER);
    const p = s.parties.get(CONSUMER);
    const created = new Date(Date.now() - 30_000);
    baseQuery = validatedQuery(COUNT);
    const vp = await presentCredentials({ holder: CONSUMER, signer: { kid: p.kid, privateKey: p.privateKey }, credentials: [await s.parties.credential(baseQuery)], format: 'jwt', created, ttlSeconds: 3600 });
    const now = nowS();
    base = { id: randomUUID(), typ: DIDCOMM_PLAIN, type: REQUEST_TYPE, from: CONSUMER, to: US, created_time: now - 10, expires_time: now + 3600, body: { vp } };
    // The presentation and its credential are valid from their nbf to their exp; the message's created_time must lie within both.
    const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { nbf: number; exp: number; vp?: { verifiableCredential: string[] } };
    const vpc = claims(vp);
    const vcc = claims(vpc.vp!.verifiableCredential[0]!);
    window = { from: Math.max(vpc.nbf, vcc.nbf), to: Math.min(vpc.exp, vcc.exp) };
  }, 180_000);
  afterAll(async () => {
    await s?.close();
    if (tmpBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpBefore;
    if (ramDir) rmSync(ramDir, { recursive: true, force: true });
  });

  const claimed = (id: string) => s.db.prepare('SELECT 1 FROM inbox_seen WHERE id = ?').get(id) !== undefined;

  /** The model: whether the protocol says this request must be accepted (see the file's comment). */
  function acceptable(r: Req): boolean | 'either' {
    const media = (r.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (media !== DIDCOMM_PLAIN && media !== 'application/json') return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(r.authorization ?? '');
    if (!m || m[1] !== token) return false;
    if (r.raw.length > MAX_BODY) return false;
    let msg: any;
    try {
      msg = JSON.parse(r.raw.toString('utf8'));
    } catch {
      return false;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return false;
    if (nesting(msg) > MAX_DEPTH) return false;
    if (msg.type !== REQUEST_TYPE || msg.from !== CONSUMER) return false;
    if (typeof msg.id !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(msg.id) || claimed(msg.id)) return false;
    const to = typeof msg.to === 'string' ? [msg.to] : msg.to;
    if (!Array.isArray(to) || to.length === 0 || !to.every((t: unknown) => typeof t === 'string') || !to.includes(US)) return false;
    const time = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 1e11;
    const now = Date.now() / 1000;
    if (!time(msg.created_time) || msg.created_time > now + SKEW || msg.created_time < window.from || msg.created_time > window.to) return false;
    if (msg.expires_time !== undefined && (!time(msg.expires_time) || msg.expires_time < now || msg.expires_time < msg.created_time)) return false;
    const b = msg.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) return false;
    // The server reads its clock a moment after the model: within a second of a time limit either answer is right.
    const nearLimit = Math.abs(msg.created_time - (now + SKEW)) < 1.5 || (msg.expires_time !== undefined && Math.abs(msg.expires_time - now) < 1.5);
    if (typeof b.vp !== 'string' || b.vp.trim() !== base.body.vp) return false;
    if (b.credentialSubject !== undefined) return false;
    const pv = b.param_values;
    const noParams = pv === undefined || pv === null || (typeof pv === 'string' && pv.trim() === '') || (typeof pv === 'object' && !Array.isArray(pv) && Object.keys(pv).length === 0);
    if (!noParams) return false;
    return nearLimit ? 'either' : true;
  }

  // --- Generators ---------------------------------------------------------------------------------

  // Nested arrays deeper than JSON.stringify can recurse: a marker, expanded in the text by `serialised`.
  const deepArray = fc.integer({ min: 1, max: 100_000 }).map((d) => ({ [DEEP]: d }) as Json);
  const hugeNumbers = fc.constantFrom<Json>(1e308, -1e308, 2 ** 53 + 1, -(2 ** 63), 1e21, 1e11, 1e11 + 1, 0, -0, -1, 0.5, 1.7976931348623157e308, 5e-324);
  const times = fc.integer({ min: -7200, max: 7200 }).map((d) => nowS() + d);
  const garbage = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('\ud800', '\udfff\ud800', '\u0000', '\u202e', '﻿', ' '.repeat(3)));
  const value: fc.Arbitrary<Json> = fc.oneof(
    { weight: 3, arbitrary: garbage },
    { weight: 2, arbitrary: fc.integer() },
    { weight: 2, arbitrary: hugeNumbers },
    { weight: 2, arbitrary: times },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: deepArray },
    { weight: 1, arbitrary: fc.constantFrom<Json>(US, CONSUMER, [US], [US, US], ['did:web:x', US], [], [[US]], { id: US }, REQUEST_TYPE, 'x'.repeat(70_000), '') },
  );
  const FIELDS = ['id', 'typ', 'type', 'from', 'to', 'created_time', 'expires_time', 'thid', 'pthid', 'body', 'body.vp', 'body.param_values', 'body.credentialSubject', 'body.dataset', 'body.record', 'body.extra', 'extra'];
  const field = fc.constantFrom(...FIELDS);

  type Op = (m: Record<string, any>) => void;
  const at = (m: Record<string, any>, path: string): [Record<string, any> | undefined, string] => {
    const parts = path.split('.');
    let o: any = m;
    for (const p of parts.slice(0, -1)) o = typeof o === 'object' && o !== null ? o[p] : undefined;
    return [typeof o === 'object' && o !== null ? o : undefined, parts.at(-1)!];
  };
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const op: fc.Arbitrary<{ name: string; apply: Op }> = fc.oneof(
    field.map((f) => ({ name: `drop ${f}`, apply: (m: Record<string, any>) => { const [o, k] = at(m, f); if (o) delete o[k]; } })),
    fc.tuple(field, value).map(([f, v]) => ({ name: `set ${f}`, apply: (m: Record<string, any>) => { const [o, k] = at(m, f); if (o) o[k] = v; } })),
    fc.tuple(fc.nat(), fc.nat({ max: 63 })).map(([i, c]) => ({
      name: 'flip a character of the presentation',
      apply: (m: Record<string, any>) => {
        const vp = String(m.body?.vp ?? '');
        if (!vp) return;
        const j = i % vp.length;
        const ch = vp[j] === B64URL[c] ? B64URL[(c + 1) % 64]! : B64URL[c]!;
        m.body.vp = vp.slice(0, j) + (vp[j] === '.' ? '' : ch) + vp.slice(j + 1);
      },
    })),
    fc.nat().map((n) => ({ name: 'truncate the presentation', apply: (m: Record<string, any>) => { const vp = String(m.body?.vp ?? ''); if (vp) m.body.vp = vp.slice(0, n % vp.length); } })),
    fc.constantFrom(' ', '\n', '\t').map((w) => ({ name: 'whitespace around the presentation', apply: (m: Record<string, any>) => { if (typeof m.body?.vp === 'string') m.body.vp = `${w}${m.body.vp}${w}`; } })),
    fc.constantFrom<Json>(US, [US], ['did:web:x', US], [US, 'did:web:x'], 'did:web:x', [], [US, 1], [null], US.toUpperCase(), `${US} `).map((to) => ({ name: 'to', apply: (m: Record<string, any>) => { m.to = to; } })),
    fc.constantFrom('created_time', 'expires_time').chain((k) => times.map((t) => ({ name: `${k} in the window`, apply: (m: Record<string, any>) => { m[k] = t; } }))),
  );

  const freshBase = (id: string) => ({ ...structuredClone(base), id });
  const jsonReq = (m: unknown, kind: string): Req => ({ kind, contentType: DIDCOMM_PLAIN, authorization: `Bearer ${token}`, raw: Buffer.from(JSON.stringify(m) ?? 'null') });

  const request: fc.Arbitrary<Req> = fc.oneof(
    // JSON-level mutations: mostly with a fresh id, so the replay check does not hide the later ones.
    {
      weight: 10,
      arbitrary: fc.tuple(fc.uuid(), fc.integer({ min: 0, max: 9 }), fc.array(op, { minLength: 1, maxLength: 3 }), fc.option(fc.tuple(field, value), { freq: 2 })).map(([id, keep, ops, dup]) => {
        const m = keep === 0 ? structuredClone(base) : freshBase(id);
        for (const o of ops) o.apply(m);
        let text = serialised(m);
        // A duplicated member: JSON.parse keeps the last one, and so must the inbox.
        if (dup && !dup[0].includes('.')) text = `${text.slice(0, -1)},${JSON.stringify(dup[0])}:${serialised(dup[1])}}`;
        return { kind: `json: ${ops.map((o) => o.name).join(', ')}${dup ? ` + duplicate ${dup[0]}` : ''}`, contentType: DIDCOMM_PLAIN, authorization: `Bearer ${token}`, raw: Buffer.from(text) };
      }),
    },
    // Byte-level mutations of a valid serialisation.
    {
      weight: 4,
      arbitrary: fc.tuple(fc.uuid(), fc.nat(), fc.integer({ min: 0, max: 7 }), fc.constantFrom('truncate', 'flip', 'insert'), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([id, pos, bit, how, bytes]) => {
        const raw = Buffer.from(JSON.stringify(freshBase(id)));
        const i = pos % raw.length;
        if (how === 'truncate') return { kind: 'bytes: truncate', contentType: DIDCOMM_PLAIN, authorization: `Bearer ${token}`, raw: raw.subarray(0, i) };
        if (how === 'flip') {
          const c = Buffer.from(raw);
          c[i] = c[i]! ^ (1 << bit);
          return { kind: 'bytes: flip a bit', contentType: DIDCOMM_PLAIN, authorization: `Bearer ${token}`, raw: c };
        }
        return { kind: 'bytes: insert garbage', contentType: DIDCOMM_PLAIN, authorization: `Bearer ${token}`, raw: Buffer.concat([raw.subarray(0, i), Buffer.from(bytes), raw.subarray(i)]) };
      }),
    },
    // Headers: content types and authorizations.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.uuid(),
          fc.constantFrom<string | undefined>(DIDCOMM_PLAIN, 'application/json', 'application/json; charset=utf-8', 'APPLICATION/DIDCOMM-PLAIN+JSON', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/didcomm-encrypted+json', 'application/octet-stream', '', undefined, 'application/json;', 'application/jsonx'),
          fc.constantFrom('valid', 'none', 'scheme only', 'basic', 'lower-case scheme', 'flipped', 'truncated', 'two tokens', 'unicode'),
        )
        .map(([id, contentType, auth]) => {
          const flipped = `${token.slice(0, 30)}${token[30] === 'A' ? 'B' : 'A'}${token.slice(31)}`;
          const authorization = { valid: `Bearer ${token}`, none: undefined, 'scheme only': 'Bearer', basic: `Basic ${Buffer.from('a:b').toString('base64')}`, 'lower-case scheme': `bearer ${token}`, flipped: `Bearer ${flipped}`, truncated: `Bearer ${token.slice(0, -10)}`, 'two tokens': `Bearer ${token} ${token}`, unicode: 'Bearer \u00e9\u00e9' }[auth];
          return { kind: `headers: ${contentType ?? '(none)'} / ${auth}`, contentType, authorization, raw: Buffer.from(JSON.stringify(freshBase(id))) };
        }),
    },
    // Signed mutations (the budgeted, expensive ones): a credential whose query or claims were changed and
    // then properly signed by the trusted issuer, presented and signed by the holder, so the request reaches
    // the credential, query and parameter checks with garbage in signed fields.
    {
      weight: 1,
      arbitrary: fc.tuple(fc.uuid(), fc.constantFrom('identifier', 'profile', 'ontology', 'sparql', 'validatedQuery', 'credentialSubject', 'type', 'sub', 'iss', 'vc', 'param_values'), value).map(([id, f, v]) => {
        const q: Record<string, unknown> = structuredClone(baseQuery);
        const vc: Record<string, unknown> = { '@context': ['https://www.w3.org/2018/credentials/v1', 'https://kik-v.nl/context/v1.json'], type: ['VerifiableCredential', 'ValidatedQueryCredential'], credentialSubject: { validatedQuery: q } };
        const claims: Record<string, unknown> = { sub: CONSUMER, iss: ISSUER, vc };
        let paramValues: unknown;
        let benign = false;
        if (f === 'identifier' || f === 'profile' || f === 'ontology' || f === 'sparql') {
          benign = JSON.stringify(q[f]) === JSON.stringify(v);
          q[f] = v;
        } else if (f === 'validatedQuery') (vc.credentialSubject as Record<string, unknown>).validatedQuery = v;
        else if (f === 'credentialSubject' || f === 'type') vc[f] = v;
        else if (f === 'vc') claims.vc = v;
        else if (f === 'sub' || f === 'iss') {
          benign = v === claims[f];
          claims[f] = v;
        } else {
          // Parameter values for a query without paramsSHACL: only "no parameters" may pass.
          paramValues = v;
          benign = v === null || v === '' || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
        }
        const build = async () => {
          const issuer = s.parties.get(ISSUER);
          const cred = await new SignJWT(claims as Record<string, unknown> as never)
            .setProtectedHeader({ alg: 'ES256', kid: issuer.kid, typ: 'JWT' })
            .setJti(`${ISSUER}#${randomUUID()}`)
            .setNotBefore(nowS() - 300)
            .setExpirationTime(nowS() + 86_400)
            .sign(issuer.privateKey);
          const vp = await s.parties.vpJwt([cred]);
          return Buffer.from(serialised({ ...freshBase(id), created_time: nowS(), body: { vp, ...(paramValues !== undefined ? { param_values: paramValues } : {}) } }));
        };
        return { kind: `signed: ${f}`, contentType: DIDCOMM_PLAIN, authorization: `Bearer ${token}`, raw: Buffer.alloc(0), signed: { build, benign } };
      }),
    },
    // Controls: the valid request with a fresh id (must be accepted) and a verbatim replay (must not).
    { weight: 1, arbitrary: fc.uuid().map((id) => jsonReq(freshBase(id), 'valid, fresh id')) },
    { weight: 1, arbitrary: fc.constant(jsonReq(null, 'replay of the base')).map(() => jsonReq(base, 'the base request (accepted once, then a replay)')) },
  );

  it(`${RUNS} mutated requests (seed ${SEED}): no 5xx, every refusal a problem report, accepted exactly when the model allows`, async () => {
    const sampling = Date.now();
    const requests = fc.sample(request, { seed: SEED, numRuns: RUNS });
    const sampled = Date.now() - sampling;
    const violations: string[] = [];
    const statusOf = new Map<string, number>();
    const byCode = new Map<string, number>();
    const timeBy = new Map<string, number>();
    let accepted = 0;
    let acceptedVaried = 0;
    let acceptedSigned = 0;
    const started = Date.now();
    for (const [n, r] of requests.entries()) {
      if (r.signed) r.raw = await r.signed.build();
      const expectAccept = r.signed ? undefined : acceptable(r);
      const headers: Record<string, string> = {};
      if (r.contentType !== undefined) headers['content-type'] = r.contentType;
      if (r.authorization !== undefined) headers.authorization = r.authorization;
      const t0 = performance.now();
      const res = await s.app.inject({ method: 'POST', url: '/didcomm', headers, payload: r.raw });
      const k = r.kind.split(':')[0]!;
      timeBy.set(k, (timeBy.get(k) ?? 0) + performance.now() - t0);
      const where = `#${n} [${r.kind}] ${res.statusCode}`;
      let body: any;
      try {
        body = JSON.parse(res.body);
      } catch {
        violations.push(`${where}: the answer is not JSON: ${res.body.slice(0, 100)}`);
        continue;
      }
      if (res.statusCode >= 500) violations.push(`${where}: 5xx ${JSON.stringify(body).slice(0, 300)}`);
      if (res.statusCode === 202) {
        accepted++;
        const m = JSON.parse(r.raw.toString('utf8'));
        if (r.signed ? !r.signed.benign : !expectAccept) violations.push(`${where}: accepted but the model refuses: ${r.raw.toString('utf8').slice(0, 300)} … body ${JSON.stringify({ ...m.body, vp: m.body?.vp === base.body.vp ? '(the valid presentation)' : m.body?.vp })}`);
        if (body.requestId !== m.id) violations.push(`${where}: accepted as ${body.requestId}, not the message id`);
        const { id: _a, ...rest } = m;
        const { id: _b, ...baseRest } = base;
        if (JSON.stringify(rest) !== JSON.stringify(baseRest)) acceptedVaried++;
        if (r.signed) acceptedSigned++;
        continue;
      }
      if (expectAccept === true) violations.push(`${where}: refused (${body?.body?.code}: ${body?.body?.comment}) but the model accepts: ${r.raw.toString('utf8').slice(0, 300)}`);
      if (res.statusCode < 400) violations.push(`${where}: neither accepted nor refused`);
      if (body.type !== PROBLEM_REPORT_TYPE || typeof body.body?.code !== 'string' || !PROBLEM_CODE.test(body.body.code) || typeof body.body.comment !== 'string' || body.from !== US) {
        violations.push(`${where}: not a well-formed problem report: ${res.body.slice(0, 200)}`);
        continue;
      }
      // One code, one status, throughout.
      const code = body.body.code as string;
      if (statusOf.has(code) && statusOf.get(code) !== res.statusCode) violations.push(`${where}: ${code} answered with ${res.statusCode} and elsewhere ${statusOf.get(code)}`);
      statusOf.set(code, res.statusCode);
      byCode.set(code, (byCode.get(code) ?? 0) + 1);
    }
    const ms = Date.now() - started;
    console.log(`fuzz: ${requests.length} requests generated in ${sampled} ms, sent in ${ms} ms (${(ms / requests.length).toFixed(2)} ms each); ${accepted} accepted (${acceptedVaried} differing from the base beyond the id, ${acceptedSigned} of them re-signed with a benign change); ms by kind ${JSON.stringify(Object.fromEntries([...timeBy].map(([k, v]) => [k, Math.round(v)])))}; refusals by code: ${JSON.stringify(Object.fromEntries([...byCode].sort((a, b) => b[1] - a[1])))}`);
    expect(violations.slice(0, 20)).toEqual([]);
    expect(requests.length).toBeGreaterThanOrEqual(5_000);
    // The mutations reached the expensive checks, not only the cheap ones.
    for (const code of ['e.p.req.invalid-credential-subject', 'e.p.req.unsupported-profile', 'e.p.req.unsupported-ontology', 'e.p.req.credential-subject', 'e.p.req.presentation-signature', 'e.p.msg.replay', 'e.p.msg.invalid-json', 'e.p.req.unauthorized', 'e.p.msg.unsupported-media-type']) expect(byCode.get(code) ?? 0, code).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(50);
  }, 120_000);

  it('afterwards the server still answers a valid request, over a real socket, and computes it', async () => {
    const msg = { ...structuredClone(base), id: randomUUID(), created_time: nowS() };
    const r = await post(s.url, msg, token);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.requestId).toBe(msg.id);
    await s.didcomm.idle();
    const row = s.db.prepare('SELECT status FROM requests WHERE id = ?').get(msg.id) as { status: string };
    expect(row.status).toBe('linked');
    // Every accepted fuzz request was computed (or reused the answer) too; none is stuck.
    const stuck = s.db.prepare("SELECT id, status, queries FROM requests WHERE status IN ('accepted', 'computing')").all() as Array<{ id: string }>;
    const trail = stuck.map((r) => s.db.prepare('SELECT action, details FROM audit WHERE thread_id = ? ORDER BY seq').all(r.id));
    expect(stuck, JSON.stringify(trail).slice(0, 3000)).toEqual([]);
  }, 120_000);
});
