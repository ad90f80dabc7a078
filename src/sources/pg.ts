/**
 * PostgreSQL source connector: streams a table or a query as RML record batches.
 *
 * Rows come through a server-side cursor (pg-query-stream), BATCH_SIZE at a time, so memory stays flat
 * for tables of millions of rows. Each record is { row: 1-based position, values: the row object }.
 *
 * Values keep their SQL type so the RML engine can apply the R2RML natural mapping
 * (https://www.w3.org/TR/r2rml/#natural-mapping). What a column holds, and its natural datatype:
 *   smallint, integer, bigint   number (bigint beyond 2^53)          xsd:integer
 *   numeric / decimal           string with the exact stored digits   xsd:decimal
 *   real, double precision      number                                xsd:double
 *   boolean                     boolean                               xsd:boolean
 *   date                        string 'YYYY-MM-DD'                   xsd:date
 *   timestamp [with time zone]  string 'YYYY-MM-DDTHH:MM:SS[.ffffff]' xsd:dateTime (with time zone: UTC, 'Z')
 *   time                        string 'HH:MM:SS[.ffffff]'            xsd:time
 *   bytea                       string, upper-case hex                xsd:hexBinary
 *   text, varchar, char, other  string (json/jsonb: parsed value)     none (plain literal)
 *   NULL                        null                                  (no value: the term map yields nothing)
 * A number alone cannot tell 33 (integer) from 33.0 (double), so every values object also carries, under
 * the non-enumerable key SQL_DATATYPES, the column -> xsd IRI map; `naturalDatatype(values, column)`
 * reads it. Columns without an entry are plain literals.
 *
 * Passwords come from an environment variable (passwordEnv) or a file (passwordFile), never from the
 * configuration, and never appear in a message: errors name where the password came from instead.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import type { AgentConfig, SourceConfig } from '../config/schema.js';
import type { DatabaseSourceSpec, LogicalSourceSpec, OpenSource, RecordStream, SourceRecord } from '../mapping/rml/types.js';
import { SourceFileError } from './csv.js';

export type PgSourceConfig = Extract<SourceConfig, { type: 'pg' }>;

/** Rows per batch and per cursor fetch: one network round trip and one await per batch. */
export const BATCH_SIZE = 1000;

const XSD = 'http://www.w3.org/2001/XMLSchema#';

/** Key (shared across modules via the global symbol registry) of a record's column -> datatype map. */
export const SQL_DATATYPES: unique symbol = Symbol.for('kikv.sql.datatypes');

/** The R2RML natural datatype (xsd IRI) of a column of an SQL record, or undefined for a plain literal. */
export function naturalDatatype(values: unknown, column: string): string | undefined {
  const map = (values as { [SQL_DATATYPES]?: Record<string, string> } | null)?.[SQL_DATATYPES];
  return map?.[column];
}

/** Why reading a database failed; `reason` lets callers (sources test, reports) group the failures. */
export type PgFailure = 'password' | 'unreachable' | 'timeout' | 'login' | 'database' | 'schema' | 'table' | 'column' | 'query' | 'dsn';

/**
 * A database source that cannot be read. Extends SourceFileError so the CLI reports it like an
 * unreadable file (message only, exit 1) rather than as a crash.
 */
export class PgSourceError extends SourceFileError {
  constructor(
    readonly label: string,
    readonly reason: PgFailure,
    message: string,
  ) {
    super(label, undefined, message);
    this.message = message;
    this.name = 'PgSourceError';
  }
}

/** Everything needed to connect, plus the wording that points the operator at the setting to fix. */
export interface PgTarget {
  host: string;
  port: number;
  database: string;
  user?: string;
  password?: string;
  schema?: string;
  connectTimeoutMs: number;
  /** Who is connecting, for messages: 'source "hr"'. */
  label: string;
  hints: {
    /** Where host and port are set, e.g. 'sources.hr.host/port'. */
    server: string;
    database: string;
    user: string;
    /** Where the password comes from, e.g. 'the password in $KIKV_HR_PASSWORD'. */
    password: string;
    schema: string;
  };
}

