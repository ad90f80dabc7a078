/** JSON Schema of the agent configuration (config/default.yaml documents every key). */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['agent', 'server', 'storage', 'source', 'mapping', 'trust', 'indicators', 'delivery'],
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
    source: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'directory'],
      properties: {
        type: { enum: ['csv'] },
        directory: { type: 'string', minLength: 1 },
        delimiter: { type: 'string', minLength: 1, maxLength: 1 },
        encoding: { enum: ['utf-8', 'utf8'] },
      },
    },
    mapping: {
      type: 'object',
      additionalProperties: false,
      required: ['staging', 'rules', 'baseIri'],
      properties: {
        staging: { type: 'string', minLength: 1 },
        rules: { type: 'string', minLength: 1 },
        baseIri: { type: 'string', pattern: '^https?://[^\\s]+/$' },
      },
    },
    trust: {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'keysDir'],
      properties: {
        mode: { enum: ['standalone'] },
        keysDir: { type: 'string', minLength: 1 },
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
      },
    },
  },
} as const;

/** The validated configuration, with every path made absolute. */
export interface AgentConfig {
  /** The file the configuration was read from. */
  file: string;
  agent: { did: string; name: string };
  server: { host: string; port: number; publicUrl: string };
  storage: { dataDir: string };
  source: { type: 'csv'; directory: string; delimiter: string; encoding: 'utf-8' };
  mapping: { staging: string; rules: string; baseIri: string };
  trust: { mode: 'standalone'; keysDir: string };
  indicators: { packs: string; profiles: Array<{ profile: string; version: string }>; reportingYear: number };
  delivery: {
    kikStarter: { did: string; endpoint: string };
    retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
    timeoutMs: number;
  };
}
