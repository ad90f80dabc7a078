import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueValidatedQueryCredential, KIKV_CONTEXT, VC_CONTEXT } from '../src/exchange/credentials/index.js';
import { loadKeyring } from '../src/exchange/keys.js';
import { DIDCOMM_PLAIN, PROBLEM_CODE, PROBLEM_REPORT_TYPE } from '../src/exchange/messages.js';
import { KIKV_SERVICE } from '../src/exchange/types.js';
import { CONSUMER, importedSample, ISSUER, message, ONTOLOGY, OTHER, packQuery, PROFILE_IRI, ROGUE_ISSUER, startStation, validatedQuery, type Station } from './inbox-fixtures.js';

/**
 * One test per refusal of POST /didcomm, in the order the inbox checks. Each asserts the HTTP status,
 * the problem report (well formed: type, typ, from us, to the sender, pthid/ack naming the message
 * when it had an id, a code the consumer's validator accepts) and that neither a request nor an
 * answer was stored.
 */

const US = 'did:web:datastation.test';
const COUNT = 'SELECT (COUNT(?p) AS ?n) WHERE { ?p a <http://purl.org/ozo/onz-g#Human> }';
const CAPPED = `@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
  <urn:p> a sh:NodeShape ; sh:targetClass <urn:P> ; sh:property [ sh:path <urn:p#limiet> ; sh:name "limiet" ; sh:datatype xsd:integer ; sh:maxInclusive 10 ; sh:maxCount 1 ] .`;

