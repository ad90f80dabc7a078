/**
 * YARRRML (the YAML authoring format) -> RML quads, via @rmlio/yarrrml-parser. The parser emits legacy
 * RML (http://semweb.mmlab.be/ns/rml#, R2RML, ql:), which graph.ts rewrites to RML-Core on load.
 */

import { createRequire } from 'node:module';
import type { Quad } from '@rdfjs/types';
import { RmlError } from './errors.js';

const require = createRequire(import.meta.url);

interface YarrrmlGenerator {
  convert(yarrrml: string): Quad[];
}

export function yarrrmlToQuads(text: string, file: string): Quad[] {
  const Generator = require('@rmlio/yarrrml-parser/lib/rml-generator.js') as new (options?: object) => YarrrmlGenerator;
  try {
    // includeMetadata adds provenance triples we do not need.
    return new Generator({ includeMetadata: false }).convert(text);
  } catch (e) {
    const err = e as Error & { code?: string };
    const what = err.code === 'INVALID_YAML' ? 'is not valid YAML' : 'is not valid YARRRML';
    throw new RmlError(`mapping ${file} ${what}: ${err.message}`);
  }
}
