/**
 * `kikv sources test`: checks one configured source without importing anything.
 *
 *   csv, the mapping source   every staging table's file exists, its header has the staging columns
 *                             (a missing required column is a problem, a missing optional one a warning),
 *                             rows are counted; encoding and quoting errors are reported with their line.
 *   csv, any other            every *.csv file with its row count.
 *   json                      every *.json file parses; its records are counted.
 *   pg                        connects (within connectTimeoutMs) and looks for the staging tables in the
 *                             configured schema: row counts and missing columns. For the mapping source a
 *                             missing table is a problem; for another pg source only when none is there.
 *
 * The result never holds a password: targets are built from the configuration, and database errors
 * come from describePgError, which names where the password comes from instead.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import type { AgentConfig, SourceConfig } from '../config/schema.js';
import { readCsvBatches, SourceFileError } from './csv.js';
import { jsonFields, jsonRecords, readJson } from './json.js';
import { connectPg, describePgError, pgTargetFromConfig, type PgSourceConfig } from './pg.js';
import { loadStagingSchema, type TableSpec } from './staging.js';

/** One file or database table of a source. */
export interface TableCheck {
  /** The staging table, or for other sources the file name without extension. */
  name: string;
  /** csv, json: the file name inside the source directory. */
  file?: string;
  /** pg: the schema-qualified table name. */
  table?: string;
  /** Data rows (csv, pg) or records (json); null when the file or table could not be read. */
  rows: number | null;
  /** The columns found (header, record keys or table columns). */
  columns: string[];
  /** Required staging columns that are not there (each one a problem). */
  missingColumns: string[];
  /** Optional staging columns that are not there (each one a warning). */
  missingOptional: string[];
  /** Columns the staging schema does not know (ignored by the import). */
  extraColumns: string[];
  /** Why the file or table cannot be used, when it cannot. */
  problem?: string;
}

export interface SourceCheck {
  name: string;
  type: SourceConfig['type'];
  /** True when nothing is wrong (warnings allowed). */
  ok: boolean;
  /** Where the source is, printable: a directory or user@host:port/database. Never a password. */
  target: string;
  /** Whether this is the source the mapping reads by default (mapping.source). */
  mappingSource: boolean;
  tables: TableCheck[];
  /** What makes the source unusable, one sentence each, naming the fix where we can. */
  problems: string[];
  /** What may be intended but is worth a look. */
  warnings: string[];
}

/** The staging schema file: mapping.staging, else the one shipped next to the default configuration. */
export function stagingFile(cfg: AgentConfig): string {
  return cfg.mapping.staging ?? resolve(dirname(DEFAULT_CONFIG_FILE), 'staging.yaml');
}

/** A printable description of where a source is; for pg also where its password comes from. */
export function describeTarget(src: SourceConfig): string {
  switch (src.type) {
    case 'csv':
    case 'json':
      return src.directory;
    case 'pg': {
      const where = `postgresql://${src.user ? `${src.user}@` : ''}${src.host}:${src.port}/${src.database}`;
      const password = src.passwordEnv ? `password from $${src.passwordEnv}` : src.passwordFile ? `password from file ${src.passwordFile}` : 'no password';
      return `${where} (${src.schema ? `schema ${src.schema}, ` : ''}${password})`;
    }
  }
}

/** Checks one configured source; never throws for a problem with the source itself. */
export async function checkSource(cfg: AgentConfig, name: string, env: NodeJS.ProcessEnv = process.env): Promise<SourceCheck> {
  const src = cfg.sources[name];
  if (!src) throw new Error(`no source named "${name}"; configured: ${Object.keys(cfg.sources).join(', ')}`);
  const check: SourceCheck = {
    name,
    type: src.type,
    ok: true,
    target: describeTarget(src),
    mappingSource: cfg.mapping.source === name,
    tables: [],
    problems: [],
    warnings: [],
  };
  const needsStaging = src.type === 'pg' || (src.type === 'csv' && check.mappingSource);
  let staging: TableSpec[] = [];
  if (needsStaging) {
    try {
      staging = loadStagingSchema(stagingFile(cfg)).tables;
    } catch (e) {
      check.problems.push(`the staging schema cannot be read: ${(e as Error).message}; check mapping.staging`);
    }
  }
  if (check.problems.length === 0) {
    switch (src.type) {
      case 'csv':
        await checkCsv(check, src, name, staging);
        break;
      case 'json':
        await checkJson(check, src, name);
        break;
      case 'pg':
        await checkPg(check, src, name, staging, env);
        break;
    }
  }
  check.ok = check.problems.length === 0;
  return check;
}

