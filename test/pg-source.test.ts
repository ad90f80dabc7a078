import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/schema.js';
import { startPostgresCluster, type PostgresCluster } from '../src/conformance/postgres-cluster.js';
import type { LogicalSourceSpec, RecordStream, SourceRecord } from '../src/mapping/rml/types.js';
import { BATCH_SIZE, naturalDatatype, pgOpenSource, PgSourceError, pgTargetFromConfig, streamPg, type PgSourceConfig } from '../src/sources/pg.js';
import { tempDir, writeConfig } from './helpers.js';

const XSD = 'http://www.w3.org/2001/XMLSchema#';
const BIG = 200_000;

let cluster: PostgresCluster;
let admin: pg.Client;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: cluster.database });
  await admin.connect();
  await admin.query(`
    CREATE TABLE employees (employee_id text PRIMARY KEY, birth_date date);
    INSERT INTO employees VALUES ('E0001', '1971-05-31'), ('E0002', NULL), ('E0003', '1985-05-01');
    CREATE TABLE typed (i integer, b bigint, huge bigint, n numeric(10,2), f double precision, ok boolean,
                        d date, ts timestamp, tz timestamptz, t time, s text, bin bytea);
    INSERT INTO typed VALUES (42, 3000000000, 9007199254740993, 12.50, 33, true, '2023-07-01',
                              '2023-07-01 12:30:00.25', '2023-07-01 12:30:00+02', '08:15:00', 'héllo', '\\xDEADbeef');
    INSERT INTO typed VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    CREATE TABLE big AS SELECT g AS id, 'row ' || g AS label FROM generate_series(1, ${BIG}) g;
    CREATE SCHEMA hr;
    CREATE TABLE hr."Wards" (ward_id text, name text);
    INSERT INTO hr."Wards" VALUES ('W01', 'Madelief');
  `);
}, 60_000);

afterAll(async () => {
  await admin?.end();
  await cluster?.stop();
});

/** A configured pg source for the cluster, loaded through the real configuration reader. */
function configWith(source: Record<string, unknown>, name = 'hr'): AgentConfig {
  const { file } = writeConfig({
    extra: {
      sources: {
        staging: { type: 'csv', directory: './sample' },
        [name]: { type: 'pg', host: cluster.host, port: cluster.port, database: cluster.database, user: cluster.user, passwordEnv: 'KIKV_TEST_PG_PASSWORD', ...source },
      },
    },
  });
  return loadConfig(file);
}

function env(password = cluster.password): NodeJS.ProcessEnv {
  return { KIKV_TEST_PG_PASSWORD: password };
}

function target(source: Record<string, unknown> = {}, e = env()) {
  const cfg = configWith(source);
  return pgTargetFromConfig('hr', cfg.sources.hr as PgSourceConfig, e);
}

async function collect(stream: RecordStream): Promise<SourceRecord[][]> {
  const batches: SourceRecord[][] = [];
  for await (const b of stream) batches.push([...b]);
  return batches;
}