/** The connection target of a configured pg source; reads its password now (env or file). */
export function pgTargetFromConfig(name: string, src: PgSourceConfig, env: NodeJS.ProcessEnv = process.env): PgTarget {
  const label = `source "${name}"`;
  let password: string | undefined;
  let passwordHint = `sources.${name}.passwordEnv or sources.${name}.passwordFile (neither is set)`;
  if (src.passwordEnv) {
    password = env[src.passwordEnv];
    passwordHint = `the password in $${src.passwordEnv}`;
    if (password === undefined) {
      throw new PgSourceError(label, 'password', `the password for ${label} is not available: environment variable ${src.passwordEnv} (sources.${name}.passwordEnv) is not set; set it before starting kikv`);
    }
  } else if (src.passwordFile) {
    passwordHint = `the password in ${src.passwordFile} (first line)`;
    try {
      password = readFileSync(src.passwordFile, 'utf8').split(/\r?\n/)[0] ?? '';
    } catch (e) {
      throw new PgSourceError(label, 'password', `the password file for ${label} cannot be read: ${src.passwordFile} (${(e as NodeJS.ErrnoException).code ?? 'error'}); check sources.${name}.passwordFile and the file's permissions`);
    }
  }
  return {
    host: src.host,
    port: src.port,
    database: src.database,
    user: src.user,
    password,
    schema: src.schema,
    connectTimeoutMs: src.connectTimeoutMs,
    label,
    hints: {
      server: `sources.${name}.host/port`,
      database: `sources.${name}.database`,
      user: `sources.${name}.user`,
      password: passwordHint,
      schema: `sources.${name}.schema`,
    },
  };
}

/** Host, port and database of a JDBC DSN (jdbc:postgresql://host:port/db) or a postgres:// URL. */
export function parseJdbcDsn(dsn: string): { host: string; port: number; database: string } | undefined {
  const m = /^(?:jdbc:)?postgres(?:ql)?:\/\/(\[[^\]]+\]|[^/:?]*)(?::(\d+))?\/([^?;]+)/i.exec(dsn.trim());
  if (!m) return undefined;
  return { host: (m[1] || 'localhost').replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 5432, database: decodeURIComponent(m[3]!) };
}

/** A target from a mapping's own D2RQ description (dsn, username, password), e.g. in conformance cases. */
export function pgTargetFromDsn(dsn: string, user: string | undefined, password: string | undefined, connectTimeoutMs = 5000): PgTarget {
  const parsed = parseJdbcDsn(dsn);
  if (!parsed) throw new PgSourceError(`database ${dsn}`, 'dsn', `d2rq:jdbcDSN "${dsn}" is not a PostgreSQL DSN; write jdbc:postgresql://HOST:PORT/DATABASE`);
  return {
    ...parsed,
    user,
    password,
    connectTimeoutMs,
    label: `database ${dsn}`,
    hints: { server: 'the d2rq:jdbcDSN', database: 'the d2rq:jdbcDSN', user: 'd2rq:username', password: 'd2rq:password', schema: 'the schema' },
  };
}

/**
 * Connects (within connectTimeoutMs), with the session in UTC so timestamps with time zone come out
 * the same everywhere, and the configured schema first on the search path for query sources.
 */
export async function connectPg(t: PgTarget): Promise<pg.Client> {
  const client = new pg.Client({
    host: t.host,
    port: t.port,
    database: t.database,
    user: t.user,
    password: t.password,
    connectionTimeoutMillis: t.connectTimeoutMs,
    options: '-c TimeZone=UTC -c DateStyle=ISO',
    types: { getTypeParser: typeParser as never },
  });
  // A connection lost mid-stream surfaces as a query error; this keeps it from crashing the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw describePgError(e, t, client.user);
  }
  if (t.schema) {
    try {
      const r = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [t.schema]);
      if (r.rowCount === 0) throw new PgSourceError(t.label, 'schema', `schema "${t.schema}" does not exist in database "${t.database}" (${t.label}); check ${t.hints.schema}`);
      await client.query(`SET search_path TO ${pg.escapeIdentifier(t.schema)}`);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e instanceof PgSourceError ? e : describePgError(e, t, client.user);
    }
  }
  return client;
}

/** What to read: a table (optionally schema-qualified by the target) or a query. */
export type PgRead = { table: string } | { query: string };

/** The SQL a read runs; identifiers are quoted, so table names keep their exact case. */
export function sqlFor(read: PgRead, schema?: string): string {
  if ('query' in read) return read.query;
  const table = pg.escapeIdentifier(read.table);
  return schema ? `SELECT * FROM ${pg.escapeIdentifier(schema)}.${table}` : `SELECT * FROM ${table}`;
}

/** Streams the records of a table or query in batches; the connection closes when the stream ends or stops early. */
export function streamPg(t: PgTarget, read: PgRead, batchSize = BATCH_SIZE): RecordStream {
  return {
    async *[Symbol.asyncIterator]() {
      const client = await connectPg(t);
      const what = 'query' in read ? 'the query' : `table "${read.table}"`;
      const stream = client.query(new QueryStream(sqlFor(read, t.schema), [], { batchSize }));
      let datatypes: Record<string, string> | undefined;
      let batch: SourceRecord[] = [];
      let row = 0;
      try {
        for await (const values of stream as AsyncIterable<Record<string, unknown>>) {
          // Field descriptions arrive with the first row.
          datatypes ??= datatypesOf((stream as unknown as { cursor: { _result: pg.QueryResult } }).cursor._result.fields ?? []);
          Object.defineProperty(values, SQL_DATATYPES, { value: datatypes, enumerable: false });
          batch.push({ row: ++row, values });
          if (batch.length >= batchSize) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length > 0) yield batch;
      } catch (e) {
        throw e instanceof PgSourceError ? e : describePgError(e, t, client.user, what);
      } finally {
        stream.destroy();
        await client.end().catch(() => undefined);
      }
    },
  };
}

