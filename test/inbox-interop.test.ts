import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePresentation, presentCredentials, withJws2020Proof } from '../src/exchange/credentials/index.js';
import { DIDCOMM_PLAIN } from '../src/exchange/messages.js';
import { getRequest, type QueryPlan } from '../src/exchange/requests.js';
import { CONSUMER, importedSample, ISSUER, matrixProving, post, startStation, type Station } from './inbox-fixtures.js';
import { ROOT } from './helpers.js';

/**
 * Interop: request messages in the exact JSON shapes of DOMAIN §3 and kikv-protocol §3.2, kept on
 * disk (test/fixtures/interop/*.json). What must be fresh is a placeholder: the DIDs, the times, the
 * message id, and the presentation (body.vp), which the test signs with real keys (the credentials on
 * disk are signed by the issuer with a JsonWebSignature2020 proof, then presented by the consumer).
 */

const DIR = join(ROOT, 'test/fixtures/interop');
const US = 'did:web:datastation.test';

interface Fixture {
  description: string;
  message: Record<string, unknown>;
  credentials?: Array<Record<string, unknown>>;
  expect: { bodyForm: 'vp' | 'credentialSubject'; queries: Array<{ identifier: string; uuid: string; sparql: string }> };
}

// The fixture with most credentials first: its request computes every query (one engine load), the later ones reuse those answers.
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, text: readFileSync(join(DIR, f), 'utf8') }))
  .sort((a, b) => ((JSON.parse(b.text) as Fixture).credentials?.length ?? 0) - ((JSON.parse(a.text) as Fixture).credentials?.length ?? 0));

/** Fills the string placeholders; "{{CREATED_TIME}}" and "{{EXPIRES_TIME}}" become numbers (epoch seconds). */
function filled(text: string, values: Record<string, string | number>): string {
  let out = text;
  for (const [k, v] of Object.entries(values)) out = out.split(typeof v === 'number' ? `"{{${k}}}"` : `{{${k}}}`).join(String(v));
  return out;
}

