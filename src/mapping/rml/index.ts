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
    throw new RmlError(`mapping ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (/\.ya?ml$/i.test(file)) return compileMapping(yarrrmlToQuads(text, file), file);
  return compileMapping(text, file);
}

export function compileMapping(turtleOrQuads: string | Quad[], file: string): CompiledMapping {
  let quads: Quad[];
  if (typeof turtleOrQuads === 'string') {
    try {
      quads = new Parser({ format: 'text/turtle', baseIRI: fileBase(file) }).parse(turtleOrQuads) as unknown as Quad[];
    } catch (e) {
      throw new RmlError(`mapping ${file} is not valid Turtle: ${(e as Error).message}`);
    }
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

export async function runMapping(m: CompiledMapping, opts: RunOptions): Promise<RunStats> {
  const defs = (m as CompiledMappingImpl).defs;
  if (!defs) throw new TypeError('runMapping: the mapping was not made by loadMapping/compileMapping');
  return execute(defs, opts);
}