async function failure(stream: RecordStream): Promise<PgSourceError> {
  try {
    await collect(stream);
  } catch (e) {
    expect(e).toBeInstanceOf(PgSourceError);
    return e as PgSourceError;
  }
  throw new Error('expected the stream to fail');
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

function dbSpec(source: Partial<LogicalSourceSpec['source']> & { dsn: string }, extra: Partial<LogicalSourceSpec> = {}): LogicalSourceSpec {
  return { label: 'pg:test', referenceFormulation: 'SQL2008Table', nullValues: [], source: { kind: 'database', ...source } as LogicalSourceSpec['source'], ...extra };
}

describe('PostgreSQL source: reading', () => {
  it('streams a table as records numbered from 1, NULL as null', async () => {
    const batches = await collect(streamPg(target(), { table: 'employees' }));
    const records = batches.flat();
    expect(records.map((r) => r.row)).toEqual([1, 2, 3]);
    expect(records.map((r) => r.values)).toEqual([
      { employee_id: 'E0001', birth_date: '1971-05-31' },
      { employee_id: 'E0002', birth_date: null },
      { employee_id: 'E0003', birth_date: '1985-05-01' },
    ]);
  });

  it(`streams ${BIG} rows through a cursor in batches of at most ${BATCH_SIZE}`, async () => {
    let rows = 0;
    let batches = 0;
    let largest = 0;
    let last = 0;
    for await (const batch of streamPg(target(), { query: 'SELECT id, label FROM big ORDER BY id' })) {
      batches += 1;
      largest = Math.max(largest, batch.length);
      for (const r of batch) {
        expect(r.row).toBe(++last);
        rows += 1;
      }
    }
    expect(rows).toBe(BIG);
    expect(batches).toBe(Math.ceil(BIG / BATCH_SIZE));
    expect(largest).toBe(BATCH_SIZE);
  }, 60_000);

  it('runs query sources, with the configured schema on the search path', async () => {
    const records = (await collect(streamPg(target(), { query: "SELECT employee_id AS id FROM employees WHERE birth_date > '1980-01-01'" }))).flat();
    expect(records).toEqual([{ row: 1, values: { id: 'E0003' } }]);
    const inSchema = (await collect(streamPg(target({ schema: 'hr' }), { query: 'SELECT name FROM "Wards"' }))).flat();
    expect(inSchema.map((r) => r.values)).toEqual([{ name: 'Madelief' }]);
  });

  it('reads a table in the configured schema, quoting its mixed-case name', async () => {
    const records = (await collect(streamPg(target({ schema: 'hr' }), { table: 'Wards' }))).flat();
    expect(records.map((r) => r.values)).toEqual([{ ward_id: 'W01', name: 'Madelief' }]);
  });

  it('keeps SQL types and tells the natural RDF datatype of each column', async () => {
    const [full, empty] = (await collect(streamPg(target(), { table: 'typed' }))).flat();
    expect(full!.values).toEqual({
      i: 42,
      b: 3000000000,
      huge: 9007199254740993n,
      n: '12.50',
      f: 33,
      ok: true,
      d: '2023-07-01',
      ts: '2023-07-01T12:30:00.25',
      tz: '2023-07-01T10:30:00Z',
      t: '08:15:00',
      s: 'héllo',
      bin: 'DEADBEEF',
    });
    const dt = (c: string) => naturalDatatype(full!.values, c);
    expect([dt('i'), dt('b'), dt('n'), dt('f'), dt('ok'), dt('d'), dt('ts'), dt('tz'), dt('t'), dt('s'), dt('bin')]).toEqual([
      `${XSD}integer`, `${XSD}integer`, `${XSD}decimal`, `${XSD}double`, `${XSD}boolean`, `${XSD}date`,
      `${XSD}dateTime`, `${XSD}dateTime`, `${XSD}time`, undefined, `${XSD}hexBinary`,
    ]);
    // The datatype map is not a column: it does not show up among the values' keys.
    expect(Object.keys(full!.values as object)).not.toContain('kikv.sql.datatypes');
    expect(Object.values(empty!.values as object).every((v) => v === null)).toBe(true);
  });

  it('closes the connection when the reader stops early', async () => {
    for await (const batch of streamPg(target(), { table: 'big' })) {
      expect(batch.length).toBe(BATCH_SIZE);
      break;
    }
    const open = async () =>
      Number((await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [cluster.database])).rows[0].n);
    for (let i = 0; i < 50 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await open()).toBe(0);
  });
});

describe('PostgreSQL source: passwords', () => {
  it('reads the password from the first line of passwordFile', async () => {
    const file = join(tempDir(), 'pw');
    writeFileSync(file, `${cluster.password}\nsecond line is ignored\n`);
    const records = (await collect(streamPg(target({ passwordEnv: undefined, passwordFile: file }, {}), { table: 'employees' }))).flat();
    expect(records).toHaveLength(3);
  });

  it('names the environment variable when it is not set', () => {
    const err = (() => {
      try {
        target({}, {});
      } catch (e) {
        return e as PgSourceError;
      }
    })();
    expect(err).toBeInstanceOf(PgSourceError);
    expect(err!.message).toContain('environment variable KIKV_TEST_PG_PASSWORD (sources.hr.passwordEnv) is not set');
  });

  it('names the password file when it cannot be read', () => {
    expect(() => target({ passwordEnv: undefined, passwordFile: '/nonexistent/pw' }, {})).toThrow(/password file for source "hr" cannot be read: \/nonexistent\/pw \(ENOENT\)/);
  });

  it('a rejected login names the user and where the password comes from, never the password', async () => {
    const wrong = 'Wr0ng-Secret-Passw0rd';
    const err = await failure(streamPg(target({}, env(wrong)), { table: 'employees' }));
    expect(err.reason).toBe('login');
    expect(err.message).toContain(`rejected the login of user "${cluster.user}" for source "hr"`);
    expect(err.message).toContain('check the password in $KIKV_TEST_PG_PASSWORD');
    expect(err.message).not.toContain(wrong);
    expect(err.message).not.toContain(cluster.password);
    expect(err.stack ?? '').not.toContain(wrong);
  });
});

