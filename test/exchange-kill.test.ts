import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { approveAnswer } from '../src/answers/answers.js';
import { listAudit } from '../src/audit/log.js';
import { loadConfig } from '../src/config/load.js';
import { openDb } from '../src/db/open.js';
import { listQueuedMessages, type QueuedMessageRow } from '../src/exchange/outbox.js';
import { jwksOfKeyring, loadKeyring, loadOrCreateSigningKey } from '../src/exchange/keys.js';
import { agentToken, provenItems, freePort, importedAgent, linkedAnswerIds, rewriteConfig, standaloneTrustSection, startConsumerSide, AGENT, type ConsumerSide } from './exchange-agent.js';
import { ROOT, spawnCli, type CliResult } from './helpers.js';
import { message, packQuery, Parties } from './inbox-fixtures.js';

const ITEMS = provenItems(2).slice(0, 2);

/**
 * "Killing the agent between approval and delivery, and while the consumer is down, still ends with
 * exactly one delivery of each approved answer." A real `kikv serve` child process: killed (SIGKILL)
 * after the board approved a request's answers, while the consumer's endpoint is down; restarted,
 * still down; the consumer comes up and the agent is killed again while its POST is in flight (the
 * consumer processed it); restarted once more, it resends the same message, and the consumer ends
 * with exactly one accepted response carrying every approved answer.
 */
