import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Db } from '../../db/open.js';
import { renderReportHtml } from '../../report/html.js';
import type { ProcessingReport, SourceReport } from '../../report/types.js';
import { UsageError, withAgent } from '../context.js';

/** Where the last import's processing report is, and what the database says about that import. */
export interface LastReport {
  /** The JSON report. */
  jsonFile: string;
  /** The HTML rendering beside it (same name, .html); it may not exist for older imports. */
  htmlFile: string;
  /** The import run it belongs to, when runs are recorded. */
  run?: { id: number; status: string; trigger: string; startedAt: string; finishedAt: string | null };
  /** The snapshot the import made, if any. */
  snapshot?: string;
  /** Set when the last import run wrote no report and this is an earlier one's. */
  note?: string;
}

export function htmlFileFor(jsonFile: string): string {
  return /\.json$/i.test(jsonFile) ? jsonFile.replace(/\.json$/i, '.html') : `${jsonFile}.html`;
}

interface RunRow {
  id: number;
  trigger: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  snapshot_hash: string | null;
  report_file: string | null;
  error: string | null;
}

function tableExists(db: Db, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

/**
 * The last import's report: the newest finished import run that wrote one, else the newest snapshot's.
 * Null when no import has written a report yet.
 */
export function lastImportReport(db: Db): LastReport | null {
  let note: string | undefined;
  if (tableExists(db, 'import_runs')) {
    const last = db.prepare(`SELECT * FROM import_runs WHERE status <> 'running' ORDER BY id DESC LIMIT 1`).get() as RunRow | undefined;
    const withReport = last?.report_file
      ? last
      : (db.prepare(`SELECT * FROM import_runs WHERE status <> 'running' AND report_file IS NOT NULL ORDER BY id DESC LIMIT 1`).get() as RunRow | undefined);
    if (last && !last.report_file) {
      note = `The last import (run #${last.id}, ${last.status}${last.finished_at ? ` at ${last.finished_at}` : ''}) wrote no report${last.error ? `: ${last.error}` : ''}.`;
    }
    if (withReport?.report_file) {
      return {
        jsonFile: withReport.report_file,
        htmlFile: htmlFileFor(withReport.report_file),
        run: { id: withReport.id, status: withReport.status, trigger: withReport.trigger, startedAt: withReport.started_at, finishedAt: withReport.finished_at },
        ...(withReport.snapshot_hash ? { snapshot: withReport.snapshot_hash } : {}),
        ...(note ? { note: `${note} Showing the report of run #${withReport.id}.` } : {}),
      };
    }
  }
  const snap = db.prepare('SELECT hash, report_file FROM snapshots ORDER BY created_at DESC LIMIT 1').get() as { hash: string; report_file: string } | undefined;
  if (!snap) return null;
  return { jsonFile: snap.report_file, htmlFile: htmlFileFor(snap.report_file), snapshot: snap.hash, ...(note ? { note: `${note} Showing the report of the latest snapshot.` } : {}) };
}

/**
 * Reads a report file, filling in what older report files lack (they predate some fields), so the
 * summary and the HTML never fail on an old import.
 */
export function readReportFile(file: string): ProcessingReport {
  if (!existsSync(file)) throw new Error(`the processing report ${file} recorded for the last import no longer exists; run \`kikv import\` to make a new one`);
  let raw: Partial<ProcessingReport> & { files?: Array<Partial<SourceReport>> };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw;
  } catch (e) {
    throw new Error(`the processing report ${file} is not valid JSON (${(e as Error).message}); run \`kikv import\` to make a new one`);
  }
  const files: SourceReport[] = (raw.files ?? []).map((f) => ({
    file: f.file ?? '?',
    ...(f.table ? { table: f.table } : {}),
    rowsRead: f.rowsRead ?? 0,
    rowsMapped: f.rowsMapped ?? 0,
    rowsRejected: f.rowsRejected ?? 0,
    triples: f.triples ?? 0,
    rejections: f.rejections ?? [],
  }));
  const sum = (k: 'rowsRead' | 'rowsMapped' | 'rowsRejected' | 'triples') => files.reduce((n, f) => n + f[k], 0);
  return {
    startedAt: raw.startedAt ?? '',
    finishedAt: raw.finishedAt ?? '',
    source: raw.source ?? '',
    mapping: raw.mapping ?? { file: '', sha256: '' },
    ontology: raw.ontology ?? '',
    ...(raw.period ? { period: raw.period } : {}),
    files,
    fileErrors: raw.fileErrors ?? [],
    totals: { rowsRead: sum('rowsRead'), rowsMapped: sum('rowsMapped'), rowsRejected: sum('rowsRejected'), triples: sum('triples'), ...raw.totals },
    violations: raw.violations ?? [],
    missing: raw.missing ?? [],
    ...(raw.snapshot ? { snapshot: raw.snapshot } : {}),
  };
}

