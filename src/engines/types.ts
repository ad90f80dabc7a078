/** A term in SPARQL 1.1 Query Results JSON. */
export type SparqlJsonTerm =
  | { type: 'uri'; value: string }
  | { type: 'literal'; value: string; datatype?: string; 'xml:lang'?: string }
  | { type: 'bnode'; value: string };

/** SPARQL 1.1 Query Results JSON Format, SELECT form. */
export interface SparqlJsonResults {
  head: { vars: string[] };
  results: { bindings: Array<Record<string, SparqlJsonTerm>> };
}

/** One SPARQL engine holding one dataset snapshot. Implementations: Comunica (in process). */
export interface QueryEngine {
  readonly name: string;
  /** Loads the snapshot's canonical N-Quads, replacing what was loaded before. */
  load(nquads: string): Promise<void>;
  /** Runs a SELECT query (parameters already bound) and returns SPARQL JSON results. */
  select(sparql: string): Promise<SparqlJsonResults>;
}
