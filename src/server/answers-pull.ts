import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../db/open.js';
import { problemFor } from '../exchange/inbox.js';
import { DIDCOMM_PLAIN } from '../exchange/messages.js';
import { requestState, responseFor } from '../exchange/requests.js';
import { ExchangeError, KIKV_SERVICE, type Trust } from '../exchange/types.js';

export interface AnswerPullDeps {
  db: Db;
  trust: Trust;
  actor?: string;
}

/**
 * GET /answers/:requestId: the pull side of the exchange for the consumer that sent the request.
 * 200 with the signed DIDComm response once every answer is approved (the same message every time),
 * 202 with a status while computing or awaiting the board, 404 when unknown, 403 for another
 * consumer's request, and the problem report when the request was refused after acceptance.
 */
export function answerPullRoutes(deps: AnswerPullDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { requestId: string } }>(
      '/answers/:requestId',
      {
        schema: {
          params: { type: 'object', required: ['requestId'], properties: { requestId: { type: 'string', minLength: 1, maxLength: 200 } } },
          headers: { type: 'object', properties: { authorization: { type: 'string' } } },
          response: {
            200: { type: 'object', required: ['id', 'type', 'from', 'to', 'body'], additionalProperties: true, properties: { id: { type: 'string' }, type: { type: 'string' }, thid: { type: 'string' }, from: { type: 'string' }, to: { type: 'array', items: { type: 'string' } }, body: { type: 'object', additionalProperties: true } } },
            202: {
              type: 'object',
              required: ['requestId', 'status'],
              properties: { requestId: { type: 'string' }, status: { type: 'string', enum: ['computing', 'awaiting_approval'] }, answers: { type: 'array', items: { type: 'object', properties: { query: { type: 'string' }, status: { type: 'string' } } } } },
            },
            '4xx': { type: 'object', additionalProperties: true },
            '5xx': { type: 'object', additionalProperties: true },
          },
        },
      },
      async (req, reply) => {
        const id = req.params.requestId;
        const refuse = (e: ExchangeError, to?: string) => reply.code(e.status).type(DIDCOMM_PLAIN).send(problemFor(e, { id, from: deps.trust.did, ...(to ? { to } : {}) }));
        const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
        if (!token) return refuse(new ExchangeError('e.p.auth.missing-token', 401, 'no bearer access token: send "Authorization: Bearer <token>" with an access token for didcomm-service-kikv', '$.headers.authorization'));
        const state = requestState(deps.db, id);
        // The token's subject must be the requester; an unknown request is checked against no one,
        // but the token must still be one of ours before we say it does not exist.
        const consumer = state.state === 'unknown' ? undefined : state.request.consumer;
        let subject: string;
        try {
          subject = (await deps.trust.verifyAccessToken(token, { from: consumer ?? '', service: KIKV_SERVICE })).subject;
        } catch (e) {
          if (!(e instanceof ExchangeError)) throw e;
          // A valid token of another consumer fails the subject check: that is a 403, not a 401.
          if (consumer && e.status === 403) return refuse(new ExchangeError('e.p.auth.not-your-request', 403, `request ${id} was sent by another party; you can pull only the answers to your own requests`));
          if (state.state === 'unknown' && e.status === 403) return refuse(new ExchangeError('e.p.req.unknown', 404, `no request with id ${id}; pull with the id of the message you sent to POST /didcomm`));
          return refuse(e);
        }
        if (state.state === 'unknown') return refuse(new ExchangeError('e.p.req.unknown', 404, `no request with id ${id}; pull with the id of the message you sent to POST /didcomm`), subject);
        if (subject !== state.request.consumer) return refuse(new ExchangeError('e.p.auth.not-your-request', 403, `request ${id} was sent by another party; you can pull only the answers to your own requests`), subject);
        switch (state.state) {
          case 'computing':
            return reply.code(202).send({ requestId: id, status: 'computing' });
          case 'awaiting_approval':
            return reply.code(202).send({ requestId: id, status: 'awaiting_approval', answers: state.answers });
          case 'refused':
            return reply.code(state.status).type(DIDCOMM_PLAIN).send(state.problem);
          case 'rejected':
            return refuse(new ExchangeError('e.p.req.not-released', 422, `${state.reason}; no answer will be sent for this request`), subject);
          case 'approved': {
            const msg = await responseFor(deps.db, deps.trust, id, deps.actor ?? 'agent');
            return reply.code(200).type(DIDCOMM_PLAIN).send(msg);
          }
        }
      },
    );
  };
}