describe('POST /didcomm refusals: status, problem report and nothing stored', () => {
  let base: Awaited<ReturnType<typeof importedSample>>;
  let s: Station;
  let token: string;
  const nowS = () => Math.floor(Date.now() / 1000);

  const counts = () => ({
    requests: (s.db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n,
    answers: (s.db.prepare('SELECT COUNT(*) AS n FROM answers').get() as { n: number }).n,
    links: (s.db.prepare('SELECT COUNT(*) AS n FROM request_answers').get() as { n: number }).n,
  });

  /** Sends raw bytes (or a message as JSON) and asserts a well-formed refusal; nothing may be stored. */
  async function refused(
    msg: unknown,
    expected: { status: number; code: string; comment?: RegExp; tok?: string | null; contentType?: string; url?: string; unread?: boolean },
  ): Promise<Record<string, any>> {
    const before = counts();
    const tok = expected.tok === null ? undefined : (expected.tok ?? token);
    const res = await fetch(`${expected.url ?? s.url}/didcomm`, {
      method: 'POST',
      headers: { 'content-type': expected.contentType ?? DIDCOMM_PLAIN, ...(tok ? { authorization: `Bearer ${tok}` } : {}) },
      body: typeof msg === 'string' ? msg : JSON.stringify(msg),
    });
    const text = await res.text();
    expect(res.status, text).toBe(expected.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/didcomm-plain\+json/);
    const r = JSON.parse(text) as Record<string, any>;
    expect(r.type).toBe(PROBLEM_REPORT_TYPE);
    expect(r.typ).toBe(DIDCOMM_PLAIN);
    expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.from).toBe(US);
    expect(Number.isInteger(r.created_time)).toBe(true);
    expect(r.body.code).toBe(expected.code);
    expect(r.body.code).toMatch(PROBLEM_CODE);
    expect(typeof r.body.comment).toBe('string');
    expect(r.body.comment.length).toBeGreaterThan(20);
    if (expected.comment) expect(r.body.comment).toMatch(expected.comment);
    // The report refers to the message when the message had an id we could read (a body that was not read has none), and goes to its sender.
    const sent = typeof msg === 'string' ? tryParse(msg) : (msg as Record<string, unknown>);
    const id = typeof sent?.id === 'string' && /^[\x21-\x7e]{1,200}$/.test(sent.id) && !expected.unread ? sent.id : undefined;
    if (id) {
      expect(r.pthid).toBe(id);
      expect(r.ack).toEqual([id]);
    } else {
      expect(r.pthid).toBeUndefined();
      expect(r.ack).toBeUndefined();
    }
    const from = typeof sent?.from === 'string' && !expected.unread ? sent.from : undefined;
    expect(r.to).toEqual(from ? [from] : []);
    expect(counts()).toEqual(before);
    return r;
  }

  const tryParse = (t: string): Record<string, unknown> | undefined => {
    try {
      const v = JSON.parse(t) as unknown;
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };

  /** A VP-JWT of VC-JWTs (the beheerorganisatie issues, the consumer presents). */
  const vpFor = async (queries: Array<Record<string, unknown>>, o: { issuer?: string; signer?: string; subject?: string } = {}) => {
    const creds = await Promise.all(queries.map((q) => s.parties.credential(q, { ...(o.issuer ? { issuer: o.issuer } : {}), ...(o.subject ? { subject: o.subject } : {}) })));
    return s.parties.vpJwt(creds, o.signer);
  };
  const validVp = () => vpFor([validatedQuery(COUNT)]);

  /** A credential with the dates (and id) given, issued by the trusted issuer with the real function. */
  const datedCredential = async (issuanceDate: Date, expirationDate: Date, id?: string) => {
    const p = s.parties.get(ISSUER);
    return issueValidatedQueryCredential({
      issuer: ISSUER,
      signer: { kid: p.kid, privateKey: p.privateKey },
      subject: CONSUMER,
      query: { identifier: randomUUID(), profile: PROFILE_IRI, ontology: ONTOLOGY, sparql: COUNT },
      issuanceDate,
      expirationDate,
      ...(id ? { id } : {}),
      format: 'jwt',
    });
  };

  /** An access token signed with our own current key, with the claims given (what the token endpoint would never issue). */
  const ownToken = async (claims: { sub?: string; aud?: string; exp?: number; service?: string }) => {
    const { current } = await loadKeyring(s.cfg.trust.keysDir);
    return new SignJWT({ service: claims.service ?? KIKV_SERVICE, scope: claims.service ?? KIKV_SERVICE })
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' })
      .setIssuer(US)
      .setAudience(claims.aud ?? US)
      .setSubject(claims.sub ?? CONSUMER)
      .setIssuedAt(nowS() - 3600)
      .setExpirationTime(claims.exp ?? nowS() + 300)
      .sign(current.privateKey);
  };

  beforeAll(async () => {
    base = await importedSample();
    s = await startStation(base);
    token = await s.parties.token(s.trust, CONSUMER);
  }, 180_000);
  afterAll(async () => s?.close());

  // 1. The bearer token.
  it('01 no bearer token', async () => {
    await refused(message({ vp: await validVp() }), { tok: null, status: 401, code: 'e.p.auth.missing-token', comment: /Authorization: Bearer/ });
  });
  it('02 a bearer token that is not a JWT', async () => {
    await refused(message({ vp: await validVp() }), { tok: 'not-a-token', status: 401, code: 'e.p.req.unauthorized', comment: /not a JWT issued by this datastation/ });
  });
  it('03 a bearer token whose signature was changed', async () => {
    const t = token.slice(0, -8) + (token.endsWith('AAAAAAAA') ? 'BBBBBBBB' : 'AAAAAAAA');
    await refused(message({ vp: await validVp() }), { tok: t, status: 401, code: 'e.p.req.unauthorized', comment: /signature does not verify/ });
  });
  it('04 an expired bearer token', async () => {
    await refused(message({ vp: await validVp() }), { tok: await ownToken({ exp: nowS() - 600 }), status: 401, code: 'e.p.req.unauthorized', comment: /expired/ });
  });
  it('05 a bearer token for another audience', async () => {
    await refused(message({ vp: await validVp() }), { tok: await ownToken({ aud: 'did:web:another-datastation.test' }), status: 401, code: 'e.p.req.unauthorized', comment: /aud claim is wrong/ });
  });
  it('06 a bearer token issued to another consumer than the message is from', async () => {
    await refused(message({ vp: await validVp() }), { tok: await s.parties.token(s.trust, OTHER), status: 403, code: 'e.p.req.forbidden', comment: /sub is "did:web:other-consumer.test" but the message is from did:web:kik-starter.test/ });
  });
  it('07 a bearer token for another service', async () => {
    await refused(message({ vp: await validVp() }), { tok: await ownToken({ service: 'some-other-service' }), status: 403, code: 'e.p.req.forbidden', comment: /service claim is "some-other-service"/ });
  });

  // 2. The message shape.
  it('08 a body that is not JSON', async () => {
    await refused('{"id": "x", "from": ', { status: 400, code: 'e.p.msg.invalid-json', comment: /DIDComm v2 plaintext/ });
  });
  it('09 a JSON body that is not an object', async () => {
    await refused(JSON.stringify([message({ vp: 'x' })]), { status: 400, code: 'e.p.msg.invalid-json' });
  });
  it('10 a message of another type', async () => {
    await refused(message({ vp: await validVp() }, { type: 'https://www.kik-v.nl/validated-query-request/1.0/response' }), { status: 400, code: 'e.p.msg.unsupported-type', comment: /accepts only https:\/\/www\.kik-v\.nl\/validated-query-request\/1\.0\/request/ });
  });
  it('11 a message without id', async () => {
    await refused(message({ vp: await validVp() }, { id: undefined }), { status: 400, code: 'e.p.msg.invalid-id', comment: /fresh UUID/ });
  });
  it('12 a message without from', async () => {
    await refused(message({ vp: await validVp() }, { from: undefined }), { status: 400, code: 'e.p.msg.invalid-from', comment: /set "from"/ });
  });
  it('13 a message without to', async () => {
    await refused(message({ vp: await validVp() }, { to: undefined }), { status: 400, code: 'e.p.msg.invalid-to', comment: /string or a list/ });
  });
  it('14 a message without created_time', async () => {
    await refused(message({ vp: await validVp() }, { created_time: undefined }), { status: 400, code: 'e.p.msg.invalid-time', comment: /"created_time" must be a time in whole epoch seconds/ });
  });
  it('15 created_time in milliseconds', async () => {
    await refused(message({ vp: await validVp() }, { created_time: Date.now() }), { status: 400, code: 'e.p.msg.invalid-time', comment: /looks like milliseconds/ });
  });
  it('16 "to" as a string naming someone else', async () => {
    await refused(message({ vp: await validVp() }, { to: 'did:web:someone-else.test' }), { status: 400, code: 'e.p.msg.not-for-us', comment: /address the message to did:web:datastation\.test/ });
  });
  it('17 "to" as a list not naming us', async () => {
    await refused(message({ vp: await validVp() }, { to: ['did:web:a.test', 'did:web:b.test'] }), { status: 400, code: 'e.p.msg.not-for-us', comment: /did:web:a\.test, did:web:b\.test/ });
  });
  it('18 an expired message', async () => {
    await refused(message({ vp: await validVp() }, { created_time: nowS() - 7200, expires_time: nowS() - 3600 }), { status: 400, code: 'e.p.msg.expired', comment: /later expires_time/ });
  });
  it('19 a message created in the future', async () => {
    await refused(message({ vp: await validVp() }, { created_time: nowS() + 600, expires_time: nowS() + 3600 }), { status: 400, code: 'e.p.msg.created-in-future', comment: /clock skew/ });
  });

  // 3. Replay.
  it('20 a replayed message id: the id is claimed by the first copy, even one refused later for its credential', async () => {
    // (An accepted request replayed is in inbox.test.ts and the fuzz test; this one needs no computation.)
    const msg = message({ vp: await vpFor([validatedQuery(COUNT)], { issuer: ROGUE_ISSUER }) });
    await refused(msg, { status: 403, code: 'e.p.req.credential-untrusted-issuer' });
    await refused({ ...msg, body: { vp: await validVp() } }, { status: 409, code: 'e.p.msg.replay', comment: new RegExp(`message id ${msg.id as string} was already received`) });
  });

  // 4. Size.
  it('21 a body larger than the inbox reads', async () => {
    await refused(message({ vp: await validVp(), padding: 'x'.repeat(70_000) }), { status: 413, code: 'e.p.msg.too-large', comment: /at most 65536 are accepted/ });
  });
  it('22 a body larger than the hard limit is not read at all', async () => {
    await refused(message({ vp: 'A'.repeat(300_000) }), { status: 413, code: 'e.p.msg.too-large', comment: /larger than 262144 bytes and was not read/, unread: true });
  });
  it('23 too many credentials', async () => {
    const vp = await vpFor(Array.from({ length: 6 }, () => validatedQuery(COUNT)));
    await refused(message({ vp }), { status: 413, code: 'e.p.req.too-many-credentials', comment: /holds 6 credentials; at most 5/ });
  });
  it('24 too long SPARQL', async () => {
    const vp = await vpFor([validatedQuery(`${COUNT} #${'x'.repeat(20_000)}`)]);
    await refused(message({ vp }), { status: 413, code: 'e.p.msg.too-large', comment: /SPARQL is \d+ characters; at most 20000/ });
  });

  // 5. The presentation.
  it('25 a presentation that is neither Base64 of JSON nor a VP-JWT', async () => {
    await refused(message({ vp: '%%% not base64 %%%' }), { status: 400, code: 'e.p.req.presentation-invalid', comment: /neither a JSON-LD presentation, nor its standard Base64 encoding, nor a VP-JWT/ });
  });
  it('26 a presentation that is Base64 of text that is not JSON', async () => {
    await refused(message({ vp: Buffer.from('{"type": VerifiablePresentation').toString('base64') }), { status: 400, code: 'e.p.req.presentation-invalid', comment: /Base64 of text that is not a JSON object/ });
  });
  it('27 a presentation whose signature was changed', async () => {
    const vp = await validVp();
    const [h, p, sig] = vp.split('.') as [string, string, string];
    const flipped = Buffer.from(sig, 'base64url');
    flipped[5] = flipped[5]! ^ 0x01;
    await refused(message({ vp: `${h}.${p}.${flipped.toString('base64url')}` }), { status: 401, code: 'e.p.req.presentation-signature', comment: /does not verify/ });
  });
  it('27b a VP-JWT whose signature text was changed only in its unused last bits (same bytes, another text)', async () => {
    const vp = await validVp();
    const [h, p, sig] = vp.split('.') as [string, string, string];
    // 64 signature bytes take 86 base64url characters; the last one carries 2 bits and 4 unused ones.
    const last = sig.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(Buffer.from(`${sig.slice(0, -1)}${twin}`, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    await refused(message({ vp: `${h}.${p}.${sig.slice(0, -1)}${twin}` }), { status: 400, code: 'e.p.req.presentation-invalid', comment: /signature is not canonical base64url/ });
  });
  it('28 a presentation signed by someone other than the sender', async () => {
    await refused(message({ vp: await vpFor([validatedQuery(COUNT)], { signer: OTHER }) }), { status: 403, code: 'e.p.req.presentation-signer', comment: /iss did:web:other-consumer\.test is not the sender did:web:kik-starter\.test/ });
  });
  it('29 an expired presentation', async () => {
    const p = s.parties.get(CONSUMER);
    const { presentCredentials } = await import('../src/exchange/credentials/index.js');
    const vp = await presentCredentials({ holder: CONSUMER, signer: { kid: p.kid, privateKey: p.privateKey }, credentials: [await s.parties.credential(validatedQuery(COUNT))], format: 'jwt', created: new Date(Date.now() - 3_600_000), ttlSeconds: 60 });
    await refused(message({ vp }), { status: 403, code: 'e.p.req.presentation-expired', comment: /sign a new presentation/ });
  });

  // 6. Every credential.
  it('30 a credential changed after the issuer signed it (VC-JWT)', async () => {
    const vc = await s.parties.credential(validatedQuery(COUNT));
    const [h, p, sig] = vc.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    claims.vc.credentialSubject.validatedQuery.sparql = Buffer.from('SELECT * WHERE { ?s ?p ?o }').toString('base64');
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
    await refused(message({ vp: await s.parties.vpJwt([tampered]) }), { status: 401, code: 'e.p.req.credential-signature', comment: /changed after signing/ });
  });
  it('31 a credential changed after the issuer signed it (JSON-LD, JsonWebSignature2020)', async () => {
    const ld = await s.parties.ldCredential({ identifier: randomUUID(), profile: PROFILE_IRI, ontology: ONTOLOGY, sparql: COUNT });
    const subject = ld.credentialSubject as { validatedQuery: Record<string, unknown> };
    subject.validatedQuery.sparql = Buffer.from('SELECT * WHERE { ?s ?p ?o }').toString('base64');
    await refused(message({ vp: await s.parties.vpBase64([ld]) }), { status: 401, code: 'e.p.req.credential-signature' });
  });
  it('32 a credential from an untrusted issuer', async () => {
    await refused(message({ vp: await vpFor([validatedQuery(COUNT)], { issuer: ROGUE_ISSUER }) }), { status: 403, code: 'e.p.req.credential-untrusted-issuer', comment: /issuer did:web:rogue\.test is not trusted/ });
  });
  it('33 an expired credential', async () => {
    const vc = await datedCredential(new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 86_400_000));
    await refused(message({ vp: await s.parties.vpJwt([vc]) }), { status: 403, code: 'e.p.req.credential-expired', comment: /ask the beheerorganisatie for a new one/ });
  });
  it('34 a credential not yet valid', async () => {
    const vc = await datedCredential(new Date(Date.now() + 86_400_000), new Date(Date.now() + 2 * 86_400_000));
    await refused(message({ vp: await s.parties.vpJwt([vc]) }), { status: 403, code: 'e.p.req.credential-not-yet-valid', comment: /send it once it is valid/ });
  });
  it('35 a revoked credential', async () => {
    const id = `${ISSUER}#${randomUUID()}`;
    s.revoked.add(id);
    const vc = await datedCredential(new Date(Date.now() - 60_000), new Date(Date.now() + 86_400_000), id);
    await refused(message({ vp: await s.parties.vpJwt([vc]) }), { status: 403, code: 'e.p.req.credential-revoked', comment: new RegExp(`${id.replace(/[.#]/g, '\\$&')} has been revoked`) });
  });
  it('36 a credential that is not a ValidatedQueryCredential', async () => {
    const p = s.parties.get(ISSUER);
    const vc = await new SignJWT({ vc: { '@context': [VC_CONTEXT, KIKV_CONTEXT], type: ['VerifiableCredential', 'NutsOrganizationCredential'], credentialSubject: { validatedQuery: validatedQuery(COUNT) } } })
      .setProtectedHeader({ alg: 'ES256', kid: p.kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(CONSUMER)
      .setJti(`${ISSUER}#${randomUUID()}`)
      .setNotBefore(nowS() - 60)
      .setExpirationTime('1d')
      .sign(p.privateKey);
    await refused(message({ vp: await s.parties.vpJwt([vc]) }), { status: 400, code: 'e.p.req.credential-type', comment: /does not include ValidatedQueryCredential/ });
  });
  it('37 a credential issued to someone other than the holder', async () => {
    await refused(message({ vp: await vpFor([validatedQuery(COUNT)], { subject: OTHER }) }), { status: 403, code: 'e.p.req.credential-subject', comment: /issued to did:web:other-consumer\.test, not to the presenter did:web:kik-starter\.test/ });
  });

  // 7. The query.
  it('38 a profile this agent does not support', async () => {
    await refused(message({ vp: await vpFor([validatedQuery(COUNT, { profile: 'https://example.org/unknown-profile' })]) }), { status: 422, code: 'e.p.req.unsupported-profile', comment: /not an exchange profile this datastation supports/ });
  });
  it('39 an ontology version this agent does not support', async () => {
    await refused(message({ vp: await vpFor([validatedQuery(COUNT, { ontology: 'http://purl.org/ozo/onz-g#4.0.0' })]) }), { status: 422, code: 'e.p.req.unsupported-ontology', comment: /ONZ 4\.0\.0; this datastation's data is ONZ 3\.0\.0/ });
  });

  // 8. The parameters.
  it('40 a parameter value that fails the credential\'s paramsSHACL', async () => {
    const vp = await vpFor([validatedQuery(`${COUNT} LIMIT 1`, { paramsSHACL: CAPPED })]);
    await refused(message({ vp, param_values: { limiet: 99 } }), { status: 422, code: 'e.p.req.invalid-parameters', comment: /"limiet" = "99" violates sh:maxInclusive/ });
  });
  it('41 a parameter the paramsSHACL does not define', async () => {
    const vp = await vpFor([validatedQuery(`${COUNT} LIMIT 1`, { paramsSHACL: CAPPED })]);
    await refused(message({ vp, param_values: { onbekend: 3 } }), { status: 422, code: 'e.p.req.invalid-parameters', comment: /onbekend is not a parameter of query .*defines "limiet"/ });
  });

  // Policies and transport.
  it('42 a query this agent does not ship, under the refuse policy', async () => {
    const strict = await startStation(base, { notShippedQuery: 'refuse' }, s.parties);
    try {
      await refused(message({ vp: await validVp() }), { url: strict.url, status: 422, code: 'e.p.req.query-not-shipped', comment: /only answers the queries of its profile packs/ });
    } finally {
      await strict.close();
    }
  });
  it('43 a legacy credentialSubject body under the refuse setting', async () => {
    const strict = await startStation(base, { legacyCredentialSubject: 'refuse' }, s.parties);
    try {
      await refused(message({ credentialSubject: { id: CONSUMER, validatedQuery: packQuery(s.packs, 'ps-1.4') } }), { url: strict.url, status: 403, code: 'e.p.req.legacy-refused', comment: /verifiable presentation as body\.vp/ });
    } finally {
      await strict.close();
    }
  });
  it('44 a wrong content type (text/plain, which fastify could parse)', async () => {
    await refused(message({ vp: await validVp() }), { contentType: 'text/plain', unread: true, status: 415, code: 'e.p.msg.unsupported-media-type', comment: /application\/didcomm-plain\+json/ });
  });
  it('45 a wrong content type (application/xml, which nothing parses)', async () => {
    await refused(message({ vp: await validVp() }), { contentType: 'application/xml', unread: true, status: 415, code: 'e.p.msg.unsupported-media-type', comment: /application\/didcomm-plain\+json/ });
  });
  it('47 a message nested deeper than any request (refused before the audit\'s canonical JSON would overflow the stack)', async () => {
    const text = JSON.stringify(message({ vp: await validVp() })).replace(/}$/, `,"extra":${'['.repeat(50_000)}${']'.repeat(50_000)}}`);
    await refused(text, { status: 400, code: 'e.p.msg.too-deep', comment: /nested more than 32 levels deep/ });
    // The refusal is audited, with the message kept by its hash only.
    const row = s.db.prepare("SELECT details FROM audit WHERE action = 'inbox.received' ORDER BY seq DESC LIMIT 1").get() as { details: string };
    expect(JSON.parse(row.details).message).toMatchObject({ unparsed: true, bytes: Buffer.byteLength(text) });
  });
  it('48 a message id with control characters (it would be a database key, a thread id and a URL segment)', async () => {
    const msg = message({ vp: await validVp() }, { id: `${randomUUID()}\u0000\ud800` });
    const r = await refused(msg, { status: 400, code: 'e.p.msg.invalid-id', comment: /visible ASCII/ });
    expect(r.pthid).toBeUndefined();
  });
  it('46 a body with neither vp nor credentialSubject', async () => {
    await refused(message({ param_values: {} }), { status: 400, code: 'e.p.msg.invalid-body', comment: /neither "vp"/ });
  });
});
