/**
 * Database sources for the RML-IO conformance cases that read PostgreSQL (RMLSTC0006a): a throwaway
 * cluster, a fresh database per case loaded with the case's data, and the values of the mapping's
 * placeholders ($CONNECTIONDSN, $USERNAME, $PASSWORD).
 *
 * The upstream cases give the table data as CSV (Friends.csv -> table "Friends") or as SQL
 * (resource.sql, run as is). CSV columns get integer / numeric / text types by looking at the values,
 * so the natural RDF datatypes (xsd:integer for an age) come out as the expected output has them.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import pg from 'pg';
import type { LogicalSourceSpec, OpenSource } from '../mapping/rml/types.js';
import { pgTargetFromDsn, readOf, streamPg } from '../sources/pg.js';
import { startPostgresCluster } from './postgres-cluster.js';

export interface DatabaseCase {
  /** Answers database logical sources whose DSN/user/password are still placeholders. */
  openSource: OpenSource;
  /** Placeholder -> value, to substitute in the mapping text. */
  placeholders: Record<string, string>;
  close(): Promise<void>;
}

export async function databaseCaseSources(caseDir: string): Promise<DatabaseCase> {
  const cluster = await startPostgresCluster();
  try {
    const database = 'rml_' + basename(caseDir).toLowerCase().replace(/[^a-z0-9]/g, '_');
    const admin = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: cluster.database });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    } finally {
      await admin.end();
    }
    const client = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database });
    await client.connect();
    try {
      await loadCaseData(client, caseDir);
    } finally {
      await client.end();
    }
    const placeholders: Record<string, string> = {
      $CONNECTIONDSN: `jdbc:postgresql://${cluster.host}:${cluster.port}/${database}`,
      $USERNAME: cluster.user,
      $PASSWORD: cluster.password,
    };
    const fill = (s: string | undefined) => (s === undefined ? undefined : (placeholders[s] ?? s));
    const openSource: OpenSource = (spec: LogicalSourceSpec) => {
      if (spec.source.kind !== 'database' || !(spec.source.dsn in placeholders)) return undefined;
      const target = pgTargetFromDsn(fill(spec.source.dsn)!, fill(spec.source.username), fill(spec.source.password));
      return streamPg(target, readOf(spec));
    };
    return { openSource, placeholders, close: () => cluster.stop() };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}

async function loadCaseData(client: pg.Client, caseDir: string): Promise<void> {
  const files = readdirSync(caseDir);
  const sql = files.filter((f) => /\.sql$/i.test(f));
  if (sql.length) {
    for (const f of sql) await client.query(readFileSync(join(caseDir, f), 'utf8'));
    return;
  }
  for (const f of files.filter((f) => /\.csv$/i.test(f))) {
    const { header, rows } = parseCsv(readFileSync(join(caseDir, f), 'utf8'));
    const table = f.replace(/\.csv$/i, '');
    const types = header.map((_, i) => {
      const vals = rows.map((r) => r[i] ?? '').filter((v) => v !== '');
      if (vals.length && vals.every((v) => /^-?\d{1,18}$/.test(v))) return 'bigint';
      if (vals.length && vals.every((v) => /^-?\d+(\.\d+)?$/.test(v))) return 'numeric';
      return 'text';
    });
    const cols = header.map((h, i) => `${pg.escapeIdentifier(h)} ${types[i]}`).join(', ');
    await client.query(`CREATE TABLE ${pg.escapeIdentifier(table)} (${cols})`);
    for (const r of rows) {
      const params = header.map((_, i) => (r[i] === undefined || r[i] === '' ? null : r[i]));
      await client.query(`INSERT INTO ${pg.escapeIdentifier(table)} VALUES (${header.map((_, i) => `$${i + 1}`).join(', ')})`, params);
    }
  }
  if (!existsSync(caseDir)) throw new Error(`case folder ${caseDir} not found`);
}

/** Minimal RFC 4180 parsing for the small fixture files (quoted fields, doubled quotes). */
function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  const [header = [], ...data] = rows;
  return { header, rows: data };
}
