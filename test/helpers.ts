import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '..');
export const SHARED = resolve(ROOT, '../shared');

export function tempDir(prefix = 'kikv-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A delivery window for the 2023 round that opened 30 days ago and closes in 30 days. */
export function openWindow2023(now = Date.now()): { profile: string; year: number; opens: string; closes: string } {
  const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { profile: 'zorginstituut-verpleeghuiszorg', year: 2023, opens: iso(now - 30 * 86_400_000), closes: iso(now + 30 * 86_400_000) };
}

/** Writes a complete configuration into a fresh temp directory; returns its path and the directory. */
export function writeConfig(overrides: { source?: string; endpoint?: string; port?: number; maxAttempts?: number; extra?: Record<string, unknown> } = {}): { file: string; dir: string; dataDir: string } {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const cfg = {
    agent: { did: 'did:web:datastation.test', name: 'test agent' },
    server: { host: '127.0.0.1', port: overrides.port ?? 0 },
    storage: { dataDir },
    sources: { staging: { type: 'csv', directory: overrides.source ?? join(ROOT, 'config/sample'), delimiter: ',', encoding: 'utf-8' } },
    mapping: { staging: join(ROOT, 'config/staging.yaml'), rules: join(ROOT, 'config/mappings/onz.rml.ttl'), baseIri: 'https://data.test.example/id/', source: 'staging' },
    trust: { mode: 'standalone', keysDir: join(dataDir, 'keys') },
    indicators: { packs: join(ROOT, 'queries'), profiles: [{ profile: 'zorginstituut-verpleeghuiszorg', version: '2023.1.0' }], reportingYear: 2023 },
    delivery: {
      kikStarter: { did: 'did:web:kik-starter.test', endpoint: overrides.endpoint ?? 'http://127.0.0.1:9/didcomm' },
      retry: { maxAttempts: overrides.maxAttempts ?? 5, baseDelayMs: 10, maxDelayMs: 50 },
      timeoutMs: 30_000,
      // The 2023 round's window is open around now, so the exchange tests keep delivering (issue 6 windows).
      windows: [openWindow2023()],
    },
    ...overrides.extra,
  };
  const file = join(dir, 'kikv.yaml');
  writeFileSync(file, stringify(cfg));
  return { file, dir, dataDir };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the real `kikv` CLI (TypeScript sources through tsx) as a child process. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done };
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return spawnCli(args, env).done;
}
