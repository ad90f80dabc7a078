import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../src/audit/log.js';
import { hashPassword, verifyPassword } from '../src/auth/passwords.js';
import { can, type Role } from '../src/auth/roles.js';
import { createSession, endSession, sessionOf } from '../src/auth/sessions.js';
import { UserError, addUser, checkPassword, disableUser, findUser, listUsers, setPassword, type LoginResult } from '../src/auth/users.js';
import { loadConfig } from '../src/config/load.js';
import type { AgentConfig, BoardConfig } from '../src/config/schema.js';
import { openDb, type Db } from '../src/db/open.js';
import { guard, registerAuth } from '../src/server/auth.js';
import { writeConfig } from './helpers.js';

const PW = 'correct horse battery';
const MINUTE = 60_000;

function configWith(board: Partial<BoardConfig>): AgentConfig {
  return loadConfig(writeConfig({ extra: { board } }).file);
}

/** A real server: the auth routes plus one guarded route per kind (HTML and JSON, read and approve). */
async function startApp(db: Db, cfg: AgentConfig): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify();
  await registerAuth(app, { db, cfg });
  app.get('/rondes', { preHandler: guard('read'), schema: { response: { 200: { type: 'string' } } } }, async (req, reply) => reply.type('text/html').send(`<p>hallo ${req.session!.user.name}</p>`));
  app.post('/goedkeuren', { preHandler: guard('approve'), schema: { body: { type: 'object', properties: { _csrf: { type: 'string' } } } } }, async () => 'approved');
  app.get('/api/things', { preHandler: guard('read'), schema: { response: { 200: { type: 'object', properties: { user: { type: 'string' } } } } } }, async (req) => ({ user: req.session!.user.name }));
  app.post('/api/approve', { preHandler: guard('approve'), schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));
  app.post('/echo', { schema: { body: { type: 'object', additionalProperties: true } } }, async (req) => req.body);
  // A plugin with its own form parser, as the OAuth token endpoint (src/server/token.ts) has.
  await app.register(async (child) => {
    child.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, { raw: body }));
    child.post('/own-parser', async (req) => req.body);
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
}

function cookieOf(res: Response): string | undefined {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('kikv_session='));
  return set?.split(';')[0];
}

function form(fields: Record<string, string>): { method: string; headers: Record<string, string>; body: string; redirect: 'manual' } {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(), redirect: 'manual' };
}

async function apiLogin(base: string, name: string, password = PW): Promise<{ cookie: string; csrfToken: string }> {
  const res = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { user: { name: string; role: Role }; csrfToken: string };
  expect(body.user.name).toBe(name);
  return { cookie: cookieOf(res)!, csrfToken: body.csrfToken };
}

describe('roles', () => {
  it('grants per the design: board approves, quality prepares and corrects, operator imports, nobody manages users over HTTP', () => {
    expect((['board', 'quality', 'operator', 'viewer'] as Role[]).every((r) => can(r, 'read'))).toBe(true);
    expect(can('board', 'approve') && can('board', 'reject') && can('board', 'enter-manual') && can('board', 'read-audit')).toBe(true);
    expect(can('board', 'prepare') || can('board', 'correct') || can('board', 'import')).toBe(false);
    expect(can('quality', 'prepare') && can('quality', 'correct') && can('quality', 'enter-manual')).toBe(true);
    expect(can('quality', 'approve') || can('quality', 'read-audit')).toBe(false);
    expect(can('operator', 'import') && can('operator', 'read-audit')).toBe(true);
    expect(can('viewer', 'approve') || can('viewer', 'enter-manual') || can('viewer', 'read-audit')).toBe(false);
    expect((['board', 'quality', 'operator', 'viewer'] as Role[]).some((r) => can(r, 'manage-users'))).toBe(false);
  });
});

describe('passwords', () => {
  it('hashes with scrypt in a self-describing string, verifies the right password and refuses a wrong or tampered one', async () => {
    const stored = await hashPassword(PW);
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await hashPassword(PW)).not.toBe(stored); // a fresh salt each time
    expect(await verifyPassword(PW, stored)).toBe(true);
    expect(await verifyPassword('correct horse battery ', stored)).toBe(false);
    expect(await verifyPassword('Correct horse battery', stored)).toBe(false);
    const parts = stored.split('$');
    expect(await verifyPassword(PW, [...parts.slice(0, 5), Buffer.alloc(32).toString('base64url')].join('$'))).toBe(false);
    // A tampered cost parameter is refused rather than computed (no gigabyte allocation from a bad row).
    expect(await verifyPassword(PW, ['scrypt', 2 ** 30, 8, 1, parts[4], parts[5]].join('$'))).toBe(false);
    expect(await verifyPassword(PW, 'plain')).toBe(false);
  });
});

