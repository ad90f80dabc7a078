import { createReadStream } from 'node:fs';
import oxigraph from 'oxigraph';
import type { QueryEngine, SparqlJsonResults, SparqlJsonTerm } from './types.js';

const XSD_STRING = 'http://www.w3.org/2001/XMLSchema#string';

/** Raised when Oxigraph rejects data or a query; the message names the step and keeps Oxigraph's text. */
export class OxigraphEngineError extends Error {
  override readonly name = 'OxigraphEngineError';
}

/**
 * `lenient` skips Oxigraph's re-validation of IRIs and language tags, about half the load time (2.2–3.0 s
 * to 1.4 s at 1,000 staff). What it loads is written by our own code: snapshots serialised by n3 from
 * the mapping's terms (SHACL-checked up to `mapping.validateUpTo` statements) and named by their hash,
 * which runProfile verifies before loading; a malformed statement still fails the load.
 */
const LOAD_OPTIONS = { format: 'application/n-quads', lenient: true } as const;

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
      store.load(nquads, LOAD_OPTIONS);
    } catch (e) {
      throw new OxigraphEngineError(`oxigraph: cannot load N-Quads: ${errorText(e)}`);
    }
    this.store = store;
  }

  /** Bulk-loads the file in pieces of whole lines, so its size is not bounded by V8's string limit. */
  async loadFile(path: string): Promise<void> {
    const store = new oxigraph.Store();
    let line = 1;
    try {
      for await (const piece of lineChunks(path)) {
        try {
          store.load(piece, LOAD_OPTIONS);
        } catch (e) {
          throw new OxigraphEngineError(`oxigraph: cannot load ${path} (in the piece starting at line ${line}): ${errorText(e)}`);
        }
        line += countLines(piece);
      }
    } catch (e) {
      if (e instanceof OxigraphEngineError) throw e;
      throw new OxigraphEngineError(`oxigraph: cannot read ${path}: ${errorText(e)}; check that the snapshot file exists and is readable`);
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

/** Default piece size: well under V8's string cap (about 512 M characters), big enough to amortise each load call. */
export const CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Reads a line-based RDF file as strings of whole lines of about `chunkBytes` each. Splitting on the
 * newline byte never cuts a UTF-8 sequence, since 0x0A occurs in no multi-byte character.
 */
export async function* lineChunks(path: string, chunkBytes = CHUNK_BYTES): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const buf of createReadStream(path, { highWaterMark: Math.min(chunkBytes, 8 * 1024 * 1024) }) as AsyncIterable<Buffer>) {
    pending.push(buf);
    size += buf.length;
    if (size < chunkBytes) continue;
    const all = Buffer.concat(pending);
    const cut = all.lastIndexOf(10);
    if (cut === -1) {
      pending = [all];
      continue;
    }
    yield all.toString('utf8', 0, cut + 1);
    const rest = all.subarray(cut + 1);
    pending = rest.length > 0 ? [rest] : [];
    size = rest.length;
  }
  if (size > 0) yield Buffer.concat(pending).toString('utf8');
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
