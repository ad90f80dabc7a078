import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Answer } from '../answers/answers.js';
import { enterManual, correctValue } from '../answers/corrections.js';
import { currentAnswers, indelingContent, indelingReview, prepare, reject, roundContentHash, roundIndelingen, roundSummary } from '../answers/review.js';
import { listRounds, roundPhase } from '../answers/rounds.js';
import { answerBundle } from '../board/export/bundle.js';
import { openDataCsv } from '../board/export/open-data-csv.js';
import { overviewPdf } from '../board/export/pdf.js';
import { locationOverview, roundOverviews } from '../board/overview.js';
import { approvalPage } from '../board/pages/approval.js';
import { auditPage } from '../board/pages/audit.js';
import { domainRefusalOf } from '../board/pages/errors.js';
import { page, roundPath, type PageContext } from '../board/pages/format.js';
import { homePage } from '../board/pages/home.js';
import { itemPage } from '../board/pages/item.js';
import { overviewPage } from '../board/pages/overview.js';
import { printPage } from '../board/pages/print.js';
import { indelingSegment, roundPage } from '../board/pages/round.js';
import { guard } from './auth.js';
import { actorOf, answerHistory, approveWithPassword, auditPageOf, deliveriesOf, indelingFrom, locationNames, roundFrom, type BoardDeps, type IndelingP, type ItemP, type RoundP } from './board-actions.js';

/** "number name", as the answer was recorded (recordAnswer writes indicator_name that way). */
function itemLabel(a: Answer): string {
  return a.indicator_name || a.indicator_id;
}

type Flash = { kind: 'ok' | 'error'; text: string };

/** Confirmations after a redirect: a fixed code in the URL, never free text (nobody can put words in our mouth). */
const NOTICES: Record<string, string> = {
  klaargezet: 'Klaargezet voor goedkeuring door het bestuur.',
  goedgekeurd: 'Goedgekeurd. De levering staat hieronder.',
  afgewezen: 'Afgewezen: de indeling gaat terug naar kwaliteit.',
  opgeslagen: 'De waarde is opgeslagen.',
  gecorrigeerd: 'De correctie is opgeslagen; de oorspronkelijke waarde blijft zichtbaar.',
};

const PAGE_SIZE = 50;

const str = { type: 'string', maxLength: 4000 } as const;
const roundParams = {
  type: 'object',
  required: ['profile', 'year'],
  properties: { profile: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,100}$' }, year: { type: 'string', pattern: '^\\d{4}$' } },
} as const;
const indelingParams = { ...roundParams, required: ['profile', 'year', 'indeling'], properties: { ...roundParams.properties, indeling: { type: 'string', minLength: 1, maxLength: 40 } } } as const;
const itemParams = { ...indelingParams, required: ['profile', 'year', 'indeling', 'item'], properties: { ...indelingParams.properties, item: { type: 'string', minLength: 1, maxLength: 100 } } } as const;
const html = { hide: true } as const;


