import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { INSTALL_HINT } from './classpath.js';

/** How one Java process ended: its output, exit code or signal, and whether we killed it on time. */
export interface JavaRun {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/**
 * Runs one Java process to its end, killing it after timeoutMs. Rejects only when Java cannot be
 * started (with `notFound` as the message when the binary is missing); the caller judges the outcome.
 */
export function runJava(java: string, args: string[], timeoutMs: number, notFound: string): Promise<JavaRun> {
  return new Promise<JavaRun>((resolve, reject) => {
    const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new Error(notFound) : e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code, signal, timedOut });
    });
  });
}

/** What to do about a failed Jena run, from its stderr (empty when nothing specific applies). */
export function jenaFailureHint(stderr: string, missingJars: string[] = []): string {
  if (/NoClassDefFoundError|ClassNotFoundException/.test(stderr)) return missingJars.length > 0 ? ` (jars missing for ${missingJars.join(', ')}; ${INSTALL_HINT})` : ` (${INSTALL_HINT})`;
  if (/OutOfMemoryError/.test(stderr)) return ' (give the JVM more heap, e.g. javaOptions: ["-Xmx4g"])';
  if (/XSSimpleTypeDecl|internal error/.test(stderr)) return ` (the Xerces resource workaround did not take; remove the kikv-jena-* cache directory in ${tmpdir()} and retry)`;
  return '';
}
