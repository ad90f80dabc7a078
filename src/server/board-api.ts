import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { correctValue, enterManual } from '../answers/corrections.js';
import { indelingContent, prepare, reject, roundContentHash, roundSummary, type RoundSummary } from '../answers/review.js';
import { listRounds } from '../answers/rounds.js';
import { answerBundle } from '../board/export/bundle.js';
import { openDataCsv } from '../board/export/open-data-csv.js';
import { overviewPdf } from '../board/export/pdf.js';
import { locationOverview, roundOverviews } from '../board/overview.js';
import { domainRefusalOf } from '../board/pages/errors.js';
import { guard } from './auth.js';
import { actorOf, approveWithPassword, auditPageOf, deliveriesOf, indelingFrom, roundFrom, type BoardDeps, type IndelingP, type ItemP, type RoundP } from './board-actions.js';

/** JSON Schemas shared by the routes (and so by the OpenAPI document). */
const error = { type: 'object', required: ['error'], properties: { error: { type: 'string' } }, description: 'What was refused and how to fix it.' } as const;
const errors = { 400: error, 401: error, 403: error, 404: error, 409: error } as const;
const round = {
  type: 'object',
  required: ['id', 'profile', 'version', 'name', 'year', 'opens', 'closes', 'timeZone'],
  properties: { id: { type: 'string' }, profile: { type: 'string' }, version: { type: 'string' }, name: { type: 'string' }, year: { type: 'integer' }, opens: { type: 'string' }, closes: { type: 'string' }, timeZone: { type: 'string' } },
} as const;
const step = {
  type: 'object',
  properties: { id: { type: 'integer' }, indeling: { type: 'string' }, action: { type: 'string', enum: ['prepared', 'approved', 'rejected'] }, actor: { type: 'string' }, role: { type: 'string' }, at: { type: 'string' }, reason: { type: ['string', 'null'] }, content_hash: { type: 'string' } },
} as const;
const indelingReview = {
  type: 'object',
  properties: { indeling: { type: 'string' }, state: { type: 'string', enum: ['to-prepare', 'prepared', 'rejected', 'approved', 'delivered'] }, hash: { type: 'string' }, steps: { type: 'array', items: step } },
} as const;
const summary = {
  type: 'object',
  properties: {
    round,
    phase: { type: 'string', enum: ['upcoming', 'open', 'locked'] },
    daysToDeadline: { type: 'integer' },
    items: { type: 'integer' },
    answers: { type: 'object', additionalProperties: { type: 'integer' } },
    indelingen: { type: 'array', items: indelingReview },
    reminder: { type: 'boolean' },
  },
} as const;
const delivery = {
  type: 'object',
  properties: {
    answerId: { type: 'string' },
    item: { type: 'string' },
    state: {
      type: 'object',
      properties: {
        state: { type: 'string', enum: ['not-approved', 'waiting-for-window', 'queued', 'delivered', 'failed', 'superseded'] },
        messageId: { type: 'string' },
        attempts: { type: 'integer' },
        retriesLeft: { type: 'integer' },
        lastError: { type: ['string', 'null'] },
        deliveredAt: { type: ['string', 'null'] },
      },
    },
  },
} as const;
const nullableString = { type: ['string', 'null'] } as const;
const overviewItem = {
  type: 'object',
  properties: {
    item: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        inid: { type: 'string' },
        number: { type: 'string' },
        name: { type: 'string' },
        unit: { type: 'string' },
        level: { type: 'array', items: { type: 'string' } },
        set: { type: 'string' },
        manual: { type: 'boolean' },
        interpretation: { type: 'string' },
        definition: { type: 'string' },
        decimals: { type: 'integer' },
      },
    },
    answerId: { type: 'string' },
    answerStatus: { type: 'string' },
    value: nullableString,
    teller: nullableString,
    noemer: nullableString,
    notComputable: { type: 'string' },
    awaitingEntry: { type: 'boolean', description: 'a manual item nobody has entered yet for this indeling' },
    previous: { type: 'object', properties: { year: { type: 'integer' }, value: nullableString } },
    change: { type: 'string' },
    trend: { type: 'array', items: { type: 'object', properties: { year: { type: 'integer' }, value: { type: ['number', 'null'] } } } },
    warnings: { type: 'array', items: { type: 'string' } },
    override: {
      type: 'object',
      properties: {
        original: { type: 'object', properties: { value: nullableString, teller: nullableString, noemer: nullableString } },
        justification: { type: 'string' },
        by: { type: 'string' },
        at: { type: 'string' },
      },
    },
    manualEntry: { type: 'object', properties: { enteredBy: { type: 'string' }, enteredAt: { type: 'string' } } },
    provenance: {
      type: 'object',
      properties: {
        profile: { type: 'string' },
        profileVersion: { type: 'string' },
        queryHash: { type: 'string' },
        snapshotHash: { type: 'string' },
        engine: nullableString,
        ontologyVersion: nullableString,
        computedAt: { type: 'string' },
        contentHash: { type: 'string' },
      },
    },
  },
} as const;
const overview = {
  type: 'object',
  properties: {
    round,
    indeling: { type: 'string' },
    name: { type: 'string' },
    organisation: { type: 'object', properties: { name: { type: 'string' }, kvk: { type: 'string' } } },
    snapshot: { type: 'string' },
    items: { type: 'array', items: overviewItem },
  },
} as const;
const content = {
  type: 'object',
  properties: {
    indeling: { type: 'string' },
    hash: { type: 'string' },
    rows: { type: 'array', items: { type: 'object', properties: { answerId: { type: 'string' }, item: { type: 'string' }, contentHash: { type: 'string' }, row: { type: 'object', additionalProperties: { type: 'string' } } } } },
  },
} as const;
const answerRef = { type: 'object', properties: { id: { type: 'string' }, indicator_id: { type: 'string' }, status: { type: 'string' }, content_hash: { type: 'string' } } } as const;

