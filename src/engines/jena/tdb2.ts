import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { QueryEngine, SparqlJsonResults } from '../types.js';
import { INSTALL_HINT } from './classpath.js';
import { jenaRuntime, JenaQueryError, type JenaRuntime } from './index.js';
import { jenaFailureHint, runJava } from './java.js';
import { Tdb2Server, Tdb2ServerError } from './tdb2-server.js';

export interface JenaTdb2Options {
  /** Directory holding one TDB2 store per snapshot hash (default: os.tmpdir()/kikv-tdb2; the registry uses <dataDir>/engines/tdb2). */
  storeRoot?: string;
  /** Kill a query's JVM after this long (default 5 minutes). */
  timeoutMs?: number;
  /** Kill the loader after this long (default 30 minutes). */
  loadTimeoutMs?: number;
  /** Extra JVM options, e.g. ['-Xmx4g']. */
  javaOptions?: string[];
  /** The java command (default $JAVA_HOME/bin/java or java on PATH). */
  java?: string;
  /**
   * Answer selects from one long-lived JVM per store (default true) instead of one tdb2.tdbquery
   * each; falls back to tdbquery where Java cannot run a source file (no JDK compiler module).
   */
  server?: boolean;
}

/** One query JVM per store directory, shared by every engine in this process (a TDB2 store is opened by one JVM at a time). */
const servers = new Map<string, Promise<Tdb2Server>>();
/** Why the long-lived JVM cannot run here, once found out. */
let serverUnavailable: string | undefined;

const COMPLETE_MARK = 'kikv-complete';
const SNAPSHOT_NAME = /^([0-9a-f]{64})\.nq$/;

/**
 * Apache Jena (Debian's libapache-jena-java) through its own command-line tools: each loaded
 * snapshot becomes a TDB2 store built once by tdb2.tdbloader and kept under its hash, so loading the
 * same snapshot again (another run, another process) reuses it; each select is one tdb2.tdbquery.
 * Jena runs the official queries as written (docs/research/engine-anchors.md), which makes it the
 * reference engine.
 */
export class JenaTdb2Engine implements QueryEngine {
  readonly name = 'jena';
  private storeDir: string | undefined;
  /** Whether the last load built its store (false: reused); for tests and timing reports. */
  lastLoadBuilt = false;

  constructor(private readonly opts: JenaTdb2Options = {}) {}

  private get root(): string {
    return this.opts.storeRoot ?? join(tmpdir(), 'kikv-tdb2');
  }

