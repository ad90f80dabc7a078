import { QueryEngine as ComunicaEngine } from '@comunica/query-sparql-rdfjs';
import type { Term } from '@rdfjs/types';
import { createReadStream } from 'node:fs';
import { Parser, StreamParser } from 'n3';
import { RdfStore } from 'rdf-stores';
import type { QueryEngine, SparqlJsonResults, SparqlJsonTerm } from './types.js';

/**
 * Comunica over an indexed rdf-stores store. One Comunica instance is reused for every query
 * (its first query pays the start-up cost).
 */
export class ComunicaQueryEngine implements QueryEngine {
  readonly name = 'comunica';
  private readonly engine = new ComunicaEngine();
  private store: RdfStore = RdfStore.createDefault();

  async load(nquads: string): Promise<void> {
    const store = RdfStore.createDefault();
    for (const q of new Parser({ format: 'N-Quads' }).parse(nquads)) store.addQuad(q);
    this.store = store;
  }

  /** Stream-parses the file, so its size is bounded by the store's memory, not by V8's string limit. */
  async loadFile(path: string): Promise<void> {
    const store = RdfStore.createDefault();
    const parser = new StreamParser({ format: 'N-Quads' });
    await new Promise<void>((resolve, reject) => {
      const input = createReadStream(path);
      input.on('error', (e) => reject(new Error(`comunica: cannot read ${path}: ${e.message}; check that the snapshot file exists and is readable`)));
      parser.on('data', (q) => store.addQuad(q));
      parser.on('error', (e: Error) => {
        input.destroy();
        reject(new Error(`comunica: cannot load ${path}: ${e.message}`));
      });
      parser.on('end', () => resolve());
      input.pipe(parser);
    });
    this.store = store;
  }

  async select(sparql: string): Promise<SparqlJsonResults> {
    const result = await this.engine.query(sparql, { sources: [this.store] });
    if (result.resultType !== 'bindings') throw new Error(`expected a SELECT query, got a ${result.resultType} query`);
    const vars = (await result.metadata()).variables.map((v) => v.value);
    const bindings = await (await result.execute()).toArray();
    return {
      head: { vars },
      results: {
        bindings: bindings.map((b) => {
          const row: Record<string, SparqlJsonTerm> = {};
          for (const [variable, term] of b) row[variable.value] = toJsonTerm(term);
          return row;
        }),
      },
    };
  }
}

function toJsonTerm(t: Term): SparqlJsonTerm {
  switch (t.termType) {
    case 'NamedNode':
      return { type: 'uri', value: t.value };
    case 'BlankNode':
      return { type: 'bnode', value: t.value };
    case 'Literal':
      if (t.language) return { type: 'literal', value: t.value, 'xml:lang': t.language };
      return t.datatype.value === 'http://www.w3.org/2001/XMLSchema#string' ? { type: 'literal', value: t.value } : { type: 'literal', value: t.value, datatype: t.datatype.value };
    default:
      throw new Error(`unexpected term type ${t.termType} in a query result`);
  }
}
