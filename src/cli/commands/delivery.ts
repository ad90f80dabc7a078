import type { Command } from 'commander';
import { listAudit, verifyAuditChain } from '../../audit/log.js';
import { runDeliveryRound } from '../../exchange/delivery-round.js';
import { listOutboxEntries } from '../../exchange/outbox.js';
import { deliverySettings, wholeNumber, withAgent } from '../context.js';
import { table } from '../format.js';

export function registerDeliveryCommands(program: Command): void {
  program
    .command('deliver')
    .description('sign and queue approved answers, then send every queued message that is due')
    .option('--all', 'also send pending messages whose next retry is not yet due')
    .action(async (o: { all?: boolean }, cmd: Command) =>
      withAgent(cmd, async (ctx) => {
        const s = deliverySettings(ctx.cfg);
        const round = await runDeliveryRound({ db: ctx.db, trust: ctx.trust, cfg: ctx.cfg, settings: s }, { actor: 'operator (cli)', ...(o.all ? { now: new Date('9999-12-31T00:00:00Z') } : {}) });
        const { outcomes } = round;
        console.log(`${round.answers.length} answer(s) signed and queued; ${round.responses.length} request response(s) signed and queued; ${outcomes.length} message(s) sent.`);
        for (const r of outcomes) console.log(`  ${r.id}  ${r.kind}  ${r.status}${r.error ? `  (attempt ${r.attempts}: ${r.error})` : ''}`);
        for (const u of round.unsent) console.log(`  request ${u.requestId}: response not signed: ${u.error}`);
        for (const f of round.failed) console.log(`  answer ${f.answerId}: not queued: ${f.error}`);
        for (const h of round.held) console.log(`  ${h.answerId ? `answer ${h.answerId}` : `request ${h.requestId}`}: held, round ${h.round} is ${h.phase} (nothing is sent outside its delivery window)`);
        if (outcomes.some((r) => r.status === 'failed') || round.unsent.length > 0 || round.failed.length > 0) process.exitCode = 1;
      }),
    );

  const outbox = program.command('outbox').description('the durable queue of signed messages');
  outbox
    .command('list')
    .description('list queued, delivered and failed messages')
    .action(async (_o, cmd: Command) =>
      withAgent(cmd, async ({ db }) => {
        const rows = listOutboxEntries(db);
        console.log(
          rows.length
            ? table(['message', 'kind', 'about', 'recipient', 'status', 'attempts', 'next attempt', 'last error'], rows.map((m) => [m.id, m.kind, m.subject.slice(0, 8), m.recipient, m.status === 'failed' ? 'FAILED' : m.status, String(m.attempts), m.status === 'pending' ? m.next_attempt_at : '', m.last_error ?? '']))
            : 'The outbox is empty: nothing has been approved and signed yet.',
        );
        const failed = rows.filter((m) => m.status === 'failed').length;
        if (failed > 0) console.log(`${failed} message(s) FAILED after the last retry: fix the cause (last error) and queue again, or tell the consumer.`);
      }),
    );

  const audit = program.command('audit').description('the append-only, hash-chained activity log');
  audit
    .command('list')
    .description('show the latest audit entries')
    .option('--subject <id>', 'only entries about this answer or thread')
    .option('--limit <n>', 'how many entries', wholeNumber('--limit'), 50)
    .action(async (o: { subject?: string; limit: number }, cmd: Command) =>
      withAgent(cmd, async ({ db }) => {
        console.log(table(['seq', 'time', 'actor', 'action', 'subject'], listAudit(db, o).map((e) => [String(e.seq), e.at, e.actor, e.action, e.subject ?? ''])));
      }),
    );
  audit
    .command('verify')
    .description('check that no audit entry was altered, removed or inserted')
    .action(async (_o, cmd: Command) =>
      withAgent(cmd, async ({ db }) => {
        const broken = verifyAuditChain(db);
        const n = (db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
        if (broken) {
          console.error(`Audit log broken at entry ${broken.seq}: it ${broken.problem}.`);
          process.exitCode = 1;
        } else console.log(`Audit log intact: ${n} entries, every hash link holds.`);
      }),
    );
}
