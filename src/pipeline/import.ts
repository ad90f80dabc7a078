import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendAudit } from '../audit/log.js';
import { mappingDirectory, type AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { mapCsvDirectory, type ProcessingReport } from '../mapping/run.js';
import { loadMappingRules } from '../mapping/rules.js';
import { calendarLines } from '../ontology/calendar.js';
import { loadStagingSchema } from '../sources/staging.js';
import { canonicalNQuads, sha256, storeSnapshot, writeAtomically, type Snapshot } from '../store/snapshot.js';

export interface ImportResult {
  report: ProcessingReport;
  reportFile: string;
  /** Absent when the import could not produce a usable dataset (a whole file was missing). */
  snapshot?: Snapshot;
}

/**
 * Source -> mapping -> snapshot: reads the configured CSV directory, maps it, adds the reference
 * data and the OWL-Time calendar, and stores a content-addressed snapshot plus its processing report.
 */
export async function importSource(cfg: AgentConfig, db: Db, actor: string): Promise<ImportResult> {
  const schema = loadStagingSchema(cfg.mapping.staging!);
  const src = cfg.sources[cfg.mapping.source] as { directory: string; delimiter: string };
  const rules = loadMappingRules(cfg.mapping.rules, cfg.mapping.baseIri);
  const lines: string[] = [];
  const report = await mapCsvDirectory(src.directory, src.delimiter, schema, rules, (l) => lines.push(l));
  lines.push(...rules.staticLines);
  const year = cfg.indicators.reportingYear;
  // The calendar spans the year before (for look-backs) to the year after (client measurements early next year).
  lines.push(...calendarLines(year - 1, year + 1));

  const reportsDir = join(cfg.storage.dataDir, 'reports');
  mkdirSync(reportsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const reportFile = join(reportsDir, `import-${stamp}.json`);
  if (report.fileErrors.length > 0) {
    writeAtomically(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    appendAudit(db, { actor, action: 'import.failed', details: { source: report.source, fileErrors: report.fileErrors, report: reportFile } });
    return { report, reportFile };
  }
  const nquads = canonicalNQuads(lines);
  const snapshot = storeSnapshot(cfg.storage.dataDir, nquads, {
    createdAt: new Date().toISOString(),
    ontology: rules.ontology,
    mappingRules: { file: cfg.mapping.rules, sha256: sha256(readFileSync(cfg.mapping.rules)) },
    source: mappingDirectory(cfg),
  });
  writeAtomically(reportFile, `${JSON.stringify({ snapshot: snapshot.meta.hash, ...report }, null, 2)}\n`);
  db.transaction(() => {
    db.prepare(
      `INSERT OR REPLACE INTO snapshots (hash, created_at, quads, source, ontology_version, report_file, rows_read, rows_mapped, rows_rejected)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(snapshot.meta.hash, new Date().toISOString(), snapshot.meta.quads, report.source, rules.ontology.version, reportFile, report.totals.rowsRead, report.totals.rowsMapped, report.totals.rowsRejected);
    appendAudit(db, { actor, action: 'import.completed', subject: snapshot.meta.hash, details: { source: report.source, totals: report.totals, quads: snapshot.meta.quads, report: reportFile } });
  }).immediate();
  return { report, reportFile, snapshot };
}

/** The most recent snapshot recorded in the database, if any. */
export function latestSnapshotHash(db: Db): string | undefined {
  return (db.prepare('SELECT hash FROM snapshots ORDER BY created_at DESC LIMIT 1').get() as { hash: string } | undefined)?.hash;
}

/** A few lines for the operator: per file, rows read / mapped / rejected, and the first rejections. */
export function summariseReport(r: ProcessingReport, maxRejections = 10): string {
  const out: string[] = [];
  for (const f of r.files) out.push(`  ${f.file.padEnd(26)} ${String(f.rowsRead).padStart(7)} read ${String(f.rowsMapped).padStart(7)} mapped ${String(f.rowsRejected).padStart(5)} rejected`);
  for (const e of r.fileErrors) out.push(`  ${e.file.padEnd(26)} NOT READ: ${e.reason}`);
  out.push(`  ${'total'.padEnd(26)} ${String(r.totals.rowsRead).padStart(7)} read ${String(r.totals.rowsMapped).padStart(7)} mapped ${String(r.totals.rowsRejected).padStart(5)} rejected`);
  const rejections = r.files.flatMap((f) => f.rejections);
  for (const j of rejections.slice(0, maxRejections)) out.push(`  rejected: ${j.file} row ${j.row} (line ${j.line})${j.column ? `, column ${j.column}` : ''}: ${j.reason}`);
  if (rejections.length > maxRejections) out.push(`  ... and ${rejections.length - maxRejections} more in the report file`);
  return out.join('\n');
}
