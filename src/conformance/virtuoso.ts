/**
 * A throwaway Virtuoso Open Source server for the remote-engine tests and engine conformance.
 *
 * Why our own instance: CI installs Debian's `virtuoso-opensource` but nothing starts it (no systemd),
 * and a developer's machine may run a Virtuoso we must not touch. So every start gets a fresh database
 * directory with its own virtuoso.ini, listens on 127.0.0.1 only (two free ports: SQL and HTTP) and
 * everything is deleted on stop(). A fresh database has the default dba/dba account, which is enough
 * for loopback-only throwaway data. Virtuoso runs as root without complaint.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const VIRTUOSO_BINARY = '/usr/bin/virtuoso-t';
const INSTALL_HINT = 'install it with `apt-get install virtuoso-opensource` or set VIRTUOSO_BIN';

export interface VirtuosoServer {
  /** SPARQL 1.1 query endpoint. */
  endpoint: string;
  /** SPARQL 1.1 Graph Store endpoint (digest authentication). */
  graphStore: string;
  user: string;
  password: string;
  httpPort: number;
  sqlPort: number;
  /** The database directory (data, ini, log); deleted by stop(). */
  dir: string;
  stop(): Promise<void>;
}

export interface VirtuosoOptions {
  /** How long to wait for the HTTP endpoint to answer (default 90 s: a fresh database initialises itself first). */
  startTimeoutMs?: number;
}

/** Starts a fresh server; throws with the server log when it does not come up. */
export async function startVirtuoso(opts: VirtuosoOptions = {}): Promise<VirtuosoServer> {
  const bin = process.env.VIRTUOSO_BIN ?? VIRTUOSO_BINARY;
  if (!existsSync(bin)) throw new Error(`Virtuoso is not installed (no ${bin}); ${INSTALL_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), 'kikv-virtuoso-'));
  const log = join(dir, 'virtuoso.log');
  let child: ChildProcess | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      // Another process may take a free port between our probe and Virtuoso's bind: try again.
      const sqlPort = await freePort();
      const httpPort = await freePort();
      writeFileSync(join(dir, 'virtuoso.ini'), ini(dir, sqlPort, httpPort));
      child = spawn(bin, ['+foreground', '+configfile', join(dir, 'virtuoso.ini')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      const endpoint = `http://127.0.0.1:${httpPort}/sparql`;
      const up = await waitUntilUp(child, endpoint, opts.startTimeoutMs ?? 90_000);
      if (up === true) {
        const stop = registerStop(child, dir);
        return { endpoint, graphStore: `http://127.0.0.1:${httpPort}/sparql-graph-crud-auth`, user: 'dba', password: 'dba', httpPort, sqlPort, dir, stop };
      }
      kill(child);
      const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : '';
      if (attempt >= 3 || !/bind|address already in use/i.test(tail + stderr)) {
        throw new Error(`Virtuoso did not start (${up}): ${stderr.trim()}${tail ? `\nserver log:\n${tail}` : ''}`);
      }
    }
  } catch (e) {
    if (child) kill(child);
    rmSync(dir, { recursive: true, force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`cannot run ${bin}; ${INSTALL_HINT}`);
    throw e;
  }
}

/** A minimal configuration: loopback ports, small buffers, files inside `dir`, no VAD packages. */
function ini(dir: string, sqlPort: number, httpPort: number): string {
  return `[Database]
DatabaseFile = ${dir}/virtuoso.db
ErrorLogFile = ${dir}/virtuoso.log
LockFile = ${dir}/virtuoso.lck
TransactionFile = ${dir}/virtuoso.trx
xa_persistent_file = ${dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = ${dir}/virtuoso-temp.db
TransactionFile = ${dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:${sqlPort}
DisableUnixSocket = 1
MaxClientConnections = 8
CheckpointInterval = 0
O_DIRECT = 0
CaseMode = 2
DirsAllowed = ., ${dir}
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
MaxQueryMem = 1G
ThreadsPerQuery = 2

[HTTPServer]
ServerPort = 127.0.0.1:${httpPort}
ServerRoot = ${dir}
MaxClientConnections = 8
ServerThreads = 8
EnabledDavVSP = 0
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 300
MaxQueryCostEstimationTime = 0
DefaultQuery = SELECT * WHERE { ?s ?p ?o } LIMIT 1
`;
}

/** True once the SPARQL endpoint answers; otherwise why not (exited, or timed out). */
async function waitUntilUp(child: ChildProcess, endpoint: string, timeoutMs: number): Promise<true | string> {
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `killed by ${signal}` : `exited with code ${code}`));
  child.once('error', (e) => (exited = e.message));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) return exited;
    try {
      const res = await fetch(`${endpoint}?query=${encodeURIComponent('ASK { ?s ?p ?o }')}`, { headers: { accept: 'application/sparql-results+json' }, signal: AbortSignal.timeout(5000) });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return exited ?? `no answer from ${endpoint} within ${timeoutMs} ms`;
}

/** Stops the server on stop() and, as a safety net, when the process exits without calling it. */
function registerStop(child: ChildProcess, dir: string): () => Promise<void> {
  let stopped = false;
  const onExit = () => {
    if (!stopped) kill(child);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      // Killed outright: the data is thrown away, so a checkpoint on shutdown would be wasted time.
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}
