import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { startPostgresCluster, type PostgresCluster } from '../src/conformance/postgres-cluster.js';
import { openDb, type Db } from '../src/db/open.js';
import { importSource, latestSnapshotHash } from '../src/pipeline/import.js';
import { readSnapshot } from '../src/store/snapshot.js';
import { ROOT, tempDir, writeConfig } from './helpers.js';

/**
 * The import reading a real PostgreSQL through an RML database logical source: it maps the rows, and
 * when the database is down or refuses the login it stops before writing a snapshot, keeps the
 * previous one, and says what to fix without ever writing the password anywhere.
 */
const PASSWORD_ENV = 'KIKV_IMPORT_PG_PASSWORD';
const DSN = 'jdbc:postgresql://hr-db.internal:5432/hr';
let cluster: PostgresCluster;
let db: Db;
let dataDir: string;
let mappingFile: string;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function importWith(pgSource: Record<string, unknown>) {
  const c = writeConfig({
    extra: {
      sources: {
        staging: { type: 'csv', directory: join(ROOT, 'config/sample') },
        hr: { type: 'pg', host: cluster.host, port: cluster.port, database: cluster.database, user: cluster.user, passwordEnv: PASSWORD_ENV, dsn: DSN, ...pgSource },
      },
      mapping: { rules: mappingFile, baseIri: 'https://data.test.example/id/', source: 'staging' },
    },
  });
  const cfg = loadConfig(c.file);
  return importSource({ ...cfg, storage: { ...cfg.storage, dataDir } }, db, 'test');
}

beforeAll(async () => {
  cluster = await startPostgresCluster();
  const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: cluster.database });
  await admin.connect();
  await admin.query(`CREATE TABLE employees (employee_id text PRIMARY KEY, birth_date date);
    INSERT INTO employees VALUES ('E0001', '1971-05-31'), ('E0002', NULL), ('E0003', '1985-05-01');`);
  await admin.end();
  const dir = tempDir();
  mappingFile = join(dir, 'hr.rml.ttl');
  writeFileSync(
    mappingFile,
    `@prefix rml: <http://w3id.org/rml/> .
@prefix d2rq: <http://www.wiwiss.fu-berlin.de/suhl/bizer/D2RQ/0.1#> .
@prefix onz-g: <http://purl.org/ozo/onz-g#> .
<#employees> a rml:LogicalSource ;
  rml:source [ a d2rq:Database ; d2rq:jdbcDSN "${DSN}" ; d2rq:jdbcDriver "org.postgresql.Driver" ] ;
  rml:referenceFormulation rml:SQL2008Table ; rml:iterator "employees" .
<#Person> a rml:TriplesMap ; rml:logicalSource <#employees> ;
  rml:subjectMap [ rml:template "persoon/{employee_id}" ; rml:class onz-g:Human ] ;
  rml:predicateObjectMap [ rml:predicate onz-g:birthDate ; rml:objectMap [ rml:reference "birth_date" ] ] .
`,
  );
  dataDir = join(dir, 'data');
  db = openDb(dataDir);
  process.env[PASSWORD_ENV] = cluster.password;
}, 60_000);

afterAll(async () => {
  db?.close();
  delete process.env[PASSWORD_ENV];
  await cluster?.stop();
});

describe('import from PostgreSQL', () => {
  let good: string;

  it('maps the table rows, with SQL dates as xsd:date and NULL as no value', async () => {
    const r = await importWith({});
    expect(r.report.fileErrors).toEqual([]);
    good = r.snapshot!.meta.hash;
    const nq = readSnapshot(dataDir, good).nquads;
    expect(nq).toContain('<https://data.test.example/id/persoon/E0001> <http://purl.org/ozo/onz-g#birthDate> "1971-05-31"^^<http://www.w3.org/2001/XMLSchema#date> .');
    expect(nq).not.toMatch(/persoon\/E0002> <http:\/\/purl.org\/ozo\/onz-g#birthDate>/);
    expect(nq).toContain('<https://data.test.example/id/persoon/E0002> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://purl.org/ozo/onz-g#Human> .');
    const source = r.report.files.find((f) => f.rowsRead === 3);
    expect(source, JSON.stringify(r.report.files)).toBeDefined();
    expect(source!.rowsMapped).toBe(3);
  });

  it('a rejected login stops the import, keeps the previous snapshot, and never writes the password', async () => {
    const wrong = 'Wr0ng-Import-Passw0rd';
    process.env[PASSWORD_ENV] = wrong;
    try {
      const r = await importWith({});
      expect(r.snapshot).toBeUndefined();
      expect(r.report.fileErrors).toHaveLength(1);
      expect(r.report.fileErrors[0]!.reason).toContain(`rejected the login of user "${cluster.user}" for source "hr"`);
      expect(r.report.fileErrors[0]!.reason).toContain(`check the password in $${PASSWORD_ENV}`);
      const written = readFileSync(r.reportFile, 'utf8') + JSON.stringify(db.prepare('SELECT * FROM audit').all());
      expect(written).not.toContain(wrong);
      expect(written).not.toContain(cluster.password);
      expect(latestSnapshotHash(db)).toBe(good);
    } finally {
      process.env[PASSWORD_ENV] = cluster.password;
    }
  });

  it('a database that is down stops the import with host, port and the settings to check', async () => {
    const port = await freePort();
    const r = await importWith({ port });
    expect(r.snapshot).toBeUndefined();
    expect(r.report.fileErrors).toEqual([
      expect.objectContaining({ reason: `cannot reach PostgreSQL at 127.0.0.1:${port} for source "hr": connection refused — is the server running, and are sources.hr.host/port right?` }),
    ]);
    expect(latestSnapshotHash(db)).toBe(good);
    expect(readSnapshot(dataDir, good).meta.hash).toBe(good);
  });
});
