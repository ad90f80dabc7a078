import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appendAudit } from '../audit/log.js';
import { mappingDirectory, type AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { RmlError } from '../mapping/rml/errors.js';
import { loadMapping, runMapping } from '../mapping/rml/index.js';
import type { OpenSource, RecordOrigin } from '../mapping/rml/types.js';
import { Parser, Store, type Quad } from 'n3';
import { calendarLines, calendarSpan } from '../ontology/calendar.js';
import { renderReportHtml } from '../report/html.js';
import { loadIndicatorRequirements, missingData } from '../report/missing.js';
import { missingDataSubset } from '../report/missing-subset.js';
import type { ProcessingReport, ShaclViolation, SourceReport } from '../report/types.js';
import { validateQuads } from '../validation/shacl.js';
import { SourceFileError } from '../sources/csv.js';
import { pgOpenSource } from '../sources/pg.js';
import { loadStagingSchema } from '../sources/staging.js';
import { sha256, storeSnapshotFromLines, writeAtomically, type SnapshotMeta } from '../store/snapshot.js';
import { checkStagingTables, stagingOpenSource, type StagingCheck } from './staging-source.js';

export interface ImportResult {
  report: ProcessingReport;
  /** The JSON report; the HTML rendering sits beside it with the same name. */
  reportFile: string;
  /** Absent when the import stopped on a structural problem (missing file, unreachable database). */
  snapshot?: { meta: SnapshotMeta };
}

/**
 * Source -> checks -> RML mapping -> calendar -> snapshot, with its processing report.
 *
 * Pass 1 checks the staging tables row by row; pass 2 runs the RML mapping, which reads the accepted
 * rows of those tables (and any other source the mapping names) as a stream. A structural problem
 * stops the import before a snapshot is written, so the previous snapshot stays the latest.
 */
export async function importSource(cfg: AgentConfig, db: Db, actor: string): Promise<ImportResult> {
  const startedAt = new Date().toISOString();
  const dir = mappingDirectory(cfg);
  const src = cfg.sources[cfg.mapping.source]!;
  const csv = { delimiter: src.type === 'csv' ? src.delimiter : ',', encoding: src.type === 'pg' ? 'utf-8' : src.encoding, trim: true };
  const report: ProcessingReport = {
    startedAt,
    finishedAt: startedAt,
    source: dir,
    mapping: { file: cfg.mapping.rules, sha256: '' },
    ontology: cfg.mapping.ontology,
    files: [],
    fileErrors: [],
    totals: { rowsRead: 0, rowsMapped: 0, rowsRejected: 0, triples: 0 },
    violations: [],
    missing: [],
  };
  const reportFile = reportPath(cfg, startedAt);
  const stop = (file: string, reason: string): ImportResult => {
    report.fileErrors.push({ file, reason });
    return finish(cfg, db, actor, report, reportFile);
  };

  let mapping;
  try {
    mapping = await loadMapping(cfg.mapping.rules);
    report.mapping.sha256 = sha256(readFileSync(cfg.mapping.rules));
  } catch (e) {
    if (e instanceof RmlError) return stop(cfg.mapping.rules, e.message);
    throw e;
  }

  const clock = stopwatch();
  const schema = cfg.mapping.staging && src.type === 'csv' ? loadStagingSchema(cfg.mapping.staging) : undefined;
  const check: StagingCheck = schema ? await checkStagingTables(dir, schema, csv) : { reports: [], rejected: new Map(), fileErrors: [] };
  report.period = check.period;
  report.timings = { checkMs: clock() };
  if (check.fileErrors.length > 0) {
    report.files = check.reports;
    report.fileErrors = check.fileErrors;
    return finish(cfg, db, actor, report, reportFile);
  }

  // Which engine label reads which staging file; other sources get their own report entry.
  const stagingLabels = new Map<string, string>();
  const byFile = new Map<string, SourceReport>(check.reports.map((r) => [r.file, r]));
  const staging: OpenSource = schema ? stagingOpenSource(dir, schema, check, csv, stagingLabels) : () => undefined;
  const pg = pgOpenSource(cfg);
  const lines: string[] = [];
  // The first record that produced each subject, to trace SHACL violations back to a source row;
  // not kept beyond the size SHACL validates.
  const origins = new Map<string, RecordOrigin>();
  let stats;
  try {
    stats = await runMapping(mapping, {
      baseIri: cfg.mapping.baseIri,
      mappingDirectory: dirname(cfg.mapping.rules),
      currentWorkingDirectory: dir,
      openSource: (spec) => staging(spec) ?? pg(spec),
      emit(statement, origin) {
        lines.push(statement);
        if (lines.length > cfg.mapping.validateUpTo) return;
        const subject = statement.slice(0, statement.indexOf(' '));
        if (!origins.has(subject)) origins.set(subject, origin);
      },
      onRecordError(error, origin) {
        report.violations.push({ severity: 'Violation', focusNode: '', message: error.message, shape: 'rml', origin: { file: stagingLabels.get(origin.source) ?? origin.source, row: origin.row } });
      },
    });
  } catch (e) {
    if (e instanceof SourceFileError || e instanceof RmlError) return stop(e instanceof SourceFileError ? e.file : cfg.mapping.rules, e.message);
    throw e;
  }

  report.timings.mapMs = clock();
  // Row accounting: staging files from pass 1, every other source as the engine counted it.
  for (const s of stats.sources) {
    const staged = byFile.get(stagingLabels.get(s.label) ?? '');
    if (staged) staged.triples += s.statements;
    else report.files.push({ file: s.label, rowsRead: s.records, rowsMapped: s.records, rowsRejected: 0, triples: s.statements, rejections: [] });
  }
  report.files.unshift(...check.reports);

  const year = cfg.indicators.reportingYear;
  const span = calendarSpan(year, check.period);
  const calendar = calendarLines(span.fromYear, span.toYear);
  // SHACL needs the whole mapped dataset in memory; above mapping.validateUpTo it is skipped, and the
  // missing-data check then looks at the statements it needs only.
  const validated = lines.length <= cfg.mapping.validateUpTo;
  if (!validated) origins.clear();
  report.validation = validated
    ? { statements: lines.length, validated }
    : { statements: lines.length, validated, note: `SHACL validation skipped: ${lines.length} statements exceed mapping.validateUpTo (${cfg.mapping.validateUpTo}); raise it to validate (about 1 GB of memory per million statements)` };
  const store = storeOf(validated ? lines : missingDataSubset(lines));
  report.timings.loadMs = clock();
  if (validated) report.violations.push(...(await validate(cfg, store, origins, stagingLabels)));
  report.timings.validateMs = clock();
  addLines(store, calendar);
  report.missing = missingData(store, loadIndicatorRequirements(cfg.indicators.packs, cfg.indicators.profiles), year);
  report.timings.missingMs = clock();

  for (const l of calendar) lines.push(l);
  const [name, version] = splitOntology(cfg.mapping.ontology);
  const meta = await storeSnapshotFromLines(cfg.storage.dataDir, lines, {
    createdAt: new Date().toISOString(),
    ontology: { name, version },
    mappingRules: report.mapping,
    source: dir,
  });
  lines.length = 0;
  report.timings.snapshotMs = clock();
  report.snapshot = meta.hash;
  const snapshot = { meta };
  return finish(cfg, db, actor, report, reportFile, snapshot);
}

/** Milliseconds since the previous call (or since it was made). */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round(now - last);
    last = now;
    return ms;
  };
}