// --- files ----------------------------------------------------------------------------------------

/** False (with a problem recorded) when the source directory is not there. */
function directoryExists(check: SourceCheck, directory: string, name: string): boolean {
  let isDir = false;
  try {
    isDir = statSync(directory).isDirectory();
  } catch {
    check.problems.push(`directory ${directory} does not exist; check sources.${name}.directory (relative paths are resolved against the configuration file's directory)`);
    return false;
  }
  if (!isDir) check.problems.push(`${directory} is not a directory; sources.${name}.directory must name the directory holding the files`);
  return isDir;
}

function filesWithExtension(directory: string, ext: string): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .filter((d) => d.isFile() && d.name.toLowerCase().endsWith(ext))
    .map((d) => d.name)
    .sort();
}

function emptyTable(name: string, where: { file?: string; table?: string }): TableCheck {
  return { name, ...where, rows: null, columns: [], missingColumns: [], missingOptional: [], extraColumns: [] };
}

/** Streams a CSV file: header, row count, rows with the wrong number of fields (count and first line). */
async function scanCsv(path: string, file: string, src: Extract<SourceConfig, { type: 'csv' }>): Promise<{ header: string[]; rows: number; misshapen: number; firstMisshapen?: number }> {
  try {
    return await scanCsvBatches(path, file, src);
  } catch (e) {
    // The reader decodes whole chunks, so its line for an encoding error is where the chunk starts.
    if (e instanceof SourceFileError && src.encoding === 'utf-8' && /is not valid utf-8/.test(e.message)) {
      const line = await firstInvalidUtf8Line(path);
      if (line !== undefined && line !== e.line) throw new SourceFileError(file, line, e.message.slice(e.message.indexOf(': ') + 2));
    }
    throw e;
  }
}

async function scanCsvBatches(path: string, file: string, src: Extract<SourceConfig, { type: 'csv' }>): Promise<{ header: string[]; rows: number; misshapen: number; firstMisshapen?: number }> {
  const it = readCsvBatches(path, file, { delimiter: src.delimiter, encoding: src.encoding, trim: true });
  let rows = 0;
  let misshapen = 0;
  let firstMisshapen: number | undefined;
  for (;;) {
    const next = await it.next();
    if (next.done) return { header: next.value, rows, misshapen, firstMisshapen };
    rows += next.value.length;
    for (const r of next.value) {
      if (r.shapeError) {
        misshapen += 1;
        firstMisshapen ??= r.line;
      }
    }
  }
}

async function checkCsv(check: SourceCheck, src: Extract<SourceConfig, { type: 'csv' }>, name: string, staging: TableSpec[]): Promise<void> {
  if (!directoryExists(check, src.directory, name)) return;
  if (check.mappingSource) {
    for (const spec of staging) check.tables.push(await checkCsvTable(check, src, name, spec));
    return;
  }
  const files = filesWithExtension(src.directory, '.csv');
  if (files.length === 0) check.warnings.push(`there are no .csv files in ${src.directory}`);
  for (const file of files) {
    const t = emptyTable(file.replace(/\.csv$/i, ''), { file });
    try {
      const scan = await scanCsv(join(src.directory, file), file, src);
      t.rows = scan.rows;
      t.columns = scan.header;
      if (scan.misshapen > 0) check.warnings.push(misshapenWarning(file, scan.misshapen, scan.firstMisshapen!, src.delimiter));
    } catch (e) {
      t.problem = messageOf(e);
      check.problems.push(t.problem);
    }
    check.tables.push(t);
  }
}

