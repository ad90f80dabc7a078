import type { RemoteEngineConfig } from '../engines/remote.js';
/** JSON Schema of the agent configuration (config/default.yaml documents every key). */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['agent', 'server', 'storage', 'sources', 'mapping', 'trust', 'indicators', 'delivery'],
  properties: {
    agent: {
      type: 'object',
      additionalProperties: false,
      required: ['did'],
      properties: {
        did: { type: 'string', pattern: '^did:[a-z0-9]+:.+$', description: 'a DID such as did:web:example.org' },
        name: { type: 'string' },
      },
    },
    server: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'port'],
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        publicUrl: { type: 'string', pattern: '^https?://' },
      },
    },
    storage: {
      type: 'object',
      additionalProperties: false,
      required: ['dataDir'],
      properties: { dataDir: { type: 'string', minLength: 1 } },
    },
    sources: {
      type: 'object',
      minProperties: 1,
      description: 'named source connectors; the mapping reads from them',
      propertyNames: { pattern: '^[a-z][a-z0-9-]*$' },
      additionalProperties: {
        type: 'object',
        required: ['type'],
        properties: { type: { enum: ['csv', 'json', 'pg'] } },
        allOf: [
          {
            if: { properties: { type: { const: 'csv' } } },
            then: {
              additionalProperties: false,
              required: ['type', 'directory'],
              properties: {
                type: { const: 'csv' },
                directory: { type: 'string', minLength: 1 },
                delimiter: { type: 'string', minLength: 1, maxLength: 1 },
                encoding: { enum: ['utf-8', 'utf8', 'windows-1252', 'cp1252', 'latin1', 'iso-8859-1', 'utf-16le'] },
              },
            },
          },
          {
            if: { properties: { type: { const: 'json' } } },
            then: {
              additionalProperties: false,
              required: ['type', 'directory'],
              properties: {
                type: { const: 'json' },
                directory: { type: 'string', minLength: 1 },
                encoding: { enum: ['utf-8', 'utf8', 'windows-1252', 'cp1252', 'latin1', 'iso-8859-1', 'utf-16le'] },
              },
            },
          },
          {
            if: { properties: { type: { const: 'pg' } } },
            then: {
              additionalProperties: false,
              required: ['type', 'database'],
              properties: {
                type: { const: 'pg' },
                host: { type: 'string', minLength: 1 },
                port: { type: 'integer', minimum: 1, maximum: 65535 },
                database: { type: 'string', minLength: 1 },
                user: { type: 'string', minLength: 1 },
                schema: { type: 'string', minLength: 1 },
                passwordEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$', description: 'name of the environment variable holding the password' },
                passwordFile: { type: 'string', minLength: 1, description: 'file holding the password (first line)' },
                dsn: { type: 'string', description: 'the d2rq:jdbcDSN a mapping uses for this database' },
                connectTimeoutMs: { type: 'integer', minimum: 100 },
              },
            },
          },
        ],
      },
    },
    mapping: {
      type: 'object',
      additionalProperties: false,
      required: ['rules', 'baseIri'],
      properties: {
        rules: { type: 'string', minLength: 1, description: 'RML mapping (Turtle .ttl) or YARRRML (.yml/.yaml)' },
        source: { type: 'string', minLength: 1, description: 'the source that rml:CurrentWorkingDirectory stands for (default: the first source)' },
        staging: { type: 'string', minLength: 1, description: 'staging schema whose row checks apply to that source' },
        baseIri: { type: 'string', pattern: '^https?://[^\\s]+/$' },
        ontology: { type: 'string', pattern: '^[a-z0-9-]+-[0-9]+(\\.[0-9]+)*$', description: 'ontology version folder under ontology/, e.g. onz-3.0.0' },
        validateUpTo: { type: 'integer', minimum: 0, description: 'SHACL-validate the mapped data when it has at most this many statements (0: never)' },
      },
    },
    import: {
      type: 'object',
      additionalProperties: false,
      properties: {
        schedule: { type: 'string', minLength: 1, description: 'cron expression (node-cron), e.g. "0 2 * * *"; "off" disables' },
        timezone: { type: 'string', minLength: 1 },
      },
    },
    trust: {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'keysDir'],
      properties: {
        mode: { enum: ['standalone', 'nuts'], description: 'standalone: own keys, peers from this file; nuts: a Nuts v5 node' },
        keysDir: { type: 'string', minLength: 1 },
        tokenLifetimeSeconds: { type: 'integer', minimum: 10, maximum: 86400, description: 'lifetime of the access tokens our token endpoint issues (default 600)' },
        keyRetentionDays: { type: 'integer', minimum: 1, maximum: 3650, description: 'how long a rotated-out key stays in the JWKS: as long as answers it signed stay valid (default 400)' },
        trustedIssuers: { type: 'array', items: { type: 'string', pattern: '^did:[a-z0-9]+:.+$' }, description: 'DIDs trusted to issue ValidatedQueryCredentials (default: the peers with role issuer)' },
        revokedCredentials: { type: 'string', minLength: 1, description: 'file listing revoked credential ids (one per line, or a JSON array)' },
        peers: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['did', 'name', 'roles'],
            properties: {
              did: { type: 'string', pattern: '^did:[a-z0-9]+:.+$' },
              name: { type: 'string', minLength: 1 },
              roles: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['consumer', 'issuer'] } },
              jwks: { type: 'string', minLength: 1, description: 'JWKS file with the peer\'s public keys' },
              didDocument: { type: 'string', minLength: 1, description: 'DID document file with the peer\'s verification methods' },
              endpoint: { type: 'string', pattern: '^https?://', description: 'the peer\'s DIDComm endpoint' },
              tokenEndpoint: { type: 'string', pattern: '^https?://', description: 'the peer\'s OAuth2 token endpoint (RFC 7523 JWT bearer)' },
            },
          },
        },
        nuts: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: {
            url: { type: 'string', pattern: '^https?://', description: 'the Nuts v5 node\'s internal API, e.g. http://nuts:1323' },
            signingKeyId: { type: 'string', minLength: 1, description: 'verification method our JWS are signed with (default: the first keyAgreement key of our DID document)' },
            endpointType: { type: 'string', minLength: 1, description: 'endpoint type inside the didcomm-service-kikv compound service (default didcomm)' },
            timeoutMs: { type: 'integer', minimum: 100, description: 'per call to the node (default 10000)' },
          },
        },
      },
    },
    indicators: {
      type: 'object',
      additionalProperties: false,
      required: ['packs', 'profiles', 'reportingYear'],
      properties: {
        packs: { type: 'string', minLength: 1 },
        profiles: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['profile', 'version'],
            properties: {
              profile: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
              version: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$' },
            },
          },
        },
        reportingYear: { type: 'integer', minimum: 2020, maximum: 2100 },
      },
    },
    delivery: {
      type: 'object',
      additionalProperties: false,
      required: ['kikStarter'],
      properties: {
        kikStarter: {
          type: 'object',
          additionalProperties: false,
          required: ['did', 'endpoint'],
          properties: {
            did: { type: 'string', pattern: '^did:[a-z0-9]+:.+$' },
            endpoint: { type: 'string', pattern: '^https?://' },
          },
        },
        retry: {
          type: 'object',
          additionalProperties: false,
          properties: {
            maxAttempts: { type: 'integer', minimum: 1, maximum: 100 },
            baseDelayMs: { type: 'integer', minimum: 1 },
            maxDelayMs: { type: 'integer', minimum: 1 },
          },
        },
        timeoutMs: { type: 'integer', minimum: 100 },
        windows: {
          type: 'array',
          description: 'delivery windows that differ from the profile pack\'s (e.g. a deadline Zorginstituut extended); outside its window a round sends nothing',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['profile', 'year', 'opens', 'closes'],
            properties: {
              profile: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
              year: { type: 'integer', minimum: 2020, maximum: 2100 },
              opens: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2})?(Z|[+-]\\d{2}:\\d{2})$', description: 'ISO date-time with offset, e.g. 2024-01-08T00:00:00+01:00' },
              closes: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2})?(Z|[+-]\\d{2}:\\d{2})$', description: 'ISO date-time with offset, e.g. 2024-06-24T23:59:00+02:00' },
            },
          },
        },
      },
    },
    // Optional: the board's web pages and API (src/board, src/server/board.ts).
    board: {
      type: 'object',
      additionalProperties: false,
      description: 'review and approval by the board: accounts, sessions, four-eyes, reminders',
      properties: {
        fourEyes: { type: 'boolean', description: 'a quality officer must prepare (klaarzetten) a location before the board can approve it (default false)' },
        reminderDays: { type: 'integer', minimum: 0, maximum: 365, description: 'remind (log, /metrics, home page) this many days before a deadline while answers wait (default 14)' },
        secureCookie: { type: 'boolean', description: 'mark the session cookie Secure (default true; browsers accept it over http only on localhost)' },
        sessionIdleMinutes: { type: 'integer', minimum: 1, maximum: 1440, description: 'a session ends after this many minutes without a request (default 30)' },
        sessionMaxHours: { type: 'integer', minimum: 1, maximum: 168, description: 'a session ends this many hours after login regardless (default 12)' },
        lockoutFailures: { type: 'integer', minimum: 1, maximum: 100, description: 'failed passwords in a row that lock an account (default 5)' },
        lockoutMinutes: { type: 'integer', minimum: 1, maximum: 10080, description: 'how long a locked account stays locked (default 15)' },
        loginRateLimit: { type: 'integer', minimum: 1, maximum: 10000, description: 'login attempts per minute per client address (default 10)' },
      },
    },
    // Optional: the DIDComm inbox's limits and policies (src/exchange/inbox.ts DEFAULT_INBOX).
    exchange: {
      type: 'object',
      additionalProperties: false,
      description: 'the KIK-V exchange: what the DIDComm inbox accepts',
      properties: {
        inbox: {
          type: 'object',
          additionalProperties: false,
          properties: {
            maxBodyBytes: { type: 'integer', minimum: 1024, description: 'largest request body checked in order (default 524288); larger ones are refused at the size check' },
            hardBodyLimit: { type: 'integer', minimum: 1024, description: 'bodies above this are not read at all (default 2097152)' },
            maxCredentials: { type: 'integer', minimum: 1, description: 'credentials per presentation (default 20)' },
            maxSparqlChars: { type: 'integer', minimum: 100, description: 'longest SPARQL text, as sent (default 65536)' },
            clockSkewSeconds: { type: 'integer', minimum: 0, maximum: 3600, description: 'how far in the future created_time may lie (default 60)' },
            legacyCredentialSubject: { enum: ['accept', 'refuse'], description: 'the legacy body without a presentation: accepted on the bearer token alone (default) or refused' },
            notShippedQuery: { enum: ['run-and-hold', 'refuse'], description: 'a credentialed query this agent does not ship: run it and hold the answer for approval (default), or refuse' },
          },
        },
      },
    },
    // Optional: without it the embedded Oxigraph engine runs every query (nothing to install).
    engines: {
      type: 'object',
      additionalProperties: false,
      description: 'SPARQL engines the indicators run on (src/engines/registry.ts)',
      properties: {
        default: { enum: ['oxigraph', 'comunica', 'jena', 'remote'], description: 'engine used when none is chosen (default oxigraph, embedded)' },
        remote: {
          type: 'object',
          additionalProperties: false,
          required: ['endpoint'],
          description: 'a SPARQL 1.1 endpoint (Fuseki, GraphDB, Virtuoso …); makes the "remote" engine available',
          properties: {
            endpoint: { type: 'string', pattern: '^https?://', description: 'SPARQL 1.1 query URL, e.g. http://localhost:3030/kikv/sparql or http://host:8890/sparql' },
            graphStore: { type: 'string', pattern: '^https?://', description: "Graph Store Protocol URL snapshots are uploaded to (PUT), e.g. Fuseki's /kikv/data or Virtuoso's /sparql-graph-crud-auth; default: endpoint" },
            graph: { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*:[^\\s<>"{}|^`]*$', description: 'named graph (IRI) holding the snapshot; queries use it as their default graph (default urn:kikv:snapshot)' },
            user: { type: 'string', minLength: 1, description: 'account for basic or digest authentication (chosen from the server\'s challenge)' },
            passwordEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$', description: 'name of the environment variable holding the password' },
            readOnly: { type: 'boolean', description: 'the endpoint already holds the data: never upload, only check the graph is not empty (default false)' },
            queryMethod: { enum: ['form', 'direct'], description: 'POST form-encoded (default; Virtuoso 7.2 needs it) or as application/sparql-query' },
            timeoutMs: { type: 'integer', minimum: 100, description: 'per query (default 300000)' },
            loadTimeoutMs: { type: 'integer', minimum: 100, description: 'per snapshot upload (default 1800000)' },
          },
        },
      },
    },
  },
} as const;

