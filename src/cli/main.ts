#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { AnswerStateError } from '../answers/answers.js';
import { ConfigError } from '../config/load.js';
import { SourceFileError } from '../sources/csv.js';
import { UsageError } from './context.js';
import { registerAnswerCommands } from './commands/answers.js';
import { registerDataCommands } from './commands/data.js';
import { registerDeliveryCommands } from './commands/delivery.js';
import { registerExportCommands } from './commands/export.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerReportCommands } from './commands/report.js';
import { registerProfileCommands } from './commands/profile.js';
import { registerRunCommands } from './commands/run.js';
import { registerSimCommands } from './commands/sim.js';
import { registerSourcesCommands } from './commands/sources.js';
import { registerStatusCommand } from './commands/status.js';
import { registerUsersCommands } from './commands/users.js';

/** Exit codes: 0 success, 1 the job failed, 2 usage or configuration error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function buildProgram(): Command {
  const program = new Command('kikv')
    .description('KIK-V datastation agent: maps provider data to ONZ RDF, computes indicators, holds answers for board approval, signs and delivers them.')
    .addOption(new Option('-c, --config <file>', 'configuration file (default: $KIKV_CONFIG, else the embedded config/default.yaml)'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerRunCommands(program);
  registerDataCommands(program);
  registerProfileCommands(program);
  registerAnswerCommands(program);
  registerDeliveryCommands(program);
  registerExportCommands(program);
  registerKeysCommands(program);
  registerReportCommands(program);
  registerSourcesCommands(program);
  registerSimCommands(program);
  registerStatusCommand(program);
  registerUsersCommands(program);
  // Every subcommand reports usage errors the same way (exit 2) instead of exiting on its own.
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof ConfigError || e instanceof UsageError) {
      process.stderr.write(`${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof AnswerStateError || e instanceof SourceFileError) {
      process.stderr.write(`${e.message}\n`);
      return EXIT.failed;
    }
    process.stderr.write(`kikv: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.failed;
  }
}

// Run when executed directly (bin or `node dist/cli/main.js`), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(?:^|[\\/])(?:kikv|main\.[jt]s)$/.test(invoked)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`kikv: ${String(e)}\n`);
      process.exit(EXIT.failed);
    },
  );
}
