import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { getRound, listRounds, RoundError, type Round } from '../../answers/rounds.js';
import type { AgentConfig } from '../../config/schema.js';
import type { Db } from '../../db/open.js';
import { answerBundle, verifyBundle, type BundleVerification } from '../../board/export/bundle.js';
import { openDataCsv } from '../../board/export/open-data-csv.js';
import { overviewPdf } from '../../board/export/pdf.js';
import { roundOverviews } from '../../board/overview.js';
import { UsageError, withAgent } from '../context.js';

/**
 * `kikv export csv|pdf|bundle --round PROFILE/YEAR [--out FILE]`: a round's answers in Zorginstituut's
 * open-data columns, the performance overview as a PDF, or the signed answer bundle for an auditor.
 * `kikv verify FILE`: checks a bundle offline (no configuration, database or network needed).
 */

function roundFrom(cfg: AgentConfig, db: Db, id: string | undefined): Round {
  if (!id) throw new UsageError(`say which round: --round PROFILE/YEAR, one of: ${listRounds(cfg, db).map((r) => r.id).join(', ') || 'none (configure indicators.profiles)'}`);
  try {
    return getRound(cfg, db, id);
  } catch (e) {
    if (e instanceof RoundError) throw new UsageError(`--round: ${e.message}`);
    throw e;
  }
}

function emit(out: string | undefined, data: string | Buffer, what: string): void {
  if (out) {
    writeFileSync(out, data);
    process.stderr.write(`${what} written to ${out}\n`);
  } else process.stdout.write(data);
}

/** The lines `kikv verify` prints, and whether every message verified. */
export function verificationReport(file: string, v: BundleVerification): { ok: boolean; text: string } {
  const lines: string[] = [];
  for (const m of v.messages) {
    lines.push(`${m.ok ? 'OK    ' : 'FAILED'} ${m.messageId}${m.kid ? ` (key ${m.kid})` : ''}`);
    for (const p of m.problems) lines.push(`       ${p}`);
  }
  // Problems with the bundle as a whole (format, keys) belong to no message.
  const own = v.problems.filter((p) => !v.messages.some((m) => m.problems.includes(p)));
  for (const p of own) lines.push(`FAILED ${p}`);
  if (v.ok) lines.push(v.checked === 0 ? `${file}: no signed messages in this bundle (nothing was delivered for the round yet)` : `${file}: all ${v.checked} signed messages verify`);
  else lines.push(`${file}: ${v.messages.filter((m) => !m.ok).length + (own.length > 0 ? 1 : 0)} problem(s); the bundle does not verify`);
  return { ok: v.ok, text: `${lines.join('\n')}\n` };
}

/** Reads and verifies a bundle file; a missing or non-JSON file is a usage error. */
export async function verifyFile(file: string): Promise<{ ok: boolean; text: string }> {
  if (!existsSync(file)) throw new UsageError(`${file} does not exist; give the file \`kikv export bundle --out FILE\` wrote`);
  let bundle: unknown;
  try {
    bundle = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (e) {
    throw new UsageError(`${file} is not JSON (${(e as Error).message}); give the file \`kikv export bundle --out FILE\` wrote`);
  }
  return verificationReport(file, await verifyBundle(bundle));
}

export function registerExportCommands(program: Command): void {
  const exp = program.command('export').description("Export a round: the open-data CSV, the performance overview as PDF, or the signed answer bundle for an auditor");
  const round = () => new Option('--round <id>', 'the delivery round, PROFILE/YEAR (see the board home page)');
  const out = () => new Option('--out <file>', 'write to this file instead of standard output');

  exp
    .command('csv')
    .description("Zorginstituut's open-data columns: one row per item and location (and the organisation), semicolon-separated, UTF-8 with BOM")
    .addOption(round())
    .addOption(out())
    .action(async (o: { round?: string; out?: string }, cmd: Command) =>
      withAgent(cmd, async ({ cfg, db }) => {
        const r = roundFrom(cfg, db, o.round);
        emit(o.out, await openDataCsv(cfg, db, r), `open-data CSV of ${r.id}`);
      }),
    );

  exp
    .command('pdf')
    .description('The performance overview (prestatieoverzicht) of every location of the round, A4')
    .addOption(round())
    .addOption(out())
    .action(async (o: { round?: string; out?: string }, cmd: Command) =>
      withAgent(cmd, async ({ cfg, db }) => {
        const r = roundFrom(cfg, db, o.round);
        if (!o.out && process.stdout.isTTY) throw new UsageError('a PDF is not for the terminal: give --out FILE (or redirect standard output)');
        emit(o.out, await overviewPdf(await roundOverviews(cfg, db, r)), `overview PDF of ${r.id}`);
      }),
    );

  exp
    .command('bundle')
    .description("The round's signed messages as sent, the agent's JWKS (retired keys too) and the answers' content: check it with `kikv verify FILE`")
    .addOption(round())
    .addOption(out())
    .action(async (o: { round?: string; out?: string }, cmd: Command) =>
      withAgent(cmd, async ({ cfg, db, trust }) => {
        const r = roundFrom(cfg, db, o.round);
        const bundle = await answerBundle(cfg, db, trust, r);
        emit(o.out, `${JSON.stringify(bundle, null, 2)}\n`, `answer bundle of ${r.id} (${bundle.messages.length} signed messages)`);
      }),
    );

  program
    .command('verify')
    .description('Check an answer bundle offline: every JWS against the bundle\'s keys, every signed result against the recorded answer. Exit 1 on any failure')
    .argument('<file>', 'the bundle (kikv export bundle --out FILE)')
    .action(async (file: string) => {
      const r = await verifyFile(file);
      process.stdout.write(r.text);
      if (!r.ok) process.exitCode = 1;
    });
}
