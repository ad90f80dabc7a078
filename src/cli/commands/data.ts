import type { Command } from 'commander';
import { mappingDirectory } from '../../config/schema.js';
import { computeAnswers } from '../../pipeline/compute.js';
import { importSource, latestSnapshotHash, summariseReport } from '../../pipeline/import.js';
import { DEFAULT_SAMPLE, DEFAULT_YEARS, writeSample } from '../../sample/generate.js';
import { ImportBusyError, runRecordedImport } from '../../scheduler/runs.js';
import { UsageError, wholeNumber, withAgent } from '../context.js';
import { answerRows } from '../format.js';

export function registerDataCommands(program: Command): void {
  program
    .command('generate')
    .description('write a fictitious provider\'s source exports (CSV, one file per staging table) for testing and demos')
    .requiredOption('--out <dir>', 'directory to write the CSV files to')
    .option('--employees <n>', 'number of staff members', wholeNumber('--employees'), DEFAULT_SAMPLE.employees)
    .option('--clients <n>', 'number of clients', wholeNumber('--clients'), DEFAULT_SAMPLE.clients)
    .option('--locations <n>', 'number of locations (vestigingen)', wholeNumber('--locations'), DEFAULT_SAMPLE.locations)
    .option('--seed <s>', 'random seed; the same seed gives the same files', wholeNumber('--seed'), DEFAULT_SAMPLE.seed)
    .option('--from-year <y>', 'first calendar year the data covers', wholeNumber('--from-year'), DEFAULT_YEARS.from)
    .option('--to-year <y>', 'last calendar year the data covers', wholeNumber('--to-year'), DEFAULT_YEARS.to)
    .action(async (o: { out: string; employees: number; clients: number; locations: number; seed: number; fromYear: number; toYear: number }) => {
      if (o.locations < 1) throw new UsageError('--locations must be at least 1');
      if (o.toYear < o.fromYear) throw new UsageError(`--to-year ${o.toYear} is before --from-year ${o.fromYear}`);
      const years = { from: o.fromYear, to: o.toYear };
      const files = await writeSample({ employees: o.employees, clients: o.clients, locations: o.locations, seed: o.seed, years }, o.out);
      console.log(`Wrote ${files.length} files to ${o.out} (seed ${o.seed}: ${o.employees} staff, ${o.clients} clients, ${o.locations} locations, ${years.from}–${years.to}).`);
    });

  program
    .command('import')
    .description('read the configured source, map it to ONZ RDF, store a snapshot and print the processing report')
    .action(async (_o, cmd: Command) =>
      withAgent(cmd, async (ctx) => {
        // Recorded as a manual import run; refused while another import (e.g. `kikv serve`'s schedule) runs.
        let recorded;
        try {
          recorded = await runRecordedImport(ctx.cfg, ctx.db, 'manual', importSource);
        } catch (e) {
          if (!(e instanceof ImportBusyError)) throw e;
          console.error(`Not imported: ${e.message}.`);
          process.exitCode = 1;
          return;
        }
        if (recorded.error !== undefined) throw recorded.error;
        const r = recorded.result!;
        console.log(`Import of ${mappingDirectory(ctx.cfg)} (run #${recorded.run.id})`);
        console.log(summariseReport(r.report));
        console.log(`Processing report: ${r.reportFile} (readable: ${r.reportFile.replace(/\.json$/, '.html')}; \`kikv report\` shows it again)`);
        if (!r.snapshot) {
          console.error('No snapshot was made: fix the files listed as NOT READ and import again.');
          process.exitCode = 1;
          return;
        }
        console.log(`Snapshot ${r.snapshot.meta.hash} (${r.snapshot.meta.quads} statements).`);
      }),
    );

  program
    .command('compute')
    .description('run the configured indicator profiles on the latest snapshot; the answers wait for the board')
    .action(async (_o, cmd: Command) =>
      withAgent(cmd, async (ctx) => {
        const hash = latestSnapshotHash(ctx.db);
        if (!hash) throw new UsageError('there is no snapshot yet; run `kikv import` first');
        const answers = await computeAnswers(ctx.cfg, ctx.db, hash, 'operator (cli)');
        console.log(answerRows(answers.map((a) => a.answer)));
        console.log(`${answers.filter((a) => a.created).length} new answer(s); review with \`kikv answers show ID\`, then approve or reject.`);
      }),
    );
}
