import type { Command } from 'commander';
import { configFileFrom, loadConfig } from '../../config/load.js';
import type { AgentConfig } from '../../config/schema.js';
import { checkSource, describeTarget, type SourceCheck, type TableCheck } from '../../sources/check.js';
import { UsageError } from '../context.js';
import { table } from '../format.js';

/**
 * `kikv sources list` and `kikv sources test [NAME]`. Both read the configuration only: they open no
 * agent state, so they can be run before the first import, and by an operator without the keys.
 */
export function registerSourcesCommands(program: Command): void {
  const sources = program.command('sources').description('the configured source connectors (csv, json, pg)');

  sources
    .command('list')
    .description('list the configured sources: name, type, where, and which one the mapping reads')
    .action(async (_o, cmd: Command) => {
      const cfg = configOf(cmd);
      out(
        table(
          ['name', 'type', 'target', 'mapping source'],
          Object.entries(cfg.sources).map(([name, src]) => [name, src.type, describeTarget(src), cfg.mapping.source === name ? 'yes' : '']),
        ),
      );
    });

  sources
    .command('test')
    .description('check a source: connect or open it, count rows, check the staging columns; exit 1 when something is wrong')
    .argument('[name]', 'the source to check (default: every configured source)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const cfg = configOf(cmd);
      const names = Object.keys(cfg.sources);
      if (name !== undefined && !(name in cfg.sources)) {
        throw new UsageError(`no source named "${name}" in ${cfg.file}; configured sources: ${names.join(', ')}`);
      }
      const checks: SourceCheck[] = [];
      for (const n of name === undefined ? names : [name]) {
        const check = await checkSource(cfg, n);
        checks.push(check);
        if (!o.json) printCheck(check);
      }
      if (o.json) out(JSON.stringify(name === undefined ? checks : checks[0], null, 2));
      if (checks.some((c) => !c.ok)) process.exitCode = 1;
    });
}

function configOf(cmd: Command): AgentConfig {
  return loadConfig(configFileFrom(cmd.optsWithGlobals().config as string | undefined));
}

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

function printCheck(c: SourceCheck): void {
  out(`Source "${c.name}" (${c.type}${c.mappingSource ? ', the mapping source' : ''}): ${c.target}`);
  if (c.tables.length > 0) {
    const where = c.type === 'pg' ? 'table' : 'file';
    out(
      table(
        ['name', where, c.type === 'json' ? 'records' : 'rows', 'status'],
        c.tables.map((t) => [t.name, t.table ?? t.file ?? '', t.rows === null ? '-' : String(t.rows), status(t)]),
      ),
    );
  }
  for (const w of c.warnings) out(`warning: ${w}`);
  if (c.ok) {
    const rows = c.tables.reduce((n, t) => n + (t.rows ?? 0), 0);
    const what = c.type === 'pg' ? 'table' : 'file';
    out(`OK: ${c.tables.filter((t) => t.rows !== null).length} ${what}(s), ${rows} ${c.type === 'json' ? 'record' : 'row'}(s)${c.warnings.length ? `, ${c.warnings.length} warning(s)` : ''}.`);
  } else {
    process.stderr.write(`Source "${c.name}" has ${c.problems.length} problem${c.problems.length === 1 ? '' : 's'}:\n${c.problems.map((p) => `  - ${p}\n`).join('')}`);
  }
  out('');
}

function status(t: TableCheck): string {
  if (t.rows === null) return t.problem?.includes('not found') || t.problem?.includes('does not exist') ? 'MISSING' : 'NOT READ';
  const parts: string[] = [];
  if (t.missingColumns.length) parts.push(`missing ${t.missingColumns.join(', ')}`);
  if (t.missingOptional.length) parts.push(`no optional ${t.missingOptional.join(', ')}`);
  if (!parts.length && t.problem) parts.push('NOT READ');
  return parts.length ? parts.join('; ') : 'ok';
}
