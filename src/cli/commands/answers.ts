import type { Command } from 'commander';
import { approveAnswer, getAnswer, listAnswers, rejectAnswer, resultOf, type AnswerStatus } from '../../answers/answers.js';
import { listAudit } from '../../audit/log.js';
import { deliverDue, queueApprovedAnswers } from '../../exchange/outbox.js';
import { UsageError, deliverySettings, withAgent } from '../context.js';
import { answerRows, resultTable, table } from '../format.js';

const STATUSES: AnswerStatus[] = ['awaiting_approval', 'approved', 'rejected', 'delivered'];

export function registerAnswerCommands(program: Command): void {
  const answers = program.command('answers').description('review, approve and reject computed answers');

  answers
    .command('list')
    .description('list answers with their status')
    .option('--status <status>', `only answers with this status (${STATUSES.join(', ')})`)
    .action(async (o: { status?: string }, cmd: Command) => {
      if (o.status && !STATUSES.includes(o.status as AnswerStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      await withAgent(cmd, async ({ db }) => {
        const rows = listAnswers(db, o.status as AnswerStatus | undefined);
        console.log(rows.length ? answerRows(rows) : 'No answers yet: run `kikv import` and `kikv compute` (or `kikv serve`).');
      });
    });

  answers
    .command('show')
    .description('show one answer: what will be sent, where it comes from, and its history')
    .argument('<id>', 'answer id (the first 8 characters suffice)')
    .action(async (id: string, _o, cmd: Command) =>
      withAgent(cmd, async ({ db }) => {
        const a = getAnswer(db, id);
        console.log(`Answer ${a.id}`);
        console.log(`  indicator      ${a.indicator_name} (${a.indicator_id}), reporting year ${a.reporting_year}`);
        console.log(`  profile        ${a.profile} ${a.profile_version}`);
        const decision = a.decided_by ? `; ${a.approved_hash ? 'approved' : 'rejected'} by ${a.decided_by} at ${a.decided_at}` : '';
        console.log(`  status         ${a.status.replace('_', ' ')}${decision}${a.decision_reason ? ` (${a.decision_reason})` : ''}${a.delivered_at ? `; delivered at ${a.delivered_at}` : ''}`);
        console.log(`  parameters     ${a.parameters}`);
        console.log(`  snapshot       ${a.snapshot_hash}`);
        console.log(`  query sha-256  ${a.query_hash}`);
        console.log(`  content hash   ${a.content_hash}`);
        console.log(`  request/thread ${a.thread_id}`);
        console.log('\nResult (what will be sent):');
        console.log(resultTable(resultOf(a)));
        console.log('\nHistory:');
        console.log(table(['time', 'actor', 'action'], listAudit(db, { subject: a.id }).map((e) => [e.at, e.actor, e.action])));
      }),
    );

  answers
    .command('approve')
    .description('approve an answer as a board member; it is then signed and delivered')
    .argument('<id>', 'answer id (the first 8 characters suffice)')
    .requiredOption('--as <name>', 'who approves (recorded in the audit log)')
    .option('--no-deliver', 'only approve; leave signing and delivery to `kikv serve` or `kikv deliver`')
    .action(async (id: string, o: { as: string; deliver: boolean }, cmd: Command) =>
      withAgent(cmd, async (ctx) => {
        const a = approveAnswer(ctx.db, id, o.as);
        console.log(`Approved ${a.indicator_name} (${a.id}) as ${o.as}; content hash ${a.approved_hash}.`);
        if (!o.deliver) return;
        const s = deliverySettings(ctx.cfg);
        await queueApprovedAnswers(ctx.db, ctx.key, s, o.as);
        for (const r of await deliverDue(ctx.db, s)) {
          if (r.answerId !== a.id) continue;
          if (r.status === 'delivered') console.log(`Signed and delivered to ${s.kikStarter.endpoint} (message ${r.id}).`);
          else console.log(`Signed and queued; delivery attempt ${r.attempts} failed: ${r.error}. \`kikv serve\` keeps retrying; see \`kikv outbox list\`.`);
        }
      }),
    );

  answers
    .command('reject')
    .description('reject an answer; it will not be sent')
    .argument('<id>', 'answer id (the first 8 characters suffice)')
    .requiredOption('--as <name>', 'who rejects (recorded in the audit log)')
    .requiredOption('--reason <text>', 'why, so quality staff know what to correct')
    .action(async (id: string, o: { as: string; reason: string }, cmd: Command) =>
      withAgent(cmd, async ({ db }) => {
        const a = rejectAnswer(db, id, o.as, o.reason);
        console.log(`Rejected ${a.indicator_name} (${a.id}) as ${o.as}: ${o.reason}`);
      }),
    );
}
