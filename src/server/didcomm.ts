import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { inboxSettings, problemFor, receiveRequest, type InboxDeps } from '../exchange/inbox.js';
import { DIDCOMM_PLAIN } from '../exchange/messages.js';
import { configuredPacks, processRequest, unfinishedRequests } from '../exchange/requests.js';
import { ExchangeError } from '../exchange/types.js';

export interface DidcommRoutes extends FastifyPluginAsync {
  /** Resolves when every request accepted so far has been computed (or refused). */
  idle(): Promise<void>;
}

const problemSchema = {
  type: 'object',
  required: ['id', 'type', 'from', 'to', 'body'],
  properties: {
    id: { type: 'string' },
    typ: { type: 'string' },
    type: { type: 'string' },
    pthid: { type: 'string' },
    ack: { type: 'array', items: { type: 'string' } },
    from: { type: 'string' },
    to: { type: 'array', items: { type: 'string' } },
    created_time: { type: 'integer' },
    body: { type: 'object', required: ['code', 'comment'], properties: { code: { type: 'string' }, comment: { type: 'string' } } },
  },
};

/**
 * POST /didcomm: the inbox for validated-query requests. The body is read as bytes (both content
 * types), so the token is checked before the message is judged; every refusal is a DIDComm problem
 * report. Accepted requests are computed one at a time in the background; answers are pulled from
 * GET /answers/:requestId or pushed by the outbox after approval. Requests left unfinished by a
 * previous process are picked up when the plugin starts.
 */
export function didcommRoutes(deps: InboxDeps): DidcommRoutes {
  const s = inboxSettings(deps);
  const packs = deps.packs ?? configuredPacks(deps.cfg);
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (id: string) => {
    queue = queue.then(() => processRequest({ db: deps.db, cfg: deps.cfg, trust: deps.trust, packs, ...(deps.matrix ? { matrix: deps.matrix } : {}), actor: deps.actor ?? 'agent' }, id).then(() => undefined)).catch(() => undefined);
  };

  const plugin: FastifyPluginAsync = async (app) => {
    for (const type of [DIDCOMM_PLAIN, 'application/json']) {
      app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: s.hardBodyLimit }, (_req, body, done) => done(null, body));
    }
    app.setErrorHandler((err: FastifyError, _req, reply) => {
      const ex =
        err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? new ExchangeError('e.p.msg.too-large', 413, `the message is larger than ${s.hardBodyLimit} bytes and was not read; send fewer credentials per message`, '$')
          : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.statusCode === 415
            ? new ExchangeError('e.p.msg.unsupported-media-type', 415, `send the message as ${DIDCOMM_PLAIN} (or application/json)`, '$.headers.content-type')
            : (err.statusCode ?? 500) < 500
              ? new ExchangeError('e.p.msg.invalid', err.statusCode ?? 400, `the request could not be read (${err.message}); send a DIDComm plaintext message`, '$')
              : new ExchangeError('e.p.req.not-processed', 500, 'the datastation failed to process the message; send it again later');
      void reply.code(ex.status).type(DIDCOMM_PLAIN).send(problemFor(ex, { from: deps.trust.did }));
    });

    app.post(
      '/didcomm',
      {
        bodyLimit: s.hardBodyLimit,
        schema: {
          headers: { type: 'object', properties: { authorization: { type: 'string' } } },
          response: {
            202: { type: 'object', required: ['requestId', 'status'], properties: { requestId: { type: 'string' }, status: { type: 'string' }, queries: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
            '4xx': problemSchema,
            '5xx': problemSchema,
          },
        },
      },
      async (req, reply) => {
        // text/plain has fastify's default parser; only the two DIDComm plaintext media types are read here.
        const media = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (media !== DIDCOMM_PLAIN && media !== 'application/json') {
          const ex = new ExchangeError('e.p.msg.unsupported-media-type', 415, `content type "${media}" is not accepted; send the message as ${DIDCOMM_PLAIN} (or application/json)`, '$.headers.content-type');
          return reply.code(415).type(DIDCOMM_PLAIN).send(problemFor(ex, { from: deps.trust.did }));
        }
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === 'string' ? req.body : '');
        const out = await receiveRequest({ ...deps, packs }, { authorization: req.headers.authorization, raw });
        if (!out.accepted) return reply.code(out.error.status).type(DIDCOMM_PLAIN).send(out.report);
        enqueue(out.requestId);
        return reply.code(202).send({ requestId: out.requestId, status: 'accepted', queries: out.plans.map((p) => ({ identifier: p.identifier, item: p.item ?? null, matchedBy: p.matchedBy })) });
      },
    );
    for (const id of unfinishedRequests(deps.db)) enqueue(id);
  };
  return Object.assign(plugin, { idle: async () => { let q: Promise<void>; do { q = queue; await q; } while (q !== queue); } });
}
