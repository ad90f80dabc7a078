/// <reference types="@fastify/swagger" />
import { createHash, timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { can, type Permission } from '../auth/roles.js';
import { createSession, endSession, sessionOf } from '../auth/sessions.js';
import { checkPassword, type LoginResult, type User } from '../auth/users.js';
import { dutchTime, loginPage } from '../board/pages/login.js';
import { escapeHtml, layout } from '../board/pages/layout.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';

export interface SessionInfo {
  user: User;
  csrfToken: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    session?: SessionInfo;
  }
}

export const SESSION_COOKIE = 'kikv_session';

const WRONG_NL = 'Naam of wachtwoord onjuist.';
const WRONG_EN = 'name or password wrong';
const CSRF_EN = 'CSRF token missing or wrong';

/** Where to go after logging in: only a path on this site ("/…", not "//host" or "/\host"), else undefined. */
export function safeNext(next: unknown): string | undefined {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2000) return undefined;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return undefined;
  // Control characters (a newline in a Location header, a tab browsers strip) are never part of a board path.
  if (/[\u0000-\u001f\u007f]/.test(next)) return undefined;
  return next;
}

/** JSON for the API and for clients that ask for it; HTML pages for browsers. */
export function wantsJson(req: FastifyRequest): boolean {
  return req.url.startsWith('/api/') || req.url === '/api' || (req.headers.accept ?? '').includes('application/json');
}

function sameSecret(a: string, b: string): boolean {
  // Hashing first makes the comparison constant-time regardless of the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function csrfTokenOf(req: FastifyRequest): string | undefined {
  const header = req.headers['x-csrf-token'];
  if (typeof header === 'string' && header) return header;
  const body = req.body as { _csrf?: unknown } | undefined;
  return body && typeof body === 'object' && typeof body._csrf === 'string' ? body._csrf : undefined;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function forbidden(req: FastifyRequest, reply: FastifyReply, english: string, dutch: string): FastifyReply {
  reply.code(403);
  if (wantsJson(req)) return reply.send({ error: english });
  const s = req.session;
  return reply
    .type('text/html; charset=utf-8')
    .send(layout({ title: 'Geen toegang', body: `<h1>Geen toegang</h1><p>${escapeHtml(dutch)}</p><p><a href="/">Terug naar de rondes</a></p>`, ...(s ? { user: { name: s.user.name, role: s.user.role }, csrfToken: s.csrfToken } : {}) }));
}

const PERMISSION_NL: Record<Permission, string> = {
  read: 'inzien',
  'enter-manual': 'handmatige gegevens invullen',
  correct: 'waarden corrigeren',
  prepare: 'klaarzetten voor goedkeuring',
  approve: 'goedkeuren',
  reject: 'afkeuren',
  import: 'gegevens inlezen',
  'read-audit': 'het logboek inzien',
  'manage-users': 'gebruikers beheren',
};

/**
 * A route's access check: a live session, a role with permission `p`, and for a state-changing
 * method the session's CSRF token (form field `_csrf` or header `x-csrf-token`).
 */
export function guard(p: Permission): preHandlerAsyncHookHandler {
  return async function guarded(req, reply) {
    const s = req.session;
    if (!s) {
      if (wantsJson(req)) return reply.code(401).send({ error: 'not logged in: log in with POST /api/session {name, password}' });
      // A form posted after the session ended returns to the page, not to the form's target.
      const next = req.method === 'GET' ? req.url : '/';
      return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
    }
    if (!can(s.user.role, p)) {
      return forbidden(req, reply, `role ${s.user.role} may not ${p}`, `Uw rol (${s.user.role}) mag niet ${PERMISSION_NL[p]}.`);
    }
    if (UNSAFE.has(req.method)) {
      const token = csrfTokenOf(req);
      if (!token || !sameSecret(token, s.csrfToken)) {
        return forbidden(req, reply, CSRF_EN, 'Het formulier is verlopen of komt niet van deze site (CSRF-token ontbreekt of klopt niet). Laad de pagina opnieuw en probeer het nog eens.');
      }
    }
  };
}

/** A preHandler for routes any logged-in user may use (the same as guard('read')). */
export const requireSession: preHandlerAsyncHookHandler = guard('read');

const userSchema = { type: 'object', required: ['name', 'role'], properties: { name: { type: 'string' }, role: { type: 'string', enum: ['board', 'quality', 'operator', 'viewer'] } } } as const;
const sessionSchema = { type: 'object', required: ['user', 'csrfToken'], properties: { user: userSchema, csrfToken: { type: 'string' } } } as const;
const errorSchema = { type: 'object', required: ['error'], properties: { error: { type: 'string' }, lockedUntil: { type: 'string' } } } as const;

function failureText(r: Exclude<LoginResult, { ok: true }>): { nl: string; en: string } {
  // Unknown, wrong and disabled read the same: the answer must not tell whether a name exists.
  if (r.reason === 'locked' && r.lockedUntil) {
    return {
      nl: `Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. U kunt weer inloggen ${dutchTime(r.lockedUntil)}.`,
      en: `account locked after too many failed attempts until ${r.lockedUntil}`,
    };
  }
  return { nl: WRONG_NL, en: WRONG_EN };
}

/** Whether a route's body schema has a `password` field: such a route is a way to guess one. */
function takesPassword(body: unknown): boolean {
  const properties = (body as { properties?: Record<string, unknown> } | undefined)?.properties;
  return typeof properties === 'object' && properties !== null && 'password' in properties;
}

const FORM = /^application\/x-www-form-urlencoded(?:$|;)/;

/**
 * Form bodies for the board's pages, as @fastify/formbody would parse them (a repeated field becomes
 * an array). Registered under a RegExp rather than the media type: a plugin that parses forms its
 * own way (the OAuth token endpoint, src/server/token.ts) can still add its parser for the exact
 * type, which fastify then prefers in that plugin; @fastify/formbody on the root would make that
 * addContentTypeParser throw "already present".
 */
function addFormParser(app: FastifyInstance): void {
  if (app.hasContentTypeParser(FORM)) return;
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    const fields = new Map<string, string | string[]>();
    for (const [k, v] of new URLSearchParams(body as string)) {
      const had = fields.get(k);
      fields.set(k, had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v]);
    }
    done(null, Object.fromEntries(fields));
  });
}

