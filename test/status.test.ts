import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatStatus, registerStatusCommand } from '../src/cli/commands/status.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { withMappingDirectory, type AgentConfig } from '../src/config/schema.js';
import { openDb, type Db } from '../src/db/open.js';
import { importSource } from '../src/pipeline/import.js';
import { writeSample } from '../src/sample/generate.js';
import { beginRun, finishRun, runRecordedImport } from '../src/scheduler/runs.js';
import { importStatus, type ImportStatus } from '../src/scheduler/status.js';
import { tempDir, writeConfig } from './helpers.js';

/** Runs `kikv status ARGS` through its commander definition and returns what it printed. */
async function status(configFile: string, ...args: string[]): Promise<string> {
  const program = new Command('kikv').option('-c, --config <file>').exitOverride();
  registerStatusCommand(program);
  const out: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    await program.parseAsync(['status', '--config', configFile, ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return out.join('\n');
}

describe('kikv status', () => {
  let file: string;
  let cfg: AgentConfig;
  let db: Db;
  let firstHash: string;

  beforeAll(async () => {
    const source = join(tempDir(), 'source');
    await writeSample({ employees: 12, clients: 6, locations: 1, seed: 11 }, source);
    const c = writeConfig({ source, extra: { import: { schedule: '0 2 * * *', timezone: 'Europe/Amsterdam' } } });
    file = c.file;
    cfg = loadConfig(file);
    db = openDb(c.dataDir);
  });
  afterAll(() => db.close());

  it('before any import: no run, no snapshot, the next run in local time', async () => {
    const text = await status(file);
    expect(text).toContain('Import schedule "0 2 * * *" in Europe/Amsterdam');
    expect(text).toMatch(/Next run {8}\d{4}-\d\d-\d\dT02:00:00\+0[12]:00 \(\d{4}-\d\d-\d\dT0[01]:00:00\.000Z\)/);
    expect(text).toContain('In progress     no');
    expect(text).toContain('Last run        none recorded yet');
    expect(text).toContain('Snapshot in use none yet: run `kikv import`');
  });

  it('after a successful run: when, trigger, result, snapshot, report and rows', async () => {
    const ok = await runRecordedImport(cfg, db, 'manual', importSource);
    expect(ok.run.status).toBe('succeeded');
    firstHash = ok.run.snapshot_hash!;
    const text = await status(file);
    expect(text).toContain('Last run        #1 (manual): SUCCEEDED');
    expect(text).toMatch(/ {2}started {7}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00 \(\d{4}-.*Z\)/);
    expect(text).toContain(`  snapshot      ${firstHash}`);
    expect(text).toContain(`  report        ${ok.run.report_file}`);
    expect(text).toContain(`  rows          ${ok.run.rows_read} read, ${ok.run.rows_mapped} mapped, ${ok.run.rows_rejected} rejected`);
    expect(text).toContain(`Snapshot in use ${firstHash} (from the last run)`);
  });

  it('after a failed run: its error, and the snapshot that stays in use', async () => {
    const failed = await runRecordedImport(withMappingDirectory(cfg, join(tempDir(), 'gone')), db, 'manual', importSource);
    expect(failed.run.status).toBe('failed');
    const text = await status(file);
    expect(text).toContain('Last run        #2 (manual): FAILED');
    expect(text).toContain('  snapshot      none made');
    expect(text).toContain(`  error         ${failed.run.error}`);
    expect(text).toContain(`Snapshot in use ${firstHash} (the last successful import; run #2 failed and left it in place)`);
    expect(text).toMatch(/ {2}made {10}.* by run #1/);

    const json = JSON.parse(await status(file, '--json')) as ImportStatus;
    expect(json).toMatchObject({
      schedule: '0 2 * * *',
      timezone: 'Europe/Amsterdam',
      inProgress: null,
      lastRun: { id: 2, trigger: 'manual', status: 'failed', snapshot: null, error: failed.run.error },
      snapshot: { hash: firstHash, run: 1 },
    });
    expect(json.nextRun!.local).toMatch(/T02:00:00\+0[12]:00$/);
    expect(Date.parse(json.nextRun!.iso)).toBeGreaterThan(Date.now());
    expect(json.lastRun!.startedAt.iso).toBe(failed.run.started_at);
  });

  it('shows an import in progress, and one left behind by a process that is gone', async () => {
    const started = beginRun(db, 'manual', { now: new Date() });
    const text = await status(file);
    expect(text).toContain(`In progress     yes: run #3 (manual) by process ${process.pid} on ${hostname()}`);
    expect(text).toContain('Last run        #2 (manual)'); // the last finished one
    const done = await finishRun(cfg, db, started, async () => {
      throw new Error('stopped by the test');
    }, { now: () => new Date() });
    expect(done.run.status).toBe('failed');

    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const at = new Date().toISOString();
    db.prepare(`INSERT INTO import_runs (trigger, started_at, status, holder_pid, holder_host, heartbeat_at) VALUES ('schedule', ?, 'running', ?, ?, ?)`).run(at, dead, hostname(), at);
    const stale = await status(file);
    expect(stale).toContain(`In progress     no: run #4 (schedule) was left unfinished (process ${dead} that ran it has stopped); it is marked interrupted at the next start or import`);
    const json = JSON.parse(await status(file, '--json')) as ImportStatus;
    expect(json.inProgress).toMatchObject({ id: 4, status: 'running', holder: { pid: dead }, stale: expect.stringContaining('has stopped') });
    // The next import clears it.
    await runRecordedImport(cfg, db, 'manual', importSource);
    expect((JSON.parse(await status(file, '--json')) as ImportStatus).inProgress).toBeNull();
  });

  it('with the schedule off there is no next run', () => {
    const s = importStatus({ ...cfg, import: { schedule: 'off', timezone: 'Europe/Amsterdam' } }, db);
    expect(s.nextRun).toBeNull();
    expect(formatStatus(s)).toContain('Next run        none: schedule off');
  });

  it('a bad import.schedule is a configuration error', async () => {
    const bad = writeConfig({ extra: { import: { schedule: '0 25 * * *', timezone: 'Europe/Amsterdam' } } }).file;
    await expect(status(bad)).rejects.toThrow(ConfigError);
    await expect(status(bad)).rejects.toThrow(/import\.schedule: found "0 25 \* \* \*"/);
  });
});
