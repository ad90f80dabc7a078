import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPack } from '../src/indicators/pack.js';
import { parameterShapeTurtle } from '../src/indicators/parameter-shapes.js';
import { randomUUID } from 'node:crypto';
import { receiveRequest } from '../src/exchange/inbox.js';
import type { Trust } from '../src/exchange/types.js';
import { CONSUMER, importedSample, message, ONTOLOGY, OTHER, packQuery, PROFILE_IRI, PS11_ID, post, ROGUE_ISSUER, settled, startStation, validatedQuery, type Station } from './inbox-fixtures.js';

const HUMANS = 'SELECT ?p WHERE { ?p a <http://purl.org/ozo/onz-g#Human> } LIMIT 3';
const IDS = 'SELECT (STRAFTER(STR(?p), "persoon/") AS ?nummer) WHERE { ?p a <http://purl.org/ozo/onz-g#Human> FILTER(CONTAINS(STR(?p), "persoon/")) } LIMIT 2';
const COUNT = 'SELECT (COUNT(?p) AS ?n) WHERE { ?p a <http://purl.org/ozo/onz-g#Human> }';

describe('POST /didcomm: the inbox checks in the protocol order', () => {
  let base: Awaited<ReturnType<typeof importedSample>>;
  let s: Station;
  let token: string;
  const counts = () => ({
    requests: (s.db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n,
    answers: (s.db.prepare('SELECT COUNT(*) AS n FROM answers').get() as { n: number }).n,
  });
  const vpFor = async (queries: Array<Record<string, unknown>>, o: { issuer?: string; signer?: string } = {}) => {
    const creds = await Promise.all(queries.map((q) => s.parties.credential(q, { ...(o.issuer ? { issuer: o.issuer } : {}) })));
    return s.parties.vpJwt(creds, o.signer);
  };
  /** Posts and asserts a refusal: status, code, comment, and that nothing was stored. */
  const refused = async (msg: unknown, tok: string | undefined, status: number, code: string, comment: RegExp) => {
    const before = counts();
    const r = await post(s.url, msg, tok);
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body.type).toBe('https://didcomm.org/report-problem/2.0/problem-report');
    expect(r.body.body.code).toBe(code);
    expect(r.body.body.comment).toMatch(comment);
    expect(counts()).toEqual(before);
    return r;
  };

  beforeAll(async () => {
    base = await importedSample();
    s = await startStation(base);
    token = await s.parties.token(s.trust, CONSUMER);
  }, 180_000);
  afterAll(async () => s?.close());

  it('1. token first: a missing, forged or someone else\'s token is refused before a bad shape is noticed', async () => {
    const badShape = message({ vp: 'x' }, { type: 'https://example.org/other' });
    await refused(badShape, undefined, 401, 'e.p.auth.missing-token', /Authorization: Bearer/);
    await refused(badShape, `${token.slice(0, -6)}AAAAAA`, 401, 'e.p.req.unauthorized', /signature does not verify/);
    await refused(badShape, await s.parties.token(s.trust, OTHER), 403, 'e.p.req.forbidden', /sub is "did:web:other-consumer.test" but the message is from did:web:kik-starter.test/);
    await refused(badShape, await s.parties.tokenForService(s.cfg.trust.keysDir, s.trust, CONSUMER, 'other-service'), 403, 'e.p.req.forbidden', /service claim is "other-service"/);
    const r = await refused(message({ vp: 'x' }, { from: undefined }), token, 400, 'e.p.msg.invalid-from', /set "from"/);
    expect(r.body.pthid).toBeDefined();
  });

  it('2. shape before replay: type, to, times', async () => {
    const vp = await vpFor([packQuery(s.packs, 'ps-1.2')]);
    await refused(message({ vp }, { type: 'https://example.org/x' }), token, 400, 'e.p.msg.unsupported-type', /accepts only https:\/\/www.kik-v.nl\/validated-query-request\/1.0\/request/);
    await refused(message({ vp }, { to: ['did:web:someone-else'] }), token, 400, 'e.p.msg.not-for-us', /address the message to did:web:datastation.test/);
    await refused(message({ vp }, { created_time: Date.now() }), token, 400, 'e.p.msg.invalid-time', /looks like milliseconds/);
    await refused(message({ vp }, { created_time: Math.floor(Date.now() / 1000) + 3600 }), token, 400, 'e.p.msg.created-in-future', /clock skew/);
    await refused(message({ vp }, { expires_time: Math.floor(Date.now() / 1000) - 10 }), token, 400, 'e.p.msg.expired', /later expires_time/);
    await refused(message({}), token, 400, 'e.p.msg.invalid-body', /body.vp/);
    await refused('{not json', token, 400, 'e.p.msg.invalid-json', /DIDComm v2 plaintext/);
  });

  it('3. replay before size: a seen id is refused even when the repeat is oversized; survives a restart', async () => {
    const msg = message({ vp: await vpFor([packQuery(s.packs, 'ps-1.2')]) });
    const ok = await post(s.url, msg, token);
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    expect(ok.body.requestId).toBe(msg.id);
    await refused({ ...msg, body: { vp: 'A'.repeat(100_000) } }, token, 409, 'e.p.msg.replay', /already received/);
    await s.didcomm.idle();
    const again = await startStation(base, {}, s.parties);
    try {
      const r = await post(again.url, msg, token);
      expect(r.status).toBe(409);
      expect(r.body.body.code).toBe('e.p.msg.replay');
    } finally {
      await again.close();
    }
  }, 120_000);

  it('4. size before presentation: body bytes, credentials, SPARQL length; the hard limit is a problem report too', async () => {
    await refused(message({ vp: 'A'.repeat(100_000) }), token, 413, 'e.p.msg.too-large', /at most 65536 are accepted/);
    const many = await vpFor(Array.from({ length: 6 }, () => validatedQuery(COUNT)), { signer: OTHER });
    await refused(message({ vp: many }), token, 413, 'e.p.req.too-many-credentials', /at most 5 per message/);
    const long = await vpFor([validatedQuery(`${COUNT} #${'x'.repeat(20_000)}`)], { signer: OTHER });
    await refused(message({ vp: long }), token, 413, 'e.p.msg.too-large', /SPARQL is \d+ characters; at most 20000/);
    await refused(message({ vp: 'A'.repeat(300_000) }), token, 413, 'e.p.msg.too-large', /larger than 262144 bytes/);
  });

  it('5. the presentation: signed by someone other than the sender is refused before its query is judged', async () => {
    const vp = await vpFor([validatedQuery(COUNT, { profile: 'https://example.org/unknown-profile' })], { signer: OTHER });
    await refused(message({ vp }), token, 403, 'e.p.req.presentation-signer', /iss did:web:other-consumer.test is not the sender did:web:kik-starter.test/);
  });

  it('6. every credential: an untrusted issuer is refused before the query is judged', async () => {
    const vp = await vpFor([validatedQuery(COUNT, { profile: 'https://example.org/unknown-profile' })], { issuer: ROGUE_ISSUER });
    await refused(message({ vp }), token, 403, 'e.p.req.credential-untrusted-issuer', /issuer did:web:rogue.test is not trusted/);
  });

  it('7. the query: profile and ontology version this agent supports, before its parameters', async () => {
    const vp = await vpFor([validatedQuery(COUNT, { profile: 'https://example.org/unknown-profile' })]);
    await refused(message({ vp, param_values: { nope: '1' } }), token, 422, 'e.p.req.unsupported-profile', /not an exchange profile this datastation supports/);
    const onto = await vpFor([validatedQuery(COUNT, { ontology: 'http://purl.org/ozo/onz-g#4.0.0' })]);
    await refused(message({ vp: onto }), token, 422, 'e.p.req.unsupported-ontology', /ONZ 4.0.0; this datastation's data is ONZ 3.0.0/);
    const foreign = await vpFor([validatedQuery(COUNT, { ontology: 'https://example.org/other-ontology' })]);
    await refused(message({ vp: foreign }), token, 422, 'e.p.req.unsupported-ontology', /not an ontology this datastation's data is mapped to/);
  });

  it('8. the parameters: against the credential\'s paramsSHACL (shacl-engine) and the item\'s own shape', async () => {
    const item = loadPack(s.packs, 'zorginstituut-verpleeghuiszorg', '2023.1.0').manifest.indicators.find((i) => i.id === 'ps-1.2')!;
    const shape = parameterShapeTurtle(item, 2023);
    const vp = await vpFor([{ ...packQuery(s.packs, 'ps-1.2'), paramsSHACL: shape }]);
    await refused(message({ vp, param_values: { onbekend: '2023-01-01' } }), token, 422, 'e.p.req.invalid-parameters', /onbekend is not a parameter of query .*paramsSHACL defines "start_periode", "eind_periode"/);
    await refused(message({ vp, param_values: JSON.stringify({ start_periode: { value: '2023-01-01', datatype: 'http://www.w3.org/2001/XMLSchema#string' } }) }), token, 422, 'e.p.req.invalid-parameters', /violates sh:datatype/);
    const capped = `@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
      <urn:p> a sh:NodeShape ; sh:targetClass <urn:P> ; sh:property [ sh:path <urn:p#limiet> ; sh:name "limiet" ; sh:datatype xsd:integer ; sh:maxInclusive 10 ; sh:maxCount 1 ] .`;
    const vp2 = await vpFor([validatedQuery(`${COUNT} LIMIT 1`, { paramsSHACL: capped })]);
    await refused(message({ vp: vp2, param_values: { limiet: 99 } }), token, 422, 'e.p.req.invalid-parameters', /"limiet" = "99" violates sh:maxInclusive/);
    // No shape, no parameters.
    const vp3 = await vpFor([packQuery(s.packs, 'ps-1.2')]);
    await refused(message({ vp: vp3, param_values: { start_periode: '2023-01-01' } }), token, 422, 'e.p.req.invalid-parameters', /has no paramsSHACL, so it takes no parameters/);
  });

  it('audits the receipt with the full message and every check outcome up to the failing one', async () => {
    const msg = message({ vp: 'x' }, { to: 'did:web:someone-else' });
    await refused(msg, token, 400, 'e.p.msg.not-for-us', /address the message to/);
    const rows = s.db.prepare('SELECT action, details FROM audit WHERE thread_id = ? ORDER BY seq').all(msg.id) as Array<{ action: string; details: string }>;
    expect(rows.map((r) => r.action)).toEqual(['inbox.received', 'inbox.check.token', 'inbox.check.shape', 'inbox.refused']);
    expect(JSON.parse(rows[0]!.details).message).toEqual(msg);
    expect(JSON.parse(rows[1]!.details).outcome).toBe('passed');
    expect(JSON.parse(rows[2]!.details)).toMatchObject({ outcome: 'failed', code: 'e.p.msg.not-for-us' });
    expect(rows.map((r) => r.details).join()).not.toContain(token);
  });

  it('answers a wrong content type with a problem report', async () => {
    const res = await fetch(`${s.url}/didcomm`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${token}` }, body: 'hello' });
    expect(res.status).toBe(415);
    const body = (await res.json()) as { body: { code: string; comment: string } };
    expect(body.body.code).toBe('e.p.msg.unsupported-media-type');
    expect(body.body.comment).toMatch(/application\/didcomm-plain\+json/);
  });

  it('accepts both body forms, identifier and id, Base64 and URL-encoded SPARQL, and both content types', async () => {
    const jwt = await post(s.url, message({ vp: await vpFor([packQuery(s.packs, 'ps-1.1', { uuid: PS11_ID })]) }), token);
    expect(jwt.status, JSON.stringify(jwt.body)).toBe(202);
    expect(jwt.body.queries).toEqual([{ identifier: PS11_ID, item: 'ps-1.1', matchedBy: 'identifier' }]);
    const pack = loadPack(s.packs, 'zorginstituut-verpleeghuiszorg', '2023.1.0');
    const ldCred = await s.parties.ldCredential({ identifier: `urn:uuid:${randomUUID()}`, profile: PROFILE_IRI, ontology: ONTOLOGY, sparql: pack.queries.get('ps-1.3')!.sparql });
    const ld = await post(s.url, message({ vp: await s.parties.vpBase64([ldCred]) }, { to: ['did:web:x', 'did:web:datastation.test'] }), token, 'application/json');
    expect(ld.status, JSON.stringify(ld.body)).toBe(202);
    expect(ld.body.queries[0]).toMatchObject({ item: 'ps-1.3', matchedBy: 'sha256' });
    expect(ld.body.queries[0].identifier).toMatch(/^urn:uuid:/);
    const url = await post(s.url, message({ vp: await vpFor([packQuery(s.packs, 'ps-1.5', { idForm: 'id', encoding: 'url' })]) }), token);
    expect(url.status, JSON.stringify(url.body)).toBe(202);
    expect(url.body.queries[0]).toMatchObject({ item: 'ps-1.5', matchedBy: 'sha256' });
    const legacyMsg = message({ credentialSubject: { id: CONSUMER, validatedQuery: packQuery(s.packs, 'ps-1.4') } });
    const legacy = await post(s.url, legacyMsg, token);
    expect(legacy.status, JSON.stringify(legacy.body)).toBe(202);
    const audit = s.db.prepare("SELECT details FROM audit WHERE thread_id = ? AND action = 'inbox.check.presentation'").get(legacyMsg.id) as { details: string };
    expect(JSON.parse(audit.details).note).toMatch(/accepted on the bearer access token alone/);
    const received = s.db.prepare("SELECT details FROM audit WHERE thread_id = ? AND action = 'inbox.received'").get(legacyMsg.id) as { details: string };
    expect(JSON.parse(received.details).message.id).toBe(legacyMsg.id);
    for (const id of [jwt.body.requestId, ld.body.requestId, url.body.requestId, legacy.body.requestId]) {
      const r = await settled(s, id, token);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      expect(r.body.status).toBe('awaiting_approval');
    }
  }, 240_000);

  it('refuses the legacy body when configured to', async () => {
    const strict = await startStation(base, { legacyCredentialSubject: 'refuse' }, s.parties);
    try {
      const r = await post(strict.url, message({ credentialSubject: { validatedQuery: packQuery(s.packs, 'ps-1.4') } }), token);
      expect(r.status).toBe(403);
      expect(r.body.body.code).toBe('e.p.req.legacy-refused');
      expect(r.body.body.comment).toMatch(/verifiable presentation as body.vp/);
    } finally {
      await strict.close();
    }
  });

  it('a query we do not ship: refused by policy, or run and held for approval', async () => {
    const strict = await startStation(base, { notShippedQuery: 'refuse' }, s.parties);
    try {
      const vp = await vpFor([validatedQuery(COUNT)]);
      const r = await post(strict.url, message({ vp }), token);
      expect(r.status).toBe(422);
      expect(r.body.body.code).toBe('e.p.req.query-not-shipped');
      expect(r.body.body.comment).toMatch(/only answers the queries of its profile packs/);
    } finally {
      await strict.close();
    }
    const q = validatedQuery(COUNT);
    const held = await post(s.url, message({ vp: await vpFor([q]) }), token);
    expect(held.status, JSON.stringify(held.body)).toBe(202);
    expect(held.body.queries[0].matchedBy).toBe('not-shipped');
    const r = await settled(s, held.body.requestId, token);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.status).toBe('awaiting_approval');
    const a = s.db.prepare('SELECT a.* FROM answers a JOIN request_answers l ON l.answer_id = a.id WHERE l.request_id = ?').get(held.body.requestId) as { indicator_id: string; status: string; result: string; thread_id: string };
    expect(a.indicator_id).toBe(`query:${q.identifier}`);
    expect(a.status).toBe('awaiting_approval');
    expect(a.thread_id).toBe(held.body.requestId);
    expect(Number(JSON.parse(a.result).results.bindings[0].n.value)).toBeGreaterThan(0);
  }, 120_000);

  it('a result that names a person is refused, reported and audited; no answer is stored', async () => {
    const before = counts().answers;
    const r0 = await post(s.url, message({ vp: await vpFor([validatedQuery(HUMANS), validatedQuery(IDS)]) }), token);
    expect(r0.status).toBe(202);
    const r = await settled(s, r0.body.requestId, token);
    expect(r.status).toBe(422);
    expect(r.body.body.code).toBe('e.p.req.personal-data');
    expect(r.body.body.comment).toMatch(/names a person \(query [^ ]+ row 1 \?p, .*row 1 \?nummer/);
    expect(r.body.body.comment).not.toMatch(/E0\d{3}|C0\d{4}/);
    expect(r.body.pthid).toBe(r0.body.requestId);
    expect(counts().answers).toBe(before);
    const audit = s.db.prepare("SELECT details FROM audit WHERE thread_id = ? AND action = 'request.refused'").get(r0.body.requestId) as { details: string };
    expect(JSON.parse(audit.details).code).toBe('e.p.req.personal-data');
  }, 120_000);

  it('our own failure is a 503 the sender may retry; the id is released and the audit log keeps the cause', async () => {
    // The station's real trust, except that checking a presentation breaks unexpectedly (not an ExchangeError).
    const broken: Trust = Object.assign(Object.create(s.trust) as Trust, {
      verifyPresentation: async () => {
        throw new Error('disk full while reading the revocation list');
      },
    });
    const msg = message({ vp: await vpFor([packQuery(s.packs, 'ps-1.1')]) });
    const before = counts();
    const out = await receiveRequest({ db: s.db, trust: broken, cfg: s.cfg }, { authorization: `Bearer ${token}`, raw: Buffer.from(JSON.stringify(msg)) });
    expect(out.accepted).toBe(false);
    if (out.accepted) return;
    expect([out.error.status, out.error.code]).toEqual([503, 'e.p.req.not-processed']);
    expect(counts()).toEqual(before);
    const checks = s.db.prepare("SELECT details FROM audit WHERE thread_id = ? AND action = 'inbox.check.presentation'").all(msg.id) as Array<{ details: string }>;
    expect(JSON.parse(checks.at(-1)!.details)).toMatchObject({ outcome: 'failed', note: 'internal error: disk full while reading the revocation list' });
    // The id was given back: the very same message is accepted once the fault is gone.
    const again = await post(s.url, msg, token);
    expect(again.status, JSON.stringify(again.body)).toBe(202);
  }, 120_000);
});