/**
 * Accounts on the board's pages and API: cookie and form parsing (see addFormParser), the session of each request, the
 * login and logout routes. Call on the root app (not inside a plugin) so every route sees
 * `request.session`.
 */
export async function registerAuth(app: FastifyInstance, deps: { db: Db; cfg: AgentConfig }): Promise<void> {
  const { db, cfg } = deps;
  const board = cfg.board;
  await app.register(fastifyCookie);
  addFormParser(app);
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      Object.assign(new Error(`Te veel pogingen met een wachtwoord; probeer het over ${ctx.after} opnieuw. / Too many password attempts; try again in ${ctx.after}.`), { statusCode: ctx.statusCode }),
  });
  // One count per client address for every route that takes a password: the two login routes and
  // the approval (asked again). A per-route `config.rateLimit` would give each route its own store,
  // so an address could guess loginRateLimit times per route.
  const passwordAttempts = app.rateLimit({ max: board.loginRateLimit, timeWindow: 60_000 });
  app.addHook('onRoute', (route) => {
    if (!takesPassword(route.schema?.body)) return;
    const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [...hooks, passwordAttempts] as typeof route.onRequest;
  });
  const cookieOptions = { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: board.secureCookie };

  if (!app.hasRequestDecorator('session')) app.decorateRequest('session', undefined);
  app.addHook('onRequest', async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (!token) return;
    const s = sessionOf(db, token, board);
    if (s) req.session = s;
    // An ended session's cookie is dropped, so the browser stops sending it.
    else reply.clearCookie(SESSION_COOKIE, cookieOptions);
  });

  const startSession = (reply: FastifyReply, user: User) => {
    const s = createSession(db, user.name, board);
    reply.setCookie(SESSION_COOKIE, s.token, cookieOptions);
    return s;
  };

  app.get<{ Querystring: { next?: string } }>(
    '/login',
    {
      schema: { querystring: { type: 'object', properties: { next: { type: 'string', maxLength: 2000 } } }, response: { 200: { type: 'string' } } },
    },
    async (req, reply) => {
      const next = safeNext(req.query.next);
      if (req.session) return reply.redirect(next ?? '/', 303);
      return reply.type('text/html; charset=utf-8').send(loginPage({ ...(next ? { next } : {}), agentName: cfg.agent.name }));
    },
  );

  app.post<{ Body: { name?: string; password?: string; next?: string } }>(
    '/login',
    {
      schema: {
        body: {
          type: 'object',
          properties: { name: { type: 'string', maxLength: 200 }, password: { type: 'string', maxLength: 1024 }, next: { type: 'string', maxLength: 2000 } },
        },
      },
      // A browser posting the form gets a Dutch page for a refused attempt, not a JSON error.
      errorHandler: (err: FastifyError, req, reply) => {
        const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
        const text = status === 429 ? err.message : status === 400 ? 'Vul uw naam en wachtwoord in (het formulier was niet compleet of te lang).' : 'Inloggen lukt nu niet door een fout op de server. Probeer het later opnieuw.';
        if (status >= 500) req.log.error(err);
        const next = safeNext((req.body as { next?: unknown } | undefined)?.next);
        return reply.code(status).type('text/html; charset=utf-8').send(loginPage({ error: text, ...(next ? { next } : {}), agentName: cfg.agent.name }));
      },
    },
    async (req, reply) => {
      const name = (req.body?.name ?? '').trim();
      const password = req.body?.password ?? '';
      const next = safeNext(req.body?.next);
      const page = (error: string, status: number) =>
        reply.code(status).type('text/html; charset=utf-8').send(loginPage({ error, name, ...(next ? { next } : {}), agentName: cfg.agent.name }));
      if (!name || !password) return page('Vul uw naam en wachtwoord in.', 400);
      const result = await checkPassword(db, name, password, board, 'login');
      if (!result.ok) return page(failureText(result).nl, 401);
      startSession(reply, result.user);
      return reply.redirect(next ?? '/', 303);
    },
  );

  app.post<{ Body: { _csrf?: string } }>(
    '/logout',
    { schema: { body: { type: 'object', properties: { _csrf: { type: 'string', maxLength: 200 } } } } },
    async (req, reply) => {
      const s = req.session;
      if (s) {
        const token = csrfTokenOf(req);
        if (!token || !sameSecret(token, s.csrfToken)) return forbidden(req, reply, CSRF_EN, 'Uitloggen is mislukt: het formulier is verlopen of komt niet van deze site. Laad de pagina opnieuw en probeer het nog eens.');
        endSession(db, req.cookies[SESSION_COOKIE]!);
      }
      reply.clearCookie(SESSION_COOKIE, cookieOptions);
      return reply.redirect('/login', 303);
    },
  );

  app.get(
    '/api/session',
    { schema: { description: 'The logged-in user and the CSRF token to send (header x-csrf-token) with state-changing requests.', tags: ['session'], response: { 200: sessionSchema, 401: errorSchema } } },
    async (req, reply) => {
      const s = req.session;
      if (!s) return reply.code(401).send({ error: 'not logged in: log in with POST /api/session {name, password}' });
      return { user: { name: s.user.name, role: s.user.role }, csrfToken: s.csrfToken };
    },
  );

  app.post<{ Body: { name: string; password: string } }>(
    '/api/session',
    {
      schema: {
        description: 'Log in: sets the session cookie (kikv_session) and returns the CSRF token. Rate-limited per client address.',
        tags: ['session'],
        body: {
          type: 'object',
          required: ['name', 'password'],
          additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: { 200: sessionSchema, 401: errorSchema },
      },
    },
    async (req, reply) => {
      const result = await checkPassword(db, req.body.name, req.body.password, board, 'login');
      if (!result.ok) return reply.code(401).send({ error: failureText(result).en, ...(result.reason === 'locked' && result.lockedUntil ? { lockedUntil: result.lockedUntil } : {}) });
      const s = startSession(reply, result.user);
      return { user: { name: result.user.name, role: result.user.role }, csrfToken: s.csrfToken };
    },
  );

  app.delete(
    '/api/session',
    { preHandler: guard('read'), schema: { description: 'Log out (needs the x-csrf-token header).', tags: ['session'], response: { 204: { type: 'null' }, 401: errorSchema, 403: errorSchema } } },
    async (req, reply) => {
      endSession(db, req.cookies[SESSION_COOKIE]!);
      reply.clearCookie(SESSION_COOKIE, cookieOptions);
      return reply.code(204).send();
    },
  );
}
