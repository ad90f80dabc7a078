import oxigraph from 'oxigraph';
import type { QueryEngine, SparqlJsonResults, SparqlJsonTerm } from './types.js';

const XSD_STRING = 'http://www.w3.org/2001/XMLSchema#string';

/** Raised when Oxigraph rejects data or a query; the message names the step and keeps Oxigraph's text. */
export class OxigraphEngineError extends Error {
  override readonly name = 'OxigraphEngineError';
}

/**
 * Oxigraph (WASM build, in-memory store), in process. `load` bulk-loads the N-Quads into a fresh
 * store; `select` asks Oxigraph for SPARQL JSON results directly and normalises them to the shape the
 * Comunica adapter produces (plain `xsd:string` literals carry no datatype).
 *
 * Known Oxigraph 0.5 defects (see docs/research/engine-anchors.md): `+`/`-` and `*`/`/` chains are
 * parsed right-associatively, `xsd:date - "P1Y"^^xsd:duration` is wrong on month-end dates, and a
 * SELECT expression may not reuse an aggregate alias of the same SELECT.
 */
export class OxigraphQueryEngine implements QueryEngine {
  readonly name = 'oxigraph';
  private store = new oxigraph.Store();

  async load(nquads: string): Promise<void> {
    const store = new oxigraph.Store();
    try {
      store.load(nquads, { format: 'application/n-quads' });
    } catch (e) {
      throw new OxigraphEngineError(`oxigraph: cannot load N-Quads: ${errorText(e)}`);
    }
    this.store = store;
  }

  async select(sparql: string): Promise<SparqlJsonResults> {
    let raw: unknown;
    try {
      raw = this.store.query(sparql, { results_format: 'application/sparql-results+json' });
    } catch (e) {
      const text = errorText(e);
      // Oxigraph refuses a results media type for graph-shaped results.
      if (/Not supported RDF format media type/.test(text)) throw new OxigraphEngineError('oxigraph: expected a SELECT query, got a CONSTRUCT or DESCRIBE query');
      throw new OxigraphEngineError(`oxigraph: query failed: ${text}`);
    }
    if (typeof raw !== 'string') throw new OxigraphEngineError('oxigraph: expected a SELECT query, got a result that is not SPARQL JSON');
    let parsed: { head?: { vars?: string[] }; results?: { bindings?: Array<Record<string, SparqlJsonTerm>> }; boolean?: boolean };
    try {
      parsed = JSON.parse(raw) as typeof parsed;
    } catch {
      throw new OxigraphEngineError('oxigraph: expected a SELECT query, got a CONSTRUCT or DESCRIBE query');
    }
    if (Array.isArray(parsed)) throw new OxigraphEngineError('oxigraph: expected a SELECT query, got a CONSTRUCT or DESCRIBE query');
    if (typeof parsed.boolean === 'boolean' || !parsed.results) throw new OxigraphEngineError('oxigraph: expected a SELECT query, got an ASK query');
    const bindings = (parsed.results.bindings ?? []).map((row) => {
      const out: Record<string, SparqlJsonTerm> = {};
      for (const [k, term] of Object.entries(row)) out[k] = normalise(term);
      return out;
    });
    return { head: { vars: parsed.head?.vars ?? [] }, results: { bindings } };
  }
}

function normalise(term: SparqlJsonTerm): SparqlJsonTerm {
  if (term.type === 'literal') {
    if (term['xml:lang']) return { type: 'literal', value: term.value, 'xml:lang': term['xml:lang'] };
    if (term.datatype && term.datatype !== XSD_STRING) return { type: 'literal', value: term.value, datatype: term.datatype };
    return { type: 'literal', value: term.value };
  }
  if ((term as { type: string }).type === 'triple') throw new OxigraphEngineError('oxigraph: RDF-star triple terms are not supported in results');
  return term;
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