/** The board's pages (Dutch, server-rendered): every state change goes through the same domain calls as the API. */
export const boardPages =
  (deps: BoardDeps): FastifyPluginAsync =>
  async (app) => {
    const { db, cfg } = deps;

    const ctxOf = (req: FastifyRequest, flash?: Flash): PageContext => {
      const s = req.session!;
      const notice = (req.query as { melding?: string } | undefined)?.melding;
      const f = flash ?? (notice && NOTICES[notice] ? { kind: 'ok' as const, text: NOTICES[notice]! } : undefined);
      return { user: { name: s.user.name, role: s.user.role }, csrfToken: s.csrfToken, agentName: cfg.agent.name, ...(f ? { flash: f } : {}) };
    };
    const send = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(body);

    // Refusals render as a Dutch page; the technical detail stays in the message.
    app.setErrorHandler((err: FastifyError, req, reply) => {
      const refusal = domainRefusalOf(err);
      if (!req.session) return reply.send(err);
      if (refusal) return send(reply, page(ctxOf(req, { kind: 'error', text: refusal.dutch }), 'Niet gelukt', `<h1>Niet gelukt</h1><p><a href="/">Terug naar de rondes</a></p>`), refusal.status);
      if (err.validation) {
        return send(reply, page(ctxOf(req, { kind: 'error', text: `Het formulier of adres klopt niet (${err.message}).` }), 'Niet gelukt', `<h1>Niet gelukt</h1><p><a href="/">Terug naar de rondes</a></p>`), 400);
      }
      req.log.error(err);
      return send(reply, page(ctxOf(req, { kind: 'error', text: 'Er ging iets mis op de server. Probeer het later opnieuw; blijft het misgaan, meld het dan bij de beheerder.' }), 'Fout', '<h1>Fout</h1>'), 500);
    });

    /** A POST's outcome: back to the page with a notice, or the same page again with the refusal. */
    const act = async (req: FastifyRequest, reply: FastifyReply, f: () => Promise<string>, render: (flash: Flash) => Promise<string>) => {
      try {
        const location = await f();
        return reply.redirect(location, 303);
      } catch (e) {
        const refusal = domainRefusalOf(e);
        if (!refusal) throw e;
        return send(reply, await render({ kind: 'error', text: refusal.dutch }), refusal.status);
      }
    };

    const renderHome = (req: FastifyRequest, flash?: Flash) => homePage(ctxOf(req, flash), listRounds(cfg, db).map((r) => roundSummary(cfg, db, r, deps.now())));
    const renderRound = async (req: FastifyRequest, p: RoundP, flash?: Flash) => {
      const round = roundFrom(deps, p.profile, p.year);
      const summary = roundSummary(cfg, db, round, deps.now());
      const answersOf = Object.fromEntries(summary.indelingen.map((i) => [i.indeling, indelingContent(db, round, i.indeling).rows.map((r) => r.answerId)]));
      return roundPage(ctxOf(req, flash), { summary, names: await locationNames(deps, round), deliveries: deliveriesOf(deps, round), answersOf });
    };
    const renderOverview = async (req: FastifyRequest, p: IndelingP, flash?: Flash) => {
      const round = roundFrom(deps, p.profile, p.year);
      return overviewPage(ctxOf(req, flash), await locationOverview(cfg, db, round, p.indeling), roundPhase(round, deps.now()));
    };
    const renderApproval = async (req: FastifyRequest, p: IndelingP, flash?: Flash) => {
      const round = roundFrom(deps, p.profile, p.year);
      const indeling = indelingFrom(p.indeling);
      const all = roundIndelingen(db, round);
      const chosen = indeling === 'all' ? all : [indeling];
      const contents = chosen.map((i) => indelingContent(db, round, i));
      const itemNames = Object.fromEntries(currentAnswers(db, round).map((a) => [a.indicator_id, itemLabel(a)]));
      return approvalPage(ctxOf(req, flash), {
        round,
        phase: roundPhase(round, deps.now()),
        indeling,
        contents,
        reviews: chosen.map((i) => indelingReview(cfg, db, round, i)),
        expectedHash: indeling === 'all' ? roundContentHash(db, round) : contents[0]!.hash,
        names: await locationNames(deps, round),
        itemNames,
      });
    };

    const melding = { querystring: { type: 'object', properties: { melding: { type: 'string', maxLength: 40 } } } } as const;

    app.get('/', { preHandler: guard('read'), schema: { ...html, ...melding } }, async (req, reply) => send(reply, renderHome(req)));

    app.get<{ Params: RoundP }>('/rondes/:profile/:year', { preHandler: guard('read'), schema: { ...html, ...melding, params: roundParams } }, async (req, reply) => send(reply, await renderRound(req, req.params)));

    app.post<{ Params: RoundP; Body: { indeling?: string } }>(
      '/rondes/:profile/:year/klaarzetten',
      { preHandler: guard('prepare'), schema: { ...html, params: roundParams, body: { type: 'object', properties: { _csrf: str, indeling: str } } } },
      async (req, reply) =>
        act(
          req,
          reply,
          async () => {
            const round = roundFrom(deps, req.params.profile, req.params.year);
            prepare(cfg, db, round, indelingFrom(req.body.indeling ?? 'all'), actorOf(req), deps.now());
            return `${roundPath(round)}?melding=klaargezet`;
          },
          (flash) => renderRound(req, req.params, flash),
        ),
    );

    app.post<{ Params: RoundP; Body: { indeling?: string; reason?: string; back?: string } }>(
      '/rondes/:profile/:year/afwijzen',
      { preHandler: guard('reject'), schema: { ...html, params: roundParams, body: { type: 'object', properties: { _csrf: str, indeling: str, reason: str, back: str } } } },
      async (req, reply) =>
        act(
          req,
          reply,
          async () => {
            const round = roundFrom(deps, req.params.profile, req.params.year);
            reject(cfg, db, round, indelingFrom(req.body.indeling ?? 'all'), actorOf(req), (req.body.reason ?? '').trim(), deps.now());
            return `${roundPath(round)}?melding=afgewezen`;
          },
          (flash) => (req.body.back === 'approval' ? renderApproval(req, { ...req.params, indeling: req.body.indeling ?? 'all' }, flash) : renderRound(req, req.params, flash)),
        ),
    );

    const exportRoute = (suffix: string, type: string, make: (req: FastifyRequest<{ Params: RoundP }>) => Promise<string | Buffer>) =>
      app.get<{ Params: RoundP }>(`/rondes/:profile/:year/${suffix}`, { preHandler: guard('read'), schema: { ...html, params: roundParams } }, async (req, reply) => {
        const body = await make(req);
        return reply.type(type).header('content-disposition', `attachment; filename="${req.params.profile}-${req.params.year}-${suffix}"`).send(body);
      });
    exportRoute('opendata.csv', 'text/csv; charset=utf-8', (req) => openDataCsv(cfg, db, roundFrom(deps, req.params.profile, req.params.year)));
    exportRoute('prestatieoverzicht.pdf', 'application/pdf', async (req) => overviewPdf(await roundOverviews(cfg, db, roundFrom(deps, req.params.profile, req.params.year)), { now: deps.now() }));
    exportRoute('bundel.json', 'application/json; charset=utf-8', async (req) => JSON.stringify(await answerBundle(cfg, db, deps.trust, roundFrom(deps, req.params.profile, req.params.year)), null, 2));

    app.get<{ Params: RoundP }>('/rondes/:profile/:year/afdrukken', { preHandler: guard('read'), schema: { ...html, params: roundParams } }, async (req, reply) => {
      const round = roundFrom(deps, req.params.profile, req.params.year);
      return send(reply, printPage(ctxOf(req), await roundOverviews(cfg, db, round), roundPhase(round, deps.now())));
    });

    app.get<{ Params: IndelingP }>('/rondes/:profile/:year/:indeling', { preHandler: guard('read'), schema: { ...html, ...melding, params: indelingParams } }, async (req, reply) =>
      send(reply, await renderOverview(req, req.params)),
    );

    app.get<{ Params: ItemP }>('/rondes/:profile/:year/:indeling/items/:item', { preHandler: guard('read'), schema: { ...html, params: itemParams } }, async (req, reply) => {
      const round = roundFrom(deps, req.params.profile, req.params.year);
      const o = await locationOverview(cfg, db, round, req.params.indeling);
      const item = o.items.find((i) => i.item.id === req.params.item);
      if (!item) return send(reply, page(ctxOf(req, { kind: 'error', text: `Item ${req.params.item} bestaat niet in deze ronde.` }), 'Niet gevonden', '<h1>Niet gevonden</h1>'), 404);
      return send(reply, itemPage(ctxOf(req), o, item, item.answerId ? answerHistory(db, item.answerId) : []));
    });

    app.post<{ Params: ItemP; Body: { value?: string } }>(
      '/rondes/:profile/:year/:indeling/items/:item/handmatig',
      { preHandler: guard('enter-manual'), schema: { ...html, params: itemParams, body: { type: 'object', properties: { _csrf: str, value: str } } } },
      async (req, reply) =>
        act(
          req,
          reply,
          async () => {
            const round = roundFrom(deps, req.params.profile, req.params.year);
            enterManual(cfg, db, round, req.params.item, req.params.indeling, req.body.value ?? '', actorOf(req), deps.now());
            return `${roundPath(round)}/${indelingSegment(req.params.indeling)}?melding=opgeslagen`;
          },
          (flash) => renderOverview(req, req.params, flash),
        ),
    );

    app.post<{ Params: ItemP; Body: { value?: string; teller?: string; noemer?: string; justification?: string } }>(
      '/rondes/:profile/:year/:indeling/items/:item/correctie',
      { preHandler: guard('correct'), schema: { ...html, params: itemParams, body: { type: 'object', properties: { _csrf: str, value: str, teller: str, noemer: str, justification: str } } } },
      async (req, reply) =>
        act(
          req,
          reply,
          async () => {
            const round = roundFrom(deps, req.params.profile, req.params.year);
            const b = req.body;
            correctValue(
              cfg,
              db,
              round,
              req.params.item,
              req.params.indeling,
              { value: (b.value ?? '').trim(), ...(b.teller?.trim() ? { teller: b.teller.trim() } : {}), ...(b.noemer?.trim() ? { noemer: b.noemer.trim() } : {}), justification: (b.justification ?? '').trim() },
              actorOf(req),
              deps.now(),
            );
            return `${roundPath(round)}/${indelingSegment(req.params.indeling)}?melding=gecorrigeerd`;
          },
          (flash) => renderOverview(req, req.params, flash),
        ),
    );

    app.get<{ Params: IndelingP }>('/rondes/:profile/:year/:indeling/goedkeuren', { preHandler: guard('read'), schema: { ...html, params: indelingParams } }, async (req, reply) =>
      send(reply, await renderApproval(req, req.params)),
    );

    app.post<{ Params: IndelingP; Body: { password?: string; expectedHash?: string } }>(
      '/rondes/:profile/:year/:indeling/goedkeuren',
      { preHandler: guard('approve'), schema: { ...html, params: indelingParams, body: { type: 'object', properties: { _csrf: str, password: { type: 'string', maxLength: 1024 }, expectedHash: str } } } },
      async (req, reply) =>
        act(
          req,
          reply,
          async () => {
            const round = roundFrom(deps, req.params.profile, req.params.year);
            await approveWithPassword(deps, round, indelingFrom(req.params.indeling), actorOf(req), req.body.password ?? '', req.body.expectedHash ?? '');
            return `${roundPath(round)}?melding=goedgekeurd`;
          },
          (flash) => renderApproval(req, req.params, flash),
        ),
    );

    app.get<{ Querystring: { pagina?: number } }>(
      '/logboek',
      { preHandler: guard('read-audit'), schema: { ...html, querystring: { type: 'object', properties: { pagina: { type: 'integer', minimum: 1, maximum: 1_000_000 } } } } },
      async (req, reply) => {
        const n = req.query.pagina ?? 1;
        const { entries, total } = auditPageOf(db, (n - 1) * PAGE_SIZE, PAGE_SIZE);
        return send(reply, auditPage(ctxOf(req), entries, { page: n, pageSize: PAGE_SIZE, total }));
      },
    );

  };
