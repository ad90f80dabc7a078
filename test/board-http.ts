/**
 * The board's server for HTTP tests: the fixture's data, one user per role, the agent listening on
 * 127.0.0.1 (port 0) and the KIK-starter simulator as the receiver of approved answers; plus a tiny
 * cookie-keeping client for fetch.
 */
import type { FastifyInstance } from 'fastify';
import type { Role } from '../src/auth/roles.js';
import { addUser } from '../src/auth/users.js';
import { verifyPresentation } from '../src/exchange/credentials/index.js';
import { loadOrCreateSigningKey } from '../src/exchange/keys.js';
import { createTrust } from '../src/exchange/trust/index.js';
import type { Trust } from '../src/exchange/types.js';
import { buildAgentServer } from '../src/server/app.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { boardFixture, type BoardFixture } from './board-fixture.js';

export const PASSWORD = 'correct horse battery staple';
export const USERS: Record<Role, string> = { board: 'bea.bestuur', quality: 'kees.kwaliteit', operator: 'otto.beheer', viewer: 'vera.lezer' };

export interface BoardServer extends BoardFixture {
  app: FastifyInstance;
  url: string;
  trust: Trust;
  sim: KikStarterSim;
  close(): Promise<void>;
}

export async function startBoardServer(opts: Parameters<typeof boardFixture>[0] = {}): Promise<BoardServer> {
  const fx = await boardFixture(opts);
  await loadOrCreateSigningKey(fx.cfg.trust.keysDir);
  const trust = createTrust(fx.cfg, { verifyPresentation });
  const sim = await startKikStarterSim({ did: fx.cfg.delivery.kikStarter.did, agentDid: fx.cfg.agent.did, agentJwks: await trust.jwks(), host: '127.0.0.1', port: 0 });
  // The delivery settings are read from the configuration at each approval.
  fx.cfg.delivery.kikStarter.endpoint = sim.endpoint;
  for (const [role, name] of Object.entries(USERS)) await addUser(fx.db, name, role as Role, PASSWORD, 'test');
  const { app } = await buildAgentServer({ db: fx.db, cfg: fx.cfg, trust });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    ...fx,
    app,
    url,
    trust,
    sim,
    close: async () => {
      await app.close();
      await sim.close();
      fx.db.close();
    },
  };
}

/** fetch with a cookie jar of one cookie (the session), redirects not followed. */
export class Client {
  cookie = '';
  csrf = '';
  constructor(readonly base: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookie) headers.set('cookie', this.cookie);
    const res = await fetch(this.base + path, { ...init, headers, redirect: 'manual' });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('kikv_session='));
    if (set) this.cookie = set.split(';')[0]!;
    return res;
  }

  /** Logs in over the JSON API; keeps the cookie and the CSRF token. */
  async loginApi(name: string, password = PASSWORD): Promise<void> {
    const res = await this.fetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
    if (res.status !== 200) throw new Error(`login ${name}: ${res.status} ${await res.text()}`);
    this.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  }

  /** Logs in with the login form, as a browser does. */
  async loginForm(name: string, password = PASSWORD): Promise<void> {
    const res = await this.fetch('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ name, password }).toString() });
    if (res.status !== 303) throw new Error(`login ${name}: ${res.status} ${await res.text()}`);
    const page = await this.fetch('/');
    const m = /name="_csrf" value="([^"]+)"/.exec(await page.text());
    this.csrf = m?.[1] ?? '';
  }

  json(method: string, path: string, body?: unknown, csrf = true): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (csrf && this.csrf) headers['x-csrf-token'] = this.csrf;
    return this.fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  }

  form(path: string, fields: Record<string, string>, csrf = true): Promise<Response> {
    const body = new URLSearchParams({ ...fields, ...(csrf ? { _csrf: this.csrf } : {}) });
    return this.fetch(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  }
}

/** The audit actions recorded after `seq`, in order. */
export function actionsAfter(fx: BoardFixture, seq: number): string[] {
  return (fx.db.prepare('SELECT action FROM audit WHERE seq > ? ORDER BY seq').all(seq) as Array<{ action: string }>).map((r) => r.action);
}

export function lastSeq(fx: BoardFixture): number {
  return (fx.db.prepare('SELECT COALESCE(MAX(seq), 0) AS n FROM audit').get() as { n: number }).n;
}
