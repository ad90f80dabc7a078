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

/**
 * One SPARQL engine holding one dataset snapshot. Implementations: Oxigraph and Comunica (in
 * process), Apache Jena TDB2 (Debian's command-line tools), a remote SPARQL 1.1 endpoint; see
 * registry.ts.
 */
export interface QueryEngine {
  readonly name: string;
  /** Loads the snapshot's canonical N-Quads, replacing what was loaded before. */
  load(nquads: string): Promise<void>;
  /**
   * Loads a canonical N-Quads file (a snapshot, see snapshotFile in store/snapshot.ts), replacing
   * what was loaded before. Use this for snapshots: a large provider's file does not fit in one JS
   * string, so engines read it in pieces (or hand the file to a tool that does).
   */
  loadFile(path: string): Promise<void>;
  /** Runs a SELECT query (parameters already bound) and returns SPARQL JSON results. */
  select(sparql: string): Promise<SparqlJsonResults>;
  /** Releases what the engine holds outside this process's heap (Jena's query JVM and its store lock). */
  close?(): Promise<void>;
}
