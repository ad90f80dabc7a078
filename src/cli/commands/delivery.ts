import type { Command } from 'commander';
import { listAudit, verifyAuditChain } from '../../audit/log.js';
import { jwksOf } from '../../exchange/keys.js';
import { deliverDue, listOutbox, queueApprovedAnswers } from '../../exchange/outbox.js';
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
        const queued = await queueApprovedAnswers(ctx.db, ctx.key, s, 'operator (cli)');
        const outcomes = await deliverDue(ctx.db, s, o.all ? new Date('9999-12-31T00:00:00Z') : new Date());
        console.log(`${queued.length} answer(s) signed and queued; ${outcomes.length} message(s) sent.`);
        for (const r of outcomes) console.log(`  ${r.id}  ${r.status}${r.error ? `  (attempt ${r.attempts}: ${r.error})` : ''}`);
        if (outcomes.some((r) => r.status === 'failed')) process.exitCode = 1;
      }),
    );

  const outbox = program.command('outbox').description('the durable queue of signed messages');
  outbox
    .command('list')
    .description('list queued, delivered and failed messages')
    .action(async (_o, cmd: Command) =>
      withAgent(cmd, async ({ db }) => {
        const rows = listOutbox(db);
        console.log(
          rows.length
            ? table(['message', 'answer', 'status', 'attempts', 'next attempt', 'last error'], rows.map((m) => [m.id, m.answer_id.slice(0, 8), m.status, String(m.attempts), m.status === 'pending' ? m.next_attempt_at : '', m.last_error ?? '']))
            : 'The outbox is empty: nothing has been approved and signed yet.',
        );
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

  const keys = program.command('keys').description('the agent\'s signing keys (standalone trust)');
  keys
    .command('show')
    .description('print the public signing key (JWKS) and where the private key is kept')
    .action(async (_o, cmd: Command) =>
      withAgent(cmd, async ({ cfg, key }) => {
        console.log(`kid ${key.kid}; private key in ${cfg.trust.keysDir} (mode 0600)`);
        console.log(JSON.stringify(jwksOf(key), null, 2));
      }),
    );
}
