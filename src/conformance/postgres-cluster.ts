/**
 * A throwaway PostgreSQL cluster for tests and the RML database conformance cases.
 *
 * Why our own cluster: CI installs the Debian `postgresql` package but does not start it, and a
 * developer's machine may run a server we must not touch. So we initdb into a temp directory, listen
 * on 127.0.0.1 only (a free port, the unix socket inside the temp dir) and delete everything on stop().
 * Durability settings are off because the data is thrown away; that keeps start-up at about a second.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresCluster {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** The cluster's directory (data, socket, log); deleted by stop(). */
  dir: string;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Role created with password (SCRAM) authentication; it is the cluster's superuser. Default kikv_test. */
  user?: string;
  /** Database created for the role. Default kikv_test. */
  database?: string;
}

/** Starts a fresh cluster; throws with the server log when it does not come up. */
export async function startPostgresCluster(opts: ClusterOptions = {}): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const user = opts.user ?? 'kikv_test';
  const database = opts.database ?? 'kikv_test';
  const password = randomBytes(12).toString('base64url');
  const asRoot = process.getuid?.() === 0;
  // initdb refuses to run as root, so as root everything runs as the `postgres` OS user, which must be
  // able to reach the directory: /tmp is world-traversable, $TMPDIR may not be.
  const dir = mkdtempSync(join(asRoot ? '/tmp' : tmpdir(), 'kikv-pg-'));
  const owner = asRoot ? osUser('postgres') : undefined;
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  const pwFile = join(dir, 'pw');
  const logFile = join(dir, 'server.log');
  mkdirSync(socketDir);
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (owner) for (const p of [dir, socketDir, pwFile]) chownSync(p, owner.uid, owner.gid);
  chmodSync(dir, 0o700);

  const run = (tool: string, args: string[]) => {
    const cmd = owner ? 'runuser' : join(bin, tool);
    const full = owner ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    const r = spawnSync(cmd, full, { encoding: 'utf8', cwd: dir });
    if (r.error || r.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
      throw new Error(`${tool} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr || r.stdout}${log ? `\nserver log:\n${log}` : ''}`);
    }
  };

  let started = false;
  try {
    run('initdb', ['-D', data, '-U', user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync']);
    rmSync(pwFile);
    let port = 0;
    // Another process may take the free port between our probe and the server's bind: try again.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const settings = [
        `-c listen_addresses=127.0.0.1`,
        `-c port=${port}`,
        `-c unix_socket_directories=${socketDir}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=30',
      ].join(' ');
      try {
        run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', settings, 'start']);
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
    started = true;
    const stop = registerStop(bin, data, dir, owner !== undefined);
    const admin = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    } finally {
      await admin.end();
    }
    return { host: '127.0.0.1', port, user, password, database, dir, stop };
  } catch (e) {
    if (started) stopNow(bin, data, owner !== undefined);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Stops the cluster on stop() and, as a safety net, when the process exits without calling it. */
function registerStop(bin: string, data: string, dir: string, asPostgres: boolean): () => Promise<void> {
  let stopped = false;
  const onExit = () => {
    if (!stopped) stopNow(bin, data, asPostgres);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    stopNow(bin, data, asPostgres);
    rmSync(dir, { recursive: true, force: true });
  };
}

function stopNow(bin: string, data: string, asPostgres: boolean): void {
  // Immediate mode: the data is thrown away, so there is nothing to flush.
  const args = ['-D', data, '-m', 'immediate', '-w', 'stop'];
  if (asPostgres) spawnSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args], { stdio: 'ignore' });
  else spawnSync(join(bin, 'pg_ctl'), args, { stdio: 'ignore' });
}

/** The directory holding initdb and pg_ctl: $PG_BINDIR, `pg_config --bindir`, or the newest Debian install. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.PG_BINDIR) candidates.push(process.env.PG_BINDIR);
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // pg_config is optional (Debian ships it in libpq-dev); fall back to the versioned directories.
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debian, v, 'bin')));
  }
  const found = candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
  if (!found) {
    throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found in ${candidates.join(', ') || '(no candidates)'}; install them with \`apt-get install postgresql\` or set PG_BINDIR`);
  }
  return found;
}

function osUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(`running as root, but there is no "${name}" OS user to run PostgreSQL as; install the postgresql package (it creates the user) or run as an ordinary user`);
  }
  return { uid: Number(uid), gid: Number(gid) };
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
