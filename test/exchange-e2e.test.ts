import { existsSync } from 'node:fs';
import { compactVerify, createRemoteJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approve } from '../src/answers/review.js';
import { getRound } from '../src/answers/rounds.js';
import { listAudit } from '../src/audit/log.js';
import { openAgent, type AgentContext } from '../src/cli/context.js';
import { openDb } from '../src/db/open.js';
import { listOutboxEntries } from '../src/exchange/outbox.js';
import { RESPONSE_TYPE } from '../src/exchange/messages.js';
import { buildAgentServer, type AgentServer } from '../src/server/app.js';
import { provenItems, importedAgent, linkedAnswerIds, rewriteConfig, AGENT, CONSUMER } from './exchange-agent.js';
import { ROOT, runCli } from './helpers.js';
import { ISSUER, message, packQuery } from './inbox-fixtures.js';
import { Beheerorganisatie, groupsByParameters, newSimParty, packItemQuery, Requester, writeJwksFile } from '../src/sim/index.js';
import { encodePresentation, issueValidatedQueryCredential, presentCredentials } from '../src/exchange/credentials/index.js';
import { KIKV_SERVICE } from '../src/exchange/types.js';
import { loadPack } from '../src/indicators/pack.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { startNutsNodeSim, type NutsNodeSim } from '../src/sim/nuts-node.js';

const YEAR = 2023;
const PACKS = `${ROOT}/queries`;
/**
 * Several pack items in one presentation: the largest group of proven personnel items that take the
 * same parameter values (one request carries one param_values), at most three.
 */
const QUERIES = groupsByParameters(provenItems(2).map((item) => packItemQuery(PACKS, 'zorginstituut-verpleeghuiszorg', '2023.1.0', item, YEAR)))
  .sort((a, b) => b.length - a.length)[0]!
  .slice(0, 3);
const ITEMS = QUERIES.map((q) => q.item);