export type EngineConfigName = 'oxigraph' | 'comunica' | 'jena' | 'remote';

/** Config `engines`, with its defaults filled in by enginesWithDefaults. */
export interface EnginesConfig {
  default: EngineConfigName;
  /** A remote SPARQL 1.1 endpoint; its keys are documented on RemoteEngineConfig. */
  remote?: RemoteEngineConfig;
}

/** Defaults for `engines`, so a configuration without the section keeps working (embedded Oxigraph). */
export function enginesWithDefaults(raw?: Partial<EnginesConfig>): EnginesConfig {
  return { default: raw?.default ?? 'oxigraph', ...(raw?.remote ? { remote: raw.remote } : {}) };
}

/** The validated configuration, with every path made absolute. */
export interface AgentConfig {
  /** The file the configuration was read from. */
  file: string;
  agent: { did: string; name: string };
  server: { host: string; port: number; publicUrl: string };
  storage: { dataDir: string };
  /** Named source connectors, in the order the configuration lists them. */
  sources: Record<string, SourceConfig>;
  /** `source` names the source rml:CurrentWorkingDirectory stands for; `staging` its row checks. */
  mapping: { rules: string; source: string; staging?: string; baseIri: string; ontology: string; validateUpTo: number };
  import: { schedule: string; timezone: string };
  trust: TrustConfig;
  indicators: { packs: string; profiles: Array<{ profile: string; version: string }>; reportingYear: number };
  delivery: {
    kikStarter: { did: string; endpoint: string };
    retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
    timeoutMs: number;
    /** Windows that replace the pack's for a profile and reporting year (src/answers/rounds.ts). */
    windows: DeliveryWindowOverride[];
  };
  /** The board's pages and API, defaults filled in. */
  board: BoardConfig;
  /** Absent in configurations read before the section existed: use enginesWithDefaults(cfg.engines). */
  engines?: EnginesConfig;
  /** The inbox's limits and policies as configured; unset keys take src/exchange/inbox.ts DEFAULT_INBOX. */
  exchange?: { inbox?: Partial<ExchangeInboxConfig> };
}

