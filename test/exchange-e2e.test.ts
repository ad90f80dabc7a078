import { compactVerify, createRemoteJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../src/audit/log.js';
import { openAgent, type AgentContext } from '../src/cli/context.js';
import { openDb } from '../src/db/open.js';
import { listOutboxEntries } from '../src/exchange/outbox.js';
import { RESPONSE_TYPE } from '../src/exchange/messages.js';
import { buildAgentServer, type AgentServer } from '../src/server/app.js';
import { agentToken, importedAgent, linkedAnswerIds, rewriteConfig, standaloneTrustSection, startConsumerSide, AGENT, CONSUMER, type ConsumerSide } from './exchange-agent.js';
import { runCli } from './helpers.js';
import { message, packQuery, Parties } from './inbox-fixtures.js';
import { ROOT } from './helpers.js';

/** Three pack items in one presentation: the SPARQL is the pack's, so each is matched by its hash. */
const ITEMS = ['ps-1.2', 'ps-1.3', 'ps-1.4'];

async function json(res: Response): Promise<{ status: number; body: Record<string, any> }> {
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/**
 * The exchange end to end over real HTTP, a real data dir and the real CLI: the consumer gets a token
 * from our /oauth2/token and sends one presentation with several ValidatedQueryCredentials; the agent
 * verifies and computes (202), the answers wait (pull 202); approvals through `kikv answers approve`
 * (a child process on the same config and data dir) trigger the signed response, which the consumer
 * receives by push and verifies against our JWKS; the same message is then served by pull.
 */
describe('exchange end to end, standalone trust', () => {
  const parties = { value: undefined as unknown as Parties };
  let cfgFile = '';
  let ctx: AgentContext;
  let server: AgentServer;
  let agentUrl = '';
  let consumer: ConsumerSide;

  beforeAll(async () => {
    parties.value = await Parties.create();
    // The consumer's endpoints are named in the configuration once they exist; the agent's keys first.
    const c = await importedAgent({ trust: (dir) => standaloneTrustSection(parties.value, dir, { endpoint: 'http://127.0.0.1:9/didcomm', tokenEndpoint: 'http://127.0.0.1:9/oauth2/token' }) });
    cfgFile = c.file;
    ctx = await openAgent(cfgFile);
    server = await buildAgentServer({ db: ctx.db, cfg: ctx.cfg, trust: ctx.trust });
    agentUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
    consumer = await startConsumerSide({ agentKeysDir: ctx.cfg.trust.keysDir, agentJwks: () => `${agentUrl}/.well-known/jwks.json` });
    const sim = await consumer.start();
    rewriteConfig(cfgFile, { server: { host: '127.0.0.1', port: 0, publicUrl: agentUrl }, trust: standaloneTrustSection(parties.value, c.dir, { endpoint: sim.endpoint, tokenEndpoint: consumer.tokenEndpoint }) });
  }, 60_000);

  afterAll(async () => {
    await server?.app.close();
    await server?.didcomm.idle();
    ctx?.close();
    await consumer?.close();
  });

  it('one presentation with several credentials: computed, held, approved via the CLI, pushed signed, and the same by pull', async () => {
    const p = parties.value;
    const token = await agentToken(p, agentUrl);
    const queries = ITEMS.map((item) => packQuery(`${ROOT}/queries`, item));
    const vp = await p.vpJwt(await Promise.all(queries.map((q) => p.credential(q))));
    const msg = message({ vp }, { to: [AGENT] });
    const sent = await json(await fetch(`${agentUrl}/didcomm`, { method: 'POST', headers: { 'content-type': 'application/didcomm-plain+json', authorization: `Bearer ${token}` }, body: JSON.stringify(msg) }));
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    expect(sent.body.requestId).toBe(msg.id);
    expect(sent.body.queries.map((q: { item: string }) => q.item)).toEqual(ITEMS);

    await server.didcomm.idle();
    const pull = () => fetch(`${agentUrl}/answers/${msg.id}`, { headers: { authorization: `Bearer ${token}` } }).then(json);
    const waiting = await pull();
    expect(waiting.status, JSON.stringify(waiting.body)).toBe(202);
    expect(waiting.body.status).toBe('awaiting_approval');
    expect(waiting.body.answers).toHaveLength(ITEMS.length);

    const answerIds = linkedAnswerIds(ctx.cfg.storage.dataDir, msg.id as string);
    expect(answerIds).toHaveLength(ITEMS.length);
    // Every approval but the last: nothing is sent, the request still waits.
    for (const id of answerIds.slice(0, -1)) {
      const r = await runCli(['answers', 'approve', id, '--as', 'R. van Bestuur', '--config', cfgFile]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Request ${msg.id} still waits for the approval of its other answers`);
    }
    expect(consumer.sim!.received).toHaveLength(0);
    expect((await pull()).status).toBe(202);

    const last = await runCli(['answers', 'approve', answerIds.at(-1)!, '--as', 'R. van Bestuur', '--config', cfgFile]);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toMatch(new RegExp(`Signed and delivered in the response to request ${msg.id}, to ${CONSUMER}`));

    // Pushed: one verified response, carrying a token the consumer's authorisation server issued to us.
    const accepted = consumer.sim!.accepted();
    expect(accepted).toHaveLength(1);
    const pushed = accepted[0]!;
    expect(pushed.thid).toBe(msg.id);
    expect(pushed.verified).toBe(true);
    expect(consumer.issued.length).toBeGreaterThanOrEqual(1);
    const uuids = queries.map((q) => q.identifier as string);
    expect(pushed.resultset!.map((r) => r.id)).toEqual(uuids.map((u) => `${msg.id}#${u}`));
    for (const r of pushed.resultset!) expect(r.result.results.bindings.length).toBeGreaterThan(0);

    // Pulled: 200 with the same signed message, whose JWS verifies against the JWKS we publish.
    const pulled = await pull();
    expect(pulled.status).toBe(200);
    expect(pulled.body.id).toBe(pushed.messageId);
    expect(pulled.body.type).toBe(RESPONSE_TYPE);
    expect(pulled.body.thid).toBe(msg.id);
    expect(pulled.body.from).toBe(AGENT);
    expect(pulled.body.to).toEqual([CONSUMER]);
    const verified = await compactVerify(pulled.body.body.response, createRemoteJWKSet(new URL(`${agentUrl}/.well-known/jwks.json`)), { algorithms: ['ES256'] });
    const payload = JSON.parse(new TextDecoder().decode(verified.payload)) as { resultset: Array<{ id: string; result: unknown }> };
    expect(payload.resultset.map((r) => r.id)).toEqual(uuids.map((u) => `${msg.id}#${u}`));
    expect(payload.resultset).toEqual(pushed.resultset);

    // The agent's record: answers delivered, one response in the outbox, one delivery in the audit log.
    const db = openDb(ctx.cfg.storage.dataDir);
    try {
      const states = db.prepare(`SELECT status FROM answers WHERE id IN (${answerIds.map(() => '?').join(',')})`).all(...answerIds) as Array<{ status: string }>;
      expect(states.map((s) => s.status)).toEqual(answerIds.map(() => 'delivered'));
      expect(listOutboxEntries(db).filter((e) => e.subject === msg.id)).toEqual([expect.objectContaining({ id: pushed.messageId, kind: 'response', status: 'delivered', recipient: CONSUMER })]);
      expect(listAudit(db, { subject: msg.id as string, limit: 1000 }).filter((e) => e.action === 'response.delivered')).toHaveLength(1);
      // No answer of the request went out on its own.
      expect(listOutboxEntries(db).filter((e) => answerIds.includes(e.subject))).toEqual([]);
    } finally {
      db.close();
    }

    // The operator's view lists it.
    const list = await runCli(['outbox', 'list', '--config', cfgFile]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(pushed.messageId!);
    expect(list.stdout).toMatch(/response\s+\S+\s+did:web:kik-starter\.test\s+delivered/);
  }, 120_000);
});
