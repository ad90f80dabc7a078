import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';

/** One data row of a source file, with where it came from. */
export interface SourceRow {
  file: string;
  /** 1-based number of the data row (the header is not counted). */
  row: number;
  /** 1-based line in the file where the row starts (the header is line 1). */
  line: number;
  /** Values by column name ('' when empty). */
  values: Record<string, string>;
  /** Set when the row could not be split into the header's columns. */
  shapeError?: string;
}

export interface CsvOptions {
  delimiter: string;
}

/** Thrown when a file cannot be read at all (missing, unreadable, malformed quoting). */
export class SourceFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(`${file}${line ? `, line ${line}` : ''}: ${message}`);
    this.name = 'SourceFileError';
  }
}

/**
 * Streams the rows of one RFC 4180 CSV file with a header row. Rows whose field count differs
 * from the header are still yielded (with `shapeError`) so that the caller can count and report
 * them instead of losing them.
 */
export async function* readCsv(path: string, name: string, opts: CsvOptions): AsyncGenerator<SourceRow, string[]> {
  const parser = createReadStream(path).pipe(
    parse({ delimiter: opts.delimiter, bom: true, relax_column_count: true, info: true, skip_empty_lines: true }),
  );
  let header: string[] | undefined;
  let row = 0;
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number; records: number } }>) {
      if (!header) {
        header = rec.record.map((h) => h.trim());
        continue;
      }
      row += 1;
      const fields = rec.record;
      // info.lines is the line where the record ends; a record with embedded newlines starts earlier.
      const line = rec.info.lines - fields.reduce((n, f) => n + (f.match(/\r\n|\n|\r/g)?.length ?? 0), 0);
      const values: Record<string, string> = {};
      header.forEach((h, i) => (values[h] = (fields[i] ?? '').trim()));
      const out: SourceRow = { file: name, row, line, values };
      if (fields.length !== header.length) {
        out.shapeError = `has ${fields.length} field${fields.length === 1 ? '' : 's'} where the header has ${header.length}; check for an unquoted "${opts.delimiter}" or a missing field`;
      }
      yield out;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { lines?: number };
    if (err.code === 'ENOENT') throw new SourceFileError(name, undefined, `file not found at ${path}`);
    throw new SourceFileError(name, err.lines, `cannot be parsed as CSV: ${err.message}`);
  }
  return header ?? [];
}
