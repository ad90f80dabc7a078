/**
 * Per-query engine routing over the checked-in engine conformance matrix
 * (conformance/engine-matrix.json, written by `npm run conformance:engines`).
 *
 * An engine may answer a query only when the matrix proves it gave the reference engine's (Jena's)
 * answer for exactly that query text on every provider of the conformance run. Anything less (it
 * differed, failed or timed out once, the reference itself could not answer, or the query text
 * changed since the run) is a refusal, because an unproven engine can return a signed, wrong answer.
 */
import { INSTALL_HINT } from './jena/classpath.js';

/** One engine on one provider, against the reference. */
export type ProviderVerdict = 'same' | 'differs' | 'fails (error)' | 'fails (timeout)' | 'no reference';

/**
 * One engine over all providers: `same` only when every provider was `same`; `fails` when any provider
 * failed; `differs` when any differed (and none failed); `unproven` when the reference gave no answer
 * to compare with on some provider and the engine was otherwise the same.
 */
export type Verdict = 'same' | 'differs' | 'fails' | 'unproven';

export interface MatrixCell {
  verdict: Verdict;
  /** Provider name -> verdict on that provider. */
  providers: Record<string, ProviderVerdict>;
}

export interface MatrixEntry {
  /** `official/1.1` for an official Zorgkantoren query, the item id for a pack item. */
  id: string;
  kind: 'official' | 'pack';
  /** SHA-256 of the query text as written (before parameters and normalisation). */
  sha256: string;
  /** Engine name -> its cell. The reference engine is `same` where it answered on every provider. */
  engines: Record<string, MatrixCell>;
}

export interface EngineMatrix {
  version: 1;
  /** The engine every other engine is compared with. */
  reference: string;
  /** Provider names, e.g. `sample`, `gen-s7-e40-c30-l2`. */
  providers: string[];
  /** Engines that ran (were available) when the matrix was made. */
  engines: string[];
  /** queryKey(id, sha256) -> entry. */
  queries: Record<string, MatrixEntry>;
}

export const MATRIX_FILE = 'conformance/engine-matrix.json';
const RERUN = `re-run \`npm run conformance:engines\` (it rewrites ${MATRIX_FILE}; commit the result)`;

/** The matrix key of a query: its id and the start of its text's SHA-256, so an edited query is unproven. */
export function queryKey(id: string, sha256: string): string {
  return `${id}@${sha256.slice(0, 16)}`;
}

export type Routing = { engine: string } | { refusal: string };

/**
 * Picks the engine for one query: the first engine of `preference` (then the other available engines,
 * in their order) that is available and proven `same` as the reference for this query. Refuses, with
 * what to do, when no available engine is proven.
 */
export function chooseEngine(matrix: EngineMatrix, key: string, available: string[], preference: string[]): Routing {
  const entry = matrix.queries[key];
  if (!entry) {
    const id = key.includes('@') ? key.slice(0, key.lastIndexOf('@')) : key;
    const other = Object.values(matrix.queries).find((e) => e.id === id);
    const why = other
      ? `${MATRIX_FILE} has ${id} only for another text of the query (sha256 ${other.sha256.slice(0, 16)}…): the query changed since the engines were last compared`
      : `${MATRIX_FILE} has no entry for ${id}: no engine was ever compared with the reference (${matrix.reference}) on it`;
    return { refusal: `Refusing to run ${key}: ${why}. To prove an engine for it, ${RERUN}.` };
  }
  const order = [...preference.filter((e) => available.includes(e)), ...available.filter((e) => !preference.includes(e))];
  for (const engine of order) if (entry.engines[engine]?.verdict === 'same') return { engine };

  const proven = Object.entries(entry.engines)
    .filter(([, c]) => c.verdict === 'same')
    .map(([e]) => e);
  const status = available.map((e) => `${e}: ${describeCell(entry.engines[e])}`).join('; ');
  const lines = [
    `Refusing to run ${entry.id}: no available engine is proven to give the reference (${matrix.reference}) answer for it, so any answer could be wrong.`,
    `  Available engines: ${available.length > 0 ? status : 'none'}.`,
    `  Proven on every provider of the conformance run: ${proven.length > 0 ? proven.join(', ') : 'no engine'}.`,
  ];
  const fixes: string[] = [];
  if (proven.includes(matrix.reference) && !available.includes(matrix.reference) && matrix.reference === 'jena') fixes.push(`${INSTALL_HINT}, so the reference engine Jena answers it`);
  const missing = proven.filter((e) => !available.includes(e) && e !== matrix.reference);
  if (missing.length > 0) fixes.push(`make ${missing.join(' or ')} available`);
  fixes.push(`after an engine upgrade or a normaliser fix, ${RERUN}`);
  lines.push(`  To fix: ${fixes.join('; or ')}.`);
  return { refusal: lines.join('\n') };
}

function describeCell(cell: MatrixCell | undefined): string {
  if (!cell) return 'not in the conformance run';
  if (cell.verdict === 'same') return 'same';
  const bad = Object.entries(cell.providers)
    .filter(([, v]) => v !== 'same')
    .map(([p, v]) => `${v} on ${p}`);
  return `${cell.verdict} (${bad.join(', ')})`;
}
