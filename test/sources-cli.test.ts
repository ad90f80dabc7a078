import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { startPostgresCluster, type PostgresCluster } from '../src/conformance/postgres-cluster.js';
import { ROOT, tempDir, writeConfig } from './helpers.js';

const SAMPLE = join(ROOT, 'config/sample');
/** The database password for the whole file: distinctive, so that any leak into output is caught. */
const SECRET = 'Kikv-Distinctive-S3cret-4417';
const WRONG = 'Wrong-Distinctive-Passw0rd-9920';
const PW_ENV = 'KIKV_TEST_SOURCES_PASSWORD';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every output of every run, checked for passwords at the end. */
const everything: string[] = [];

/** Runs `kikv ARGS` in-process, capturing what it writes; `env` is set for the duration of the call. */
async function kikv(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const text = (chunk: unknown) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => ((stdout += text(chunk)), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => ((stderr += text(chunk)), true)),
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`)),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`)),
  ];
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  process.exitCode = undefined;
  try {
    const code = await main(args);
    everything.push(stdout, stderr);
    return { code, stdout, stderr };
  } finally {
    process.exitCode = undefined;
    spies.forEach((s) => s.mockRestore());
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A copy of the sample export that a test may break. */
function sampleCopy(): string {
  const dir = join(tempDir(), 'export');
  mkdirSync(dir);
  for (const f of readdirSync(SAMPLE)) copyFileSync(join(SAMPLE, f), join(dir, f));
  return dir;
}

function configFor(sources: Record<string, unknown>, mappingSource = 'staging'): string {
  const { file } = writeConfig({ extra: { sources } });
  if (mappingSource === 'staging') return file;
  writeFileSync(file, readFileSync(file, 'utf8').replace('source: staging', `source: ${mappingSource}`));
  return file;
}

function dataRows(file: string): number {
  return readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '').length - 1;
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

afterAll(() => {
  // Not once, in any run, on stdout or stderr.
  for (const s of everything) {
    expect(s).not.toContain(SECRET);
    expect(s).not.toContain(WRONG);
  }
});

describe('kikv sources: files', () => {
  it('list shows every source with its type, where it is and which one the mapping reads; no password', async () => {
    const file = configFor({
      staging: { type: 'csv', directory: SAMPLE },
      docs: { type: 'json', directory: '/srv/exports/json' },
      hr: { type: 'pg', host: 'db.internal', port: 5433, database: 'hr', user: 'reader', schema: 'export', passwordEnv: PW_ENV },
    });
    const r = await kikv(['sources', 'list', '--config', file], { [PW_ENV]: SECRET });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^name\s+type\s+target\s+mapping source$/);
    expect(lines.find((l) => l.startsWith('staging'))).toMatch(new RegExp(`^staging\\s+csv\\s+${SAMPLE.replace(/[/.]/g, '\\$&')}\\s+yes$`));
    expect(lines.find((l) => l.startsWith('docs'))).toMatch(/^docs\s+json\s+\/srv\/exports\/json$/);
    expect(lines.find((l) => l.startsWith('hr'))).toMatch(/^hr\s+pg\s+postgresql:\/\/reader@db\.internal:5433\/hr \(schema export, password from \$KIKV_TEST_SOURCES_PASSWORD\)$/);
  });

  it('test on the shipped sample: every staging file, its rows, exit 0', async () => {
    const r = await kikv(['sources', 'test', 'staging', '--config', configFor({ staging: { type: 'csv', directory: SAMPLE } })]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`Source "staging" (csv, the mapping source): ${SAMPLE}`);
    expect(r.stdout).toMatch(new RegExp(`employees\\s+employees\\.csv\\s+${dataRows(join(SAMPLE, 'employees.csv'))}\\s+ok`));
    const total = readdirSync(SAMPLE).reduce((n, f) => n + dataRows(join(SAMPLE, f)), 0);
    expect(r.stdout).toContain(`OK: 16 file(s), ${total} row(s).`);
    const json = await kikv(['sources', 'test', 'staging', '--json', '--config', configFor({ staging: { type: 'csv', directory: SAMPLE } })]);
    const check = JSON.parse(json.stdout) as { ok: boolean; tables: Array<{ name: string; rows: number; missingColumns: string[] }> };
    expect(check.ok).toBe(true);
    expect(check.tables.find((t) => t.name === 'worked_hours')!.rows).toBe(dataRows(join(SAMPLE, 'worked_hours.csv')));
  });

  it('a missing staging file: exit 1, names the file and the table it holds', async () => {
    const dir = sampleCopy();
    rmSync(join(dir, 'wards.csv'));
    writeFileSync(join(dir, 'Clients.csv'), readFileSync(join(dir, 'clients.csv')));
    rmSync(join(dir, 'clients.csv'));
    const r = await kikv(['sources', 'test', 'staging', '--config', configFor({ staging: { type: 'csv', directory: dir } })]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/wards\s+wards\.csv\s+-\s+MISSING/);
    expect(r.stderr).toContain('Source "staging" has 2 problems:');
    expect(r.stderr).toContain(`wards.csv: file not found in ${dir}; the wards staging table is read from it`);
    expect(r.stderr).toContain('(there is a Clients.csv: file names are case-sensitive)');
  });

  it('a missing required column is a problem (with the likely misspelling); a missing optional one a warning', async () => {
    const dir = sampleCopy();
    const locations = readFileSync(join(dir, 'locations.csv'), 'utf8');
    writeFileSync(join(dir, 'locations.csv'), locations.replace(/^(.*)\bpostcode\b/, '$1post_code'));
    const employees = readFileSync(join(dir, 'employees.csv'), 'utf8').split('\n');
    writeFileSync(join(dir, 'employees.csv'), employees.map((l) => l.split(',')[0]).join('\n'));
    const r = await kikv(['sources', 'test', 'staging', '--config', configFor({ staging: { type: 'csv', directory: dir } })]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/locations\s+locations\.csv\s+3\s+missing postcode/);
    expect(r.stderr).toContain('Source "staging" has 1 problem:');
    expect(r.stderr).toContain('locations.csv: the header lacks the required column "postcode" (did you mean "post_code" -> "postcode"?); it has "location_id"');
    expect(r.stdout).toContain('warning: employees.csv: the header lacks the optional column "birth_date"');
  });

  it('an unbalanced quote and a file in the wrong encoding are reported with their line', async () => {
    const dir = sampleCopy();
    const wards = readFileSync(join(dir, 'wards.csv'), 'utf8').split('\n');
    wards[3] = wards[3]!.replace(/,([^,]*)$/, ',"$1'); // line 4: a quoted field that never closes
    writeFileSync(join(dir, 'wards.csv'), wards.join('\n'));
    const fn = readFileSync(join(dir, 'functions.csv'), 'utf8').split('\n');
    fn[5] = fn[5]!.replace(/,([^,]*),/, ',Verpleegkundige \u00e9\u00e9n,');
    writeFileSync(join(dir, 'functions.csv'), Buffer.concat(fn.map((l, i) => Buffer.from(i ? `\n${l}` : l, 'latin1'))));
    const r = await kikv(['sources', 'test', 'staging', '--config', configFor({ staging: { type: 'csv', directory: dir } })]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/wards\s+wards\.csv\s+-\s+NOT READ/);
    expect(r.stderr).toContain('wards.csv, line 4: a quoted field opened here is never closed');
    expect(r.stderr).toContain('functions.csv, line 6: is not valid utf-8; export it as UTF-8 or set the source\'s encoding');
  });

  it('a csv source that is not the mapping source: every .csv file with its rows', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.csv'), 'x;y\n1;2\n3;4\n');
    writeFileSync(join(dir, 'b.csv'), 'z\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a csv');
    const file = configFor({ staging: { type: 'csv', directory: SAMPLE }, extra: { type: 'csv', directory: dir, delimiter: ';' } });
    const r = await kikv(['sources', 'test', 'extra', '--config', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Source "extra" (csv): ${dir}`);
    expect(r.stdout).toMatch(/a\s+a\.csv\s+2\s+ok/);
    expect(r.stdout).toMatch(/b\s+b\.csv\s+0\s+ok/);
    expect(r.stdout).not.toContain('notes');
    expect(r.stdout).toContain('OK: 2 file(s), 2 row(s).');
  });

  it('json: records are counted; a syntax error is reported with line and column', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'employees.json'), JSON.stringify([{ employee_id: 'E1' }, { employee_id: 'E2' }, { employee_id: 'E3' }], null, 2));
    writeFileSync(join(dir, 'org.json'), '{"organisation_id": "O1"}');
    const file = configFor({ staging: { type: 'csv', directory: SAMPLE }, docs: { type: 'json', directory: dir } });
    const ok = await kikv(['sources', 'test', 'docs', '--config', file]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/employees\s+employees\.json\s+3\s+ok/);
    expect(ok.stdout).toMatch(/org\s+org\.json\s+1\s+ok/);
    expect(ok.stdout).toContain('OK: 2 file(s), 4 record(s).');

    writeFileSync(join(dir, 'wards.json'), '[\n  {"ward_id": "W1"},\n  {"ward_id": "W2",}\n]\n');
    const bad = await kikv(['sources', 'test', 'docs', '--config', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('wards.json, line 3: is not valid JSON at column 20: expected another property after the comma (remove the trailing comma), found "}"');
  });

  it('an unknown name exits 2 with the configured names; a missing directory is a problem', async () => {
    const file = configFor({ staging: { type: 'csv', directory: SAMPLE }, gone: { type: 'csv', directory: '/nonexistent/kikv-export' } });
    const unknown = await kikv(['sources', 'test', 'stagin', '--config', file]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no source named "stagin"');
    expect(unknown.stderr).toContain('configured sources: staging, gone');
    const gone = await kikv(['sources', 'test', 'gone', '--config', file]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('directory /nonexistent/kikv-export does not exist; check sources.gone.directory');
  });
});

describe('kikv sources: PostgreSQL', () => {
  let cluster: PostgresCluster;

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: cluster.database });
    await admin.connect();
    try {
      await admin.query(`
        ALTER ROLE ${pg.escapeIdentifier(cluster.user)} PASSWORD '${SECRET}';
        CREATE SCHEMA hr;
        CREATE TABLE hr.employees (employee_id text PRIMARY KEY, birth_date date, department text);
        INSERT INTO hr.employees VALUES ('E0001', '1971-05-31', 'x'), ('E0002', NULL, 'y'), ('E0003', '1985-05-01', 'z');
        CREATE TABLE hr.functions (function_code text, name text, care text, qualification text);
        INSERT INTO hr.functions VALUES ('F1', 'Verpleegkundige', 'yes', 'level_4'), ('F2', 'Receptie', 'no', 'none');
        CREATE SCHEMA broken;
        CREATE TABLE broken.functions (function_code text, name text, care text);
        CREATE TABLE broken."Employees" (employee_id text);
        CREATE SCHEMA other;
        CREATE TABLE other.invoices (id int);
      `);
    } finally {
      await admin.end();
    }
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  function pgConfig(source: Record<string, unknown> = {}): string {
    return configFor({
      staging: { type: 'csv', directory: SAMPLE },
      hr: { type: 'pg', host: cluster.host, port: cluster.port, database: cluster.database, user: cluster.user, schema: 'hr', passwordEnv: PW_ENV, connectTimeoutMs: 3000, ...source },
    });
  }

  it('ok: connects, counts the staging tables it holds, lists missing columns; other tables are warnings', async () => {
    const r = await kikv(['sources', 'test', 'hr', '--config', pgConfig()], { [PW_ENV]: SECRET });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Source "hr" (pg): postgresql://${cluster.user}@${cluster.host}:${cluster.port}/${cluster.database} (schema hr, password from $${PW_ENV})`);
    expect(r.stdout).toMatch(/employees\s+hr\.employees\s+3\s+ok/);
    expect(r.stdout).toMatch(/functions\s+hr\.functions\s+2\s+ok/);
    expect(r.stdout).toMatch(/wards\s+hr\.wards\s+-\s+MISSING/);
    expect(r.stdout).toContain('warning: table hr.wards does not exist; the wards staging table must then come from another source');
    expect(r.stdout).toContain('OK: 2 table(s), 5 row(s)');

    const json = JSON.parse((await kikv(['sources', 'test', 'hr', '--json', '--config', pgConfig()], { [PW_ENV]: SECRET })).stdout) as {
      ok: boolean;
      tables: Array<{ name: string; rows: number | null; extraColumns: string[] }>;
    };
    expect(json.ok).toBe(true);
    expect(json.tables.find((t) => t.name === 'employees')).toMatchObject({ rows: 3, extraColumns: ['department'] });
  });

  it('the password may come from a file', async () => {
    const pw = join(tempDir(), 'pw');
    writeFileSync(pw, `${SECRET}\n`);
    const r = await kikv(['sources', 'test', 'hr', '--config', pgConfig({ passwordEnv: undefined, passwordFile: pw })]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`password from file ${pw}`);
  });

  it('missing columns and tables in another case are problems; a schema without staging tables says what is there', async () => {
    const broken = await kikv(['sources', 'test', 'hr', '--config', pgConfig({ schema: 'broken' })], { [PW_ENV]: SECRET });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('table broken.functions lacks the required column "qualification"');
    expect(broken.stdout).toContain('table broken.employees does not exist (there is a table "Employees": names are case-sensitive)');
    const other = await kikv(['sources', 'test', 'hr', '--config', pgConfig({ schema: 'other' })], { [PW_ENV]: SECRET });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/none of the 16 staging tables \(organisation, .*\) is in schema "other" of database "kikv_test"; tables there: invoices; check sources\.hr\.schema/);
  });

  it('server down (closed port): exit 1, names host:port and the settings to check', async () => {
    const port = await freePort();
    const r = await kikv(['sources', 'test', 'hr', '--config', pgConfig({ port })], { [PW_ENV]: SECRET });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach PostgreSQL at 127.0.0.1:${port} for source "hr": connection refused — is the server running, and are sources.hr.host/port right?`);
  });

  it('wrong password: names the user and where the password comes from, never the password', async () => {
    const r = await kikv(['sources', 'test', 'hr', '--config', pgConfig()], { [PW_ENV]: WRONG });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`rejected the login of user "${cluster.user}" for source "hr": wrong password; check the password in $${PW_ENV}`);
    const json = await kikv(['sources', 'test', 'hr', '--json', '--config', pgConfig()], { [PW_ENV]: WRONG });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).problems).toHaveLength(1);
    for (const s of [r.stdout, r.stderr, json.stdout, json.stderr]) {
      expect(s).not.toContain(WRONG);
      expect(s).not.toContain(SECRET);
    }
  });

  it('unknown database, and a password variable that is not set', async () => {
    const db = await kikv(['sources', 'test', 'hr', '--config', pgConfig({ database: 'nosuchdb' })], { [PW_ENV]: SECRET });
    expect(db.code).toBe(1);
    expect(db.stderr).toContain('database "nosuchdb" does not exist');
    expect(db.stderr).toContain('check sources.hr.database');
    const unset = await kikv(['sources', 'test', 'hr', '--config', pgConfig()], { [PW_ENV]: undefined });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain(`environment variable ${PW_ENV} (sources.hr.passwordEnv) is not set`);
  });

  it('test without a name checks every source and fails when one does', async () => {
    const r = await kikv(['sources', 'test', '--config', pgConfig()], { [PW_ENV]: WRONG });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Source "staging" (csv, the mapping source)');
    expect(r.stdout).toContain('OK: 16 file(s)');
    expect(r.stderr).toContain('Source "hr" has 1 problem');
  });
});