export interface DeliveryWindowOverride {
  profile: string;
  year: number;
  /** ISO date-times with offset. */
  opens: string;
  closes: string;
}

/** Config `board` (see the schema's descriptions), defaults filled in by boardWithDefaults. */
export interface BoardConfig {
  fourEyes: boolean;
  reminderDays: number;
  secureCookie: boolean;
  sessionIdleMinutes: number;
  sessionMaxHours: number;
  lockoutFailures: number;
  lockoutMinutes: number;
  loginRateLimit: number;
}

export function boardWithDefaults(raw?: Partial<BoardConfig>): BoardConfig {
  return { fourEyes: false, reminderDays: 14, secureCookie: true, sessionIdleMinutes: 30, sessionMaxHours: 12, lockoutFailures: 5, lockoutMinutes: 15, loginRateLimit: 10, ...raw };
}

/** Config `exchange.inbox` (see the schema's descriptions). */
export interface ExchangeInboxConfig {
  maxBodyBytes: number;
  hardBodyLimit: number;
  maxCredentials: number;
  maxSparqlChars: number;
  clockSkewSeconds: number;
  legacyCredentialSubject: 'accept' | 'refuse';
  notShippedQuery: 'run-and-hold' | 'refuse';
}

/** The CSV directory the mapping reads by default (rml:CurrentWorkingDirectory). */
export function mappingDirectory(cfg: AgentConfig): string {
  const src = cfg.sources[cfg.mapping.source]!;
  if (src.type === 'pg') throw new Error(`mapping.source "${cfg.mapping.source}" is a database; name a csv or json source`);
  return src.directory;
}

