import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueryEngine, SparqlJsonResults } from '../types.js';
import { jenaRuntime, JenaQueryError } from './index.js';
import { parseResults } from './tdb2.js';
import { Tdb2Server, Tdb2ServerError } from './tdb2-server.js';

export interface JenaMemoryOptions {
  /** Kill the JVM when a query runs longer (default 5 minutes). */
  timeoutMs?: number;
  /** Kill the JVM when reading the data takes longer (default 30 minutes). */
  loadTimeoutMs?: number;
  /** Extra JVM options; the data lives on the heap, so e.g. ['-Xmx6g'] for 1,000 staff. */
  javaOptions?: string[];
  java?: string;
}

/**
 * Apache Jena with the snapshot in memory, in one long-lived JVM: for the official queries, which
 * Jena answers right as written but slowly on a TDB2 store. Nothing persists; each load reads the
 * file again. Needs a JDK (Java runs the query server from source), like the TDB2 engine's server.
 */
export class JenaMemoryEngine implements QueryEngine {
  readonly name = 'jena';
  private server: Tdb2Server | undefined;

  constructor(private readonly opts: JenaMemoryOptions = {}) {}

  async load(nquads: string): Promise<void> {
    const work = mkdtempSync(join(tmpdir(), 'kikv-jena-mem-'));
    try {
      const file = join(work, 'data.nq');
      writeFileSync(file, nquads);
      await this.loadFile(file);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  async loadFile(path: string): Promise<void> {
    if (!existsSync(path)) throw new Error(`jena: data file ${path} does not exist`);
    await this.close();
    const rt = jenaRuntime();
    try {
      this.server = await Tdb2Server.startInMemory(rt, this.opts.java ?? rt.java, this.opts.javaOptions ?? [], path, this.opts.loadTimeoutMs ?? 1_800_000);
    } catch (e) {
      const text = (e as Error).message;
      throw new JenaQueryError(`jena: could not read ${path} into memory${/OutOfMemoryError/.test(text) ? ' (give the JVM more heap, e.g. javaOptions: ["-Xmx8g"])' : ''}: ${text}`, text);
    }
  }

  async select(sparql: string): Promise<SparqlJsonResults> {
    if (!this.server?.alive) throw new Error('jena: no data loaded (or its JVM stopped); call load or loadFile first');
    try {
      return parseResults(await this.server.select(sparql, this.opts.timeoutMs ?? 300_000));
    } catch (e) {
      if (!(e instanceof Tdb2ServerError)) throw e;
      throw new JenaQueryError(`jena: query failed${/OutOfMemoryError/.test(e.message) ? ' (give the JVM more heap, e.g. javaOptions: ["-Xmx8g"])' : ''}: ${e.message}`, e.message);
    }
  }

  async close(): Promise<void> {
    this.server?.close();
    this.server = undefined;
  }
}
