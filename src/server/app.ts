import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Db } from '../db/open.js';
import { jwksOf, type SigningKey } from '../exchange/keys.js';

export interface ServerDeps {
  db: Db;
  key: SigningKey;
  agentDid: string;
  logger?: boolean;
}

/** GET /health: liveness plus what an operator checks first (snapshot, answers waiting, deliveries). */
const healthRoutes = (deps: ServerDeps): FastifyPluginAsync => async (app) => {
  app.get(
    '/health',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['status'],
            properties: {
              status: { type: 'string' },
              did: { type: 'string' },
              snapshot: { type: ['string', 'null'] },
              answers: { type: 'object', additionalProperties: { type: 'integer' } },
              outbox: { type: 'object', additionalProperties: { type: 'integer' } },
            },
          },
        },
      },
    },
    async () => {
      const count = (table: string) =>
        Object.fromEntries((deps.db.prepare(`SELECT status, COUNT(*) AS n FROM ${table} GROUP BY status`).all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n]));
      const snapshot = (deps.db.prepare('SELECT hash FROM snapshots ORDER BY created_at DESC LIMIT 1').get() as { hash: string } | undefined)?.hash ?? null;
      return { status: 'ok', did: deps.agentDid, snapshot, answers: count('answers'), outbox: count('outbox') };
    },
  );
};

/** GET /.well-known/jwks.json: the public keys the KIK-starter verifies our signed answers with. */
const jwksRoutes = (deps: ServerDeps): FastifyPluginAsync => async (app) => {
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['keys'],
            properties: {
              keys: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['kty', 'kid'],
                  properties: { kty: { type: 'string' }, crv: { type: 'string' }, x: { type: 'string' }, y: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
    async (_req, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return jwksOf(deps.key);
    },
  );
};

/** The agent's HTTP server: one small plugin per route group. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ? { level: 'info' } : false });
  await app.register(healthRoutes(deps));
  await app.register(jwksRoutes(deps));
  return app;
}