async function json(res: Response): Promise<{ status: number; body: Record<string, any> }> {
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/**
 * The exchange end to end over real HTTP, a real data dir and the real CLI, with the simulator
 * (src/sim): the KIK-starter requester gets a token from our /oauth2/token and sends one presentation
 * with several ValidatedQueryCredentials the beheerorganisatie issued for pack items; the agent
 * verifies and computes (202), the answers wait (pull 202); approvals, the last through
 * `kikv answers approve` (a child process on the same config and data dir), trigger the signed
 * response, which the simulated KIK-starter receives by push (with a token from its own token
 * endpoint) and verifies against our JWKS; the same message is then served by pull.
 */
describe('exchange end to end, standalone trust', () => {
  let cfgFile = '';
  let ctx: AgentContext;
  let server: AgentServer;
  let agentUrl = '';
  let sim: KikStarterSim;
  let requester: Requester;

  beforeAll(async () => {
    const consumer = await newSimParty(CONSUMER);
    const issuer = new Beheerorganisatie(await newSimParty(ISSUER));
    const trustSection = (dir: string, endpoints: { endpoint: string; tokenEndpoint: string }) => {
      writeJwksFile(consumer, `${dir}/consumer.jwks.json`);
      writeJwksFile(issuer.party, `${dir}/issuer.jwks.json`);
      return {
        mode: 'standalone',
        keysDir: `${dir}/data/keys`,
        trustedIssuers: [ISSUER],
        peers: [
          { did: CONSUMER, name: 'KIK-starter (simulated)', roles: ['consumer'], jwks: `${dir}/consumer.jwks.json`, ...endpoints },
          { did: ISSUER, name: 'beheerorganisatie (simulated)', roles: ['issuer'], jwks: `${dir}/issuer.jwks.json` },
        ],
      };
    };
    // The consumer's endpoints are named in the configuration once they exist.
    const c = await importedAgent({ trust: (dir) => trustSection(dir, { endpoint: 'http://127.0.0.1:9/didcomm', tokenEndpoint: 'http://127.0.0.1:9/oauth2/token' }) });
    cfgFile = c.file;
    ctx = await openAgent(cfgFile);
    server = await buildAgentServer({ db: ctx.db, cfg: ctx.cfg, trust: ctx.trust });
    agentUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
    sim = await startKikStarterSim({ did: CONSUMER, agentDid: AGENT, agentJwks: `${agentUrl}/.well-known/jwks.json`, tokenKey: consumer });
    rewriteConfig(cfgFile, { server: { host: '127.0.0.1', port: 0, publicUrl: agentUrl }, trust: trustSection(c.dir, { endpoint: sim.endpoint, tokenEndpoint: sim.tokenEndpoint! }) });
    requester = new Requester({ party: consumer, issuer, agentUrl, agentDid: AGENT });
  }, 60_000);

  afterAll(async () => {
    await server?.app.close();
    await server?.didcomm.idle();
    ctx?.close();
    await sim?.close();
  });

  it('one presentation with several credentials: computed, held, refused by answers approve (round items), approved by the board (round approval), pushed signed by kikv deliver, and the same by pull', async () => {
    const queries = QUERIES;
    expect(queries.length).toBeGreaterThanOrEqual(2);
    const sent = await requester.request({ queries, format: 'jwt', paramValues: queries[0]!.params, toForm: 'list' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    const requestId = sent.request.message.id;
    expect(sent.body.requestId).toBe(requestId);
    expect(sent.body.queries.map((q: { item: string }) => q.item)).toEqual(ITEMS);

    await server.didcomm.idle();
    const waiting = await requester.pull(requestId);
    expect(waiting.status, JSON.stringify(waiting.body)).toBe(202);
    expect(waiting.body.status).toBe('awaiting_approval');
    expect(waiting.body.answers).toHaveLength(ITEMS.length);

    const answerIds = linkedAnswerIds(ctx.cfg.storage.dataDir, requestId);
    expect(answerIds).toHaveLength(ITEMS.length);
    // The answers are items of the 2023 round: `kikv answers approve` refuses them and names the
    // board's page and API; the board approves the round, then `kikv deliver` (a child process on the
    // same config and data dir) signs and pushes the response.
    const refused = await runCli(['answers', 'approve', answerIds[0]!, '--as', 'R. van Bestuur', '--config', cfgFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`/rondes/zorginstituut-verpleeghuiszorg/${YEAR}`);
    expect(refused.stderr).toContain(`POST /api/rounds/zorginstituut-verpleeghuiszorg/${YEAR}/indelingen/INDELING/approve`);
    expect(sim.received).toHaveLength(0);
    expect((await requester.pull(requestId)).status).toBe(202);
    const round = getRound(ctx.cfg, ctx.db, `zorginstituut-verpleeghuiszorg/${YEAR}`);
    expect(approve(ctx.cfg, ctx.db, round, 'all', { name: 'R. van Bestuur', role: 'board' }).approvedAnswers.map((a) => a.id).sort()).toEqual([...answerIds].sort());
    expect(sim.received).toHaveLength(0);

    const last = await runCli(['deliver', '--config', cfgFile]);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toContain('1 request response(s) signed and queued');
    expect(last.stdout).toMatch(/response\s+delivered/);

    // Pushed: one verified response (the simulator checked our JWS against our JWKS and the result ids against the thread).
    const pushed = await sim.waitFor(requestId, 5_000);
    expect(sim.accepted()).toHaveLength(1);
    expect(pushed).toMatchObject({ verified: true, problem: null, thid: requestId });
    const expectedIds = queries.map((q) => `${requestId}#${q.identifier}`);
    expect(pushed.resultset!.map((r) => r.id)).toEqual(expectedIds);
    for (const r of pushed.resultset!) expect(r.result.results.bindings.length).toBeGreaterThan(0);

    // Pulled: 200 with the same signed message, checked by the requester the same way.
    const pulled = await requester.pull(requestId);
    expect(pulled.status).toBe(200);
    expect(pulled.check).toMatchObject({ verified: true, problem: null });
    expect(pulled.body.id).toBe(pushed.messageId);
    expect(pulled.body.type).toBe(RESPONSE_TYPE);
    expect(pulled.body.from).toBe(AGENT);
    expect(pulled.body.to).toEqual([CONSUMER]);
    // Independently of the simulator: the JWS verifies against the JWKS we publish.
    const verified = await compactVerify(pulled.body.body.response, createRemoteJWKSet(new URL(`${agentUrl}/.well-known/jwks.json`)), { algorithms: ['ES256'] });
    const payload = JSON.parse(new TextDecoder().decode(verified.payload)) as { resultset: Array<{ id: string; result: unknown }> };
    expect(payload.resultset.map((r) => r.id)).toEqual(expectedIds);
    expect(payload.resultset).toEqual(pushed.resultset);

    // The agent's record: answers delivered, one response in the outbox, one delivery in the audit log.
    const db = openDb(ctx.cfg.storage.dataDir);
    try {
      const states = db.prepare(`SELECT status FROM answers WHERE id IN (${answerIds.map(() => '?').join(',')})`).all(...answerIds) as Array<{ status: string }>;
      expect(states.map((s) => s.status)).toEqual(answerIds.map(() => 'delivered'));
      expect(listOutboxEntries(db).filter((e) => e.subject === requestId)).toEqual([expect.objectContaining({ id: pushed.messageId, kind: 'response', status: 'delivered', recipient: CONSUMER })]);
      expect(listAudit(db, { subject: requestId, limit: 1000 }).filter((e) => e.action === 'response.delivered')).toHaveLength(1);
      // No answer of the request went out on its own.
      expect(listOutboxEntries(db).filter((e) => answerIds.includes(e.subject))).toEqual([]);
    } finally {
      db.close();
    }

    // The operator's views: /health counts the queued response, /metrics and /datacatalog are served.
    const health = (await (await fetch(`${agentUrl}/health`)).json()) as { did: string; outbox: Record<string, number> };
    expect(health).toMatchObject({ did: AGENT, outbox: { delivered: 1 } });
    const metrics = await fetch(`${agentUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^kikv_/m);
    const catalog = await fetch(`${agentUrl}/datacatalog`, { headers: { accept: 'text/turtle' } });
    expect(catalog.status).toBe(200);
    expect(await catalog.text()).toContain('dcat:');
    const list = await runCli(['outbox', 'list', '--config', cfgFile]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(pushed.messageId!);
    expect(list.stdout).toMatch(/response\s+\S+\s+did:web:kik-starter\.test\s+delivered/);
  }, 120_000);

  it('our token from the consumer is cached, and a refresh asks the consumer for a new one', async () => {
    // A trust built from the configuration as it is now (naming the consumer's token endpoint).
    const fresh = await openAgent(cfgFile);
    try {
      const a = await fresh.trust.accessTokenFor(CONSUMER, KIKV_SERVICE);
      expect(await fresh.trust.accessTokenFor(CONSUMER, KIKV_SERVICE)).toBe(a);
      const c = await fresh.trust.accessTokenFor(CONSUMER, KIKV_SERVICE, { refresh: true });
      expect(c).not.toBe(a);
      expect(await fresh.trust.accessTokenFor(CONSUMER, KIKV_SERVICE)).toBe(c);
    } finally {
      fresh.close();
    }
  });
});

/**
 * The same exchange with `trust.mode: nuts` against the Nuts v5 node test double (src/sim/nuts-node.ts,
 * built from the node's published API). What differs from standalone, because the double is one node
 * for every party and does less than a real one: the consumer's access token is minted by the double
 * (`issueToken`, as the node's n2n token endpoint would issue it) instead of an RFC 7523 exchange with
 * us; the double checks the presentation's issuers, validity and signer DID but not the proof
 * signatures; our token to the consumer comes from the same double (request-access-token, the
 * consumer as authorizer), and the consumer checks it by that double's introspection; the consumer's
 * endpoint is found in its DID document's didcomm-service-kikv compound service. The agent keeps no
 * key file: the node signs, and our JWKS is our DID document's keys.
 */
describe('exchange end to end, Nuts trust against the node double', () => {
  let nuts: NutsNodeSim;
  let cfgFile = '';
  let ctx: AgentContext;
  let server: AgentServer;
  let agentUrl = '';
  let sim: KikStarterSim;
  const seenTokens: Array<{ iss?: string; sub?: string; active?: boolean }> = [];

  beforeAll(async () => {
    nuts = await startNutsNodeSim({ did: AGENT, trustedIssuers: [ISSUER] });
    const c = await importedAgent({ trust: (dir) => ({ mode: 'nuts', keysDir: `${dir}/data/keys`, trustedIssuers: [ISSUER], nuts: { url: nuts.url } }) });
    cfgFile = c.file;
    ctx = await openAgent(cfgFile);
    server = await buildAgentServer({ db: ctx.db, cfg: ctx.cfg, trust: ctx.trust });
    agentUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
    sim = await startKikStarterSim({
      did: CONSUMER,
      agentDid: AGENT,
      agentJwks: `${agentUrl}/.well-known/jwks.json`,
      // The consumer's own node says whether the token is one it issued to the sender.
      requireToken: async (token, from) => {
        const res = await fetch(`${nuts.url}/internal/auth/v1/accesstoken/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: token ?? '' }).toString() });
        const c = (await res.json()) as { active?: boolean; iss?: string; sub?: string; service?: string };
        seenTokens.push(c);
        if (c.active !== true || c.iss !== CONSUMER || c.sub !== from || c.service !== KIKV_SERVICE) throw new Error(`token not issued by ${CONSUMER} to ${String(from)} for ${KIKV_SERVICE}`);
      },
    });
  }, 60_000);

  afterAll(async () => {
    await server?.app.close();
    await server?.didcomm.idle();
    ctx?.close();
    await sim?.close();
    await nuts?.close();
  });

  it('the same exchange: presentation via the node, signed by the node, token and endpoint from the node, push and pull', async () => {
    expect(ctx.trust.mode).toBe('nuts');
    expect(existsSync(ctx.cfg.trust.keysDir)).toBe(false);
    // No token endpoint of our own: the Nuts node is the authorisation server.
    expect((await fetch(`${agentUrl}/oauth2/token`, { method: 'POST' })).status).toBe(404);

    const consumer = await nuts.addParty(CONSUMER, [{ type: KIKV_SERVICE, serviceEndpoint: { didcomm: sim.endpoint } }]);
    const issuer = await nuts.addParty(ISSUER);
    const pack = loadPack(`${ROOT}/queries`, 'zorginstituut-verpleeghuiszorg', '2023.1.0');
    const queries = ITEMS.map((item) => {
      const q = packQuery(`${ROOT}/queries`, item);
      return { identifier: q.identifier as string, profile: q.profile as string, ontology: q.ontology as string[], sparql: pack.queries.get(item)!.sparql, name: item };
    });
    const credentials = await Promise.all(
      queries.map((query) => issueValidatedQueryCredential({ issuer: issuer.did, signer: { kid: issuer.kid, privateKey: issuer.privateKey }, subject: CONSUMER, query, issuanceDate: new Date(Date.now() - 60_000), expirationDate: new Date(Date.now() + 86_400_000), format: 'ldp' })),
    );
    const vp = encodePresentation(await presentCredentials({ holder: CONSUMER, signer: { kid: consumer.kid, privateKey: consumer.privateKey }, credentials, format: 'ldp' }));
    const token = nuts.issueToken(CONSUMER, KIKV_SERVICE);
    const msg = message({ vp }, { to: AGENT });
    const sent = await json(await fetch(`${agentUrl}/didcomm`, { method: 'POST', headers: { 'content-type': 'application/didcomm-plain+json', authorization: `Bearer ${token}` }, body: JSON.stringify(msg) }));
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    expect(sent.body.queries.map((q: { item: string }) => q.item)).toEqual(ITEMS);
    expect(nuts.calls).toContain('POST /internal/vcr/v2/verifier/vp');

    await server.didcomm.idle();
    const pull = () => fetch(`${agentUrl}/answers/${msg.id}`, { headers: { authorization: `Bearer ${token}` } }).then(json);
    const waiting = await pull();
    expect(waiting.status, JSON.stringify(waiting.body)).toBe(202);
    expect(waiting.body.status).toBe('awaiting_approval');
    const answerIds = linkedAnswerIds(ctx.cfg.storage.dataDir, msg.id as string);
    expect(answerIds).toHaveLength(ITEMS.length);
    // Items of the 2023 round: the board approves the round, then `kikv deliver` signs (by the node) and pushes.
    const round = getRound(ctx.cfg, ctx.db, `zorginstituut-verpleeghuiszorg/${YEAR}`);
    expect(approve(ctx.cfg, ctx.db, round, 'all', { name: 'R. van Bestuur', role: 'board' }).approvedAnswers.map((a) => a.id).sort()).toEqual([...answerIds].sort());
    expect(sim.received).toHaveLength(0);
    const last = await runCli(['deliver', '--config', cfgFile]);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toContain('1 request response(s) signed and queued');
    expect(last.stdout).toMatch(/response\s+delivered/);

    const accepted = sim.accepted();
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.thid).toBe(msg.id);
    expect(accepted[0]!.kid).toBe(`${AGENT}#key-1`);
    expect(accepted[0]!.resultset!.map((r) => r.id)).toEqual(queries.map((q) => `${msg.id}#${q.identifier}`));
    expect(seenTokens.at(-1)).toMatchObject({ active: true, iss: CONSUMER, sub: AGENT });
    expect(nuts.calls).toEqual(expect.arrayContaining(['POST /internal/crypto/v1/sign_jws', 'POST /internal/auth/v1/request-access-token', `GET /internal/didman/v1/did/${encodeURIComponent(CONSUMER)}/compoundservice/${KIKV_SERVICE}/endpoint/didcomm`]));

    const pulled = await pull();
    expect(pulled.status).toBe(200);
    expect(pulled.body.id).toBe(accepted[0]!.messageId);
    const verified = await compactVerify(pulled.body.body.response, createRemoteJWKSet(new URL(`${agentUrl}/.well-known/jwks.json`)), { algorithms: ['ES256'] });
    expect(JSON.parse(new TextDecoder().decode(verified.payload)).resultset).toEqual(accepted[0]!.resultset);
    // Still no key file: everything was signed by the node.
    expect(existsSync(ctx.cfg.trust.keysDir)).toBe(false);
  }, 120_000);
});
