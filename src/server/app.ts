import fastifyHelmet from '@fastify/helmet';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { STYLE_CSP_HASH } from '../board/pages/layout.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import type { EngineMatrix } from '../engines/routing.js';
import { configuredPacks } from '../exchange/requests.js';
import { StandaloneTrust } from '../exchange/trust/index.js';
import type { Trust } from '../exchange/types.js';
import { answerPullRoutes } from './answers-pull.js';
import { registerAuth } from './auth.js';
import { boardApi } from './board-api.js';
import { boardPages } from './board.js';
import { datacatalogRoutes } from './datacatalog.js';
import { didcommRoutes, type DidcommRoutes } from './didcomm.js';
import { jwksRoutes } from './jwks.js';
import { metricsRoutes } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { tokenRoutes } from './token.js';

export interface ServerDeps {
  db: Db;
  cfg: AgentConfig;
  /** The agent's trust adapter (src/cli/context.ts openAgent), shared with the delivery loop. */
  trust: Trust;
  logger?: boolean;
  /** The engine conformance matrix (default: the package's conformance/engine-matrix.json). */
  matrix?: EngineMatrix;
  /** The clock of the board's pages and API (tests move it); default the real one. */
  now?: () => Date;
}

export interface AgentServer {
  app: FastifyInstance;
  /** The inbox's background computation: resolves when every accepted request is computed or refused. */
  didcomm: DidcommRoutes;
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
      // Answers sent alone and queued messages (request responses, problem reports) together.
      const outbox = count('outbox');
      for (const [status, n] of Object.entries(count('message_outbox'))) outbox[status] = (outbox[status] ?? 0) + n;
      return { status: 'ok', did: deps.trust.did, snapshot, answers: count('answers'), outbox };
    },
  );
};

/**
 * The agent's HTTP server: one small plugin per route group. The token endpoint exists only in
 * standalone mode; with a Nuts node, the node is the authorisation server.
 */
export async function buildAgentServer(deps: ServerDeps): Promise<AgentServer> {
  const { db, cfg, trust } = deps;
  const app = Fastify({ logger: deps.logger ? { level: 'info' } : false });
  const packs = configuredPacks(cfg);
  await registerOpenApi(app, cfg);
  // Strict for the board's pages: only our own origin, the one embedded stylesheet by hash, no inline
  // script. The Swagger UI at /docs sets its own policy (openapi.ts).
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        defaultSrc: ["'self'"],
        styleSrc: ["'self'", STYLE_CSP_HASH],
        scriptSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: cfg.board.secureCookie ? [] : null,
      },
    },
    frameguard: { action: 'deny' },
    hsts: cfg.board.secureCookie,
  });
  await registerAuth(app, { db, cfg });
  await app.register(healthRoutes(deps));
  if (trust instanceof StandaloneTrust) await app.register(tokenRoutes(trust));
  const didcomm = didcommRoutes({ db, trust, cfg, packs, ...(cfg.exchange?.inbox ? { inbox: cfg.exchange.inbox } : {}), ...(deps.matrix ? { matrix: deps.matrix } : {}) });
  await app.register(didcomm);
  await app.register(answerPullRoutes({ db, trust }));
  await app.register(jwksRoutes({ jwks: () => trust.jwks() }));
  await app.register(metricsRoutes({ db, cfg }));
  const board = { db, cfg, trust, now: deps.now ?? (() => new Date()) };
  await app.register(boardPages(board));
  await app.register(boardApi(board));
  await app.register(datacatalogRoutes({ db, did: cfg.agent.did, name: cfg.agent.name, publicUrl: cfg.server.publicUrl, profiles: packs.map((p) => p.manifest.profile) }));
  return { app, didcomm };
}

/** The server alone, for callers that do not wait on the inbox's background work. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  return (await buildAgentServer(deps)).app;
}
