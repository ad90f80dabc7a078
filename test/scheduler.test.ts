import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import cron from 'node-cron';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../src/audit/log.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { withMappingDirectory, type AgentConfig } from '../src/config/schema.js';
import { openDb, type Db } from '../src/db/open.js';
import { importSource, latestSnapshotHash } from '../src/pipeline/import.js';
import { checkImportSchedule, CronSchedule } from '../src/scheduler/cron.js';
import { beginRun, finishRun, ImportBusyError, listRuns, runRecordedImport, type ImportRun, type RunImport } from '../src/scheduler/runs.js';
import { startImportScheduler, type ImportScheduler, type SchedulerLog } from '../src/scheduler/scheduler.js';
import { instantOfWallTime, isoInZone } from '../src/scheduler/zoned-time.js';
import { writeSample } from '../src/sample/generate.js';
import { runCli, tempDir, writeConfig } from './helpers.js';

const TZ = 'Europe/Amsterdam';

interface Agent {
  cfg: AgentConfig;
  db: Db;
  file: string;
  dataDir: string;
}

const open: Array<{ db: Db; scheduler?: ImportScheduler }> = [];

/** A small provider export, so each real import takes a fraction of a second. */
let source: string;
beforeAll(async () => {
  source = join(tempDir(), 'source');
  await writeSample({ employees: 12, clients: 6, locations: 1, seed: 11 }, source);
});

function agent(schedule = '0 2 * * *', timezone = TZ): Agent {
  // The file carries a schedule the config schema accepts; the one under test is set in memory
  // (the schema's minLength currently refuses "off").
  const c = writeConfig({ source, extra: { import: { schedule: '0 2 * * *', timezone } } });
  const loaded = loadConfig(c.file);
  const cfg = { ...loaded, import: { schedule, timezone } };
  const db = openDb(c.dataDir);
  open.push({ db });
  return { cfg, db, file: c.file, dataDir: c.dataDir };
}

function collectingLog(): SchedulerLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), error: (m) => lines.push(`ERROR ${m}`) };
}

function start(a: Agent, opts: { now?: () => Date; runImport?: RunImport; cfg?: AgentConfig } = {}): ImportScheduler & { log: string[] } {
  const log = collectingLog();
  const s = startImportScheduler({ cfg: opts.cfg ?? a.cfg, db: a.db, runImport: opts.runImport ?? importSource, now: opts.now, log });
  open.push({ db: a.db, scheduler: s });
  return Object.assign(s, { log: log.lines });
}

