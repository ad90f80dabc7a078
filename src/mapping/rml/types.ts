/**
 * The contract between the RML engine and whatever feeds it records.
 *
 * The engine resolves every rml:LogicalSource to a LogicalSourceSpec (plain data). Files it can read
 * itself (CSV, JSON); for anything else, or to put checks in front of a file (the staging tables' row
 * checks), the caller passes `openSource`, which may return records for a spec or `undefined` to let the
 * engine read it itself.
 */

export type ReferenceFormulation = 'CSV' | 'JSONPath' | 'XPath' | 'SQL2008Table' | 'SQL2008Query' | 'SPARQL' | string;

export interface FileSourceSpec {
  kind: 'file';
  /** Absolute path, resolved against rml:MappingDirectory or rml:CurrentWorkingDirectory. */
  path: string;
  /** The path as written in the mapping (for messages). */
  declaredPath: string;
  /** rml:root: 'MappingDirectory' | 'CurrentWorkingDirectory' | undefined (absolute or unspecified). */
  root?: 'MappingDirectory' | 'CurrentWorkingDirectory';
  /** TextDecoder label, e.g. 'utf-8', 'windows-1252', 'utf-16le'. */
  encoding: string;
  /** CSV only: field delimiter (default ','). */
  delimiter?: string;
  /** Compression declared in the mapping (rml:compression), if any. */
  compression?: string;
}

export interface DatabaseSourceSpec {
  kind: 'database';
  /** d2rq:jdbcDSN (after placeholder substitution, if any). */
  dsn: string;
  username?: string;
  password?: string;
  /** rml:SQL2008Table: the table name; rml:SQL2008Query: the query text. */
  table?: string;
  query?: string;
}

export interface LogicalSourceSpec {
  /** Stable label for messages and reports, e.g. "employees.csv" or "pg:Friends". */
  label: string;
  referenceFormulation: ReferenceFormulation;
  iterator?: string;
  /** rml:null values: source values that mean "no value". */
  nullValues: string[];
  source: FileSourceSpec | DatabaseSourceSpec;
}

/**
 * One record of a logical source. `values` is what references are evaluated on:
 * CSV: { column: string } (missing/NULL columns absent or null); SQL: { column: typed value };
 * JSONPath: the JSON node the iterator selected.
 */
export interface SourceRecord {
  /** 1-based position of the record in its source (CSV: data row, header excluded). */
  row: number;
  values: unknown;
}

/** Records arrive in batches so a source costs one await per batch, not per record. */
export type RecordStream = AsyncIterable<readonly SourceRecord[]>;

export type OpenSource = (spec: LogicalSourceSpec) => RecordStream | undefined;

/** Where a generated statement came from: the source label and the record's row. */
export interface RecordOrigin {
  source: string;
  row: number;
}