describe('a request response survives kills of the agent and a consumer that is down', () => {
  let consumer: ConsumerSide | undefined;
  let serving: { child: ChildProcess; done: Promise<CliResult> } | undefined;
  afterAll(async () => {
    if (serving && serving.child.exitCode === null && serving.child.signalCode === null) {
      serving.child.kill('SIGTERM');
      await serving.done;
    }
    await consumer?.close();
  });

  it('ends with exactly one delivery of the response and of each approved answer in it', async () => {
    const parties = await Parties.create();
    const simPort = await freePort();
    const agentPort = await freePort();
    const agentUrl = `http://127.0.0.1:${agentPort}`;
    const posts: string[] = [];
    // The consumer can be told to hold the next POST: the test kills the agent while it waits.
    let holdNext: (() => void) | undefined;
    let release: (() => void) | undefined;

    // The agent's keys exist before the consumer's authorisation server learns them.
    let keysDir = '';
    const c = await importedAgent({
      maxAttempts: 50,
      trust: (dir) => {
        keysDir = `${dir}/data/keys`;
        return standaloneTrustSection(parties, dir, { endpoint: `http://127.0.0.1:${simPort}/didcomm`, tokenEndpoint: 'http://127.0.0.1:9/oauth2/token' });
      },
    });
    const cfg = loadConfig(c.file);
    const dataDir = cfg.storage.dataDir;
    await loadOrCreateSigningKey(keysDir);
    const agentJwks = jwksOfKeyring(await loadKeyring(keysDir));
    consumer = await startConsumerSide({
      agentKeysDir: keysDir,
      // The agent is dead while the consumer checks the held message: the consumer's cached copy of our JWKS.
      agentJwks: () => agentJwks,
      beforeHandle: async (msg) => {
        posts.push((msg as { id: string }).id);
        const arrived = holdNext;
        if (!arrived) return;
        holdNext = undefined;
        const released = new Promise<void>((r) => (release = r));
        arrived();
        await released;
      },
    });
    rewriteConfig(c.file, { trust: standaloneTrustSection(parties, c.dir, { endpoint: `http://127.0.0.1:${simPort}/didcomm`, tokenEndpoint: consumer.tokenEndpoint }) });

    const serve = async () => {
      serving = spawnCli(['serve', '--config', c.file, '--port', String(agentPort)]);
      await expect.poll(async () => (await fetch(`${agentUrl}/health`).catch(() => null))?.status, { timeout: 30_000, interval: 200 }).toBe(200);
    };
    const kill = async () => {
      serving!.child.kill('SIGKILL');
      expect((await serving!.done).signal).toBe('SIGKILL');
    };
    const response = (requestId: string): QueuedMessageRow | undefined => {
      const db = openDb(dataDir);
      try {
        return listQueuedMessages(db).find((m) => m.kind === 'response' && m.about_id === requestId);
      } finally {
        db.close();
      }
    };

    // 1. A request with two credentials, computed and held for the board.
    await serve();
    const token = await agentToken(parties, agentUrl);
    const p = parties;
    const vp = await p.vpJwt(await Promise.all(ITEMS.map((item) => p.credential(packQuery(`${ROOT}/queries`, item)))));
    const msg = message({ vp }, { to: AGENT });
    const sent = await fetch(`${agentUrl}/didcomm`, { method: 'POST', headers: { 'content-type': 'application/didcomm-plain+json', authorization: `Bearer ${token}` }, body: JSON.stringify(msg) });
    expect(sent.status, await sent.clone().text()).toBe(202);
    const requestId = msg.id as string;
    await expect
      .poll(async () => ((await (await fetch(`${agentUrl}/answers/${requestId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status?: string }).status, { timeout: 30_000, interval: 250 })
      .toBe('awaiting_approval');

    // 2. The board approves (only approves: serve signs and delivers); the consumer is down. Killed
    //    once serve has queued the response and failed to reach the consumer.
    const answerIds = linkedAnswerIds(dataDir, requestId);
    expect(answerIds).toHaveLength(ITEMS.length);
    // Approved in the shared database (as `kikv answers approve --no-deliver` does), while serve runs.
    const board = openDb(dataDir);
    for (const id of answerIds) approveAnswer(board, id, 'R. van Bestuur');
    board.close();
    await expect.poll(() => response(requestId)?.attempts ?? 0, { timeout: 20_000, interval: 200 }).toBeGreaterThanOrEqual(1);
    await kill();
    const queued = response(requestId)!;
    expect(queued).toMatchObject({ status: 'pending', recipient: 'did:web:kik-starter.test' });
    expect(queued.last_error).toMatch(/cannot reach/);
    expect(JSON.parse(queued.answer_ids)).toEqual(answerIds);

    // 3. Restarted while the consumer is still down: it tries again, and fails again.
    await serve();
    await expect.poll(() => response(requestId)!.attempts, { timeout: 20_000, interval: 200 }).toBeGreaterThan(queued.attempts);
    expect(response(requestId)!.status).toBe('pending');

    // 4. The consumer comes up; the agent is killed while its POST is in flight, after the consumer got it.
    const arrived = new Promise<void>((r) => (holdNext = r));
    const sim = await consumer.start(simPort);
    await arrived;
    await kill();
    release!();
    await expect.poll(() => sim.accepted().filter((r) => r.thid === requestId).length, { timeout: 10_000 }).toBe(1);
    expect(response(requestId)!.status).toBe('pending'); // the agent died before it learnt the outcome

    // 5. Restarted: the same message is sent again, recognised as a repeat, and settled as delivered.
    await serve();
    await expect.poll(() => response(requestId)!.status, { timeout: 20_000, interval: 200 }).toBe('delivered');
    expect(posts.filter((id) => id === queued.id)).toHaveLength(2);
    expect(sim.accepted().filter((r) => r.thid === requestId)).toHaveLength(1);
    expect(sim.accepted().filter((r) => r.thid === requestId)[0]!.messageId).toBe(queued.id);
    expect(sim.accepted()[0]!.resultset!.map((r) => r.id)).toHaveLength(ITEMS.length);

    // A further delivery round sends nothing more.
    await new Promise((r) => setTimeout(r, 5_500));
    expect(posts.filter((id) => id === queued.id)).toHaveLength(2);
    serving!.child.kill('SIGTERM');
    expect((await serving!.done).code).toBe(0);

    const db = openDb(dataDir);
    try {
      const states = db.prepare(`SELECT status FROM answers WHERE id IN (${answerIds.map(() => '?').join(',')})`).all(...answerIds) as Array<{ status: string }>;
      expect(states.map((s) => s.status)).toEqual(answerIds.map(() => 'delivered'));
      expect(listQueuedMessages(db).filter((m) => m.about_id === requestId)).toHaveLength(1);
      expect(listAudit(db, { subject: requestId, limit: 1000 }).filter((e) => e.action === 'response.delivered')).toHaveLength(1);
      expect(listAudit(db, { subject: requestId, limit: 1000 }).filter((e) => e.action === 'response.queued')).toHaveLength(1);
    } finally {
      db.close();
    }
  }, 150_000);
});