/** A runImport that waits for `release()` before running the real import. */
function gated(): { runImport: RunImport; release: () => void; entered: Promise<void> } {
  let release!: () => void;
  let enter!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const entered = new Promise<void>((r) => (enter = r));
  return {
    release,
    entered,
    runImport: async (cfg, db, actor) => {
      enter();
      await gate;
      return importSource(cfg, db, actor);
    },
  };
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

function insertRunning(db: Db, row: Partial<ImportRun> & Pick<ImportRun, 'holder_pid' | 'holder_host' | 'started_at'>): number {
  const info = db
    .prepare(`INSERT INTO import_runs (trigger, started_at, status, holder_pid, holder_host, heartbeat_at) VALUES (?, ?, 'running', ?, ?, ?)`)
    .run(row.trigger ?? 'schedule', row.started_at, row.holder_pid, row.holder_host, row.heartbeat_at ?? row.started_at);
  return Number(info.lastInsertRowid);
}

afterEach(async () => {
  for (const o of open.splice(0).reverse()) {
    if (o.scheduler) await o.scheduler.stop();
    else if (o.db.open) o.db.close();
  }
});

describe('import schedule: cron expression and time zone', () => {
  it('computes the next run the way node-cron fires it, in the configured zone', () => {
    for (const [expr, tz] of [['0 2 * * *', TZ], ['*/1 * * * * *', TZ], ['15 */6 * * mon-fri', 'America/St_Johns'], ['0 0 L * *', 'UTC'], ['0 3 * * 1#2', TZ]] as const) {
      const ours = new CronSchedule(expr, tz);
      const theirs = cron.createTask(expr, () => undefined, { timezone: tz });
      let from = new Date();
      const expected = theirs.getNextRuns(4);
      for (const e of expected) {
        from = ours.nextAfter(from)!;
        expect(from.toISOString(), `${expr} in ${tz}`).toBe(e.toISOString());
      }
      ours.dispose();
      void theirs.destroy();
    }
  });

  it('skips a time that does not exist (spring) and runs a repeated time once (autumn)', () => {
    const s = new CronSchedule('30 2 * * *', TZ);
    // 2024-03-31 02:30 does not exist in Amsterdam: the next run after the 30th is on 1 April.
    expect(instantOfWallTime({ year: 2024, month: 3, day: 31, hour: 2, minute: 30, second: 0 }, TZ)).toBeUndefined();
    expect(isoInZone(s.nextAfter(new Date('2024-03-30T12:00:00Z'))!, TZ)).toBe('2024-04-01T02:30:00+02:00');
    // 2024-10-27 02:30 happens twice; node-cron fires once, at 02:30 CET.
    const autumn = s.nextAfter(new Date('2024-10-26T12:00:00Z'))!;
    expect(isoInZone(autumn, TZ)).toBe('2024-10-27T02:30:00+01:00');
    expect(isoInZone(s.nextAfter(autumn)!, TZ)).toBe('2024-10-28T02:30:00+01:00');
    s.dispose();
  });

  it('a bad schedule or time zone is a configuration error naming the key, with an example', () => {
    const cfg = { file: '/etc/kikv.yaml', import: { schedule: '0 25 * * *', timezone: TZ } };
    expect(() => checkImportSchedule(cfg)).toThrow(ConfigError);
    expect(() => checkImportSchedule(cfg)).toThrow(/import\.schedule: found "0 25 \* \* \*" \(25 is a invalid expression for hour\); expected a cron expression such as "0 2 \* \* \*"/);
    expect(() => checkImportSchedule({ ...cfg, import: { schedule: 'nightly at two', timezone: TZ } })).toThrow(/import\.schedule.*expected 5 or 6 fields/);
    expect(() => checkImportSchedule({ ...cfg, import: { schedule: '0 2 * * *', timezone: 'Europe/Amsterdm' } })).toThrow(/import\.timezone: found "Europe\/Amsterdm"; expected an IANA time zone such as "Europe\/Amsterdam"/);
    expect(() => checkImportSchedule({ ...cfg, import: { schedule: 'off', timezone: TZ } })).not.toThrow();
    const a = agent('0 2 * * *');
    expect(() => startImportScheduler({ cfg: { ...a.cfg, import: { schedule: '61 * * * *', timezone: TZ } }, db: a.db, runImport: importSource })).toThrow(/import\.schedule/);
    expect(listRuns(a.db)).toEqual([]); // nothing was touched
  });
});

describe('import scheduler', () => {
  it('imports on first start, then on the schedule (per second here), recorded and audited', async () => {
    const a = agent('*/1 * * * * *');
    const s = start(a);
    expect(s.catchUp).toMatch(/no snapshot yet/);
    const first = await s.ready;
    expect(first?.status).toBe('succeeded');
    await until(() => listRuns(a.db).some((r) => r.trigger === 'schedule' && r.status === 'succeeded'), 15_000);
    await s.stop();
    const runs = listRuns(a.db).reverse();
    expect(runs[0]).toMatchObject({ id: 1, trigger: 'catch-up', status: 'succeeded' });
    const scheduled = runs.find((r) => r.trigger === 'schedule' && r.status === 'succeeded')!;
    expect(scheduled.snapshot_hash).toBe(latestSnapshotHash(a.db));
    expect(scheduled.rows_read).toBeGreaterThan(0);
    expect(scheduled.rows_read).toBe(scheduled.rows_mapped! + scheduled.rows_rejected!);
    expect(scheduled.report_file).toMatch(/reports\/import-.*\.json$/);
    const audit = listAudit(a.db);
    const started = audit.filter((e) => e.action === 'import.started').map((e) => JSON.parse(e.details) as { run: number; trigger: string });
    // An import keeps the event loop busy for seconds, so a per-second slot may be missed in between
    // and caught up; what matters is the first-start run and that scheduled runs happen.
    expect(started[0]).toEqual(expect.objectContaining({ run: 1, trigger: 'catch-up' }));
    expect(started).toContainEqual(expect.objectContaining({ trigger: 'schedule' }));
    const completed = audit.filter((e) => e.action === 'import.completed');
    expect(completed.map((e) => e.actor)).toEqual(expect.arrayContaining(['scheduler (catch-up)', 'scheduler (schedule)']));
    expect(completed.length).toBe(runs.filter((r) => r.status === 'succeeded').length);
  });

  it('never runs two imports at once: a second trigger is skipped and says why', async () => {
    const a = agent('off');
    const g = gated();
    const s = start(a, { runImport: g.runImport });
    await g.entered;
    const second = await s.runNow('manual');
    expect(second.status).toBe('skipped');
    expect(second.status === 'skipped' && second.reason).toMatch(/already running in this process: run #1 \(catch-up\)/);
    g.release();
    expect((await s.ready)?.status).toBe('succeeded');
    expect(listRuns(a.db)).toHaveLength(1);
    const skipped = listAudit(a.db).filter((e) => e.action === 'import.skipped');
    expect(skipped).toHaveLength(1);
    expect(JSON.parse(skipped[0]!.details)).toMatchObject({ trigger: 'manual', heldBy: 1 });
    // Once it is done, the next trigger runs.
    expect((await s.runNow('manual')).status).toBe('succeeded');
  });

  it('never runs two imports at once across processes: `kikv import` is refused while the scheduler imports', async () => {
    const a = agent('off');
    const g = gated();
    const s = start(a, { runImport: g.runImport });
    await g.entered;
    const r = await runCli(['import', '--config', a.file]);
    g.release();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`another import is already running: run #1 (catch-up), started`);
    expect(r.stderr).toContain(`by process ${process.pid}`);
    expect((await s.ready)?.status).toBe('succeeded');
    expect(listRuns(a.db).map((x) => x.status)).toEqual(['succeeded']);
    // And the other way round: the scheduler skips while another live process holds the lock.
    insertRunning(a.db, { holder_pid: 1, holder_host: 'elsewhere.example', started_at: new Date().toISOString() });
    const skipped = await s.runNow('schedule');
    expect(skipped).toMatchObject({ status: 'skipped', reason: expect.stringContaining('by process 1 on elsewhere.example') });
    expect(() => beginRun(a.db, 'manual', { now: new Date() })).toThrow(ImportBusyError);
  });

  it('catches up once at start after downtime, however many runs were missed', async () => {
    const a = agent('0 2 * * *');
    let clock = new Date('2024-05-01T10:00:00Z'); // 12:00 in Amsterdam
    const now = () => clock;
    const s1 = start(a, { now });
    expect((await s1.ready)?.status).toBe('succeeded'); // first start
    expect(s1.nextRun()?.toISOString()).toBe('2024-05-02T00:00:00.000Z'); // 02:00 CEST
    await s1.stop();

    clock = new Date('2024-05-01T21:00:00Z'); // restarted before the next 02:00: nothing to catch up
    const s2 = start(a, { now });
    expect(s2.catchUp).toBeUndefined();
    expect(await s2.ready).toBeUndefined();
    await s2.stop();

    clock = new Date('2024-05-04T09:00:00Z'); // down over three nights
    const s3 = start(a, { now });
    expect(s3.catchUp).toMatch(/the run scheduled for 2024-05-02T02:00:00\+02:00 was missed/);
    expect((await s3.ready)?.status).toBe('succeeded');
    await s3.stop();
    const s4 = start(a, { now }); // and only once
    expect(s4.catchUp).toBeUndefined();
    await s4.stop();

    expect(listRuns(a.db).map((r) => [r.trigger, r.started_at])).toEqual([
      ['catch-up', '2024-05-04T09:00:00.000Z'],
      ['catch-up', '2024-05-01T10:00:00.000Z'],
    ]);
    const reasons = listAudit(a.db).filter((e) => e.action === 'import.started').map((e) => (JSON.parse(e.details) as { reason: string }).reason);
    expect(reasons).toEqual([expect.stringContaining('no snapshot yet'), expect.stringContaining('was missed')]);
  });

  it('a failed run keeps the previous snapshot and is recorded as failed with its error', async () => {
    const a = agent('off');
    const s1 = start(a);
    const ok = await s1.ready;
    expect(ok?.status).toBe('succeeded');
    await s1.stop();
    const before = latestSnapshotHash(a.db)!;

    const missing = join(tempDir(), 'no-such-export');
    const s2 = start(a, { cfg: withMappingDirectory(a.cfg, missing) });
    expect(s2.catchUp).toBeUndefined();
    const failed = await s2.runNow('manual');
    expect(failed.status).toBe('failed');
    expect(latestSnapshotHash(a.db)).toBe(before);
    const run = listRuns(a.db)[0]!;
    expect(run).toMatchObject({ id: 2, trigger: 'manual', status: 'failed', snapshot_hash: null });
    expect(run.error).toBeTruthy();
    expect(run.finished_at).toBeTruthy();
    expect(s2.log).toContainEqual(expect.stringMatching(new RegExp(`^ERROR import run #2 \\(manual\\) FAILED: .+; snapshot ${before} stays in use$`)));
    const audit = listAudit(a.db);
    expect(audit.filter((e) => e.action === 'import.failed')).toHaveLength(1);
    // The failure does not stop the next run.
    const s3 = start(a);
    expect((await s3.runNow('manual')).status).toBe('succeeded');
  });

  it('a run the pipeline throws out of is recorded as failed too', async () => {
    const a = agent('off');
    const r = await runRecordedImport(a.cfg, a.db, 'manual', async () => {
      throw new Error('database unreachable');
    });
    expect(r.run).toMatchObject({ status: 'failed', error: 'database unreachable' });
    expect(r.error).toBeInstanceOf(Error);
    const failed = listAudit(a.db).filter((e) => e.action === 'import.failed');
    expect(failed).toHaveLength(1);
    expect(JSON.parse(failed[0]!.details)).toMatchObject({ trigger: 'manual', error: 'database unreachable' });
  });

  it('runs left running by a killed process are marked interrupted at the next start', async () => {
    const a = agent('0 2 * * *');
    const clock = new Date('2024-05-04T09:00:00Z');
    // A run that was killed mid-import last night, and nothing since: a catch-up is due.
    const dead = deadPid();
    const id = insertRunning(a.db, { trigger: 'schedule', holder_pid: dead, holder_host: (await import('node:os')).hostname(), started_at: '2024-05-04T00:00:00.000Z' });
    const s = start(a, { now: () => clock });
    const run = listRuns(a.db).find((r) => r.id === id)!;
    expect(run.status).toBe('interrupted');
    expect(run.error).toContain(`process ${dead} that ran it has stopped`);
    expect(run.finished_at).toBe(clock.toISOString());
    expect(s.catchUp).toBeDefined();
    expect((await s.ready)?.status).toBe('succeeded');
    const audit = listAudit(a.db).find((e) => e.action === 'import.interrupted')!;
    expect(JSON.parse(audit.details)).toMatchObject({ run: id, trigger: 'schedule', holder: { pid: dead } });
  });

  it('a lock from another host whose heartbeat stopped is taken over; a fresh one is respected', async () => {
    const a = agent('off');
    const now = new Date('2024-05-04T09:00:00Z');
    insertRunning(a.db, { holder_pid: 4242, holder_host: 'elsewhere.example', started_at: '2024-05-04T08:00:00.000Z', heartbeat_at: '2024-05-04T08:59:30.000Z' });
    expect(() => beginRun(a.db, 'manual', { now })).toThrow(/run #1 \(schedule\), started 2024-05-04T08:00:00.000Z by process 4242 on elsewhere.example/);
    const later = new Date('2024-05-04T09:30:00Z'); // 30 minutes without a heartbeat
    const started = beginRun(a.db, 'manual', { now: later });
    expect(listRuns(a.db).find((r) => r.id === 1)).toMatchObject({ status: 'interrupted', error: expect.stringContaining('no sign of life since 2024-05-04T08:59:30.000Z') });
    const done = await finishRun(a.cfg, a.db, started, importSource, { now: () => later });
    expect(done.run.status).toBe('succeeded');
  });
});
