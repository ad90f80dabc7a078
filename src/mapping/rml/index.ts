/**
 * The RML engine's public API: load or compile a mapping (RML-Core Turtle, legacy RML/R2RML, or
 * YARRRML), list its logical sources, run it to N-Quads statements.
 *
 *   const m = await loadMapping('config/mappings/onz.rml.ttl');
 *   await runMapping(m, { baseIri, mappingDirectory, currentWorkingDirectory, emit: (line, origin) => … });
 */

import { readFile } from 'node:fs/promises';
import type { Quad } from '@rdfjs/types';
import { Parser } from 'n3';
import { compileGraph } from './compile.js';
import { RmlError } from './errors.js';
import { MappingGraph } from './graph.js';
import type { TriplesMapDef } from './model.js';
import { execute } from './run.js';
import { distinctSources, resolveSource } from './sources.js';
import type { LogicalSourceSpec, OpenSource, RecordOrigin } from './types.js';
import { yarrrmlToQuads } from './yarrrml.js';

export { RmlError, RmlNotSupportedError } from './errors.js';
export type * from './types.js';

export interface CompiledMapping {
  file: string;
  triplesMaps: number;
  /** every distinct logical source, resolved */
  logicalSources(opts: { mappingDirectory: string; currentWorkingDirectory: string }): LogicalSourceSpec[];
}

interface CompiledMappingImpl extends CompiledMapping {
  readonly defs: TriplesMapDef[];
}

/**
 * Reads Turtle/N-Triples RML (also the legacy namespaces http://semweb.mmlab.be/ns/rml#,
 * http://www.w3.org/ns/r2rml#, ql:, rewritten to rml:) or YARRRML (.yml/.yaml, converted with
 * @rmlio/yarrrml-parser). Throws RmlError naming the triples map/term map and what to fix.
 */
export async function loadMapping(file: string): Promise<CompiledMapping> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RmlError(`mapping ${file} does not exist; point mapping.rules at your RML or YARRRML file (the shipped one is config/mappings/onz.rml.ttl)`);
    throw new RmlError(`mapping ${file} cannot be read: ${code ?? (e as Error).message}`);
  }
  if (/\.ya?ml$/i.test(file)) return compileMapping(yarrrmlToQuads(text, file), file);
  return compileMapping(text, file);
}

export function compileMapping(turtleOrQuads: string | Quad[], file: string): CompiledMapping {
  let quads: Quad[];
  if (typeof turtleOrQuads === 'string') {
    quads = parseTurtle(turtleOrQuads, file);
  } else quads = turtleOrQuads;
  const defs = compileGraph(new MappingGraph(quads), file);
  const impl: CompiledMappingImpl = {
    file,
    triplesMaps: defs.length,
    defs,
    logicalSources(opts) {
      return distinctSources(defs.map((d) => resolveSource(d.source, opts))).specs;
    },
  };
  return impl;
}

function parseTurtle(text: string, file: string): Quad[] {
  const parse = (t: string) => new Parser({ format: 'text/turtle', baseIRI: fileBase(file) }).parse(t) as unknown as Quad[];
  try {
    return parse(text);
  } catch (e) {
    // Mappings written for lenient parsers put template escapes such as "\\{" or "{N\\\ame}" in
    // Turtle strings, where only \t \b \n \r \f \" \' \\ and \u are escapes. Read an unknown escape
    // as a literal backslash (what those parsers do); a document that parses strictly is unaffected.
    const relaxed = relaxStringEscapes(text);
    if (relaxed !== text) {
      try {
        return parse(relaxed);
      } catch {
        // Report the original problem.
      }
    }
    throw new RmlError(`mapping ${file} is not valid Turtle: ${(e as Error).message}`);
  }
}

/** Doubles every backslash in a string literal that does not start a Turtle escape sequence. */
export function relaxStringEscapes(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '#') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === '<') {
      const end = text.indexOf('>', i);
      const stop = end < 0 ? n : end + 1;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      const long = text.startsWith(c.repeat(3), i);
      const delim = long ? c.repeat(3) : c;
      out += delim;
      i += delim.length;
      while (i < n && !text.startsWith(delim, i)) {
        const d = text[i]!;
        if (d === '\\') {
          const e = text[i + 1];
          if (e !== undefined && 'tbnrf"\'\\uU'.includes(e)) {
            out += d + e;
            i += 2;
          } else {
            out += '\\\\';
            i += 1;
          }
        } else {
          if (!long && (d === '\n' || d === '\r')) break;
          out += d;
          i++;
        }
      }
      if (i < n && text.startsWith(delim, i)) {
        out += delim;
        i += delim.length;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function fileBase(file: string): string {
  return 'file://' + (file.startsWith('/') ? '' : '/') + encodeURI(file.replace(/\\/g, '/'));
}

export interface RunOptions {
  baseIri: string;
  /** what rml:MappingDirectory (and relative paths without rml:root) resolve against */
  mappingDirectory: string;
  /** what rml:CurrentWorkingDirectory resolves against */
  currentWorkingDirectory: string;
  /** consulted first for every logical source; undefined => engine reads it itself */
  openSource?: OpenSource;
  /** one N-Quads statement (no trailing newline, ends with " ."), with the record that produced it */
  emit(statement: string, origin: RecordOrigin): void;
  /**
   * if given, a data error in one record (e.g. an invalid IRI generated from a value, a value that is
   * not valid for its datatype where the spec says error) is reported here and that term's statements
   * are skipped instead of throwing
   */
  onRecordError?(error: RmlError, origin: RecordOrigin): void;
}

export interface RunStats {
  statements: number;
  sources: Array<{ label: string; records: number; statements: number }>;
}

/**
 * Runs every triples map, reading each distinct logical source once. Statements are emitted as they are
 * generated (the output dataset is their set: the same statement may be emitted more than once).
 * Throws RmlError for mapping errors and for data errors when there is no onRecordError, and
 * SourceFileError (PgSourceError for databases) when a source cannot be read at all.
 */
export async function runMapping(m: CompiledMapping, opts: RunOptions): Promise<RunStats> {
  const defs = (m as CompiledMappingImpl).defs;
  if (!defs) throw new TypeError('runMapping: the mapping was not made by loadMapping/compileMapping');
  return execute(defs, opts);
}