describe('interop fixtures in the protocol\'s JSON shapes are accepted', () => {
  let s: Station;
  let token: string;
  const accepted: Array<{ file: string; id: string }> = [];

  beforeAll(async () => {
    const base = await importedSample();
    // The fixtures' queries are not shipped: they run on the matrix's reference engine, here the in-process oxigraph (a JVM start for Jena would dominate the test).
    s = await startStation(base, {}, undefined, { matrix: { ...matrixProving(base.packs), reference: 'oxigraph' } });
    token = await s.parties.token(s.trust, CONSUMER);
  }, 180_000);
  afterAll(async () => s?.close());

  it('the fixtures cover both body forms, "to" as a string and a list, identifier and id, urn:uuid and bare UUID, Base64 and URL-encoded SPARQL', () => {
    const all = fixtures.map((f) => JSON.parse(f.text) as Fixture);
    const queries: Array<Record<string, string>> = all.flatMap((f) => (f.credentials ?? []).map((c) => (c.credentialSubject as { validatedQuery: Record<string, string> }).validatedQuery).concat(f.message.body && (f.message.body as any).credentialSubject ? [(f.message.body as any).credentialSubject.validatedQuery] : []));
    expect(new Set(all.map((f) => Object.keys(f.message.body as object).find((k) => k === 'vp' || k === 'credentialSubject')))).toEqual(new Set(['vp', 'credentialSubject']));
    expect(new Set(all.map((f) => (Array.isArray(f.message.to) ? 'list' : typeof f.message.to)))).toEqual(new Set(['list', 'string']));
    expect(new Set(queries.map((q) => ('identifier' in q ? 'identifier' : 'id')))).toEqual(new Set(['identifier', 'id']));
    expect(new Set(queries.map((q) => (String(q.identifier ?? q.id).startsWith('urn:uuid:') ? 'urn' : 'bare')))).toEqual(new Set(['urn', 'bare']));
    expect(new Set(queries.map((q) => (/%[0-9A-F]{2}/.test(q.sparql!) ? 'url' : 'base64')))).toEqual(new Set(['url', 'base64']));
    // vp is the placeholder of the Base64 JSON-LD presentation, never a VP-JWT, on disk.
    for (const f of all) if ((f.message.body as any).vp !== undefined) expect((f.message.body as any).vp).toBe('{{VP_BASE64}}');
  });

  for (const [i, { file, text }] of fixtures.entries()) {
    it(`${file}: accepted (202) and recorded with the decoded query`, async () => {
      const now = Math.floor(Date.now() / 1000);
      const id = randomUUID();
      const values = { MESSAGE_ID: id, CONSUMER_DID: CONSUMER, DATASTATION_DID: US, ISSUER_DID: ISSUER, CREATED_TIME: now, EXPIRES_TIME: now + 3600 };
      const fx = JSON.parse(text) as Fixture;
      let msgText = filled(JSON.stringify(fx.message), values);
      if (fx.credentials) {
        const issuer = s.parties.get(ISSUER);
        const issued = new Date(Date.now() - 60_000);
        const creds = [];
        for (const c of fx.credentials) {
          const doc = JSON.parse(filled(JSON.stringify(c), { ...values, CREDENTIAL_UUID: randomUUID(), ISSUANCE_DATE: issued.toISOString().replace(/\.\d{3}Z$/, 'Z'), EXPIRATION_DATE: new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z') })) as Record<string, unknown>;
          creds.push(await withJws2020Proof(doc, { kid: issuer.kid, privateKey: issuer.privateKey }, { proofPurpose: 'assertionMethod', created: issued }));
        }
        const holder = s.parties.get(CONSUMER);
        const vp = encodePresentation(await presentCredentials({ holder: CONSUMER, signer: { kid: holder.kid, privateKey: holder.privateKey }, credentials: creds, format: 'ldp' }));
        expect(vp).toMatch(/^[A-Za-z0-9+/]+=*$/);
        expect(JSON.parse(Buffer.from(vp, 'base64').toString('utf8')).type).toEqual(['VerifiablePresentation']);
        msgText = msgText.replace('{{VP_BASE64}}', vp);
      }
      expect(msgText).not.toContain('{{');
      const msg = JSON.parse(msgText) as Record<string, unknown>;
      expect(typeof msg.created_time).toBe('number');

      // Both media types the inbox reads, alternately.
      const r = await post(s.url, msgText, token, i % 2 === 0 ? DIDCOMM_PLAIN : 'application/json');
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      expect(r.body.requestId).toBe(id);
      accepted.push({ file, id });

      const row = getRequest(s.db, id)!;
      expect(row).toBeDefined();
      expect(row.consumer).toBe(CONSUMER);
      expect(row.body_form).toBe(fx.expect.bodyForm);
      const plans = JSON.parse(row.queries) as QueryPlan[];
      expect(plans.map((p) => ({ identifier: p.identifier, uuid: p.uuid, sparql: p.sparql }))).toEqual(fx.expect.queries);
      expect(plans.every((p) => p.matchedBy === 'not-shipped' && Object.keys(p.parameters).length === 0)).toBe(true);
      // The full message as sent is in the audit trail of its receipt.
      const received = s.db.prepare("SELECT details FROM audit WHERE thread_id = ? AND action = 'inbox.received'").get(id) as { details: string };
      expect(JSON.parse(received.details).message).toEqual(msg);
    }, 60_000);
  }

  it('every accepted fixture is computed and waits for approval', async () => {
    await s.didcomm.idle();
    expect(accepted.length).toBe(fixtures.length);
    for (const a of accepted) {
      const row = getRequest(s.db, a.id)!;
      expect(row.status, `${a.file}: ${row.problem ?? ''}`).toBe('linked');
      const n = (s.db.prepare("SELECT COUNT(*) AS n FROM request_answers l JOIN answers x ON x.id = l.answer_id WHERE l.request_id = ? AND x.status = 'awaiting_approval'").get(a.id) as { n: number }).n;
      expect(n, a.file).toBe((JSON.parse(row.queries) as unknown[]).length);
    }
  }, 120_000);
});