async function checkCsvTable(check: SourceCheck, src: Extract<SourceConfig, { type: 'csv' }>, name: string, spec: TableSpec): Promise<TableCheck> {
  const t = emptyTable(spec.name, { file: spec.file });
  const path = join(src.directory, spec.file);
  if (!existsSync(path)) {
    const near = filesWithExtension(src.directory, '').find((f) => f.toLowerCase() === spec.file.toLowerCase());
    t.problem = `${spec.file}: file not found in ${src.directory}; the ${spec.name} staging table is read from it${near ? ` (there is a ${near}: file names are case-sensitive)` : ''}`;
    check.problems.push(t.problem);
    return t;
  }
  try {
    const scan = await scanCsv(path, spec.file, src);
    t.rows = scan.rows;
    t.columns = scan.header;
    if (scan.header.length === 0) {
      t.problem = `${spec.file}: the file is empty; it needs at least the header row (${Object.keys(spec.columns).join(src.delimiter)})`;
      check.problems.push(t.problem);
      return t;
    }
    compareColumns(t, spec, scan.header);
    reportColumns(check, t, spec, `${spec.file}: the header`, describeDelimiterMismatch(scan.header, src.delimiter, name));
    if (scan.misshapen > 0) check.warnings.push(misshapenWarning(spec.file, scan.misshapen, scan.firstMisshapen!, src.delimiter));
    if (scan.rows === 0 && !t.problem) check.warnings.push(`${spec.file}: has a header but no rows`);
  } catch (e) {
    t.problem = messageOf(e);
    check.problems.push(t.problem);
  }
  return t;
}

