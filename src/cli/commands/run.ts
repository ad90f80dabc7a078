import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { approveAnswer, listAnswers, resultOf } from '../../answers/answers.js';
import { listRounds, roundPhase } from '../../answers/rounds.js';
import { listUsers } from '../../auth/users.js';
import { configFileFrom, loadConfig } from '../../config/load.js';
import { mappingDirectory, withMappingDirectory } from '../../config/schema.js';
import { runDeliveryRound } from '../../exchange/delivery-round.js';
import { computeAnswers } from '../../pipeline/compute.js';
import { importSource, latestSnapshotHash, summariseReport } from '../../pipeline/import.js';
import { DEFAULT_SAMPLE, writeSample } from '../../sample/generate.js';
import { startImportScheduler } from '../../scheduler/scheduler.js';
import { isoInZone } from '../../scheduler/zoned-time.js';
import { buildAgentServer, buildServer } from '../../server/app.js';
import { startKikStarterSim } from '../../sim/kik-starter.js';
import { deliverySettings, openAgent, UsageError, wholeNumber } from '../context.js';
import { answerRows, resultTable } from '../format.js';

const DELIVERY_INTERVAL_MS = 5_000;

export function registerRunCommands(program: Command): void {
  program
    .command('serve')
    .description('run the agent: import and compute on first start, serve HTTP, deliver approved answers')
    .option('-p, --port <n>', 'listen on this port instead of server.port', wholeNumber('--port'))
    .action(async (o: { port?: number }, cmd: Command) => {
      const ctx = await openAgent(cmd.optsWithGlobals().config as string | undefined, (cfg) => (o.port === undefined ? cfg : { ...cfg, server: { ...cfg.server, port: o.port } }));
      const { cfg, db, trust } = ctx;
      const firstStart = !latestSnapshotHash(db);
      if (firstStart) console.log(`First start: importing ${mappingDirectory(cfg)}`);
      // Validates import.schedule first; on a first start (or after a missed run) it imports once now.
      const scheduler = startImportScheduler({ cfg, db, runImport: importSource });
      let snapshot = latestSnapshotHash(db);
      if (firstStart) {
        const first = await scheduler.ready;
        if (first && first.status !== 'skipped' && first.result) {
          console.log(summariseReport(first.result.report));
          console.log(`Processing report: ${first.result.reportFile}`);
        }
        snapshot = latestSnapshotHash(db);
        if (!snapshot) {
          await scheduler.stop();
          if (first?.status === 'skipped') throw new UsageError(`the first import could not run: ${first.reason}`);
          if (first?.error !== undefined) throw first.error;
          throw new UsageError(`the source could not be imported (see the files marked NOT READ); fix sources.${cfg.mapping.source} in the configuration or the export`);
        }
        await computeAnswers(cfg, db, snapshot, 'agent');
      }
      const { app, didcomm } = await buildAgentServer({ db, cfg, trust });
      const address = await app.listen({ host: cfg.server.host, port: cfg.server.port });
      const s = deliverySettings(cfg);
      let busy = false;
      const deliver = async () => {
        if (busy) return; // no overlap: one delivery round at a time
        busy = true;
        try {
          const round = await runDeliveryRound({ db, trust, cfg, settings: s });
          for (const u of round.unsent) console.error(`request ${u.requestId}: response not sent: ${u.error}`);
          for (const f of round.failed) console.error(`answer ${f.answerId}: not queued: ${f.error}`);
        } catch (e) {
          console.error(`delivery round failed: ${(e as Error).message}`);
        } finally {
          busy = false;
        }
      };
      await deliver();
      const timer = setInterval(() => void deliver(), DELIVERY_INTERVAL_MS);
      const waiting = listAnswers(db, 'awaiting_approval');
      console.log(`kikv-agent (${cfg.agent.did}) listening on ${address}`);
      console.log(`  health      ${address}/health`);
      console.log(`  keys        ${address}/.well-known/jwks.json (${trust.mode} trust)`);
      console.log(`  exchange    ${address}/didcomm (requests), ${address}/answers/:requestId (pull)${trust.mode === 'standalone' ? `, ${address}/oauth2/token` : ''}`);
      console.log(`  snapshot    ${snapshot} in ${join(cfg.storage.dataDir, 'snapshots')}`);
      console.log(`  board       ${address}/ (review and approval; accounts: \`kikv users add NAME --role board|quality|operator|viewer\`${listUsers(db).length === 0 ? ', none yet' : ''}), API ${address}/api, OpenAPI ${address}/docs`);
      for (const r of listRounds(cfg, db)) {
        const phase = roundPhase(r, new Date());
        console.log(`  round       ${r.id}: ${phase}, window ${r.opens} to ${r.closes}${phase === 'locked' ? ' (deadline passed: nothing is sent; see delivery.windows)' : ''}`);
      }
      console.log(`  answers     ${waiting.length} awaiting approval for ${cfg.indicators.reportingYear}: on the board's pages, or \`kikv answers list\`, then \`kikv answers approve ID --as NAME\``);
      console.log(`  delivery    to ${cfg.delivery.kikStarter.endpoint} (\`kikv outbox list\`)`);
      const next = scheduler.nextRun();
      console.log(`  imports     ${next ? `"${cfg.import.schedule}" (${cfg.import.timezone}), next ${isoInZone(next, cfg.import.timezone)}` : 'schedule off'}${scheduler.catchUp && !firstStart ? `; catching up now: ${scheduler.catchUp}` : ''} (\`kikv status\`)`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      clearInterval(timer);
      await scheduler.stop();
      await app.close();
      // A request being computed finishes (or is picked up again at the next start) before the database closes.
      await didcomm.idle();
      while (busy) await new Promise((r) => setTimeout(r, 50));
      ctx.close();
    });

  program
    .command('demo')
    .description('one full exchange on the sample provider: generate, import, compute, approve, sign, deliver to a simulated KIK-starter, verify')
    .action(async (_o, cmd: Command) => {
      const base = loadConfig(configFileFrom(cmd.optsWithGlobals().config as string | undefined));
      const dir = join(base.storage.dataDir, 'demo');
      rmSync(dir, { recursive: true, force: true });
      const source = join(dir, 'source');
      await writeSample(DEFAULT_SAMPLE, source);
      console.log(`1. Generated the sample provider (seed ${DEFAULT_SAMPLE.seed}) in ${source}`);
      const ctx = await openAgent(cmd.optsWithGlobals().config as string | undefined, (cfg) => ({
        ...withMappingDirectory(cfg, source),
        storage: { dataDir: dir },
        trust: { ...cfg.trust, keysDir: join(dir, 'keys') },
        // The demo's own round is open now (the real 2023 deadline has passed): nothing is sent outside a window.
        delivery: { ...cfg.delivery, windows: cfg.indicators.profiles.map((p) => demoWindow(p.profile, cfg.indicators.reportingYear)) },
      }));
      // A configuration file for this run, so its state can be inspected with the other commands.
      const { file: _file, ...demoCfg } = ctx.cfg;
      const demoConfigFile = join(dir, 'kikv.yaml');
      writeFileSync(demoConfigFile, stringify(demoCfg));
      const app = await buildServer({ db: ctx.db, cfg: ctx.cfg, trust: ctx.trust });
      const agentUrl = await app.listen({ host: '127.0.0.1', port: 0 });
      const sim = await startKikStarterSim({ did: ctx.cfg.delivery.kikStarter.did, agentDid: ctx.cfg.agent.did, agentJwks: `${agentUrl}/.well-known/jwks.json` });
      try {
        const imported = await importSource(ctx.cfg, ctx.db, 'demo');
        console.log('2. Imported it (processing report):');
        console.log(summariseReport(imported.report));
        if (!imported.snapshot) throw new Error('the sample could not be imported');
        console.log(`   snapshot ${imported.snapshot.meta.hash} (${imported.snapshot.meta.quads} statements)`);
        const computed = await computeAnswers(ctx.cfg, ctx.db, imported.snapshot.meta.hash, 'demo');
        console.log(`3. Computed ${computed.length} answer(s) for ${ctx.cfg.indicators.reportingYear}; they wait for the board:`);
        console.log(answerRows(computed.map((c) => c.answer)));
        const board = 'demo-bestuurder (demo board member)';
        for (const { answer } of computed) approveAnswer(ctx.db, answer.id, board);
        console.log(`4. Approved by ${board}.`);
        const s = { ...deliverySettings(ctx.cfg), kikStarter: { ...ctx.cfg.delivery.kikStarter, endpoint: sim.endpoint } };
        const { outcomes } = await runDeliveryRound({ db: ctx.db, trust: ctx.trust, cfg: ctx.cfg, settings: s }, { actor: 'demo' });
        console.log(`5. Signed (ES256, kid ${(await ctx.trust.jwks()).keys[0]?.kid}) and delivered to the simulated KIK-starter at ${sim.endpoint}:`);
        for (const r of sim.received) {
          console.log(`   message ${r.messageId} (thread ${r.thid}): ${r.verified ? `signature VERIFIED against ${agentUrl}/.well-known/jwks.json (kid ${r.kid})` : `REFUSED: ${r.problem}`}`);
          for (const item of r.resultset ?? []) {
            console.log(`   result ${item.id}:`);
            console.log(resultTable(item.result).replace(/^/gm, '     '));
          }
        }
        const delivered = outcomes.filter((x) => x.status === 'delivered').length;
        const verified = sim.accepted().length;
        const allMatch = computed.every(({ answer }) => sim.accepted().some((r) => r.resultset?.[0]?.id === `${answer.thread_id}#${answer.indicator_id}` && JSON.stringify(r.resultset[0].result) === JSON.stringify(resultOf(answer))));
        if (delivered !== computed.length || verified !== computed.length || !allMatch) {
          console.error(`Demo failed: ${computed.length} answer(s), ${delivered} delivered, ${verified} verified by the KIK-starter.`);
          process.exitCode = 1;
          return;
        }
        console.log(`6. Done: ${delivered} answer(s) delivered, signatures verified, results identical to what the board approved.`);
        console.log(`   Every step is in the audit log: \`npx kikv --config ${demoConfigFile} audit list\`.`);
      } finally {
        await sim.close();
        await app.close();
        ctx.close();
      }
    });

  program
    .command('sim')
    .description('run the simulated KIK-starter on its own, to receive and verify what `kikv serve` delivers')
    .option('-p, --port <n>', 'port to listen on', wholeNumber('--port'), 8090)
    .option('--agent-jwks <url>', 'where to fetch the agent\'s public keys (default: server.publicUrl + /.well-known/jwks.json)')
    .action(async (o: { port: number; agentJwks?: string }, cmd: Command) => {
      const cfg = loadConfig(configFileFrom(cmd.optsWithGlobals().config as string | undefined));
      const sim = await startKikStarterSim({
        did: cfg.delivery.kikStarter.did,
        agentDid: cfg.agent.did,
        agentJwks: o.agentJwks ?? `${cfg.server.publicUrl}/.well-known/jwks.json`,
        port: o.port,
        onReception: (r) => console.log(`${r.receivedAt} ${r.verified ? (r.duplicate ? 'repeat of' : 'VERIFIED') : 'REFUSED'} message ${r.messageId} (thread ${r.thid})${r.problem ? `: ${r.problem}` : ''}`),
      });
      console.log(`Simulated KIK-starter (${cfg.delivery.kikStarter.did}) receiving at ${sim.endpoint}; what it got: ${sim.url}/received`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sim.close();
    });
}

/** A delivery window for the demo: opened yesterday, closes in four weeks. */
function demoWindow(profile: string, year: number): { profile: string; year: number; opens: string; closes: string } {
  const day = 86_400_000;
  const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { profile, year, opens: iso(Date.now() - day), closes: iso(Date.now() + 28 * day) };
}
