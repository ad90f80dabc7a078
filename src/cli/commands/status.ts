import type { Command } from 'commander';
import { importStatus, type ImportStatus, type Instant, type RunSummary } from '../../scheduler/status.js';
import { withAgent } from '../context.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show the last import run (when, result, snapshot, report), the snapshot in use, the next scheduled run, and whether an import is running')
    .option('--json', 'print the status as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) =>
      withAgent(cmd, async (ctx) => {
        const s = importStatus(ctx.cfg, ctx.db);
        console.log(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      }),
    );
}

const when = (t: Instant) => `${t.local} (${t.iso})`;

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function runLines(r: RunSummary): string[] {
  const out = [`  started       ${when(r.startedAt)}`];
  if (r.finishedAt) out.push(`  finished      ${when(r.finishedAt)}${r.durationMs !== null ? `, took ${duration(r.durationMs)}` : ''}`);
  if (r.status !== 'running') out.push(`  snapshot      ${r.snapshot ?? 'none made'}`);
  if (r.reportFile) out.push(`  report        ${r.reportFile}`);
  if (r.rows) out.push(`  rows          ${r.rows.read} read, ${r.rows.mapped} mapped, ${r.rows.rejected} rejected`);
  if (r.error) out.push(`  error         ${r.error}`);
  return out;
}

/** The operator's view of imports, in plain text. */
export function formatStatus(s: ImportStatus): string {
  const out: string[] = [];
  const off = s.schedule === 'off';
  out.push(`Import schedule ${off ? 'off (imports run only with `kikv import`, or at the first start)' : `"${s.schedule}" in ${s.timezone}`}`);
  out.push(`Next run        ${off ? 'none: schedule off' : s.nextRun ? when(s.nextRun) : 'none: the schedule never fires again'}`);
  if (!s.inProgress) out.push('In progress     no');
  else if (s.inProgress.stale) out.push(`In progress     no: run #${s.inProgress.id} (${s.inProgress.trigger}) was left unfinished (${s.inProgress.stale}); it is marked interrupted at the next start or import`);
  else {
    out.push(`In progress     yes: run #${s.inProgress.id} (${s.inProgress.trigger}) by process ${s.inProgress.holder.pid} on ${s.inProgress.holder.host}`);
    out.push(`  started       ${when(s.inProgress.startedAt)}`);
  }
  if (!s.lastRun) out.push('Last run        none recorded yet');
  else {
    out.push(`Last run        #${s.lastRun.id} (${s.lastRun.trigger}): ${s.lastRun.status.toUpperCase()}`);
    out.push(...runLines(s.lastRun));
  }
  if (!s.snapshot) out.push('Snapshot in use none yet: run `kikv import`');
  else if (!s.lastRun || s.lastRun.status !== 'succeeded' || s.lastRun.snapshot !== s.snapshot.hash) {
    out.push(`Snapshot in use ${s.snapshot.hash}${s.lastRun && s.lastRun.status !== 'succeeded' ? ` (the last successful import; run #${s.lastRun.id} ${s.lastRun.status === 'failed' ? 'failed' : 'was interrupted'} and left it in place)` : ''}`);
    out.push(`  made          ${when(s.snapshot.createdAt)}${s.snapshot.run !== null ? ` by run #${s.snapshot.run}` : ''}`);
    out.push(`  report        ${s.snapshot.reportFile}`);
  } else {
    out.push(`Snapshot in use ${s.snapshot.hash} (from the last run)`);
  }
  return out.join('\n');
}