  async load(nquads: string): Promise<void> {
    const hash = createHash('sha256').update(nquads).digest('hex');
    const dir = join(this.root, hash);
    if (this.reuse(dir)) return;
    mkdirSync(this.root, { recursive: true });
    const work = mkdtempSync(join(this.root, '.data-'));
    try {
      const file = join(work, `${hash}.nq`);
      writeFileSync(file, nquads);
      await this.build(file, hash);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  async loadFile(path: string): Promise<void> {
    if (!existsSync(path)) throw new Error(`jena: snapshot file ${path} does not exist`);
    // Snapshots are named by the hash of their content, so the name is the cache key; any other file is hashed.
    const hash = SNAPSHOT_NAME.exec(basename(path))?.[1] ?? (await hashFile(path));
    if (this.reuse(join(this.root, hash))) return;
    await this.build(path, hash);
  }

  select(sparql: string): Promise<SparqlJsonResults> {
    return this.selectInServer(sparql, false);
  }

  private async selectInServer(sparql: string, retried: boolean): Promise<SparqlJsonResults> {
    if (!this.storeDir) throw new Error('jena: no snapshot loaded; call load or loadFile first');
    const server = await this.server(this.storeDir);
    if (!server) return this.selectOnce(sparql);
    let out: string;
    try {
      out = await server.select(sparql, this.opts.timeoutMs ?? 300_000);
    } catch (e) {
      if (!(e instanceof Tdb2ServerError)) throw e;
      // Stopped under us (another engine on this store moved on to a new snapshot): a new JVM answers.
      if (!retried && /killed by SIGKILL/.test(e.message)) return this.selectInServer(sparql, true);
      throw new JenaQueryError(`jena: query failed${/OutOfMemoryError/.test(e.message) ? ' (give the JVM more heap, e.g. javaOptions: ["-Xmx4g"])' : ''}: ${e.message}`, e.message);
    }
    return parseResults(out);
  }

  /** The store's query JVM, started on first use; undefined when it cannot run here (then each select runs tdbquery). */
  private async server(storeDir: string): Promise<Tdb2Server | undefined> {
    if (this.opts.server === false || serverUnavailable) return undefined;
    let started = servers.get(storeDir);
    if (!started) {
      const rt = this.runtime();
      started = Tdb2Server.start(rt, this.opts.java ?? rt.java, this.opts.javaOptions ?? [], storeDir, this.opts.loadTimeoutMs ?? 300_000);
      servers.set(storeDir, started);
    }
    try {
      const s = await started;
      if (s.alive) return s;
      servers.delete(storeDir);
      return this.server(storeDir);
    } catch (e) {
      servers.delete(storeDir);
      const text = (e as Error).message;
      const lock = /Failed to get a lock.*held by process (\d+)/.exec(text);
      if (lock) throw new JenaQueryError(`jena: the TDB2 store ${storeDir} is open in another process (pid ${lock[1]}); wait for it to finish or stop it`, text);
      // Anything else means this Java cannot run the source file (e.g. a JRE without the compiler module).
      serverUnavailable = text;
      return undefined;
    }
  }

  /**
   * A long-running agent loads a new snapshot after each import: the previous store's JVM is stopped
   * so they do not pile up (another engine still on that store restarts it on its next select).
   */
  private switchTo(dir: string): void {
    if (this.storeDir && this.storeDir !== dir) void this.close();
    this.storeDir = dir;
  }

  /** Stops the query JVM of the loaded store (it also stops by itself when this process ends). */
  async close(): Promise<void> {
    if (!this.storeDir) return;
    const started = servers.get(this.storeDir);
    servers.delete(this.storeDir);
    (await started?.catch(() => undefined))?.close();
  }

  private runtime(): JenaRuntime {
    try {
      return jenaRuntime();
    } catch (e) {
      throw new Error(`jena: ${(e as Error).message}`);
    }
  }

  /** One tdb2.tdbquery: a JVM start and a store open per query. */
  private async selectOnce(sparql: string): Promise<SparqlJsonResults> {
    const work = mkdtempSync(join(tmpdir(), 'kikv-tdb2-query-'));
    try {
      const queryFile = join(work, 'query.rq');
      writeFileSync(queryFile, sparql);
      const out = await this.run(['tdb2.tdbquery', '--loc', this.storeDir!, '--results=json', '--query', queryFile], this.opts.timeoutMs ?? 300_000, 'query');
      return parseResults(out);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  private reuse(dir: string): boolean {
    if (!existsSync(join(dir, COMPLETE_MARK))) return false;
    this.switchTo(dir);
    this.lastLoadBuilt = false;
    return true;
  }

  /** Builds into a private directory and renames it into place, so a crash or a concurrent build never leaves a half store under the hash. */
  private async build(file: string, hash: string): Promise<void> {
    const dir = join(this.root, hash);
    mkdirSync(this.root, { recursive: true });
    // A store is only built when absent, so no query JVM can hold it open.
    const staging = mkdtempSync(join(this.root, `.${hash.slice(0, 12)}-`));
    try {
      // tdbloader picks the syntax by extension; snapshots are always N-Quads.
      const args = ['tdb2.tdbloader', '--loc', staging, '--syntax=N-Quads', file];
      await this.run(args, this.opts.loadTimeoutMs ?? 1_800_000, 'load');
      writeFileSync(join(staging, COMPLETE_MARK), `${file}\n`);
      try {
        renameSync(staging, dir);
      } catch (e) {
        if (!existsSync(join(dir, COMPLETE_MARK))) throw new Error(`jena: cannot move the TDB2 store into ${dir}: ${(e as Error).message}`);
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    this.switchTo(dir);
    this.lastLoadBuilt = true;
  }

  private async run(args: string[], timeoutMs: number, what: 'load' | 'query'): Promise<string> {
    const rt = this.runtime();
    const java = this.opts.java ?? rt.java;
    const full = [...rt.javaOptions, ...(this.opts.javaOptions ?? []), '-cp', rt.classpath.join(':'), ...args];
    const r = await runJava(java, full, timeoutMs, `jena: no Java runtime ("${java}" was not found; set JAVA_HOME or put java on PATH); ${INSTALL_HINT} default-jre-headless`);
    if (r.timedOut) throw new JenaQueryError(`jena: ${what} timed out after ${timeoutMs} ms (raise ${what === 'load' ? 'loadTimeoutMs' : 'timeoutMs'} for large data)`, r.stderr);
    if (r.code !== 0) throw new JenaQueryError(`jena: ${what} failed (${r.signal ? `killed by ${r.signal}` : `exit ${r.code}`})${jenaFailureHint(r.stderr)}: ${firstLines(r.stderr)}`, r.stderr);
    return r.stdout;
  }
}

/** Jena's SPARQL JSON output as SELECT results (an ASK or non-JSON output is an error). */
export function parseResults(out: string): SparqlJsonResults {
  let parsed: SparqlJsonResults & { boolean?: boolean };
  try {
    parsed = JSON.parse(out) as typeof parsed;
  } catch {
    throw new JenaQueryError(`jena: no JSON results (${out.slice(0, 200)}); expected a SELECT query`, '');
  }
  if (!parsed.results) throw new JenaQueryError('jena: expected a SELECT query, got an ASK query', '');
  return { head: { vars: parsed.head?.vars ?? [] }, results: { bindings: parsed.results.bindings } };
}

/** Jena's first lines say what went wrong (e.g. "Encountered … at line 1, column 22"); the rest lists alternatives or a stack. */
function firstLines(stderr: string): string {
  return stderr
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && !l.startsWith('SLF4J:'))
    .slice(0, 6)
    .join('\n');
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const buf of createReadStream(path) as AsyncIterable<Buffer>) h.update(buf);
  return h.digest('hex');
}