/** An n3 Store of N-Quads lines, parsed in slices so no single string grows past V8's limit. */
function storeOf(lines: readonly string[]): Store {
  const store = new Store();
  addLines(store, lines);
  return store;
}

function addLines(store: Store, lines: readonly string[]): void {
  for (let i = 0; i < lines.length; i += 50_000) store.addQuads(new Parser({ format: 'N-Quads' }).parse(lines.slice(i, i + 50_000).join('\n')));
}

/** SHACL validation of the mapped data, each violation traced to the source row of its focus node. */
async function validate(cfg: AgentConfig, mapped: Store, origins: Map<string, RecordOrigin>, labels: Map<string, string>): Promise<ShaclViolation[]> {
  const violations = await validateQuads(mapped as unknown as Iterable<Quad>, cfg.mapping.ontology);
  for (const v of violations) {
    const o = origins.get(`<${v.focusNode}>`);
    if (o) v.origin = { file: labels.get(o.source) ?? o.source, row: o.row };
  }
  return violations;
}

/** Writes the report (JSON and HTML), records the snapshot, and audits the outcome. */
function finish(cfg: AgentConfig, db: Db, actor: string, report: ProcessingReport, reportFile: string, snapshot?: { meta: SnapshotMeta }): ImportResult {
  report.finishedAt = new Date().toISOString();
  report.totals = report.files.reduce(
    (t, f) => ({ rowsRead: t.rowsRead + f.rowsRead, rowsMapped: t.rowsMapped + f.rowsMapped, rowsRejected: t.rowsRejected + f.rowsRejected, triples: t.triples + f.triples }),
    { rowsRead: 0, rowsMapped: 0, rowsRejected: 0, triples: 0 },
  );
  writeAtomically(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  writeAtomically(reportFile.replace(/\.json$/, '.html'), renderReportHtml(report));
  if (!snapshot) {
    appendAudit(db, { actor, action: 'import.failed', details: { source: report.source, fileErrors: report.fileErrors, report: reportFile } });
    return { report, reportFile };
  }
  db.transaction(() => {
    db.prepare(
      `INSERT OR REPLACE INTO snapshots (hash, created_at, quads, source, ontology_version, report_file, rows_read, rows_mapped, rows_rejected)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(snapshot.meta.hash, report.finishedAt, snapshot.meta.quads, report.source, cfg.mapping.ontology, reportFile, report.totals.rowsRead, report.totals.rowsMapped, report.totals.rowsRejected);
    appendAudit(db, {
      actor,
      action: 'import.completed',
      subject: snapshot.meta.hash,
      details: { source: report.source, totals: report.totals, quads: snapshot.meta.quads, violations: report.violations.length, report: reportFile },
    });
  }).immediate();
  return { report, reportFile, snapshot };
}

function reportPath(cfg: AgentConfig, startedAt: string): string {
  const dir = join(cfg.storage.dataDir, 'reports');
  mkdirSync(dir, { recursive: true });
  return join(dir, `import-${startedAt.replace(/[:.]/g, '-')}.json`);
}

/** "onz-3.0.0" -> ["ONZ", "3.0.0"]. */
function splitOntology(folder: string): [string, string] {
  const m = /^(.*)-(\d+(?:\.\d+)*)$/.exec(folder);
  return m ? [m[1]!.toUpperCase(), m[2]!] : [folder, ''];
}

/** The most recent snapshot recorded in the database, if any. */
export function latestSnapshotHash(db: Db): string | undefined {
  return (db.prepare('SELECT hash FROM snapshots ORDER BY created_at DESC LIMIT 1').get() as { hash: string } | undefined)?.hash;
}

/** A few lines for the operator: per source, rows read / mapped / rejected, and the first problems. */
export function summariseReport(r: ProcessingReport, maxRejections = 10): string {
  const out: string[] = [];
  const line = (name: string, f: { rowsRead: number; rowsMapped: number; rowsRejected: number; triples: number }) =>
    `  ${name.padEnd(26)} ${String(f.rowsRead).padStart(7)} read ${String(f.rowsMapped).padStart(7)} mapped ${String(f.rowsRejected).padStart(5)} rejected ${String(f.triples).padStart(9)} statements`;
  for (const f of r.files) out.push(line(f.file, f));
  for (const e of r.fileErrors) out.push(`  ${e.file.padEnd(26)} NOT READ: ${e.reason}`);
  out.push(line('total', r.totals));
  const rejections = r.files.flatMap((f) => f.rejections);
  for (const j of rejections.slice(0, maxRejections)) out.push(`  rejected: ${j.file} row ${j.row} (line ${j.line})${j.column ? `, column ${j.column}` : ''}: ${j.reason}`);
  if (rejections.length > maxRejections) out.push(`  ... and ${rejections.length - maxRejections} more in the report file`);
  if (r.validation?.note) out.push(`  ${r.validation.note}`);
  if (r.violations.length > 0) {
    const count = (sev: string) => r.violations.filter((v) => v.severity === sev).length;
    out.push(`  SHACL: ${count('Violation')} violation(s), ${count('Warning')} warning(s), ${count('Info')} note(s); each with its source row in the report`);
  }
  for (const m of r.missing) out.push(`  missing: ${m.message}`);
  return out.join('\n');
}
