import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { boardWithDefaults, configSchema, type AgentConfig, type BoardConfig, type SourceConfig, type TrustConfig, enginesWithDefaults } from './schema.js';

/** The embedded default configuration shipped in the package. */
export const DEFAULT_CONFIG_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../config/default.yaml');

/** One problem with a configuration file: the key by its path, what was found, what is expected. */
export interface ConfigProblem {
  path: string;
  found: string;
  expected: string;
}

/** Raised for any unusable configuration; the CLI turns it into exit code 2. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `Configuration error in ${file}:\n` +
        problems.map((p) => `  - ${p.path}: found ${p.found}; expected ${p.expected}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(configSchema);

/** Which file to read: an explicit --config, else KIKV_CONFIG, else the embedded default. */
export function configFileFrom(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicit ?? env.KIKV_CONFIG ?? DEFAULT_CONFIG_FILE);
}

/**
 * Reads and validates a configuration file. Pure with respect to agent state: it creates no
 * directory and opens no database, so a bad configuration never touches anything.
 */
export function loadConfig(file: string): AgentConfig {
  const raw = readYamlFile(file, 'configuration file');
  if (!validate(raw)) throw new ConfigError(file, (validate.errors ?? []).map((e) => describe(e, raw)));
  const cfg = resolvePaths(file, raw as RawConfig);
  const trustProblems = trustProblemsOf(cfg.trust);
  if (trustProblems.length > 0) throw new ConfigError(file, trustProblems);
  if (!(cfg.mapping.source in cfg.sources)) {
    throw new ConfigError(file, [{ path: 'mapping.source', found: cfg.mapping.source, expected: `the name of a configured source (${Object.keys(cfg.sources).join(', ')})` }]);
  }
  return cfg;
}

type RawConfig = Omit<AgentConfig, 'file' | 'agent' | 'server' | 'sources' | 'mapping' | 'import' | 'delivery' | 'trust' | 'board'> & {
  board?: Partial<BoardConfig>;
  trust: RawTrust;
  agent: { did: string; name?: string };
  server: { host: string; port: number; publicUrl?: string };
  sources: Record<string, { type: 'csv' | 'json' | 'pg'; [key: string]: unknown }>;
  mapping: { rules: string; source?: string; staging?: string; baseIri: string; ontology?: string; validateUpTo?: number };
  import?: { schedule?: string; timezone?: string };
  delivery: {
    kikStarter: { did: string; endpoint: string };
    retry?: Partial<AgentConfig['delivery']['retry']>;
    timeoutMs?: number;
    windows?: AgentConfig['delivery']['windows'];
  };
};

type RawTrust = Partial<Omit<TrustConfig, 'mode' | 'keysDir' | 'nuts'>> & {
  mode: TrustConfig['mode'];
  keysDir: string;
  nuts?: { url: string; signingKeyId?: string; endpointType?: string; timeoutMs?: number };
};

function trustWithDefaults(t: RawTrust, abs: (p: string) => string): TrustConfig {
  return {
    mode: t.mode,
    keysDir: abs(t.keysDir),
    tokenLifetimeSeconds: t.tokenLifetimeSeconds ?? 600,
    keyRetentionDays: t.keyRetentionDays ?? 400,
    trustedIssuers: t.trustedIssuers ?? [],
    ...(t.revokedCredentials ? { revokedCredentials: abs(t.revokedCredentials) } : {}),
    peers: (t.peers ?? []).map((p) => ({ ...p, ...(p.jwks ? { jwks: abs(p.jwks) } : {}), ...(p.didDocument ? { didDocument: abs(p.didDocument) } : {}) })),
    ...(t.nuts ? { nuts: { url: t.nuts.url.replace(/\/+$/, ''), ...(t.nuts.signingKeyId ? { signingKeyId: t.nuts.signingKeyId } : {}), endpointType: t.nuts.endpointType ?? 'didcomm', timeoutMs: t.nuts.timeoutMs ?? 10_000 } } : {}),
  };
}

/** What JSON Schema cannot say about `trust`: which keys each mode needs, and no peer twice. */
function trustProblemsOf(t: TrustConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (t.mode === 'nuts' && !t.nuts) problems.push({ path: 'trust.nuts', found: 'nothing (the key is missing)', expected: 'the Nuts node to use in mode nuts, e.g. { url: "http://nuts:1323" }' });
  const seen = new Set<string>();
  t.peers.forEach((p, i) => {
    if (seen.has(p.did)) problems.push({ path: `trust.peers[${i}].did`, found: JSON.stringify(p.did), expected: 'each peer DID once (merge the two entries)' });
    seen.add(p.did);
    if (t.mode === 'standalone' && !p.jwks && !p.didDocument) {
      problems.push({ path: `trust.peers[${i}]`, found: `no keys for ${p.did}`, expected: 'a "jwks" or "didDocument" file with the peer\'s public keys' });
    }
  });
  return problems;
}

function sourceWithDefaults(src: RawConfig['sources'][string], abs: (p: string) => string): SourceConfig {
  const s = src as Record<string, unknown>;
  switch (src.type) {
    case 'csv':
      return { type: 'csv', directory: abs(String(s.directory)), delimiter: (s.delimiter as string) ?? ',', encoding: normaliseEncoding(s.encoding) };
    case 'json':
      return { type: 'json', directory: abs(String(s.directory)), encoding: normaliseEncoding(s.encoding) };
    case 'pg':
      return {
        ...(s as object),
        type: 'pg',
        host: (s.host as string) ?? '127.0.0.1',
        port: (s.port as number) ?? 5432,
        database: String(s.database),
        passwordFile: s.passwordFile === undefined ? undefined : abs(String(s.passwordFile)),
        connectTimeoutMs: (s.connectTimeoutMs as number) ?? 5000,
      };
  }
}

