import { compactVerify, createLocalJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { approveAnswer, listAnswers } from '../src/answers/answers.js';
import { createRequest, planQuery } from '../src/exchange/requests.js';
import { decodeValidatedQuery } from '../src/exchange/validated-query.js';
import { loadPack } from '../src/indicators/pack.js';
import { CONSUMER, importedSample, message, OTHER, packQuery, post, pull, settled, startStation, type Station } from './inbox-fixtures.js';

describe('GET /answers/:requestId: pulling an answer', () => {
  let s: Station;
  let base: Awaited<ReturnType<typeof importedSample>>;
  let token: string;
  const ask = async (item: string, uuid?: string) => {
    const vp = await s.parties.vpJwt([await s.parties.credential(packQuery(s.packs, item, uuid ? { uuid } : {}))]);
    const r = await post(s.url, message({ vp }), token);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.requestId as string;
  };

  beforeAll(async () => {
    base = await importedSample();
    s = await startStation(base);
    token = await s.parties.token(s.trust, CONSUMER);
  }, 180_000);
  afterAll(async () => s?.close());

  it('needs a token; 404 for an unknown request', async () => {
    const none = await pull(s.url, 'no-such-request');
    expect(none.status).toBe(401);
    expect(none.body.body.code).toBe('e.p.auth.missing-token');
    const unknown = await pull(s.url, 'no-such-request', token);
    expect(unknown.status).toBe(404);
    expect(unknown.body.body.code).toBe('e.p.req.unknown');
    expect(unknown.body.body.comment).toMatch(/no request with id no-such-request/);
    const forged = await pull(s.url, 'no-such-request', `${token.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
  });

  it('202 while awaiting approval, 403 for another consumer, 200 with the signed response once approved, the same message every time', async () => {
    const id = await ask('ps-1.2');
    const waiting = await settled(s, id, token);
    expect(waiting.status, JSON.stringify(waiting.body)).toBe(202);
    expect(waiting.body).toMatchObject({ requestId: id, status: 'awaiting_approval' });
    expect(waiting.body.answers[0].status).toBe('awaiting_approval');

    const other = await pull(s.url, id, await s.parties.token(s.trust, OTHER));
    expect(other.status).toBe(403);
    expect(other.body.body.code).toBe('e.p.auth.not-your-request');

    const answerId = (s.db.prepare('SELECT answer_id FROM request_answers WHERE request_id = ?').get(id) as { answer_id: string }).answer_id;
    approveAnswer(s.db, answerId, 'bestuurder');
    const ok = await pull(s.url, id, token);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ type: 'https://www.kik-v.nl/validated-query-request/1.0/response', thid: id, from: s.trust.did, to: [CONSUMER] });
    // Verified against our published JWKS, by the kid in the JWS header.
    const jwks = createLocalJWKSet(await s.trust.jwks());
    const { payload, protectedHeader } = await compactVerify(ok.body.body.response as string, jwks);
    expect((await s.trust.jwks()).keys.map((k) => k.kid)).toContain(protectedHeader.kid);
    const resultset = (JSON.parse(new TextDecoder().decode(payload)) as { resultset: Array<{ id: string; result: { head: { vars: string[] } } }> }).resultset;
    const uuid = (s.db.prepare('SELECT query_uuid FROM request_answers WHERE request_id = ?').get(id) as { query_uuid: string }).query_uuid;
    expect(resultset.map((r) => r.id)).toEqual([`${id}#${uuid}`]);
    expect(resultset[0]!.result.head.vars).toContain('teller');
    const again = await pull(s.url, id, token);
    expect(again.body.id).toBe(ok.body.id);
  }, 180_000);

  it('a second request for the same query, parameters and snapshot reuses the approved answer: 200 at once, nothing recomputed', async () => {
    const before = listAnswers(s.db).length;
    const id = await ask('ps-1.2');
    const r = await settled(s, id, token);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.thid).toBe(id);
    expect(listAnswers(s.db).length).toBe(before);
    const linked = s.db.prepare("SELECT details FROM audit WHERE thread_id = ? AND action = 'request.answer-linked'").get(id) as { details: string };
    expect(JSON.parse(linked.details).reused).toBe(true);
  }, 120_000);

  it('a request accepted just before the agent stopped is computed when it starts again', async () => {
    const pack = loadPack(s.packs, 'zorginstituut-verpleeghuiszorg', '2023.1.0');
    const query = decodeValidatedQuery({ validatedQuery: packQuery(s.packs, 'ps-1.4') }, '$');
    const plan = await planQuery(pack, query, {}, { policy: 'refuse', reportingYear: 2023, at: '$' });
    const id = randomUUID();
    s.db.transaction(() => createRequest(s.db, { id, consumer: CONSUMER, bodyForm: 'vp', plans: [plan], actor: 'test' }))();
    const restarted = await startStation(base, {}, s.parties);
    try {
      const r = await settled(restarted, id, await s.parties.token(restarted.trust, CONSUMER));
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      expect(r.body.status).toBe('awaiting_approval');
      expect(r.body.answers).toEqual([{ query: query.identifier, status: 'awaiting_approval' }]);
    } finally {
      await restarted.close();
    }
  }, 120_000);
});