describe('PostgreSQL source: failures name the fix', () => {
  it('server down: connection refused, names host:port and the settings', async () => {
    const port = await freePort();
    const err = await failure(streamPg(target({ port }), { table: 'employees' }));
    expect(err.reason).toBe('unreachable');
    expect(err.message).toBe(
      `cannot reach PostgreSQL at 127.0.0.1:${port} for source "hr": connection refused — is the server running, and are sources.hr.host/port right?`,
    );
  });

  it('unknown database', async () => {
    const err = await failure(streamPg(target({ database: 'nosuchdb' }), { table: 'employees' }));
    expect(err.reason).toBe('database');
    expect(err.message).toContain('database "nosuchdb" does not exist');
    expect(err.message).toContain('check sources.hr.database');
  });

  it('unknown schema', async () => {
    const err = await failure(streamPg(target({ schema: 'nosuch' }), { table: 'employees' }));
    expect(err.reason).toBe('schema');
    expect(err.message).toContain('schema "nosuch" does not exist');
    expect(err.message).toContain('sources.hr.schema');
  });

  it('unknown table', async () => {
    const err = await failure(streamPg(target(), { table: 'employes' }));
    expect(err.reason).toBe('table');
    expect(err.message).toContain('table "employes" of source "hr": relation "employes" does not exist');
  });

  it('unknown column in a query', async () => {
    const err = await failure(streamPg(target(), { query: 'SELECT employee_id, birthdate FROM employees' }));
    expect(err.reason).toBe('column');
    expect(err.message).toContain('column "birthdate" does not exist');
  });
});

describe('pgOpenSource: database logical sources of a mapping', () => {
  const dsn = () => `jdbc:postgresql://${cluster.host}:${cluster.port}/${cluster.database}`;

  it('serves a spec whose DSN is a configured source\'s dsn, with the source\'s password, not the mapping\'s', async () => {
    const open = pgOpenSource(configWith({ dsn: 'jdbc:postgresql://hr-db.internal/hr' }), env());
    const stream = open(dbSpec({ dsn: 'jdbc:postgresql://hr-db.internal/hr', password: 'ignored', table: 'employees' }));
    expect(stream).toBeDefined();
    // The DSN only identifies the source: the connection goes to the source's host and port.
    expect((await collect(stream!)).flat()).toHaveLength(3);
  });

  it('matches a source without dsn by host, port and database; the table may come from rml:iterator', async () => {
    const open = pgOpenSource(configWith({}), env());
    const records = (await collect(open(dbSpec({ dsn: dsn() }, { iterator: 'employees' }))!)).flat();
    expect(records.map((r) => (r.values as { employee_id: string }).employee_id)).toEqual(['E0001', 'E0002', 'E0003']);
    const query = (await collect(open(dbSpec({ dsn: dsn() }, { referenceFormulation: 'SQL2008Query', iterator: 'SELECT 1 AS one' }))!)).flat();
    expect(query[0]!.values).toEqual({ one: 1 });
  });

  it('does not guess when the DSN matches no source', async () => {
    const open = pgOpenSource(configWith({ dsn: 'jdbc:postgresql://hr-db.internal/hr' }), env());
    const err = await failure(open(dbSpec({ dsn: 'jdbc:postgresql://other/db', table: 'employees' }))!);
    expect(err.reason).toBe('dsn');
    expect(err.message).toContain('matches no configured pg source: hr (dsn jdbc:postgresql://hr-db.internal/hr)');
    expect(err.message).toContain('set dsn: "jdbc:postgresql://other/db"');
  });

  it('leaves file sources to the engine', () => {
    const open = pgOpenSource(configWith({}), env());
    expect(open({ label: 'a.csv', referenceFormulation: 'CSV', nullValues: [], source: { kind: 'file', path: '/x/a.csv', declaredPath: 'a.csv', encoding: 'utf-8' } })).toBeUndefined();
  });
});
