import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataFactory } from 'n3';
import { nquad } from './nquads.js';
import { readCsv } from '../sources/csv.js';
import { checkRow, rememberKeys, type KeyIndex, type Rejection, type StagingSchema, type TableSpec } from '../sources/staging.js';
import type { MappingRules } from './rules.js';

const { namedNode, literal, quad, defaultGraph } = DataFactory;

/** Row accounting for one source file. Invariant: rowsRead = rowsMapped + rowsRejected. */
export interface FileReport {
  table: string;
  file: string;
  rowsRead: number;
  rowsMapped: number;
  rowsRejected: number;
  triples: number;
  rejections: Rejection[];
}

/** The processing report (verwerkingsverslag) of one import. */
export interface ProcessingReport {
  source: string;
  files: FileReport[];
  /** Problems with whole files (missing, unreadable): no rows of them were read. */
  fileErrors: Array<{ file: string; reason: string }>;
  totals: { rowsRead: number; rowsMapped: number; rowsRejected: number };
}

/** Where mapped statements go: one N-Quads line per call. */
export type QuadSink = (line: string) => void;

/**
 * Reads every staging table from a CSV directory, checks each row against the staging schema,
 * maps the good rows with the rules and reports the rest. Tables are read in reference order so
 * that a row pointing at a missing or rejected row is itself rejected with that reason.
 */
export async function mapCsvDirectory(dir: string, delimiter: string, schema: StagingSchema, rules: MappingRules, sink: QuadSink): Promise<ProcessingReport> {
  const keys: KeyIndex = new Map();
  const files: FileReport[] = [];
  const fileErrors: ProcessingReport['fileErrors'] = [];
  for (const table of schema.tables) {
    const path = join(dir, table.file);
    if (!existsSync(path)) {
      fileErrors.push({ file: table.file, reason: `not found in ${dir}; export the ${table.name} table as ${table.file} (see config/staging.yaml)` });
      continue;
    }
    files.push(await mapTable(path, delimiter, table, rules, keys, sink));
  }
  const totals = files.reduce(
    (t, f) => ({ rowsRead: t.rowsRead + f.rowsRead, rowsMapped: t.rowsMapped + f.rowsMapped, rowsRejected: t.rowsRejected + f.rowsRejected }),
    { rowsRead: 0, rowsMapped: 0, rowsRejected: 0 },
  );
  return { source: dir, files, fileErrors, totals };
}

async function mapTable(path: string, delimiter: string, table: TableSpec, rules: MappingRules, keys: KeyIndex, sink: QuadSink): Promise<FileReport> {
  const report: FileReport = { table: table.name, file: table.file, rowsRead: 0, rowsMapped: 0, rowsRejected: 0, triples: 0, rejections: [] };
  const blocks = rules.tables.get(table.name) ?? [];
  const rows = readCsv(path, table.file, { delimiter });
  for await (const r of rows) {
    report.rowsRead++;
    const at = { file: r.file, row: r.row, line: r.line };
    const problems = r.shapeError ? [{ ...at, column: null, value: null, reason: `row ${r.shapeError}` }] : checkRow(table, r.values, keys, at);
    if (problems.length > 0) {
      report.rowsRejected++;
      report.rejections.push(...problems);
      continue;
    }
    const values = normalise(table, r.values);
    rememberKeys(table, values, keys);
    for (const block of blocks) {
      if (block.when && !block.when.in.has(values[block.when.column] ?? '')) continue;
      for (const s of block.subject.values(values)) {
        const subject = namedNode(s);
        for (const { predicate, object } of block.pairs) {
          for (const v of object.values(values)) {
            const o = object.kind === 'iri' ? namedNode(v) : literal(v, object.lang ?? (object.datatype ? namedNode(object.datatype) : undefined));
            sink(nquad(quad(subject, namedNode(predicate), o, defaultGraph())));
            report.triples++;
          }
        }
      }
    }
    report.rowsMapped++;
  }
  return report;
}

/** Canonical forms, so that the same fact written two ways maps to the same triple. */
function normalise(table: TableSpec, values: Record<string, string>): Record<string, string> {
  const out = { ...values };
  for (const [name, spec] of Object.entries(table.columns)) {
    const v = out[name];
    if (!v) continue;
    if (spec.type === 'postcode') out[name] = v.replace(/\s+/g, '').toUpperCase();
    if (spec.type === 'decimal' || spec.type === 'integer') out[name] = String(Number(v));
  }
  return out;
}