/** A few lines for the operator: what the import read, what it rejected, what the data lacks. */
export function formatReportSummary(r: ProcessingReport, where: LastReport, maxMissing = 5): string {
  const out: string[] = [];
  const run = where.run ? ` (run #${where.run.id}, ${where.run.trigger}, ${where.run.status})` : '';
  out.push(`Last import${run}${r.finishedAt ? `, finished ${r.finishedAt}` : ''}`);
  if (where.note) out.push(`  note        ${where.note}`);
  out.push(`  source      ${r.source || '?'}`);
  const snapshot = r.snapshot ?? where.snapshot;
  out.push(`  snapshot    ${snapshot ?? 'none made'}`);
  if (r.ontology) out.push(`  ontology    ${r.ontology}`);
  if (r.mapping.file) out.push(`  mapping     ${r.mapping.file}${r.mapping.sha256 ? ` (sha256 ${r.mapping.sha256.slice(0, 12)}…)` : ''}`);
  if (r.period) out.push(`  data period ${r.period.from} – ${r.period.to}`);
  out.push(`  rows        ${r.totals.rowsRead} read, ${r.totals.rowsMapped} mapped, ${r.totals.rowsRejected} rejected; ${r.totals.triples} statements`);
  for (const e of r.fileErrors) out.push(`  NOT READ    ${e.file}: ${e.reason}`);
  const count = (s: string) => r.violations.filter((v) => v.severity === s).length;
  out.push(`  SHACL       ${count('Violation')} violation(s), ${count('Warning')} warning(s), ${count('Info')} note(s)`);
  if (r.missing.length === 0) out.push('  missing     nothing: every indicator has the data it needs');
  else {
    out.push(`  missing     ${r.missing.length} indicator(s) lack data:`);
    for (const m of r.missing.slice(0, maxMissing)) out.push(`              ${m.message}`);
    if (r.missing.length > maxMissing) out.push(`              ... and ${r.missing.length - maxMissing} more in the report`);
  }
  out.push(`Report (JSON) ${where.jsonFile}`);
  out.push(`Report (HTML) ${where.htmlFile}${existsSync(where.htmlFile) ? '' : ' (not written by this import; `kikv report --html` renders it)'}`);
  return out.join('\n');
}

export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description("show the last import's processing report: what was read, rejected and why, SHACL results, and what data each indicator lacks")
    .option('--json', 'print the whole report as JSON')
    .option('--html', 'print the report as a self-contained HTML page')
    .action(async (o: { json?: boolean; html?: boolean }, cmd: Command) => {
      if (o.json && o.html) throw new UsageError('choose one of --json and --html');
      await withAgent(cmd, async (ctx) => {
        const where = lastImportReport(ctx.db);
        if (!where) {
          process.stderr.write('There is no processing report yet: no import has run. Run `kikv import` first.\n');
          process.exitCode = 1;
          return;
        }
        let report: ProcessingReport;
        try {
          report = readReportFile(where.jsonFile);
        } catch (e) {
          process.stderr.write(`${(e as Error).message}\n`);
          process.exitCode = 1;
          return;
        }
        if (o.json || o.html) {
          if (where.note) process.stderr.write(`${where.note}\n`);
          // --json prints the file as written (it may hold more than this version knows); --html the page beside it.
          if (o.json) process.stdout.write(readFileSync(where.jsonFile, 'utf8'));
          else process.stdout.write(existsSync(where.htmlFile) ? readFileSync(where.htmlFile, 'utf8') : renderReportHtml(report));
          return;
        }
        console.log(formatReportSummary(report, where));
      });
    });
}