/**
 * The OpenSource for configured pg sources: answers database specs whose d2rq:jdbcDSN equals a pg
 * source's `dsn`, or, for a source without `dsn`, whose host, port and database equal the source's.
 * It never guesses: a DSN that matches no source fails with the configured DSNs and the key to set.
 * The password is the source's (passwordEnv/passwordFile); a d2rq:password in the mapping is ignored so
 * that no secret has to live in a mapping file. d2rq:username is used only when the source sets no user.
 * File specs are left to the engine (undefined).
 */
export function pgOpenSource(cfg: AgentConfig, env: NodeJS.ProcessEnv = process.env): OpenSource {
  return (spec: LogicalSourceSpec) => {
    if (spec.source.kind !== 'database') return undefined;
    const db = spec.source;
    return lazy(() => {
      const name = matchSource(cfg, db.dsn);
      const target = pgTargetFromConfig(name, cfg.sources[name] as PgSourceConfig, env);
      if (!target.user && db.username) target.user = db.username;
      return streamPg(target, readOf(spec));
    });
  };
}

/** Table or query of a database logical source: rml:SQL2008Table / SQL2008Query, or the iterator. */
export function readOf(spec: LogicalSourceSpec): PgRead {
  const db = spec.source as DatabaseSourceSpec;
  if (db.query !== undefined) return { query: db.query };
  if (db.table !== undefined) return { table: db.table };
  // RML-IO puts the table name (SQL2008Table) or query (SQL2008Query) in rml:iterator.
  if (spec.iterator !== undefined) return /SQL2008Query$/.test(spec.referenceFormulation) ? { query: spec.iterator } : { table: spec.iterator };
  throw new PgSourceError(spec.label, 'table', `logical source ${spec.label} names no table or query; give rml:iterator with the table name (rml:SQL2008Table) or the query (rml:SQL2008Query)`);
}

/** The configured pg source a DSN stands for (see pgOpenSource). */
export function matchSource(cfg: AgentConfig, dsn: string): string {
  const pgSources = Object.entries(cfg.sources).filter((e): e is [string, PgSourceConfig] => e[1].type === 'pg');
  const byDsn = pgSources.find(([, s]) => s.dsn !== undefined && s.dsn.trim() === dsn.trim());
  if (byDsn) return byDsn[0];
  const parsed = parseJdbcDsn(dsn);
  const bySettings = pgSources.filter(([, s]) => s.dsn === undefined && parsed && s.host === parsed.host && s.port === parsed.port && s.database === parsed.database);
  if (bySettings.length === 1) return bySettings[0]![0];
  if (pgSources.length === 0) {
    throw new PgSourceError(`database ${dsn}`, 'dsn', `the mapping reads database ${dsn}, but no pg source is configured; add one under sources: with type: pg and dsn: "${dsn}"`);
  }
  const known = pgSources.map(([n, s]) => `${n} (${s.dsn ? `dsn ${s.dsn}` : `${s.host}:${s.port}/${s.database}, no dsn`})`).join(', ');
  throw new PgSourceError(`database ${dsn}`, 'dsn', `the mapping reads database ${dsn}, which matches no configured pg source: ${known}; set dsn: "${dsn}" on the source it stands for`);
}

/** A stream whose setup runs (and may throw) when it is first iterated, like a connection error would. */
function lazy(open: () => RecordStream): RecordStream {
  return {
    async *[Symbol.asyncIterator]() {
      yield* open();
    },
  };
}

// --- values ---------------------------------------------------------------------------------------

const OID = { bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, float4: 700, float8: 701, date: 1082, time: 1083, timestamp: 1114, timestamptz: 1184, numeric: 1700 } as const;

const NATURAL: Record<number, string> = {
  [OID.bool]: `${XSD}boolean`,
  [OID.bytea]: `${XSD}hexBinary`,
  [OID.int2]: `${XSD}integer`,
  [OID.int4]: `${XSD}integer`,
  [OID.int8]: `${XSD}integer`,
  [OID.float4]: `${XSD}double`,
  [OID.float8]: `${XSD}double`,
  [OID.numeric]: `${XSD}decimal`,
  [OID.date]: `${XSD}date`,
  [OID.time]: `${XSD}time`,
  [OID.timestamp]: `${XSD}dateTime`,
  [OID.timestamptz]: `${XSD}dateTime`,
};