const roundParams = {
  type: 'object',
  required: ['profile', 'year'],
  properties: { profile: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,100}$', description: 'The profile, e.g. zorginstituut-verpleeghuiszorg' }, year: { type: 'string', pattern: '^\\d{4}$', description: 'The reporting year' } },
} as const;
const indelingParams = {
  type: 'object',
  required: ['profile', 'year', 'indeling'],
  properties: { ...roundParams.properties, indeling: { type: 'string', minLength: 1, maxLength: 40, description: 'A vestigingsnummer, "Organisatie", or "all" (review actions only)' } },
} as const;
const itemParams = { type: 'object', required: ['profile', 'year', 'indeling', 'item'], properties: { ...indelingParams.properties, item: { type: 'string', minLength: 1, maxLength: 100, description: 'The item id' } } } as const;
const csrfHeader = { type: 'object', properties: { 'x-csrf-token': { type: 'string', description: 'The session CSRF token (GET /api/session)' } } } as const;


/** The summary without the steps' answer lists (large and internal). */
function summaryJson(s: RoundSummary) {
  return { ...s, indelingen: s.indelingen.map((i) => ({ indeling: i.indeling, state: i.state, hash: i.hash, steps: i.steps })) };
}

/**
 * The board's JSON API: the same guards and domain calls as the pages, for vendors who embed the
 * approval in their own product. Unsafe methods need the x-csrf-token header of the session.
 */