describe('users, lock-out and sessions', () => {
  let cfg: AgentConfig;
  let db: Db;
  beforeAll(() => {
    cfg = configWith({ lockoutFailures: 3, lockoutMinutes: 15, sessionIdleMinutes: 30, sessionMaxHours: 12 });
    db = openDb(cfg.storage.dataDir);
  });
  afterAll(() => db.close());

  it('adds users under a lower-case name, refuses duplicates, bad names, unknown roles and short passwords, and never stores the password', async () => {
    const u = await addUser(db, 'Anna.de-Vries', 'board', PW, 'test');
    expect(u).toMatchObject({ name: 'anna.de-vries', role: 'board', disabled_at: null, failed_logins: 0, locked_until: null });
    await expect(addUser(db, 'ANNA.DE-VRIES', 'quality', PW, 'test')).rejects.toThrow(/user "anna.de-vries" already exists; change its password with `kikv users passwd anna.de-vries`/);
    await expect(addUser(db, 'x', 'board', PW, 'test')).rejects.toThrow(UserError);
    await expect(addUser(db, '-anna', 'board', PW, 'test')).rejects.toThrow(/user name "-anna" is not valid: use 2 to 64 characters/);
    await expect(addUser(db, 'piet', 'admin' as Role, PW, 'test')).rejects.toThrow(/unknown role "admin": choose one of board, quality, operator, viewer/);
    await expect(addUser(db, 'piet', 'viewer', 'short pw 11', 'test')).rejects.toThrow(/at least 12 characters/);
    await expect(setPassword(db, 'anna.de-vries', 'tooshort', 'test')).rejects.toThrow(/at least 12 characters/);
    expect(findUser(db, 'piet')).toBeUndefined();
    const audit = listAudit(db);
    expect(audit.filter((e) => e.action === 'user.added').map((e) => e.subject)).toEqual(['user:anna.de-vries']);
    expect(JSON.stringify(audit)).not.toContain(PW);
    expect(JSON.stringify(db.prepare('SELECT * FROM users').all())).not.toContain(PW);
  });

  it('locks after cfg.lockoutFailures failures (confirmations count too), refuses the right password while locked, opens after lockoutMinutes', async () => {
    await addUser(db, 'kees', 'quality', PW, 'test');
    const t0 = new Date('2026-03-02T10:00:00Z');
    expect(await checkPassword(db, 'kees', 'wrong password 1', cfg.board, 'login', t0)).toEqual({ ok: false, reason: 'bad-password' });
    expect(await checkPassword(db, 'KEES', 'wrong password 2', cfg.board, 'confirm', new Date(t0.getTime() + 1000))).toEqual({ ok: false, reason: 'bad-password' });
    const locked = await checkPassword(db, 'kees', 'wrong password 3', cfg.board, 'login', new Date(t0.getTime() + 2000));
    const until = new Date(t0.getTime() + 2000 + 15 * MINUTE).toISOString();
    expect(locked).toEqual({ ok: false, reason: 'locked', lockedUntil: until });
    expect(findUser(db, 'kees')).toMatchObject({ failed_logins: 3, locked_until: until });
    // The right password during the lock is refused and does not unlock.
    expect(await checkPassword(db, 'kees', PW, cfg.board, 'login', new Date(t0.getTime() + 14 * MINUTE))).toEqual({ ok: false, reason: 'locked', lockedUntil: until });
    const opened = await checkPassword(db, 'kees', PW, cfg.board, 'login', new Date(t0.getTime() + 16 * MINUTE));
    expect(opened.ok).toBe(true);
    expect(findUser(db, 'kees')).toMatchObject({ failed_logins: 0, locked_until: null });
    // A success resets the count: two more failures do not lock.
    await checkPassword(db, 'kees', 'wrong password 4', cfg.board, 'login', new Date(t0.getTime() + 17 * MINUTE));
    await checkPassword(db, 'kees', 'wrong password 5', cfg.board, 'login', new Date(t0.getTime() + 17 * MINUTE));
    expect(findUser(db, 'kees')).toMatchObject({ failed_logins: 2, locked_until: null });
    expect((await checkPassword(db, 'kees', PW, cfg.board, 'confirm', new Date(t0.getTime() + 18 * MINUTE))).ok).toBe(true);

    const actions = listAudit(db).filter((e) => e.subject === 'user:kees').map((e) => `${e.actor} ${e.action}`);
    expect(actions).toEqual([
      'test user.added',
      'kees user.login-failed',
      'kees user.confirm-failed',
      'kees user.login-failed',
      'kees user.locked',
      'kees user.login-failed',
      'kees user.login',
      'kees user.login-failed',
      'kees user.login-failed',
      'kees user.confirmed',
    ]);
    expect(JSON.stringify(listAudit(db))).not.toMatch(/wrong password/);
  });

  it('parallel guesses cannot pass the lock-out: beyond lockoutFailures at once the account locks and the right password is refused', async () => {
    await addUser(db, 'parallel', 'board', PW, 'test');
    const t = new Date();
    // Started in this order, all running at once: three wrong guesses, the right one, three more wrong.
    const wrong = (i: number) => checkPassword(db, 'parallel', `wrong guess ${i}`, cfg.board, 'login', t);
    const results = await Promise.all([wrong(1), wrong(2), wrong(3), checkPassword(db, 'parallel', PW, cfg.board, 'login', t), wrong(4), wrong(5), wrong(6)]);
    const until = new Date(t.getTime() + 15 * MINUTE).toISOString();
    expect(results[3]).toEqual({ ok: false, reason: 'locked', lockedUntil: until });
    expect(results.every((r) => !r.ok)).toBe(true);
    expect(findUser(db, 'parallel')).toMatchObject({ locked_until: until });
    // Still locked afterwards: the right password does not open it.
    expect(await checkPassword(db, 'parallel', PW, cfg.board, 'confirm', new Date(t.getTime() + MINUTE))).toEqual({ ok: false, reason: 'locked', lockedUntil: until });
    expect(listAudit(db).filter((e) => e.subject === 'user:parallel' && e.action === 'user.login')).toEqual([]);
  });

  it('fewer parallel attempts than the limit, the right one among them, still log in', async () => {
    await addUser(db, 'pair', 'board', PW, 'test');
    const results = await Promise.all([checkPassword(db, 'pair', PW, cfg.board, 'login'), checkPassword(db, 'pair', 'wrong guess', cfg.board, 'login')]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
  });

  it('an unknown name locks after as many failures as a real one, with the same answers', async () => {
    await addUser(db, 'echt', 'viewer', PW, 'test');
    const t0 = new Date('2026-03-03T09:00:00Z');
    const tries = async (name: string) => {
      const out: LoginResult[] = [];
      for (let i = 0; i < 5; i++) out.push(await checkPassword(db, name, `wrong ${i}`, cfg.board, 'login', new Date(t0.getTime() + i * 1000)));
      out.push(await checkPassword(db, name, PW, cfg.board, 'login', new Date(t0.getTime() + 16 * MINUTE)));
      // Both kinds of not-locked refusal read the same on the page and in the API.
      return out.map((r) => (r.ok ? 'ok' : r.reason === 'unknown' ? { ...r, reason: 'bad-password' } : r));
    };
    const real = await tries('echt');
    const ghost = await tries('Spook.Naam');
    expect(real.at(-1)).toBe('ok');
    expect(ghost.slice(0, -1)).toEqual(real.slice(0, -1));
    expect(ghost[2]).toEqual({ ok: false, reason: 'locked', lockedUntil: new Date(t0.getTime() + 2000 + 15 * MINUTE).toISOString() });
    // Parallel guesses at an unknown name lock it the same way.
    const t1 = new Date('2026-03-04T09:00:00Z');
    const burst = async (name: string) => (await Promise.all([1, 2, 3, 4].map((i) => checkPassword(db, name, `wrong ${i}`, cfg.board, 'login', t1)))).map((r) => (r.ok ? 'ok' : r.reason));
    expect(await burst('ander-spook')).toEqual(await burst('pair'));
    expect(JSON.stringify(listAudit(db))).not.toMatch(/spook/i);
  });

  it('a locked account answers no faster than a wrong password (a decoy hash runs)', async () => {
    await addUser(db, 'traag', 'viewer', PW, 'test');
    for (let i = 0; i < 3; i++) await checkPassword(db, 'traag', `wrong ${i}`, cfg.board, 'login');
    expect(findUser(db, 'traag')!.locked_until).not.toBeNull();
    const stored = await hashPassword(PW);
    const timed = async (f: () => Promise<unknown>) => {
      const t = performance.now();
      await f();
      return performance.now() - t;
    };
    const hash = Math.min(await timed(() => verifyPassword('x', stored)), await timed(() => verifyPassword('y', stored)));
    const locked = Math.min(await timed(() => checkPassword(db, 'traag', PW, cfg.board, 'login')), await timed(() => checkPassword(db, 'traag', 'x', cfg.board, 'login')));
    // Without the decoy a locked answer takes well under a millisecond; a hash takes tens of them.
    expect(locked).toBeGreaterThan(hash / 3);
  });

  it('answers an unknown name like a wrong password and does not record the name typed', async () => {
    expect(await checkPassword(db, 'nobody-here', PW, cfg.board, 'login')).toEqual({ ok: false, reason: 'unknown' });
    const last = listAudit(db).at(-1)!;
    expect(last).toMatchObject({ actor: 'anonymous', action: 'user.login-failed', subject: null });
    expect(last.details).not.toContain('nobody-here');
  });

  it('sessions: only the token hash is stored; idle expiry slides (written at most once a minute); the absolute end holds', async () => {
    await addUser(db, 'sanne', 'viewer', PW, 'test');
    const t0 = new Date('2026-03-02T08:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const s = createSession(db, 'Sanne', cfg.board, t0);
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.expiresAt).toBe(at(12 * 60 * MINUTE).toISOString());
    expect(JSON.stringify(db.prepare('SELECT * FROM sessions').all())).not.toContain(s.token);
    const lastSeen = () => (db.prepare("SELECT last_seen_at FROM sessions WHERE user_name = 'sanne'").get() as { last_seen_at: string }).last_seen_at;

    expect(sessionOf(db, s.token, cfg.board, at(30_000))).toMatchObject({ user: { name: 'sanne', role: 'viewer' }, csrfToken: s.csrfToken });
    expect(lastSeen()).toBe(t0.toISOString());
    expect(sessionOf(db, s.token, cfg.board, at(29 * MINUTE))).toBeDefined();
    expect(lastSeen()).toBe(at(29 * MINUTE).toISOString());
    // 29 minutes after the last request is still within the idle time; 30 is not.
    expect(sessionOf(db, s.token, cfg.board, at(58 * MINUTE))).toBeDefined();
    expect(sessionOf(db, s.token, cfg.board, at(88 * MINUTE))).toBeUndefined();
    expect(sessionOf(db, s.token, cfg.board, at(58 * MINUTE))).toBeUndefined(); // removed, not only refused

    // Busy all day: still ends 12 hours after login.
    const s2 = createSession(db, 'sanne', cfg.board, t0);
    for (let m = 20; m < 12 * 60; m += 20) expect(sessionOf(db, s2.token, cfg.board, at(m * MINUTE))).toBeDefined();
    expect(sessionOf(db, s2.token, cfg.board, at(12 * 60 * MINUTE))).toBeUndefined();

    expect(sessionOf(db, 'not-a-token', cfg.board)).toBeUndefined();
    const s3 = createSession(db, 'sanne', cfg.board);
    endSession(db, s3.token);
    expect(sessionOf(db, s3.token, cfg.board)).toBeUndefined();
    expect(listAudit(db).at(-1)).toMatchObject({ actor: 'sanne', action: 'user.logout' });
  });

  it('a disabled user loses its sessions, cannot log in with the right password and gets no new session', async () => {
    await addUser(db, 'joost', 'board', PW, 'test');
    const s = createSession(db, 'joost', cfg.board);
    expect(sessionOf(db, s.token, cfg.board)).toBeDefined();
    disableUser(db, 'joost', 'test');
    expect(sessionOf(db, s.token, cfg.board)).toBeUndefined();
    expect(db.prepare("SELECT COUNT(*) AS n FROM sessions WHERE user_name = 'joost'").get()).toEqual({ n: 0 });
    expect(await checkPassword(db, 'joost', PW, cfg.board, 'login')).toEqual({ ok: false, reason: 'disabled' });
    expect(() => createSession(db, 'joost', cfg.board)).toThrow(/disabled; a disabled account gets no session/);
    expect(() => disableUser(db, 'joost', 'test')).toThrow(/already disabled/);
    expect(() => disableUser(db, 'nobody', 'test')).toThrow(/no user "nobody"/);
    expect(listUsers(db).find((u) => u.name === 'joost')!.disabled_at).not.toBeNull();
    expect(listAudit(db).find((e) => e.action === 'user.disabled')).toMatchObject({ actor: 'test', subject: 'user:joost' });
  });

  it('a new password ends the sessions made with the old one and unlocks the account', async () => {
    await addUser(db, 'ellen', 'quality', PW, 'test');
    const s = createSession(db, 'ellen', cfg.board);
    for (let i = 0; i < 3; i++) await checkPassword(db, 'ellen', `wrong password ${i}`, cfg.board, 'login');
    expect(findUser(db, 'ellen')!.locked_until).not.toBeNull();
    await setPassword(db, 'ellen', 'a brand new passphrase', 'test');
    expect(sessionOf(db, s.token, cfg.board)).toBeUndefined();
    expect((await checkPassword(db, 'ellen', 'a brand new passphrase', cfg.board, 'login')).ok).toBe(true);
    expect((await checkPassword(db, 'ellen', PW, cfg.board, 'login')).ok).toBe(false);
  });
});

describe('login over HTTP, guards and CSRF', () => {
  let cfg: AgentConfig;
  let db: Db;
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    cfg = configWith({ secureCookie: false, lockoutFailures: 3, loginRateLimit: 1000 });
    db = openDb(cfg.storage.dataDir);
    await addUser(db, 'bestuurder', 'board', PW, 'test');
    await addUser(db, 'lezer', 'viewer', PW, 'test');
    await addUser(db, 'slot', 'quality', PW, 'test');
    await addUser(db, 'weg', 'quality', PW, 'test');
    ({ app, base } = await startApp(db, cfg));
  });
  afterAll(async () => {
    await app.close();
    db.close();
  });

  it('parses form bodies (a repeated field as an array) and leaves a plugin free to parse forms its own way', async () => {
    const post = (path: string) => fetch(`${base}${path}`, form({ a: '1', b: 'x y' })).then((r) => r.json());
    expect(await post('/echo')).toEqual({ a: '1', b: 'x y' });
    const repeated = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, body: 'a=1&a=2' });
    expect(await repeated.json()).toEqual({ a: ['1', '2'] });
    expect(await post('/own-parser')).toEqual({ raw: 'a=1&b=x+y' });
  });

  it('GET /login shows the Dutch form and keeps a local next', async () => {
    const res = await fetch(`${base}/login?next=${encodeURIComponent('/rondes/x/2023?tab=1')}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('<html lang="nl">');
    expect(html).toMatch(/<label for="name">Naam<\/label>/);
    expect(html).toMatch(/<label for="password">Wachtwoord<\/label>/);
    expect(html).toMatch(/<button type="submit" id="login">Inloggen<\/button>/);
    expect(html).toContain('name="next" value="/rondes/x/2023?tab=1"');
  });

  it('a form login sets an HttpOnly SameSite=Strict cookie and redirects (303) to next; the cookie opens guarded pages', async () => {
    const res = await fetch(`${base}/login`, form({ name: 'Bestuurder', password: PW, next: '/rondes' }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/rondes');
    const set = res.headers.getSetCookie().find((c) => c.startsWith('kikv_session='))!;
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).toMatch(/; Path=\//);
    expect(set).not.toMatch(/; Secure/);
    const page = await fetch(`${base}/rondes`, { headers: { cookie: set.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('<p>hallo bestuurder</p>');
    const me = await fetch(`${base}/api/session`, { headers: { cookie: set.split(';')[0]! } });
    expect(await me.json()).toMatchObject({ user: { name: 'bestuurder', role: 'board' }, csrfToken: expect.any(String) });
  });

  it('a wrong password and an unknown name get the same answer and no cookie; a locked account is told when it opens', async () => {
    const wrong = await fetch(`${base}/login`, form({ name: 'lezer', password: 'not the password' }));
    const unknown = await fetch(`${base}/login`, form({ name: 'niemand', password: 'not the password' }));
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [a, b] = [await wrong.text(), await unknown.text()];
    expect(a).toContain('Naam of wachtwoord onjuist.');
    expect(b.replace('value="niemand"', '')).toBe(a.replace('value="lezer"', ''));
    expect(cookieOf(wrong)).toBeUndefined();
    const apiWrong = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'niemand', password: 'x' }) });
    expect(apiWrong.status).toBe(401);
    expect(await apiWrong.json()).toEqual({ error: 'name or password wrong' });

    for (let i = 0; i < 3; i++) await fetch(`${base}/login`, form({ name: 'slot', password: `wrong ${i}` }));
    const locked = await fetch(`${base}/login`, form({ name: 'slot', password: PW }));
    expect(locked.status).toBe(401);
    expect(await locked.text()).toMatch(/Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. U kunt weer inloggen om \d\d:\d\d op \d+ \w+\./);
    expect(cookieOf(locked)).toBeUndefined();
    // An unknown name is told the same after as many failures.
    for (let i = 0; i < 3; i++) await fetch(`${base}/login`, form({ name: 'spook', password: `wrong ${i}` }));
    const ghost = await fetch(`${base}/login`, form({ name: 'spook', password: PW }));
    expect(ghost.status).toBe(401);
    expect(await ghost.text()).toMatch(/Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. U kunt weer inloggen om \d\d:\d\d op \d+ \w+\./);
  });

  it('without a session: an HTML route redirects to /login?next=…, an API route answers 401', async () => {
    const html = await fetch(`${base}/rondes?x=1`, { redirect: 'manual' });
    expect(html.status).toBe(303);
    expect(html.headers.get('location')).toBe(`/login?next=${encodeURIComponent('/rondes?x=1')}`);
    const api = await fetch(`${base}/api/things`);
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: expect.stringMatching(/not logged in/) });
    // Asking for JSON on a page route gets the API's answer.
    expect((await fetch(`${base}/rondes`, { headers: { accept: 'application/json' }, redirect: 'manual' })).status).toBe(401);
    // A stale cookie counts as no session, and the server drops it.
    const stale = await fetch(`${base}/api/things`, { headers: { cookie: 'kikv_session=forged' } });
    expect(stale.status).toBe(401);
    expect(stale.headers.getSetCookie().some((c) => /^kikv_session=;/.test(c))).toBe(true);
  });

  it('a guarded POST without the CSRF token is 403; with the form field or the header it passes', async () => {
    const { cookie, csrfToken } = await apiLogin(base, 'bestuurder');
    const none = await fetch(`${base}/goedkeuren`, { ...form({}), headers: { ...form({}).headers, cookie } });
    expect(none.status).toBe(403);
    expect(await none.text()).toContain('CSRF-token ontbreekt of klopt niet');
    const wrongToken = await fetch(`${base}/api/approve`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken.slice(1) } });
    expect(wrongToken.status).toBe(403);
    expect(await wrongToken.json()).toEqual({ error: 'CSRF token missing or wrong' });
    const withField = await fetch(`${base}/goedkeuren`, { ...form({ _csrf: csrfToken }), headers: { ...form({}).headers, cookie } });
    expect(withField.status).toBe(200);
    expect(await withField.text()).toBe('approved');
    const withHeader = await fetch(`${base}/api/approve`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(withHeader.status).toBe(200);
    expect(await withHeader.json()).toEqual({ ok: true });
  });

  it('a viewer on an approve route gets 403 (HTML page and JSON), even with a valid CSRF token', async () => {
    const { cookie, csrfToken } = await apiLogin(base, 'lezer');
    const html = await fetch(`${base}/goedkeuren`, { ...form({ _csrf: csrfToken }), headers: { ...form({}).headers, cookie } });
    expect(html.status).toBe(403);
    expect(await html.text()).toMatch(/<h1>Geen toegang<\/h1>[\s\S]*mag niet goedkeuren/);
    const api = await fetch(`${base}/api/approve`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(api.status).toBe(403);
    expect(await api.json()).toEqual({ error: 'role viewer may not approve' });
    expect((await fetch(`${base}/api/things`, { headers: { cookie } })).status).toBe(200);
  });

  it('refuses an open redirect through next', async () => {
    for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)']) {
      const page = await (await fetch(`${base}/login?next=${encodeURIComponent(next)}`)).text();
      expect(page).not.toContain('name="next"');
      const res = await fetch(`${base}/login`, form({ name: 'lezer', password: PW, next }));
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/');
    }
  });

  it('logout needs the CSRF token, ends the session and clears the cookie; DELETE /api/session too', async () => {
    const { cookie, csrfToken } = await apiLogin(base, 'lezer');
    const refused = await fetch(`${base}/logout`, { ...form({}), headers: { ...form({}).headers, cookie } });
    expect(refused.status).toBe(403);
    expect((await fetch(`${base}/api/session`, { headers: { cookie } })).status).toBe(200);
    const out = await fetch(`${base}/logout`, { ...form({ _csrf: csrfToken }), headers: { ...form({}).headers, cookie } });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect(out.headers.getSetCookie().some((c) => /^kikv_session=;/.test(c))).toBe(true);
    expect((await fetch(`${base}/api/session`, { headers: { cookie } })).status).toBe(401);

    const second = await apiLogin(base, 'lezer');
    expect((await fetch(`${base}/api/session`, { method: 'DELETE', headers: { cookie: second.cookie } })).status).toBe(403);
    expect((await fetch(`${base}/api/session`, { method: 'DELETE', headers: { cookie: second.cookie, 'x-csrf-token': second.csrfToken } })).status).toBe(204);
    expect((await fetch(`${base}/api/things`, { headers: { cookie: second.cookie } })).status).toBe(401);
  });

  it('disabling a user ends its live browser session', async () => {
    const { cookie } = await apiLogin(base, 'weg');
    expect((await fetch(`${base}/api/things`, { headers: { cookie } })).status).toBe(200);
    disableUser(db, 'weg', 'test');
    expect((await fetch(`${base}/api/things`, { headers: { cookie } })).status).toBe(401);
    const again = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'weg', password: PW }) });
    expect(again.status).toBe(401);
    expect(await again.json()).toEqual({ error: 'name or password wrong' });
  });
});

describe('login rate limit and secure cookie', () => {
  const apiTry = (base: string, password: string) => fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'anna', password }) });

  it('answers 429 after cfg.board.loginRateLimit attempts per minute, counted over the form and the API together; the cookie is Secure when configured', async () => {
    const cfg = configWith({ loginRateLimit: 3 });
    expect(cfg.board.secureCookie).toBe(true);
    const db = openDb(cfg.storage.dataDir);
    await addUser(db, 'anna', 'board', PW, 'test');
    const { app, base } = await startApp(db, cfg);
    try {
      const first = await fetch(`${base}/login`, form({ name: 'anna', password: PW }));
      expect(first.status).toBe(303);
      expect(first.headers.getSetCookie().find((c) => c.startsWith('kikv_session='))).toMatch(/; Secure/);
      expect((await fetch(`${base}/login`, form({ name: 'anna', password: 'wrong password' }))).status).toBe(401);
      expect((await apiTry(base, 'wrong password')).status).toBe(401);
      // Three attempts spread over both routes use up the one budget: the next is refused on either.
      const limited = await fetch(`${base}/login`, form({ name: 'anna', password: PW }));
      expect(limited.status).toBe(429);
      expect(await limited.text()).toMatch(/Te veel pogingen met een wachtwoord; probeer het over .+ opnieuw/);
      expect(cookieOf(limited)).toBeUndefined();
      const api = await apiTry(base, PW);
      expect(api.status).toBe(429);
      expect(((await api.json()) as { message: string }).message).toMatch(/Too many password attempts/);
      // The login page itself is not limited.
      expect((await fetch(`${base}/login`)).status).toBe(200);
    } finally {
      await app.close();
      db.close();
    }
  });

  it('a route that asks the password again (approval) shares the login routes\' count', async () => {
    const cfg = configWith({ loginRateLimit: 3 });
    const db = openDb(cfg.storage.dataDir);
    await addUser(db, 'anna', 'board', PW, 'test');
    const app = Fastify();
    await registerAuth(app, { db, cfg });
    app.post<{ Body: { password: string } }>('/api/confirm', { schema: { body: { type: 'object', required: ['password'], properties: { password: { type: 'string' } } } } }, async (req) => ({
      ok: (await checkPassword(db, 'anna', req.body.password, cfg.board, 'confirm')).ok,
    }));
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const confirm = (password: string) => fetch(`${base}/api/confirm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
    try {
      expect((await confirm('wrong password')).status).toBe(200);
      expect((await apiTry(base, PW)).status).toBe(200);
      expect((await confirm(PW)).status).toBe(200);
      expect((await confirm(PW)).status).toBe(429);
      expect((await apiTry(base, PW)).status).toBe(429);
    } finally {
      await app.close();
      db.close();
    }
  });
});
