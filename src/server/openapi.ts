import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { AgentConfig } from '../config/schema.js';

/**
 * The OpenAPI document of every route with a schema (the HTML pages hide themselves) at /docs/json,
 * and the Swagger UI at /docs. Register before any route: @fastify/swagger collects routes as they
 * are added.
 */
export async function registerOpenApi(app: FastifyInstance, cfg: AgentConfig): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: `${cfg.agent.name} API`,
        description:
          'The KIK-V datastation: the board API (rounds, review and approval, manual items, corrections, exports, audit) and the exchange endpoints. Log in with POST /api/session; send the returned CSRF token in the x-csrf-token header with every POST and DELETE.',
        version: '1',
      },
      tags: [
        { name: 'session', description: 'Log in and out' },
        { name: 'rounds', description: 'Delivery rounds: profile × reporting year with its window' },
        { name: 'overview', description: 'The performance overview per indeling' },
        { name: 'review', description: 'Prepare, approve and reject per indeling' },
        { name: 'items', description: 'Manual items and corrections' },
        { name: 'exports', description: 'Open-data CSV, PDF and the signed answer bundle' },
        { name: 'audit', description: 'The hash-chained audit log' },
      ],
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'kikv_session' } } },
      security: [{ session: [] }],
    },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // The UI's own scripts allowed by hash. Its React code sets a few inline style attributes, so
    // styles (never scripts) may be inline on /docs only. No upgrade-insecure-requests, so it also
    // works over plain HTTP on an internal network.
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, '').replace(/style-src ([^;]*)/, (_m, v: string) => `style-src ${v.replace(/\s*https:/, '')} 'unsafe-inline'`),
  });
}