/** One spelling per encoding, as TextDecoder knows it. */
function normaliseEncoding(e: unknown): string {
  const v = String(e ?? 'utf-8').toLowerCase();
  return ({ utf8: 'utf-8', cp1252: 'windows-1252', 'iso-8859-1': 'latin1' } as Record<string, string>)[v] ?? v;
}

function resolvePaths(file: string, raw: RawConfig): AgentConfig {
  const base = dirname(file);
  const abs = (p: string) => resolve(base, p);
  return {
    file,
    agent: { did: raw.agent.did, name: raw.agent.name ?? 'kikv-agent' },
    server: { ...raw.server, publicUrl: raw.server.publicUrl ?? `http://${raw.server.host}:${raw.server.port}` },
    storage: { dataDir: abs(raw.storage.dataDir) },
    sources: Object.fromEntries(Object.entries(raw.sources).map(([name, src]) => [name, sourceWithDefaults(src, abs)])),
    mapping: {
      rules: abs(raw.mapping.rules),
      source: raw.mapping.source ?? Object.keys(raw.sources)[0]!,
      staging: raw.mapping.staging === undefined ? undefined : abs(raw.mapping.staging),
      baseIri: raw.mapping.baseIri,
      ontology: raw.mapping.ontology ?? 'onz-3.0.0',
      validateUpTo: raw.mapping.validateUpTo ?? 2_000_000,
    },
    import: { schedule: raw.import?.schedule ?? '0 2 * * *', timezone: raw.import?.timezone ?? 'Europe/Amsterdam' },
    trust: trustWithDefaults(raw.trust, abs),
    indicators: { ...raw.indicators, packs: abs(raw.indicators.packs) },
    delivery: {
      kikStarter: raw.delivery.kikStarter,
      retry: { maxAttempts: 8, baseDelayMs: 2000, maxDelayMs: 3_600_000, ...raw.delivery.retry },
      timeoutMs: raw.delivery.timeoutMs ?? 15_000,
      windows: raw.delivery.windows ?? [],
    },
    board: boardWithDefaults(raw.board),
    engines: enginesWithDefaults(raw.engines),
    ...(raw.exchange ? { exchange: raw.exchange } : {}),
  };
}

function describe(e: ErrorObject, root: unknown): ConfigProblem {
  const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const here = segments.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], root);
  const path = (extra?: string) => dotted(extra === undefined ? segments : [...segments, extra]);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: path(String(p.missingProperty)), found: 'nothing (the key is missing)', expected: `a value for this required key` };
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys(schemaAt(segments)?.properties ?? {});
      const close = known.find((k) => similar(k, key));
      return {
        path: path(key),
        found: 'an unknown key',
        expected: close ? `one of ${known.join(', ')} (did you mean "${close}"?)` : `one of ${known.join(', ')}`,
      };
    }
    case 'type':
      return { path: path(), found: show(here), expected: `a value of type ${String(p.type)}` };
    case 'enum':
      return { path: path(), found: show(here), expected: `one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'minimum':
    case 'maximum':
      return { path: path(), found: show(here), expected: `a number ${e.keyword === 'minimum' ? '>=' : '<='} ${String(p.limit)}` };
    case 'pattern':
      return { path: path(), found: show(here), expected: patternMeaning(segments, String(p.pattern)) };
    default:
      return { path: path(), found: show(here), expected: e.message ?? e.keyword };
  }
}

function dotted(segments: string[]): string {
  return segments.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '') || '(top level)';
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  const type = Array.isArray(v) ? 'list' : typeof v;
  return `${JSON.stringify(v)} (${type})`;
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

function schemaAt(segments: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = configSchema as unknown as SchemaNode;
  for (const s of segments) node = /^\d+$/.test(s) ? node?.items : node?.properties?.[s];
  return node;
}

function patternMeaning(segments: string[], pattern: string): string {
  const key = segments[segments.length - 1];
  if (key === 'did') return 'a DID such as "did:web:zorg.example"';
  if (key === 'baseIri') return 'an http(s) IRI ending in "/", such as "https://data.provider.example/id/"';
  if (key === 'endpoint' || key === 'publicUrl') return 'an http:// or https:// URL';
  if (key === 'version') return 'a version such as "2023.1.0"';
  if (key === 'profile') return 'a profile folder name of lower-case letters, digits and dashes';
  return `text matching ${pattern}`;
}

/** Close enough to suggest: containment, or at most two edits (Damerau-Levenshtein, so "hots" ~ "host"). */
function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x.includes(y) || y.includes(x)) return true;
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]! <= Math.min(2, Math.floor(Math.max(x.length, y.length) / 3));
}

/**
 * Reads a YAML file the configuration points to (staging schema, mapping rules, pack manifest).
 * An unreadable or malformed file becomes a ConfigError naming the file and the line.
 */
export function readYamlFile(file: string, role: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: '(file)', found: `an unreadable ${role} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, expected: `a readable YAML ${role}; check the path in the configuration` }]);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}, column ${e.linePos?.[0]?.col ?? '?'}`, found: `invalid YAML in this ${role}: ${e.message.split('\n')[0]}`, expected: 'well-formed YAML (quote values that contain { or })' })),
    );
  }
  return doc.toJS();
}