function datatypesOf(fields: Array<{ name: string; dataTypeID: number }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) if (NATURAL[f.dataTypeID]) out[f.name] = NATURAL[f.dataTypeID]!;
  return out;
}

/**
 * Text-format parsers that keep SQL values exact: node-pg's defaults turn dates into local-time Date
 * objects (shifting the day) and numerics into lossy strings/numbers; we want the lexical forms above.
 */
function typeParser(oid: number, format?: string): (v: string) => unknown {
  switch (oid) {
    case OID.int8:
      return (v) => (Number.isSafeInteger(Number(v)) ? Number(v) : BigInt(v));
    case OID.numeric:
    case OID.date:
    case OID.time:
      return (v) => v;
    case OID.timestamp:
      return (v) => v.replace(' ', 'T');
    case OID.timestamptz:
      // The session runs in UTC, so the offset is always +00.
      return (v) => v.replace(' ', 'T').replace(/\+00(?::00)?$/, 'Z');
    case OID.bytea:
      // bytea_output is 'hex' by default since PostgreSQL 9.0: a backslash, 'x', then the bytes in hex.
      return (v) => (v.startsWith('\\x') ? v.slice(2).toUpperCase() : (pg.types.getTypeParser(OID.bytea)(v) as Buffer).toString('hex').toUpperCase());
    default:
      return pg.types.getTypeParser(oid, format as 'text');
  }
}

// --- errors ---------------------------------------------------------------------------------------

/** Turns a driver or server error into a PgSourceError that names the setting to fix. */
export function describePgError(e: unknown, t: PgTarget, actualUser: string | undefined, what?: string): PgSourceError {
  const err = e as Error & { code?: string; errno?: string };
  const at = `${t.host}:${t.port}`;
  const user = t.user ?? actualUser ?? '(default)';
  const scrub = (s: string) => (t.password && t.password.length >= 3 ? s.split(t.password).join('***') : s);
  const fail = (reason: PgFailure, message: string) => new PgSourceError(t.label, reason, scrub(message));
  const server = (detail: string) => `cannot reach PostgreSQL at ${at} for ${t.label}: ${detail} — is the server running, and are ${t.hints.server} right?`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return fail('unreachable', server('connection refused'));
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail('unreachable', server(`host name "${t.host}" not found`));
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return fail('unreachable', server('no route to the host'));
    case 'ECONNRESET':
      return fail('unreachable', server('the connection was closed by the server (does it require SSL, or is this not PostgreSQL?)'));
    case '28P01':
      return fail('login', `PostgreSQL at ${at} rejected the login of user "${user}" for ${t.label}: wrong password; check ${t.hints.password}`);
    case '28000':
      return fail('login', `PostgreSQL at ${at} does not let user "${user}" connect to database "${t.database}" from this machine (${firstLine(err.message)}); check ${t.hints.user} and the server's pg_hba.conf`);
    case '3D000':
      return fail('database', `database "${t.database}" does not exist on PostgreSQL at ${at} (${t.label}); check ${t.hints.database}`);
    case '3F000':
      return fail('schema', `${firstLine(err.message)} in database "${t.database}" (${t.label}); check ${t.hints.schema}`);
    case '42P01':
      return fail('table', `${what ?? 'the query'} of ${t.label}: ${firstLine(err.message)} in database "${t.database}"${t.schema ? `, schema "${t.schema}"` : ''}; check the table name (names are case-sensitive) in the mapping`);
    case '42703':
      return fail('column', `${what ?? 'the query'} of ${t.label}: ${firstLine(err.message)}; check the column names in the query`);
    case '42501':
      return fail('login', `user "${user}" may not read ${what ?? 'this'} (${t.label}): ${firstLine(err.message)}; grant SELECT to the user`);
  }
  if (/timeout/i.test(err.message ?? '')) {
    return fail('timeout', `no answer from PostgreSQL at ${at} for ${t.label} within ${t.connectTimeoutMs} ms — is a firewall dropping the connection, and are ${t.hints.server} right? (raise connectTimeoutMs for a slow network)`);
  }
  if (/client password must be a string|password authentication/i.test(err.message ?? '')) {
    return fail('login', `PostgreSQL at ${at} asks user "${user}" for a password, but none is given for ${t.label}; set ${t.hints.password === 'd2rq:password' ? 'd2rq:password' : 'passwordEnv or passwordFile on the source'}`);
  }
  if (typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) {
    return fail('query', `${what ?? 'the query'} of ${t.label} failed: ${firstLine(err.message)} (SQLSTATE ${err.code})`);
  }
  return fail('unreachable', server(firstLine(err.message ?? String(e))));
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
