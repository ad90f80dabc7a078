import { existsSync, statSync } from 'node:fs';
import { basename, join, normalize } from 'node:path';
import type { LogicalSourceSpec, OpenSource, RecordStream, SourceRecord } from '../mapping/rml/types.js';
import type { Rejection, SourceReport } from '../report/types.js';
import { readCsvBatches, SourceFileError, type CsvOptions, type SourceRow } from '../sources/csv.js';
import { checkRow, rememberKeys, type KeyIndex, type StagingSchema, type TableSpec } from '../sources/staging.js';

/** What the first pass over the staging tables found: which rows the mapping may read. */
export interface StagingCheck {
  /** Per staging file: rows read and rejected (rowsMapped is filled in as read minus rejected). */
  reports: SourceReport[];
  /** Row numbers rejected per file; the mapping pass skips them. */
  rejected: Map<string, Set<number>>;
  /** Whole files that cannot be used (missing, empty, unreadable, header lacking a required column). */
  fileErrors: Array<{ file: string; reason: string }>;
  /** First and last event date in the accepted rows (birth dates and other `calendar: false` columns excluded). */
  period?: { from: string; to: string };
}

/**
 * Pass 1: checks every row of every staging table against the staging schema (types, code lists,
 * keys, references), tables in reference order so that a row pointing at a rejected row is itself
 * rejected with that reason. Reads each file once, in batches; keeps only keys and rejected row numbers.
 */
export async function checkStagingTables(dir: string, schema: StagingSchema, csv: CsvOptions): Promise<StagingCheck> {
  const keys: KeyIndex = new Map();
  const out: StagingCheck = { reports: [], rejected: new Map(), fileErrors: [] };
  let from: string | undefined;
  let to: string | undefined;
  for (const table of schema.tables) {
    const path = join(dir, table.file);
    const unusable = unusableFile(path, table, dir);
    if (unusable) {
      out.fileErrors.push({ file: table.file, reason: unusable });
      continue;
    }
    const report: SourceReport = { file: table.file, table: table.name, rowsRead: 0, rowsMapped: 0, rowsRejected: 0, triples: 0, rejections: [] };
    const rejected = new Set<number>();
    const dateColumns = Object.entries(table.columns)
      .filter(([, c]) => c.type === 'date' && c.calendar !== false)
      .map(([n]) => n);
    try {
      const rows = readCsvBatches(path, table.file, csv);
      let headerChecked = false;
      for (;;) {
        const next = await rows.next();
        if (next.done) {
          if (!headerChecked) {
            const missing = missingRequired(table, next.value);
            if (missing) out.fileErrors.push({ file: table.file, reason: missing });
          }
          break;
        }
        for (const r of next.value) {
          if (!headerChecked) {
            headerChecked = true;
            const missing = missingRequired(table, Object.keys(r.values));
            if (missing) throw new SourceFileError(table.file, 1, missing);
          }
          report.rowsRead++;
          const problems = rowProblems(table, r, keys);
          if (problems.length > 0) {
            report.rowsRejected++;
            report.rejections.push(...problems);
            rejected.add(r.row);
            continue;
          }
          rememberKeys(table, r.values, keys);
          for (const c of dateColumns) {
            const v = r.values[c];
            if (!v) continue;
            if (from === undefined || v < from) from = v;
            if (to === undefined || v > to) to = v;
          }
        }
      }
    } catch (e) {
      if (!(e instanceof SourceFileError)) throw e;
      out.fileErrors.push({ file: table.file, reason: e.message.startsWith(`${table.file}`) ? e.message.slice(table.file.length + 2) : e.message });
      continue;
    }
    report.rowsMapped = report.rowsRead - report.rowsRejected;
    out.reports.push(report);
    out.rejected.set(table.file, rejected);
  }
  if (from !== undefined && to !== undefined) out.period = { from, to };
  return out;
}

/**
 * Pass 2: the records the RML engine reads for a staging file under rml:CurrentWorkingDirectory —
 * the accepted rows only, with canonical values (postcode without space in capitals, numbers in their
 * shortest form) so that the same fact written two ways maps to the same triple. Other sources are
 * left to the engine (or the next OpenSource). `seen` learns which engine label stands for which file.
 */
export function stagingOpenSource(dir: string, schema: StagingSchema, check: StagingCheck, csv: CsvOptions, seen: Map<string, string>): OpenSource {
  const byFile = new Map(schema.tables.map((t) => [t.file, t]));
  return (spec: LogicalSourceSpec): RecordStream | undefined => {
    const src = spec.source;
    if (src.kind !== 'file' || src.root !== 'CurrentWorkingDirectory') return undefined;
    if (normalize(join(dir, basename(src.path))) !== normalize(src.path)) return undefined;
    const table = byFile.get(basename(src.path));
    if (!table) return undefined;
    seen.set(spec.label, table.file);
    return acceptedRecords(src.path, table, check.rejected.get(table.file) ?? new Set(), spec.nullValues, { ...csv, delimiter: src.delimiter ?? csv.delimiter });
  };
}

async function* acceptedRecords(path: string, table: TableSpec, rejected: ReadonlySet<number>, nullValues: string[], csv: CsvOptions): AsyncGenerator<SourceRecord[]> {
  const nulls = new Set(nullValues);
  const canonical = Object.entries(table.columns).filter(([, c]) => c.type === 'postcode' || c.type === 'decimal' || c.type === 'integer');
  for await (const batch of readCsvBatches(path, table.file, csv)) {
    const records: SourceRecord[] = [];
    for (const r of batch) {
      if (rejected.has(r.row)) continue;
      const values: Record<string, string> = r.values;
      for (const [name, spec] of canonical) {
        const v = values[name];
        if (!v) continue;
        values[name] = spec.type === 'postcode' ? v.replace(/\s+/g, '').toUpperCase() : String(Number(v));
      }
      if (nulls.size > 0) for (const k in values) if (nulls.has(values[k]!)) delete values[k];
      records.push({ row: r.row, values });
    }
    if (records.length > 0) yield records;
  }
}

function rowProblems(table: TableSpec, r: SourceRow, keys: KeyIndex): Rejection[] {
  const at = { file: r.file, row: r.row, line: r.line };
  if (r.shapeError) return [{ ...at, column: null, value: null, reason: `row ${r.shapeError}` }];
  return checkRow(table, r.values, keys, at);
}

/** Why a staging file cannot be read at all, before opening it. */
function unusableFile(path: string, table: TableSpec, dir: string): string | undefined {
  if (!existsSync(path)) return `not found in ${dir}; export the ${table.name} table as ${table.file} (see config/mappings/README.md)`;
  const st = statSync(path);
  if (!st.isFile()) return `${path} is not a file; export the ${table.name} table as a CSV file named ${table.file}`;
  if (st.size === 0) return `is empty (0 bytes); export it with at least the header line: ${Object.keys(table.columns).join(',')}`;
  return undefined;
}

function missingRequired(table: TableSpec, header: string[]): string | undefined {
  const missing = Object.entries(table.columns)
    .filter(([name, c]) => c.required && !header.includes(name))
    .map(([name]) => name);
  if (missing.length === 0) return undefined;
  return `the header lacks required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the header found is: ${header.join(',') || '(none)'}`;
}