/** The same configuration with the mapping's CSV source read from another directory. */
export function withMappingDirectory(cfg: AgentConfig, directory: string): AgentConfig {
  const src = cfg.sources[cfg.mapping.source]!;
  if (src.type === 'pg') throw new Error(`mapping.source "${cfg.mapping.source}" is a database; name a csv or json source`);
  return { ...cfg, sources: { ...cfg.sources, [cfg.mapping.source]: { ...src, directory } } };
}

export type SourceConfig =
  | { type: 'csv'; directory: string; delimiter: string; encoding: string }
  | { type: 'json'; directory: string; encoding: string }
  | {
      type: 'pg';
      host: string;
      port: number;
      database: string;
      user?: string;
      schema?: string;
      passwordEnv?: string;
      passwordFile?: string;
      dsn?: string;
      connectTimeoutMs: number;
    };

/** A peer of the standalone trust adapter: a consumer (KIK-starter) or a credential issuer. */
export interface PeerConfig {
  did: string;
  name: string;
  roles: Array<'consumer' | 'issuer'>;
  /** Absolute paths to the peer's keys (one of the two is given in standalone mode). */
  jwks?: string;
  didDocument?: string;
  endpoint?: string;
  tokenEndpoint?: string;
}

/** Config `trust`, defaults filled in and paths absolute. */
export interface TrustConfig {
  mode: 'standalone' | 'nuts';
  keysDir: string;
  tokenLifetimeSeconds: number;
  keyRetentionDays: number;
  trustedIssuers: string[];
  revokedCredentials?: string;
  peers: PeerConfig[];
  nuts?: { url: string; signingKeyId?: string; endpointType: string; timeoutMs: number };
}
