import type { FastifyPluginAsync } from 'fastify';
import type { JWK } from 'jose';

const jwkSchema = {
  type: 'object',
  required: ['kty', 'kid'],
  properties: { kty: { type: 'string' }, crv: { type: 'string' }, x: { type: 'string' }, y: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { type: 'string' } },
} as const;

/**
 * GET /.well-known/jwks.json: the public keys consumers verify our signed answers with, current and
 * still-needed (a Trust's jwks(): old keys stay until the answers they signed expire). The response
 * schema lists only public members, so a private `d` can never be served even by mistake.
 */
export function jwksRoutes(deps: { jwks: () => Promise<{ keys: JWK[] }> }): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/.well-known/jwks.json',
      { schema: { response: { 200: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: jwkSchema } } } } } },
      async (_req, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return deps.jwks();
      },
    );
  };
}