export const boardApi =
  (deps: BoardDeps): FastifyPluginAsync =>
  async (app) => {
    const { db, cfg } = deps;

    app.setErrorHandler((err: FastifyError, req, reply) => {
      const refusal = domainRefusalOf(err);
      if (refusal) return reply.code(refusal.status).send({ error: refusal.message });
      if (err.validation) return reply.code(400).send({ error: `${err.validationContext ?? 'request'} ${err.message}` });
      if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
      req.log.error(err);
      return reply.code(500).send({ error: 'internal error; see the server log' });
    });

    const roundOf = (req: FastifyRequest<{ Params: RoundP }>) => roundFrom(deps, req.params.profile, req.params.year);

    app.get('/api/rounds', { preHandler: guard('read'), schema: { tags: ['rounds'], summary: 'Every round with its phase, deadline and review progress', response: { 200: { type: 'array', items: summary }, ...errors } } }, async () =>
      listRounds(cfg, db).map((r) => summaryJson(roundSummary(cfg, db, r, deps.now()))),
    );

    app.get<{ Params: RoundP }>(
      '/api/rounds/:profile/:year',
      {
        preHandler: guard('read'),
        schema: { tags: ['rounds'], summary: 'One round: each indeling with its review state, and the delivery state of each current answer', params: roundParams, response: { 200: { type: 'object', properties: { summary, contentHash: { type: 'string', description: 'The hash "approve all" is checked against' }, deliveries: { type: 'array', items: delivery } } }, ...errors } },
      },
      async (req) => {
        const r = roundOf(req);
        return { summary: summaryJson(roundSummary(cfg, db, r, deps.now())), contentHash: roundContentHash(db, r), deliveries: deliveriesOf(deps, r) };
      },
    );

    app.get<{ Params: IndelingP }>(
      '/api/rounds/:profile/:year/indelingen/:indeling',
      { preHandler: guard('read'), schema: { tags: ['overview'], summary: 'The performance overview (prestatieoverzicht) of one indeling', params: indelingParams, response: { 200: overview, ...errors } } },
      async (req) => locationOverview(cfg, db, roundOf(req), req.params.indeling),
    );

    app.get<{ Params: IndelingP }>(
      '/api/rounds/:profile/:year/indelingen/:indeling/content',
      { preHandler: guard('read'), schema: { tags: ['review'], summary: 'Exactly what will be sent for an indeling, and the hash an approval is checked against', params: indelingParams, response: { 200: content, ...errors } } },
      async (req) => indelingContent(db, roundOf(req), req.params.indeling),
    );

    app.post<{ Params: IndelingP }>(
      '/api/rounds/:profile/:year/indelingen/:indeling/prepare',
      { preHandler: guard('prepare'), schema: { tags: ['review'], summary: 'Prepare an indeling (or "all") for the board (role quality)', params: indelingParams, headers: csrfHeader, response: { 200: { type: 'object', properties: { steps: { type: 'array', items: step } } }, ...errors } } },
      async (req) => ({ steps: prepare(cfg, db, roundOf(req), indelingFrom(req.params.indeling), actorOf(req), deps.now()) }),
    );

    app.post<{ Params: IndelingP; Body: { password: string; expectedHash: string } }>(
      '/api/rounds/:profile/:year/indelingen/:indeling/approve',
      {
        preHandler: guard('approve'),
        schema: {
          tags: ['review'],
          summary: 'Approve an indeling (or "all") with the password again (role board); when the round is then fully approved, its answers are signed and delivered',
          params: indelingParams,
          headers: csrfHeader,
          body: {
            type: 'object',
            required: ['password', 'expectedHash'],
            additionalProperties: false,
            properties: {
              password: { type: 'string', minLength: 1, maxLength: 1024 },
              expectedHash: { type: 'string', minLength: 64, pattern: '^[0-9a-f]{64}$', description: 'Required: the content hash the approver saw (from .../content, or the round contentHash for "all"); refused with 409 when it changed' },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                steps: { type: 'array', items: step },
                approvedAnswers: { type: 'array', items: answerRef },
                delivery: { type: 'object', properties: { queued: { type: 'integer' }, delivered: { type: 'integer' }, failed: { type: 'integer' } } },
              },
            },
            ...errors,
          },
        },
      },
      async (req) => approveWithPassword(deps, roundOf(req), indelingFrom(req.params.indeling), actorOf(req), req.body.password, req.body.expectedHash),
    );

    app.post<{ Params: IndelingP; Body: { reason: string } }>(
      '/api/rounds/:profile/:year/indelingen/:indeling/reject',
      {
        preHandler: guard('reject'),
        schema: {
          tags: ['review'],
          summary: 'Reject an indeling (or "all") with a reason (role board): it goes back to quality',
          params: indelingParams,
          headers: csrfHeader,
          body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 4000 } } },
          response: { 200: { type: 'object', properties: { steps: { type: 'array', items: step } } }, ...errors },
        },
      },
      async (req) => ({ steps: reject(cfg, db, roundOf(req), indelingFrom(req.params.indeling), actorOf(req), req.body.reason, deps.now()) }),
    );

    app.post<{ Params: ItemP; Body: { value: string } }>(
      '/api/rounds/:profile/:year/indelingen/:indeling/items/:item/manual',
      {
        preHandler: guard('enter-manual'),
        schema: {
          tags: ['items'],
          summary: 'Enter a manual item (ja/nee, text, URL) for an indeling (roles quality, board)',
          params: itemParams,
          headers: csrfHeader,
          body: { type: 'object', required: ['value'], additionalProperties: false, properties: { value: { type: 'string', maxLength: 4000 } } },
          response: {
            200: { type: 'object', properties: { entry: { type: 'object', properties: { item_id: { type: 'string' }, indeling: { type: 'string' }, value: { type: 'string' }, entered_by: { type: 'string' }, entered_at: { type: 'string' } } }, answer: answerRef } },
            ...errors,
          },
        },
      },
      async (req) => enterManual(cfg, db, roundOf(req), req.params.item, req.params.indeling, req.body.value, actorOf(req), deps.now()),
    );

    app.post<{ Params: ItemP; Body: { value?: string; teller?: string; noemer?: string; justification: string } }>(
      '/api/rounds/:profile/:year/indelingen/:indeling/items/:item/correction',
      {
        preHandler: guard('correct'),
        schema: {
          tags: ['items'],
          summary: 'Override a computed value for an indeling with a written justification (role quality); the original stays in the metadata',
          params: itemParams,
          headers: csrfHeader,
          body: {
            type: 'object',
            required: ['justification'],
            additionalProperties: false,
            properties: { value: { type: 'string', maxLength: 100, description: 'Only for a row without teller and noemer; otherwise computed from them (and, when given, must equal that)' }, teller: { type: 'string', maxLength: 100 }, noemer: { type: 'string', maxLength: 100 }, justification: { type: 'string', maxLength: 4000, description: 'At least 10 characters' } },
          },
          response: { 200: answerRef, ...errors },
        },
      },
      async (req) => correctValue(cfg, db, roundOf(req), req.params.item, req.params.indeling, req.body, actorOf(req), deps.now()),
    );

    const file = { 200: { type: 'string', description: 'The file' }, ...errors } as const;
    app.get<{ Params: RoundP }>('/api/rounds/:profile/:year/exports/opendata.csv', { preHandler: guard('read'), schema: { tags: ['exports'], summary: "The round's open-data CSV (Zorginstituut's columns): one row per item and location", params: roundParams, produces: ['text/csv'], response: file } }, async (req, reply) =>
      reply.type('text/csv; charset=utf-8').send(await openDataCsv(cfg, db, roundOf(req))),
    );
    app.get<{ Params: RoundP }>('/api/rounds/:profile/:year/exports/prestatieoverzicht.pdf', { preHandler: guard('read'), schema: { tags: ['exports'], summary: 'The performance overview of every indeling as PDF', params: roundParams, produces: ['application/pdf'], response: file } }, async (req, reply) =>
      reply.type('application/pdf').send(await overviewPdf(await roundOverviews(cfg, db, roundOf(req)), { now: deps.now() })),
    );
    app.get<{ Params: RoundP }>(
      '/api/rounds/:profile/:year/exports/bundle.json',
      { preHandler: guard('read'), schema: { tags: ['exports'], summary: "The round's signed answers as sent (JWS) with the agent's JWKS, verifiable offline (kikv verify)", params: roundParams, response: { 200: { type: 'object', additionalProperties: true }, ...errors } } },
      async (req) => answerBundle(cfg, db, deps.trust, roundOf(req)),
    );

    app.get<{ Querystring: { limit?: number; offset?: number } }>(
      '/api/audit',
      {
        preHandler: guard('read-audit'),
        schema: {
          tags: ['audit'],
          summary: 'The audit log, newest first (roles operator, board)',
          querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } } },
          response: {
            200: {
              type: 'object',
              properties: {
                total: { type: 'integer' },
                entries: {
                  type: 'array',
                  items: { type: 'object', properties: { seq: { type: 'integer' }, at: { type: 'string' }, actor: { type: 'string' }, action: { type: 'string' }, subject: nullableString, thread_id: nullableString, details: { type: 'string' }, prev_hash: { type: 'string' }, hash: { type: 'string' } } },
                },
              },
            },
            ...errors,
          },
        },
      },
      async (req) => auditPageOf(db, req.query.offset ?? 0, req.query.limit ?? 50),
    );
  };
