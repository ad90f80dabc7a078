import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAnswer, listAnswers } from '../src/answers/answers.js';
import { listAudit } from '../src/audit/log.js';
import { loadConfig } from '../src/config/load.js';
import { openDb } from '../src/db/open.js';
import { loadOrCreateSigningKey, jwksOf } from '../src/exchange/keys.js';
import { listOutbox } from '../src/exchange/outbox.js';
import { computeAnswers } from '../src/pipeline/compute.js';
import { importSource } from '../src/pipeline/import.js';
import { writeSample } from '../src/sample/generate.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { runCli, spawnCli, tempDir, writeConfig } from './helpers.js';

/**
 * The agent is killed (SIGKILL) while its delivery POST is in flight. After a restart the same
 * message is delivered again, and the KIK-starter ends up with exactly one delivery.
 */
describe('an interrupted delivery is completed exactly once after restart', () => {
  let sim: KikStarterSim;
  let stall: 'hold' | 'pass' = 'pass';
  let arrived: (() => void) | undefined;
  let release: ((outcome: 'processed' | 'lost') => void) | undefined;
  const posts: string[] = [];

  beforeAll(async () => {
    const source = join(tempDir(), 'source');
    await writeSample({ employees: 12, clients: 6, locations: 1, seed: 11 }, source);
    const probe = writeConfig({ source });
    const key = await loadOrCreateSigningKey(loadConfig(probe.file).trust.keysDir);
    sim = await startKikStarterSim({
      did: 'did:web:kik-starter.test',
      agentDid: 'did:web:datastation.test',
      agentJwks: jwksOf(key),
      beforeHandle: async (msg) => {
        posts.push((msg as { id: string }).id);
        if (stall === 'pass') return;
        arrived?.();
        const outcome = await new Promise<'processed' | 'lost'>((r) => (release = r));
        if (outcome === 'lost') throw new Error('simulated loss before processing');
      },
    });
    // Same data dir and keys as the probe config, now pointing at the simulator.
    cfgFile = writeConfigSharing(probe.dataDir, source, sim.endpoint);
    const cfg = loadConfig(cfgFile);
    const db = openDb(cfg.storage.dataDir);
    const imported = await importSource(cfg, db, 'test');
    // Two answers (two reporting years), one for each scenario below.
    await computeAnswers(cfg, db, imported.snapshot!.meta.hash, 'test');
    await computeAnswers({ ...cfg, indicators: { ...cfg.indicators, reportingYear: 2022 } }, db, imported.snapshot!.meta.hash, 'test');
    db.close();
  });
  afterAll(() => sim.close());

  let cfgFile = '';
  function writeConfigSharing(dataDir: string, source: string, endpoint: string): string {
    const c = writeConfig({ source, endpoint, extra: {} });
    const text = readFileSync(c.file, 'utf8');
    const fixed = text.replace(/dataDir: .*/, `dataDir: ${dataDir}`).replace(/keysDir: .*/, `keysDir: ${join(dataDir, 'keys')}`);
    writeFileSync(c.file, fixed);
    return c.file;
  }

  async function approveAndKillDuringPost(outcome: 'processed' | 'lost'): Promise<{ answerId: string; messageId: string }> {
    // Approved in the database (a round item: `kikv answers approve` leaves those to the board's
    // round approval), then the delivering process is killed while its POST is in flight.
    const db = openDb(loadConfig(cfgFile).storage.dataDir);
    const answer = approveAnswer(db, listAnswers(db, 'awaiting_approval')[0]!.id, 'R. van Bestuur');
    db.close();
    stall = 'hold';
    const postArrived = new Promise<void>((r) => (arrived = r));
    const { child, done } = spawnCli(['deliver', '--config', cfgFile]);
    await postArrived;
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    release!(outcome);
    stall = 'pass';
    const messageId = posts.at(-1)!;
    const db2 = openDb(loadConfig(cfgFile).storage.dataDir);
    // The approval survived the kill; the message is still pending.
    expect(listAnswers(db2).find((a) => a.id === answer.id)!.status).toBe('approved');
    expect(listOutbox(db2).find((m) => m.answer_id === answer.id)).toMatchObject({ id: messageId, status: 'pending' });
    db2.close();
    return { answerId: answer.id, messageId };
  }

  async function restartAndCheck(answerId: string, messageId: string) {
    const r = await runCli(['deliver', '--config', cfgFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(posts.filter((p) => p === messageId)).toHaveLength(2); // the same message, resent
    expect(sim.accepted().filter((x) => x.messageId === messageId)).toHaveLength(1);
    const db = openDb(loadConfig(cfgFile).storage.dataDir);
    expect(listAnswers(db).find((a) => a.id === answerId)!.status).toBe('delivered');
    expect(listOutbox(db).filter((m) => m.answer_id === answerId)).toEqual([expect.objectContaining({ id: messageId, status: 'delivered' })]);
    expect(listAudit(db, { subject: answerId }).filter((e) => e.action === 'answer.delivered')).toHaveLength(1);
    db.close();
    // A further restart sends nothing.
    await runCli(['deliver', '--config', cfgFile]);
    expect(posts.filter((p) => p === messageId)).toHaveLength(2);
  }

  it('when the KIK-starter had processed the message before the kill', async () => {
    const { answerId, messageId } = await approveAndKillDuringPost('processed');
    await expect.poll(() => sim.accepted().filter((x) => x.messageId === messageId)).toHaveLength(1);
    await restartAndCheck(answerId, messageId);
  });

  it('when the message was lost with the killed process', async () => {
    const { answerId, messageId } = await approveAndKillDuringPost('lost');
    expect(sim.accepted().filter((x) => x.messageId === messageId)).toHaveLength(0);
    await restartAndCheck(answerId, messageId);
  });
});
