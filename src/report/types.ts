/**
 * The processing report (verwerkingsverslag) of one import: plain data, written as JSON next to the
 * snapshot and rendered as HTML. Every number in it can be traced: rowsRead = rowsMapped + rowsRejected
 * per source, and every rejection and SHACL violation names the source row it came from.
 */

/** A reason a row was not mapped, located by file, row, line and column. */
export interface Rejection {
  file: string;
  /** 1-based data row (header excluded). */
  row: number;
  /** 1-based line in the file where the row starts (header is line 1); equals row for non-file sources. */
  line: number;
  column: string | null;
  value: string | null;
  reason: string;
}

/** Row accounting for one logical source (a staging CSV file, a JSON file, a table or query). */
export interface SourceReport {
  /** Label of the source: the file name, or "pg:NAME table" for a database. */
  file: string;
  /** The staging table it was checked against, when it is one. */
  table?: string;
  rowsRead: number;
  rowsMapped: number;
  rowsRejected: number;
  /** Statements generated from this source's rows (before removing duplicates). */
  triples: number;
  rejections: Rejection[];
}

/** A SHACL result, traced back to the source row that produced its focus node when known. */
export interface ShaclViolation {
  severity: 'Violation' | 'Warning' | 'Info';
  focusNode: string;
  path?: string;
  value?: string;
  message: string;
  /** The shape (IRI or blank-node label) that raised it. */
  shape: string;
  origin?: { file: string; row: number };
}

/** An indicator that cannot be computed (fully) for the reporting period, and why. */
export interface MissingData {
  indicator: string;
  title?: string;
  year: number;
  /** E.g. "3.1 cannot be computed for 2023: no absence data". */
  message: string;
  /** The data kinds (manifest `requires:` names, see src/report/missing.ts) that are missing. */
  dataKinds?: string[];
}

export interface ProcessingReport {
  startedAt: string;
  finishedAt: string;
  /** The source directory or connector the import read. */
  source: string;
  mapping: { file: string; sha256: string };
  ontology: string;
  /** Days the data covers (min and max of its dates); the calendar spans at least this. */
  period?: { from: string; to: string };
  files: SourceReport[];
  /** Problems with whole sources (missing, unreadable, unreachable): no snapshot is made. */
  fileErrors: Array<{ file: string; reason: string }>;
  totals: { rowsRead: number; rowsMapped: number; rowsRejected: number; triples: number };
  violations: ShaclViolation[];
  /** Whether SHACL validation ran (it is skipped above mapping.validateUpTo statements) and why not. */
  validation?: { statements: number; validated: boolean; note?: string };
  missing: MissingData[];
  /** Where the time went, in milliseconds: row checks, mapping, loading for validation, SHACL, missing data, snapshot. */
  timings?: { checkMs: number; mapMs?: number; loadMs?: number; validateMs?: number; missingMs?: number; snapshotMs?: number };
  /** Hash of the snapshot made, absent when the import stopped before writing one. */
  snapshot?: string;
}
