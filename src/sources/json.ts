/**
 * JSON source files: reading one file with errors that say where (file, line, column), and the
 * records it holds. A file is either an array of objects (each one a record) or a single object
 * (one record), unless an iterator names where the records are.
 *
 * This is for checking sources (`kikv sources test`); the RML engine has its own JSONPath reader.
 * The iterator here understands the plain forms only: $, .name, ['name'], [n], [*] and .*.
 */
import { readFile } from 'node:fs/promises';
import { SourceFileError } from './csv.js';

/** Reads and parses one JSON file (a byte-order mark is skipped). */
export async function readJson(path: string, name: string, encoding = 'utf-8'): Promise<unknown> {
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: false });
  } catch {
    throw new SourceFileError(name, undefined, `unknown encoding "${encoding}"; use utf-8, windows-1252, latin1 or utf-16le`);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new SourceFileError(name, undefined, `file not found at ${path}`);
    throw new SourceFileError(name, undefined, `cannot be read: ${err.message}`);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new SourceFileError(name, encoding === 'utf-8' || encoding === 'utf8' ? lineOfInvalidByte(bytes) : undefined, `is not valid ${encoding}; export it as UTF-8 or set the source's encoding (e.g. windows-1252)`);
  }
  return parseJson(text, name);
}

/** Parses JSON text; a syntax error becomes a SourceFileError with line and column. */
export function parseJson(text: string, name: string): unknown {
  if (text.trim() === '') throw new SourceFileError(name, undefined, 'is empty; expected a JSON array of objects');
  try {
    return JSON.parse(text);
  } catch (e) {
    // V8 does not give a position for every error ("Unexpected token"), so find it ourselves.
    const found = locateJsonError(text) ?? { pos: text.length, what: (e as Error).message };
    const { line, column } = lineColumn(text, found.pos);
    throw new SourceFileError(name, line, `is not valid JSON at column ${column}: ${found.what}`);
  }
}

/**
 * Where JSON text first goes wrong, and what was expected there; undefined when it is valid.
 * Only runs after JSON.parse has failed, so it favours clear messages over speed.
 */
export function locateJsonError(text: string): { pos: number; what: string } | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const shown = () => (i >= text.length ? 'the end of the file' : `"${text[i]}"`);
  class Fail {
    constructor(
      readonly pos: number,
      readonly what: string,
    ) {}
  }
  const fail = (expected: string, pos = i): never => {
    throw new Fail(pos, `expected ${expected}, found ${pos === i ? shown() : `"${text[pos]}"`}`);
  };
  const string = () => {
    const open = i;
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) throw new Fail(open, 'a string opened here is never closed');
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 32) throw new Fail(i, 'a line break or control character inside a string; write it as \\n or \\t, or close the string');
      if (c === 92) {
        const esc = text[i + 1];
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Fail(i, 'a \\u escape needs four hex digits');
          i += 6;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i += 2;
        else throw new Fail(i, `an unknown escape "\\${esc ?? ''}" in a string`);
        continue;
      }
      i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? 'another property after the comma (remove the trailing comma)' : 'a property name in double quotes');
        string();
        ws();
        if (text[i] !== ':') fail('":" after the property name');
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail('"," or "}" after a property value');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') fail('another element after the comma (remove the trailing comma)');
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail('"," or "]" after an array element');
      }
    }
    if (c === '"') return string();
    const num = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    num.lastIndex = i;
    if (c !== undefined && /[-0-9]/.test(c) && num.exec(text)) {
      i = num.lastIndex;
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    fail('a value (object, array, string in double quotes, number, true, false or null)');
  };
  try {
    value();
    ws();
    if (i < text.length) fail('nothing more after the end of the JSON value');
    return undefined;
  } catch (e) {
    if (e instanceof Fail) return { pos: e.pos, what: e.what };
    return undefined; // nested too deeply to follow: the caller reports the end of the file

  }
}

/**
 * The records of a parsed file: the items of the array the iterator selects (default: the top
 * level), or the selected object itself. Throws when the iterator selects nothing usable.
 */
export function jsonRecords(value: unknown, name: string, iterator?: string): unknown[] {
  const selected = iterator === undefined ? [value] : selectPath(value, iterator, name);
  const records = selected.length === 1 && Array.isArray(selected[0]) ? (selected[0] as unknown[]) : selected;
  if (iterator === undefined && (value === null || typeof value !== 'object')) {
    throw new SourceFileError(name, undefined, `holds a single ${value === null ? 'null' : typeof value}; expected an array of objects (or one object)`);
  }
  return records;
}

/** Reads a file and counts its records (see jsonRecords). */
export async function countJsonRecords(path: string, name: string, opts: { encoding?: string; iterator?: string } = {}): Promise<number> {
  return jsonRecords(await readJson(path, name, opts.encoding), name, opts.iterator).length;
}

/** The property names found in the records (objects only), in order of first appearance. */
export function jsonFields(records: unknown[]): string[] {
  const seen = new Set<string>();
  for (const r of records) if (r !== null && typeof r === 'object' && !Array.isArray(r)) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

type Step = { name: string } | { index: number } | { all: true };

/** Every value an iterator selects; only the plain JSONPath forms (see the module comment). */
export function selectPath(value: unknown, path: string, name: string): unknown[] {
  let current = [value];
  for (const step of parsePath(path, name)) {
    const next: unknown[] = [];
    for (const node of current) {
      if (node === null || typeof node !== 'object') continue;
      if ('all' in step) next.push(...(Array.isArray(node) ? node : Object.values(node)));
      else if ('index' in step) {
        const at = Array.isArray(node) && step.index < 0 ? node.length + step.index : step.index;
        if (Array.isArray(node) && at >= 0 && at < node.length) next.push(node[at]);
      } else if (!Array.isArray(node) && Object.prototype.hasOwnProperty.call(node, step.name)) next.push((node as Record<string, unknown>)[step.name]);
    }
    current = next;
  }
  return current;
}

function parsePath(path: string, name: string): Step[] {
  const steps: Step[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\.\*|\[\*\]|\[(-?\d+)\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]/y;
  let rest = path.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  else if (rest !== '' && !rest.startsWith('.') && !rest.startsWith('[')) rest = `.${rest}`;
  re.lastIndex = 0;
  while (re.lastIndex < rest.length) {
    const at = re.lastIndex;
    const m = re.exec(rest);
    if (!m) {
      throw new SourceFileError(name, undefined, `iterator "${path}" is not supported here at "${rest.slice(at)}"; use $, .name, ['name'], [n] or [*]`);
    }
    if (m[1] !== undefined) steps.push({ name: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) steps.push({ name: m[3].replace(/\\(.)/g, '$1') });
    else if (m[4] !== undefined) steps.push({ name: m[4].replace(/\\(.)/g, '$1') });
    else steps.push({ all: true });
  }
  return steps;
}

/** 1-based line and column of a character offset. */
function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: pos - lineStart + 1 };
}

/** The line of the first byte sequence that is not valid UTF-8 (for the usual mistake: a windows-1252 export). */
function lineOfInvalidByte(bytes: Buffer): number | undefined {
  const strict = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 10) {
      try {
        strict.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return undefined;
}