/** The 1-based line holding the first byte sequence that is not UTF-8, streaming the file line by line. */
async function firstInvalidUtf8Line(path: string): Promise<number | undefined> {
  const strict = new TextDecoder('utf-8', { fatal: true });
  const valid = (b: Uint8Array) => {
    try {
      strict.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  let line = 1;
  let carry: Buffer = Buffer.alloc(0);
  const stream = createReadStream(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let nl: number;
      while ((nl = buf.indexOf(10)) !== -1) {
        if (!valid(buf.subarray(0, nl))) return line;
        line++;
        buf = buf.subarray(nl + 1);
      }
      carry = Buffer.from(buf);
    }
    return valid(carry) ? undefined : line;
  } finally {
    stream.destroy();
  }
}

function misshapenWarning(file: string, count: number, line: number, delimiter: string): string {
  return `${file}: ${count} row${count === 1 ? ' has' : 's have'} a different number of fields than the header (first at line ${line}); the import rejects ${count === 1 ? 'it' : 'them'} — check for an unquoted "${delimiter}" or a missing field`;
}

/** A one-column header that contains another common delimiter: the file uses a different one. */
function describeDelimiterMismatch(header: string[], delimiter: string, name: string): string {
  if (header.length !== 1) return '';
  const other = [';', ',', '\t', '|'].find((d) => d !== delimiter && header[0]!.includes(d));
  return other ? ` — the header looks ${other === '\t' ? 'tab' : `"${other}"`}-separated; set sources.${name}.delimiter` : '';
}

async function checkJson(check: SourceCheck, src: Extract<SourceConfig, { type: 'json' }>, name: string): Promise<void> {
  if (!directoryExists(check, src.directory, name)) return;
  const files = filesWithExtension(src.directory, '.json');
  if (files.length === 0) check.warnings.push(`there are no .json files in ${src.directory}`);
  for (const file of files) {
    const t = emptyTable(file.replace(/\.json$/i, ''), { file });
    try {
      const records = jsonRecords(await readJson(join(src.directory, file), file, src.encoding), file);
      t.rows = records.length;
      t.columns = jsonFields(records);
      const nonObjects = records.filter((r) => r === null || typeof r !== 'object' || Array.isArray(r)).length;
      if (nonObjects > 0) check.warnings.push(`${file}: ${nonObjects} of ${records.length} records are not JSON objects`);
    } catch (e) {
      t.problem = messageOf(e);
      check.problems.push(t.problem);
    }
    check.tables.push(t);
  }
}

// --- database -------------------------------------------------------------------------------------

async function checkPg(check: SourceCheck, src: PgSourceConfig, name: string, staging: TableSpec[], env: NodeJS.ProcessEnv): Promise<void> {
  let client: pg.Client;
  let target: ReturnType<typeof pgTargetFromConfig>;
  try {
    target = pgTargetFromConfig(name, src, env);
    client = await connectPg(target);
  } catch (e) {
    check.problems.push(messageOf(e));
    return;
  }
  try {
    const schema = src.schema ?? String((await client.query('SELECT current_schema() AS s')).rows[0]?.s ?? 'public');
    const cols = await client.query<{ table_name: string; column_name: string }>(
      'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position',
      [schema],
    );
    const present = new Map<string, string[]>();
    for (const r of cols.rows) {
      if (!present.has(r.table_name)) present.set(r.table_name, []);
      present.get(r.table_name)!.push(r.column_name);
    }
    const found = staging.filter((s) => present.has(s.name));
    // A database that holds part of the staging tables (say, HR only) is fine unless the mapping reads
    // everything from it; one that holds none of them is misconfigured (wrong schema or database).
    const missingIsProblem = check.mappingSource || found.length === 0;
    if (found.length === 0) {
      const there = [...present.keys()];
      check.problems.push(
        `none of the ${staging.length} staging tables (${staging.map((s) => s.name).join(', ')}) is in schema "${schema}" of database "${src.database}"` +
          `${there.length ? `; tables there: ${there.slice(0, 20).join(', ')}${there.length > 20 ? ', ...' : ''}` : '; the schema has no tables'}` +
          `; check sources.${name}.schema and sources.${name}.database`,
      );
    }
    for (const spec of staging) {
      const qualified = `${schema}.${spec.name}`;
      const t = emptyTable(spec.name, { table: qualified });
      check.tables.push(t);
      const columns = present.get(spec.name);
      if (!columns) {
        const near = [...present.keys()].find((n) => n.toLowerCase() === spec.name.toLowerCase());
        t.problem = `table ${qualified} does not exist${near ? ` (there is a table "${near}": names are case-sensitive)` : ''}`;
        if (found.length === 0) continue; // reported once above
        if (missingIsProblem) check.problems.push(`${t.problem}; the ${spec.name} staging table is read from it`);
        else check.warnings.push(`${t.problem}; the ${spec.name} staging table must then come from another source`);
        continue;
      }
      t.columns = columns;
      compareColumns(t, spec, columns);
      reportColumns(check, t, spec, `table ${qualified}`, '');
      try {
        const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(spec.name)}`);
        t.rows = Number(r.rows[0]?.n ?? 0);
      } catch (e) {
        const problem = describePgError(e, target, client.user, `table ${qualified}`).message;
        t.problem ??= problem;
        check.problems.push(problem);
      }
    }
  } catch (e) {
    check.problems.push(describePgError(e, target, client.user).message);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// --- shared ---------------------------------------------------------------------------------------

function compareColumns(t: TableCheck, spec: TableSpec, columns: string[]): void {
  const have = new Set(columns);
  for (const [col, c] of Object.entries(spec.columns)) {
    if (have.has(col)) continue;
    (c.required ? t.missingColumns : t.missingOptional).push(col);
  }
  t.extraColumns = columns.filter((c) => !(c in spec.columns));
}

function reportColumns(check: SourceCheck, t: TableCheck, spec: TableSpec, where: string, hint: string): void {
  const list = (cols: string[]) => cols.map((c) => `"${c}"`).join(', ');
  const near = (col: string) => t.extraColumns.find((x) => x.toLowerCase().replace(/[\s_-]/g, '') === col.toLowerCase().replace(/[\s_-]/g, ''));
  const suggestions = (cols: string[]) => {
    const s = cols.map((c) => [c, near(c)] as const).filter(([, n]) => n !== undefined);
    return s.length ? ` (did you mean ${s.map(([c, n]) => `"${n}" -> "${c}"`).join(', ')}?)` : '';
  };
  if (t.missingColumns.length > 0) {
    const n = t.missingColumns.length;
    t.problem = `${where} lacks the required column${n === 1 ? '' : 's'} ${list(t.missingColumns)}${suggestions(t.missingColumns)}${hint}; it has ${list(t.columns) || 'no columns'}`;
    check.problems.push(t.problem);
  }
  if (t.missingOptional.length > 0) {
    const n = t.missingOptional.length;
    check.warnings.push(`${where} lacks the optional column${n === 1 ? '' : 's'} ${list(t.missingOptional)}${suggestions(t.missingOptional)}; the import leaves ${n === 1 ? 'it' : 'them'} empty for the ${spec.name} table`);
  }
}

function messageOf(e: unknown): string {
  return e instanceof SourceFileError ? e.message : (e as Error).message ?? String(e);
}
