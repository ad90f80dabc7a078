import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JenaRuntime } from './index.js';

/**
 * A long-lived JVM answering SELECTs on one TDB2 store: each tdb2.tdbquery pays JVM start-up and
 * store opening (measured 4.5–5 s on an idle 2-core machine, far more under load), which dominates
 * our pack's queries. Java runs this single source file directly (JEP 330), so nothing is compiled
 * ahead; that needs the JDK's compiler module. Without it, `start` rejects and the engine falls back
 * to one tdbquery per select.
 *
 * Protocol on stdin/stdout, UTF-8: the request is "<bytes>\n<query>", the answer "OK <bytes>\n<json>"
 * or "ERR <bytes>\n<message>". The JVM exits when its stdin closes, i.e. when this process ends.
 */
const JAVA_SOURCE = String.raw`
import java.io.*;
import java.nio.charset.StandardCharsets;
import org.apache.jena.query.*;
import org.apache.jena.riot.RDFDataMgr;
import org.apache.jena.system.Txn;
import org.apache.jena.tdb2.TDB2Factory;

public class KikvTdb2Server {
  public static void main(String[] args) throws Exception {
    final Dataset ds;
    if (args[0].equals("--mem")) {
      ds = DatasetFactory.createTxnMem();
      Txn.executeWrite(ds, () -> RDFDataMgr.read(ds, args[1]));
    } else {
      ds = TDB2Factory.connectDataset(args[0]);
    }
    InputStream in = new BufferedInputStream(System.in);
    OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out));
    out.write("READY\n".getBytes(StandardCharsets.UTF_8));
    out.flush();
    while (true) {
      String header = readLine(in);
      if (header == null) return;
      byte[] q = in.readNBytes(Integer.parseInt(header.trim()));
      String status = "OK";
      byte[] result;
      try {
        Query query = QueryFactory.create(new String(q, StandardCharsets.UTF_8));
        if (!query.isSelectType()) throw new IllegalArgumentException("expected a SELECT query");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Txn.executeRead(ds, () -> {
          try (QueryExecution qe = QueryExecutionFactory.create(query, ds)) {
            ResultSetFormatter.outputAsJSON(buf, qe.execSelect());
          }
        });
        result = buf.toByteArray();
      } catch (Throwable e) {
        status = "ERR";
        result = (e.getClass().getSimpleName() + ": " + e.getMessage()).getBytes(StandardCharsets.UTF_8);
      }
      out.write((status + " " + result.length + "\n").getBytes(StandardCharsets.UTF_8));
      out.write(result);
      out.flush();
    }
  }

  static String readLine(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c == -1) return null;
      sb.append((char) c);
    }
    return sb.toString();
  }
}
`;

export class Tdb2ServerError extends Error {
  override readonly name = 'Tdb2ServerError';
}

/** One JVM per store directory. */
export class Tdb2Server {
  private pending: { resolve: (v: string) => void; reject: (e: Error) => void } | undefined;
  private buf = Buffer.alloc(0);
  private stderr = '';
  private queue: Promise<unknown> = Promise.resolve();
  private closed: string | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => this.onData(d));
    child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString('utf8')).slice(-4000)));
    child.on('exit', (code, signal) => {
      this.closed = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.pending?.reject(new Tdb2ServerError(`the Jena query JVM ${this.closed}: ${this.stderr.trim().split('\n').slice(0, 6).join('\n')}`));
      this.pending = undefined;
    });
    // Idle, it must not keep Node alive; it exits by itself when our end of stdin closes.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  }

  get alive(): boolean {
    return this.closed === undefined;
  }

  /** Starts the JVM on `storeDir` and waits until the store is open. */
  static start(rt: JenaRuntime, java: string, javaOptions: string[], storeDir: string, timeoutMs: number): Promise<Tdb2Server> {
    return Tdb2Server.spawn(rt, java, javaOptions, [storeDir], timeoutMs);
  }

  /**
   * Starts the JVM with `dataFile` (N-Quads, N-Triples, Turtle by extension) read into an in-memory
   * dataset and waits until it is loaded. The official queries run many times faster in memory than
   * on a TDB2 store (1.2 at 1,000 staff: about 1 s against more than 80 s); the price is heap.
   */
  static startInMemory(rt: JenaRuntime, java: string, javaOptions: string[], dataFile: string, timeoutMs: number): Promise<Tdb2Server> {
    return Tdb2Server.spawn(rt, java, javaOptions, ['--mem', dataFile], timeoutMs);
  }

  private static async spawn(rt: JenaRuntime, java: string, javaOptions: string[], args: string[], timeoutMs: number): Promise<Tdb2Server> {
    const source = sourceFile();
    const child = spawn(java, [...rt.javaOptions, ...javaOptions, '-cp', rt.classpath.join(':'), source, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const server = new Tdb2Server(child);
    await server.exchange(undefined, timeoutMs);
    return server;
  }

  /** Runs one SELECT; the JVM answers one request at a time, so requests queue. */
  select(sparql: string, timeoutMs: number): Promise<string> {
    const run = this.queue.then(() => this.exchange(sparql, timeoutMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  private exchange(sparql: string | undefined, timeoutMs: number): Promise<string> {
    if (this.closed) return Promise.reject(new Tdb2ServerError(`the Jena query JVM ${this.closed}`));
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        this.close();
        reject(new Tdb2ServerError(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      if (sparql !== undefined) {
        const body = Buffer.from(sparql, 'utf8');
        this.child.stdin.write(`${body.length}\n`);
        this.child.stdin.write(body);
      }
      this.onData(Buffer.alloc(0));
    });
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.pending) return;
    const nl = this.buf.indexOf(10);
    if (nl === -1) return;
    const header = this.buf.toString('utf8', 0, nl);
    if (header === 'READY') {
      this.buf = this.buf.subarray(nl + 1);
      this.settle((p) => p.resolve(''));
      return;
    }
    const m = /^(OK|ERR) (\d+)$/.exec(header);
    if (!m) {
      this.settle((p) => p.reject(new Tdb2ServerError(`unexpected output from the Jena query JVM: ${header.slice(0, 200)}`)));
      this.close();
      return;
    }
    const len = Number(m[2]);
    if (this.buf.length < nl + 1 + len) return;
    const body = this.buf.toString('utf8', nl + 1, nl + 1 + len);
    this.buf = this.buf.subarray(nl + 1 + len);
    this.settle((p) => (m[1] === 'OK' ? p.resolve(body) : p.reject(new Tdb2ServerError(body))));
  }

  private settle(f: (p: NonNullable<Tdb2Server['pending']>) => void): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) f(p);
  }
}

/** The Java source, written once per content into the temp directory (Java needs the file name to match the class). */
function sourceFile(): string {
  const dir = join(tmpdir(), `kikv-tdb2-server-${createHash('sha256').update(JAVA_SOURCE).digest('hex').slice(0, 12)}`);
  const file = join(dir, 'KikvTdb2Server.java');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JAVA_SOURCE);
    renameSync(tmp, file);
  }
  return file;
}
