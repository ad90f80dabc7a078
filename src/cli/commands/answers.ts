import type { Command } from 'commander';
import { AnswerStateError, approveAnswer, getAnswer, listAnswers, rejectAnswer, resultOf, type Answer, type AnswerStatus } from '../../answers/answers.js';
import { roundOfAnswer, type Round } from '../../answers/rounds.js';
import { listAudit } from '../../audit/log.js';
import type { AgentConfig } from '../../config/schema.js';
import { runDeliveryRound } from '../../exchange/delivery-round.js';
import { loadPack } from '../../indicators/pack.js';
import { UsageError, deliverySettings, withAgent } from '../context.js';
import { answerRows, resultTable, table } from '../format.js';

const STATUSES: AnswerStatus[] = ['awaiting_approval', 'approved', 'rejected', 'delivered'];

/** The round whose board review covers this answer: a configured profile's round, for an item of its pack. */
function reviewRoundOf(cfg: AgentConfig, a: Answer): Round | undefined {
  const round = roundOfAnswer(cfg, a);
  if (!round) return undefined;
  return loadPack(cfg.indicators.packs, round.profile, round.version).manifest.indicators.some((i) => i.id === a.indicator_id) ? round : undefined;
}

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
        // A round's items are approved per location by the board (four-eyes, the password again), never one by one here.
        const target = getAnswer(ctx.db, id);
        const review = reviewRoundOf(ctx.cfg, target);
        if (review) {
          throw new AnswerStateError(
            `answer ${target.id} is item ${target.indicator_id} of round ${review.id}: the board approves it per location on the board's page /rondes/${review.profile}/${review.year} (\`kikv serve\`), or with POST /api/rounds/${review.profile}/${review.year}/indelingen/INDELING/approve; \`kikv answers approve\` only approves answers outside any round (a request's own queries)`,
          );
        }
        const a = approveAnswer(ctx.db, id, o.as);
        console.log(`Approved ${a.indicator_name} (${a.id}) as ${o.as}; content hash ${a.approved_hash}.`);
        if (!o.deliver) return;
        const s = deliverySettings(ctx.cfg);
        const round = await runDeliveryRound({ db: ctx.db, trust: ctx.trust, cfg: ctx.cfg, settings: s }, { actor: o.as });
        // The answer goes alone, or inside the response to each request it answers (once all its answers are approved).
        const carriers = new Map<string, string>(round.answers.filter((m) => m.answer_id === a.id).map((m) => [m.id, `to ${m.recipient}`]));
        for (const m of round.responses) if ((JSON.parse(m.answer_ids) as string[]).includes(a.id)) carriers.set(m.id, `in the response to request ${m.about_id}, to ${m.recipient}`);
        for (const r of round.outcomes) {
          const where = carriers.get(r.id);
          if (!where) continue;
          if (r.status === 'delivered') console.log(`Signed and delivered ${where} (message ${r.id}).`);
          else console.log(`Signed and queued ${where}; delivery attempt ${r.attempts} failed: ${r.error}. \`kikv serve\` keeps retrying; see \`kikv outbox list\`.`);
        }
        for (const f of round.failed) console.log(`Answer ${f.answerId} could not be signed or queued: ${f.error}`);
        for (const u of round.unsent) console.log(`Request ${u.requestId}: the response could not be signed: ${u.error}`);
        const waiting = ctx.db.prepare(`SELECT l.request_id AS id FROM request_answers l WHERE l.answer_id = ? AND EXISTS (SELECT 1 FROM request_answers o JOIN answers x ON x.id = o.answer_id WHERE o.request_id = l.request_id AND x.status = 'awaiting_approval')`).all(a.id) as Array<{ id: string }>;
        for (const w of waiting) console.log(`Request ${w.id} still waits for the approval of its other answers; its response is sent when all are approved.`);
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
