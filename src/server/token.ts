import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { JWT_BEARER, OAuthError, type TokenIssuer } from '../exchange/trust/oauth.js';

const oauthError = {
  type: 'object',
  required: ['error', 'error_description'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
} as const;

/**
 * The standalone authorisation server: `POST /oauth2/token` (RFC 7523 JWT bearer grant, RFC 6749 §5
 * responses) and `POST /oauth2/introspect` (RFC 7662) for our own access tokens. Register it only in
 * standalone mode; with a Nuts node, the node is the authorisation server.
 */
export const tokenRoutes = (issuer: TokenIssuer): FastifyPluginAsync => async (app) => {
  // OAuth2 bodies are form-encoded (RFC 6749 §4.5); parse them here so this plugin needs no dependency.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  // Every refusal in the RFC 6749 §5.2 shape, schema failures included.
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof OAuthError) return reply.code(err.status).header('cache-control', 'no-store').send({ error: err.error, error_description: err.description });
    if (err.validation) {
      const v = err.validation[0];
      const field = v?.params && 'missingProperty' in v.params ? String(v.params.missingProperty) : (v?.instancePath ?? '').replace(/^\//, '');
      return reply.code(400).send({ error: 'invalid_request', error_description: `${field || 'body'}: ${v?.message ?? 'invalid'}; send application/x-www-form-urlencoded with grant_type=${JWT_BEARER} and assertion=<JWT>` });
    }
    if (err.statusCode === 415) return reply.code(400).send({ error: 'invalid_request', error_description: 'send the request as application/x-www-form-urlencoded (RFC 6749 §4.5)' });
    if (err.statusCode && err.statusCode < 500) return reply.code(400).send({ error: 'invalid_request', error_description: err.message });
    reply.log.error(err);
    return reply.code(500).send({ error: 'server_error', error_description: 'the token endpoint failed; try again later' });
  });

  app.post(
    '/oauth2/token',
    {
      schema: {
        body: {
          type: 'object',
          required: ['grant_type'],
          properties: { grant_type: { type: 'string', maxLength: 200 }, assertion: { type: 'string', maxLength: 16384 }, scope: { type: 'string', maxLength: 500 } },
        },
        response: {
          200: { type: 'object', required: ['access_token', 'token_type', 'expires_in'], properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' }, scope: { type: 'string' } } },
          '4xx': oauthError,
        },
      },
    },
    async (req, reply) => {
      const body = req.body as { grant_type: string; assertion?: string; scope?: string };
      if (body.grant_type !== JWT_BEARER) throw new OAuthError('unsupported_grant_type', 400, `grant_type ${JSON.stringify(body.grant_type)} is not supported; use ${JWT_BEARER} (RFC 7523)`);
      if (!body.assertion) throw new OAuthError('invalid_request', 400, 'assertion is missing: send the signed JWT (iss = sub = your DID, aud = this token endpoint) as "assertion"');
      const token = await issuer.tokenForAssertion(body.assertion, body.scope);
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return token;
    },
  );

  app.post(
    '/oauth2/introspect',
    {
      schema: {
        body: { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 16384 }, token_type_hint: { type: 'string' } } },
        response: {
          200: {
            type: 'object',
            required: ['active'],
            properties: {
              active: { type: 'boolean' },
              iss: { type: 'string' },
              sub: { type: 'string' },
              aud: { type: 'string' },
              service: { type: 'string' },
              scope: { type: 'string' },
              client_id: { type: 'string' },
              token_type: { type: 'string' },
              exp: { type: 'integer' },
              iat: { type: 'integer' },
              jti: { type: 'string' },
            },
          },
          '4xx': oauthError,
        },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return issuer.introspect((req.body as { token: string }).token);
    },
  );
};
