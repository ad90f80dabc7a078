import { createReadStream } from 'node:fs';

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
  /** A TextDecoder label: utf-8 (a byte-order mark is skipped), windows-1252, latin1, utf-16le. */
  encoding?: string;
  /**
   * Trim spaces around header names and values. RFC 4180 (and RML) keep them, so the engine reads
   * without; the staging tables trim, because padded exports ("E0001 ") are common and never meant.
   */
  trim?: boolean;
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
 * Streams the rows of one RFC 4180 CSV file with a header row, in batches. Rows whose field count
 * differs from the header are still yielded (with `shapeError`) so that the caller can count and
 * report them instead of losing them; blank lines are skipped.
 *
 * Hand-written rather than csv-parse: the import reads every staging file twice (checks, then
 * mapping), and a tokenizer that slices the decoded chunk is several times faster.
 */
export async function* readCsvBatches(path: string, name: string, opts: CsvOptions): AsyncGenerator<SourceRow[], string[]> {
  const delimiter = opts.delimiter.charCodeAt(0);
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(opts.encoding ?? 'utf-8', { fatal: true, ignoreBOM: false });
  } catch {
    throw new SourceFileError(name, undefined, `unknown encoding "${opts.encoding}"; use utf-8, windows-1252, latin1 or utf-16le`);
  }
  let header: string[] | undefined;
  let row = 0;
  let line = 1; // line of the next character to be consumed
  let rowLine = 1;
  let fields: string[] = [];
  let field = '';
  // Quote state survives chunk boundaries: 0 outside quotes, 1 inside, 2 just saw a quote inside quotes.
  let quote = 0;
  let quoteLine = 0;
  // A CR that ended the previous chunk: an LF at the start of the next one belongs to it.
  let skipLf = false;
  let batch: SourceRow[] = [];

  const endRow = () => {
    fields.push(field);
    field = '';
    const current = fields;
    fields = [];
    if (current.length === 1 && current[0] === '') return; // blank line
    if (!header) {
      header = opts.trim ? current.map((h) => h.trim()) : current;
      return;
    }
    row += 1;
    const values: Record<string, string> = {};
    for (let i = 0; i < header.length; i++) values[header[i]!] = opts.trim ? (current[i] ?? '').trim() : (current[i] ?? '');
    const out: SourceRow = { file: name, row, line: rowLine, values };
    if (current.length !== header.length) {
      out.shapeError = `has ${current.length} field${current.length === 1 ? '' : 's'} where the header has ${header.length}; check for an unquoted "${opts.delimiter}" or a missing field`;
    }
    batch.push(out);
  };

  const stream = createReadStream(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw new SourceFileError(name, line + linesBeforeInvalidByte(chunk, opts.encoding), `is not valid ${opts.encoding ?? 'utf-8'}; export it as UTF-8 or set the source's encoding (e.g. windows-1252)`);
      }
      let start = 0; // start of the part of the current field not yet copied into `field`
      if (skipLf && text.charCodeAt(0) === 10) start = 1;
      skipLf = false;
      for (let i = start; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (quote === 1) {
          if (c === 34) {
            field += text.slice(start, i);
            start = i + 1;
            quote = 2;
          } else if (c === 10) line++;
          continue;
        }
        if (quote === 2) {
          quote = 0;
          if (c === 34) {
            // An escaped quote ("") inside a quoted field.
            field += '"';
            start = i + 1;
            quote = 1;
            continue;
          }
        }
        if (c === delimiter) {
          field += text.slice(start, i);
          fields.push(field);
          field = '';
          start = i + 1;
        } else if (c === 10 || c === 13) {
          field += text.slice(start, i);
          if (c === 13) {
            if (i + 1 === text.length) skipLf = true;
            else if (text.charCodeAt(i + 1) === 10) i++;
          }
          endRow();
          line++;
          rowLine = line;
          start = i + 1;
        } else if (c === 34 && field === '' && i === start) {
          quote = 1;
          quoteLine = line;
          start = i + 1;
        }
      }
      if (start < text.length) field += text.slice(start);
      if (batch.length >= 512) {
        yield batch;
        batch = [];
      }
    }
    if (quote === 1) {
      throw new SourceFileError(name, quoteLine, 'a quoted field opened here is never closed; close the quote, or double each quote inside a quoted field ("")');
    }
    if (field !== '' || fields.length > 0) endRow();
    if (batch.length > 0) yield batch;
  } catch (e) {
    if (e instanceof SourceFileError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new SourceFileError(name, undefined, `file not found at ${path}`);
    if (err instanceof TypeError && /decode|encoded/i.test(err.message)) {
      throw new SourceFileError(name, line, `is not valid ${opts.encoding ?? 'utf-8'}; export it as UTF-8 or set the source's encoding (e.g. windows-1252)`);
    }
    throw new SourceFileError(name, undefined, `cannot be read: ${err.message}`);
  } finally {
    stream.destroy();
  }
  return header ?? [];
}

/** Line breaks in a chunk before its first undecodable byte (the decoder's replacement character). */
function linesBeforeInvalidByte(chunk: Buffer, encoding = 'utf-8'): number {
  const text = new TextDecoder(encoding).decode(chunk);
  const bad = text.indexOf('\uFFFD');
  let n = 0;
  for (let i = 0; i < (bad < 0 ? 0 : bad); i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** The rows one by one (for callers that do not care about batching). */
export async function* readCsv(path: string, name: string, opts: CsvOptions): AsyncGenerator<SourceRow, void> {
  for await (const batch of readCsvBatches(path, name, opts)) yield* batch;
}
