import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE, windowFor } from './board-fixture.js';
import { actionsAfter, Client, lastSeq, startBoardServer, USERS, type BoardServer } from './board-http.js';

const ROUND = `/api/rounds/${PROFILE}/2023`;

interface RoundJson {
  summary: { phase: string; indelingen: Array<{ indeling: string; state: string; hash: string }> };
  contentHash: string;
  deliveries: Array<{ answerId: string; state: { state: string } }>;
}

/** The audit actions of an approval, without repeats, in the order they first appear. */
function distinct(actions: string[]): string[] {
  return [...new Set(actions)];
}

describe('board API', () => {
  let s: BoardServer;
  let page: BoardServer;

  beforeAll(async () => {
    [s, page] = await Promise.all([
      startBoardServer({ previousYear: true, windows: [windowFor(2023, 'open'), windowFor(2022, 'locked')] }),
      startBoardServer(),
    ]);
  }, 240_000);
  afterAll(async () => {
    await s?.close();
    await page?.close();
  });

  it('lists rounds and a round with its indelingen, overview and content, for any role', async () => {
    const viewer = new Client(s.url);
    expect((await viewer.fetch('/api/rounds')).status).toBe(401);
    await viewer.loginApi(USERS.viewer);
    const rounds = (await (await viewer.fetch('/api/rounds')).json()) as Array<{ round: { id: string }; phase: string }>;
    expect(rounds.map((r) => `${r.round.id}:${r.phase}`)).toEqual(expect.arrayContaining([`${PROFILE}/2023:open`, `${PROFILE}/2022:locked`]));
    const round = (await (await viewer.fetch(ROUND)).json()) as RoundJson;
    expect(round.summary.indelingen.length).toBeGreaterThanOrEqual(2);
    expect(round.summary.indelingen.every((i) => i.state === 'to-prepare')).toBe(true);
    expect(round.contentHash).toMatch(/^[0-9a-f]{64}$/);
    const first = round.summary.indelingen[0]!.indeling;
    const overview = (await (await viewer.fetch(`${ROUND}/indelingen/${first}`)).json()) as { indeling: string; items: Array<{ item: { id: string; set: string } }> };
    expect(overview.indeling).toBe(first);
    expect(new Set(overview.items.map((i) => i.item.set)).size).toBe(2);
    const content = (await (await viewer.fetch(`${ROUND}/indelingen/${first}/content`)).json()) as { hash: string; rows: unknown[] };
    expect(content.hash).toBe(round.summary.indelingen[0]!.hash);
    expect(content.rows.length).toBeGreaterThan(0);
    expect((await viewer.fetch(`/api/rounds/${PROFILE}/1999`)).status).toBe(404);
  });

  it('refuses: viewer approving (403), a POST without CSRF token (403), a wrong password (403), a stale hash (409), a locked round (409)', async () => {
    const viewer = new Client(s.url);
    await viewer.loginApi(USERS.viewer);
    const byViewer = await viewer.json('POST', `${ROUND}/indelingen/all/approve`, { password: 'x', expectedHash: '0'.repeat(64) });
    expect(byViewer.status).toBe(403);
    expect(((await byViewer.json()) as { error: string }).error).toMatch(/viewer may not approve/);

    const board = new Client(s.url);
    await board.loginApi(USERS.board);
    const noCsrf = await board.json('POST', `${ROUND}/indelingen/all/approve`, { password: 'x', expectedHash: '0'.repeat(64) }, false);
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: string }).error).toMatch(/CSRF/);

    const wrong = await board.json('POST', `${ROUND}/indelingen/all/approve`, { password: 'not my password', expectedHash: '0'.repeat(64) });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: string }).error).toMatch(/password/);

    const stale = await board.json('POST', `${ROUND}/indelingen/all/approve`, { password: 'correct horse battery staple', expectedHash: '0'.repeat(64) });
    expect(stale.status).toBe(409);

    // Without the hash of what was seen, nothing is approved: the schema requires it, on the page route too.
    for (const body of [{ password: 'correct horse battery staple' }, { password: 'correct horse battery staple', expectedHash: '' }]) {
      const missing = await board.json('POST', `${ROUND}/indelingen/all/approve`, body);
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { error: string }).error).toMatch(/expectedHash/);
    }
    const browser = new Client(s.url);
    await browser.loginForm(USERS.board);
    for (const form of [{ password: 'correct horse battery staple' }, { password: 'correct horse battery staple', expectedHash: '' }] as Array<Record<string, string>>) {
      const posted = await browser.form(`/rondes/${PROFILE}/2023/alle/goedkeuren`, form);
      expect(posted.status).toBe(400);
      expect(await posted.text()).toContain('expectedHash: missing');
    }

    const locked = await board.json('POST', `/api/rounds/${PROFILE}/2022/indelingen/all/approve`, { password: 'correct horse battery staple', expectedHash: '0'.repeat(64) });
    expect(locked.status).toBe(409);
    expect(((await locked.json()) as { error: string }).error).toMatch(/lock|clos|deadline/i);

    const noReason = await board.json('POST', `${ROUND}/indelingen/all/reject`, {});
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as { error: string }).error).toMatch(/reason/);

    const steps = s.db.prepare("SELECT COUNT(*) AS n FROM review_steps WHERE action = 'approved'").get() as { n: number };
    expect(steps.n).toBe(0);
  });

  it('approval by API delivers to the KIK-starter and leaves the same audit entries as approval by page', async () => {
    // API
    const board = new Client(s.url);
    await board.loginApi(USERS.board);
    const before = (await (await board.fetch(ROUND)).json()) as RoundJson;
    const apiSeq = lastSeq(s);
    const res = await board.json('POST', `${ROUND}/indelingen/all/approve`, { password: 'correct horse battery staple', expectedHash: before.contentHash });
    const body = (await res.json()) as { steps: unknown[]; approvedAnswers: unknown[]; delivery?: { delivered: number } };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.steps.length).toBe(before.summary.indelingen.length);
    expect(body.approvedAnswers.length).toBeGreaterThan(0);
    expect(body.delivery?.delivered).toBeGreaterThan(0);
    expect(s.sim.accepted().length).toBeGreaterThan(0);
    const after = (await (await board.fetch(ROUND)).json()) as RoundJson;
    expect(after.deliveries.every((d) => d.state.state === 'delivered')).toBe(true);
    expect(after.summary.indelingen.every((i) => i.state === 'delivered')).toBe(true);
    const apiActions = distinct(actionsAfter(s, apiSeq));
    expect(apiActions).toEqual(expect.arrayContaining(['user.confirmed', 'review.approved', 'answer.approved', 'answer.delivered']));

    // Page, on an identical second agent
    const browser = new Client(page.url);
    await browser.loginForm(USERS.board);
    const approval = await (await browser.fetch(`/rondes/${PROFILE}/2023/alle/goedkeuren`)).text();
    const expectedHash = /name="expectedHash" value="([0-9a-f]{64})"/.exec(approval)![1]!;
    const pageSeq = lastSeq(page);
    const posted = await browser.form(`/rondes/${PROFILE}/2023/alle/goedkeuren`, { password: 'correct horse battery staple', expectedHash });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe(`/rondes/${PROFILE}/2023?melding=goedgekeurd`);
    expect(page.sim.accepted().length).toBe(s.sim.accepted().length);
    expect(distinct(actionsAfter(page, pageSeq))).toEqual(apiActions);
    const roundPage = await (await browser.fetch(`/rondes/${PROFILE}/2023?melding=goedgekeurd`)).text();
    expect(roundPage).toContain('Goedgekeurd. De levering staat hieronder.');
    expect(roundPage).toMatch(/data-testid="delivery-state-Organisatie">afgeleverd op /);
  });

  it('quality enters a manual item and corrects a delivered value; the board sees the override', async () => {
    const quality = new Client(s.url);
    await quality.loginApi(USERS.quality);
    const round = (await (await quality.fetch(ROUND)).json()) as RoundJson;
    const loc = round.summary.indelingen[0]!.indeling;
    const overview = (await (await quality.fetch(`${ROUND}/indelingen/${loc}`)).json()) as { items: Array<{ item: { id: string; manual: boolean; unit: string }; value: string | null; teller: string | null; noemer: string | null }> };
    const yesNo = overview.items.find((i) => i.item.manual && i.item.unit === 'yes/no')!;
    const bad = await quality.json('POST', `${ROUND}/indelingen/${loc}/items/${yesNo.item.id}/manual`, { value: 'misschien' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/ja\/nee/);
    const ok = await quality.json('POST', `${ROUND}/indelingen/${loc}/items/${yesNo.item.id}/manual`, { value: 'ja' });
    expect(ok.status).toBe(200);

    const computed = overview.items.find((i) => !i.item.manual && i.item.unit === 'number' && i.value !== null && i.teller !== null && i.noemer === null)!;
    const short = await quality.json('POST', `${ROUND}/indelingen/${loc}/items/${computed.item.id}/correction`, { teller: '7', justification: 'te kort' });
    expect(short.status).toBe(400);
    // The row has a teller: a value alone would disagree with it, so the teller is what is corrected.
    const valueOnly = await quality.json('POST', `${ROUND}/indelingen/${loc}/items/${computed.item.id}/correction`, { value: '7', justification: 'Telling handmatig nagelopen in het rooster' });
    expect(valueOnly.status).toBe(400);
    expect(((await valueOnly.json()) as { error: string }).error).toMatch(/^teller: /);
    const corrected = await quality.json('POST', `${ROUND}/indelingen/${loc}/items/${computed.item.id}/correction`, { teller: '7', justification: 'Telling handmatig nagelopen in het rooster' });
    expect(corrected.status).toBe(200);

    const board = new Client(s.url);
    await board.loginApi(USERS.board);
    const after = (await (await board.fetch(`${ROUND}/indelingen/${loc}`)).json()) as { items: Array<{ item: { id: string }; value: string | null; override?: { original: { value: string | null } } }> };
    const item = after.items.find((i) => i.item.id === computed.item.id)!;
    expect(item.value).toMatch(/^7(\.0+)?$/);
    expect(item.override?.original.value).toBe(computed.value);
    // The board may not correct (quality only).
    expect((await board.json('POST', `${ROUND}/indelingen/${loc}/items/${computed.item.id}/correction`, { teller: '8', justification: 'Ik wil dit anders zien' })).status).toBe(403);
  });

  it('the audit log is readable by board and operator, not by quality', async () => {
    const quality = new Client(s.url);
    await quality.loginApi(USERS.quality);
    expect((await quality.fetch('/api/audit')).status).toBe(403);
    const operator = new Client(s.url);
    await operator.loginApi(USERS.operator);
    const audit = (await (await operator.fetch('/api/audit?limit=5')).json()) as { total: number; entries: Array<{ seq: number }> };
    expect(audit.entries).toHaveLength(5);
    expect(audit.entries[0]!.seq).toBeGreaterThan(audit.entries[4]!.seq);
    expect(audit.total).toBeGreaterThan(5);
  });

  it('exports: open-data CSV, PDF and the signed bundle', async () => {
    const viewer = new Client(s.url);
    await viewer.loginApi(USERS.viewer);
    const csv = await viewer.fetch(`${ROUND}/exports/opendata.csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await csv.text()).split('\n').length).toBeGreaterThan(2);
    const pdf = await viewer.fetch(`${ROUND}/exports/prestatieoverzicht.pdf`);
    expect(pdf.status).toBe(200);
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
    const bundle = (await (await viewer.fetch(`${ROUND}/exports/bundle.json`)).json()) as { format: string; messages: unknown[] };
    expect(bundle.format).toBe('kikv-answer-bundle/1');
    expect(bundle.messages.length).toBeGreaterThan(0);
  });

  it('the OpenAPI document at /docs/json lists every /api route; /docs has its own CSP; pages get strict security headers', async () => {
    const doc = (await (await fetch(`${s.url}/docs/json`)).json()) as { openapi: string; paths: Record<string, Record<string, { tags?: string[] }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const api = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/api/'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    const base = '/api/rounds/{profile}/{year}';
    expect(api).toEqual(
      [
        'GET /api/audit',
        'GET /api/rounds',
        `GET ${base}`,
        `GET ${base}/exports/bundle.json`,
        `GET ${base}/exports/opendata.csv`,
        `GET ${base}/exports/prestatieoverzicht.pdf`,
        `GET ${base}/indelingen/{indeling}`,
        `GET ${base}/indelingen/{indeling}/content`,
        `POST ${base}/indelingen/{indeling}/approve`,
        `POST ${base}/indelingen/{indeling}/items/{item}/correction`,
        `POST ${base}/indelingen/{indeling}/items/{item}/manual`,
        `POST ${base}/indelingen/{indeling}/prepare`,
        `POST ${base}/indelingen/{indeling}/reject`,
        'DELETE /api/session',
        'GET /api/session',
        'POST /api/session',
      ].sort(),
    );
    for (const [p, ops] of Object.entries(doc.paths)) if (p.startsWith('/api/')) for (const op of Object.values(ops)) expect(op.tags?.length, p).toBeGreaterThan(0);
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/rondes'))).toBe(false);

    const ui = await fetch(`${s.url}/docs/`, { redirect: 'follow' });
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-security-policy')).toMatch(/img-src 'self' data: validator\.swagger\.io/);

    const login = await fetch(`${s.url}/login`);
    const csp = login.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/style-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toMatch(/unsafe-inline/);
    expect(login.headers.get('x-frame-options')).toBe('DENY');
    expect(login.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
