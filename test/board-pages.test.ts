import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../src/auth/roles.js';
import { PROFILE, windowFor } from './board-fixture.js';
import { Client, startBoardServer, USERS, type BoardServer } from './board-http.js';

const ROUND = `/rondes/${PROFILE}/2023`;

/** Every visible form field has a label pointing at it (screen readers and the browser tests rely on it). */
function unlabelledFields(html: string): string[] {
  const ids = [...html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)].filter((m) => !/type="hidden"/.test(m[2]!)).map((m) => /id="([^"]+)"/.exec(m[2]!)?.[1] ?? `(no id) ${m[0]}`);
  return ids.filter((id) => !html.includes(`<label for="${id}"`));
}

function has(html: string, id: string): boolean {
  return html.includes(`id="${id}"`);
}

describe('board pages', () => {
  let s: BoardServer;
  const clients = {} as Record<Role, Client>;
  let locations: string[];

  beforeAll(async () => {
    // 2023 open with its deadline within the reminder period; 2022 past its deadline.
    s = await startBoardServer({ previousYear: true, windows: [windowFor(2023, 'open'), windowFor(2022, 'locked')], board: { reminderDays: 60 } });
    for (const role of ['board', 'quality', 'operator', 'viewer'] as Role[]) {
      clients[role] = new Client(s.url);
      await clients[role].loginForm(USERS[role]);
    }
    const round = await (await clients.viewer.fetch(ROUND)).text();
    locations = [...round.matchAll(/data-testid="indeling-(\d{12})"/g)].map((m) => m[1]!);
  }, 180_000);
  afterAll(async () => {
    await s?.close();
  });

  it('sends a visitor without a session to the login page', async () => {
    const res = await new Client(s.url).fetch(ROUND);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(ROUND)}`);
    const unknown = await clients.viewer.fetch(`/rondes/${PROFILE}/1999`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toMatch(/role="alert"[^>]*>Niet gevonden/);
  });

  it('home: Dutch, landmarks, the round with its phase and deadline, for every role', async () => {
    for (const role of ['board', 'quality', 'operator', 'viewer'] as Role[]) {
      const res = await clients[role].fetch('/');
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('<html lang="nl">');
      expect(html).toContain('<a class="skip-link" href="#main">');
      expect(html).toContain('<main id="main"');
      expect(html).toContain(`data-testid="round-${PROFILE}/2023"`);
      expect(html).toMatch(/<span class="tag tag-ok">open<\/span>/);
      expect(html).toMatch(/nog \d+ dagen/);
      expect(html).toContain(USERS[role]);
      expect(html.includes('href="/logboek"')).toBe(role === 'board' || role === 'operator');
      expect(html).not.toMatch(/<script/);
      expect(html).toContain(`data-testid="reminder-${PROFILE}/2023"`);
      expect(html).not.toContain(`data-testid="reminder-${PROFILE}/2022"`);
      expect(html).toMatch(/<span class="tag tag-error">gesloten<\/span>/);
    }
  });

  it('a locked round: no forms, and a posted form is refused in Dutch', async () => {
    const locked = `/rondes/${PROFILE}/2022`;
    for (const role of ['board', 'quality'] as Role[]) {
      const html = await (await clients[role].fetch(locked)).text();
      expect(html).toContain('id="locked-banner"');
      expect(html).not.toMatch(/<form method="post" action="\/rondes/);
      expect(has(html, 'approve-all')).toBe(false);
    }
    const refused = await clients.quality.form(`${locked}/klaarzetten`, { indeling: 'all' });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toMatch(/role="alert"[^>]*>De ronde is gesloten/);
  });

  it('round: each role sees only the forms it may use', async () => {
    const expectations: Record<Role, { prepare: boolean; approve: boolean; reject: boolean }> = {
      quality: { prepare: true, approve: false, reject: false },
      board: { prepare: false, approve: true, reject: true },
      operator: { prepare: false, approve: false, reject: false },
      viewer: { prepare: false, approve: false, reject: false },
    };
    for (const [role, e] of Object.entries(expectations) as Array<[Role, (typeof expectations)[Role]]>) {
      const html = await (await clients[role].fetch(ROUND)).text();
      expect(html).toContain('data-testid="indeling-Organisatie"');
      expect(locations.length).toBeGreaterThanOrEqual(2);
      expect({ role, prepare: has(html, 'prepare-all'), approve: has(html, 'approve-all'), reject: has(html, 'reject-form') }).toEqual({ role, ...e });
      expect(unlabelledFields(html)).toEqual([]);
      expect(html).toContain('klaar te zetten');
      expect(html).toContain('data-testid="delivery-state-Organisatie">nog niet goedgekeurd<');
    }
  });

  it('overview: both sets, previous year, trend chart with a text alternative; manual and correction forms by role', async () => {
    const loc = locations[0]!;
    const views = {} as Record<Role, string>;
    for (const role of ['board', 'quality', 'viewer'] as Role[]) {
      const res = await clients[role].fetch(`${ROUND}/${loc}`);
      expect(res.status).toBe(200);
      views[role] = await res.text();
    }
    const q = views.quality;
    expect(q).toContain('data-testid="set-personeelssamenstelling"');
    expect(q).toContain('data-testid="set-basisveiligheid"');
    expect(q).toMatch(/<svg class="trend" role="img" aria-label="Trend van [^"]*2022: [^"]*2023: /);
    expect(q).toMatch(/<span class="muted">\(2022\)<\/span>/);
    expect(q).toMatch(/id="manual-form-/);
    expect(q).toMatch(/id="correction-form-/);
    expect(q).toContain('<label for="correction-justification-');
    expect(unlabelledFields(q)).toEqual([]);
    expect(views.board).toMatch(/id="manual-form-/);
    expect(views.board).not.toMatch(/id="correction-form-/);
    expect(views.viewer).not.toMatch(/<form method="post" action="[^"]*\/items\//);
  });

  it('manual entry and correction by form: refusals in Dutch on the page, success shown with who and the original value', async () => {
    const loc = locations[0]!;
    const q = clients.quality;
    const html = await (await q.fetch(`${ROUND}/${loc}`)).text();
    const urlItem = /<input type="url" id="manual-value-([^"]+)"/.exec(html)![1]!;
    const bad = await q.form(`${ROUND}/${loc}/items/${urlItem}/handmatig`, { value: 'geen adres' });
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(badHtml).toMatch(/role="alert"[^>]*>Geef een volledig webadres/);
    const ok = await q.form(`${ROUND}/${loc}/items/${urlItem}/handmatig`, { value: 'https://www.example.nl/kwaliteitsverslag-2023.pdf' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`${ROUND}/${loc}?melding=opgeslagen`);
    const after = await (await q.fetch(ok.headers.get('location')!)).text();
    expect(after).toMatch(/role="status"[^>]*>De waarde is opgeslagen/);
    expect(after).toContain(`ingevoerd</span> door ${USERS.quality}`);

    const computed = /id="correction-form-([^"]+)"/.exec(after)![1]!;
    const original = new RegExp(`data-testid="value-${computed.replace(/[.]/g, '\\.')}">([^<]*)<`).exec(after)![1]!;
    const short = await q.form(`${ROUND}/${loc}/items/${computed}/correctie`, { teller: '3', noemer: '4', justification: 'kort' });
    expect(short.status).toBe(400);
    expect(await short.text()).toMatch(/role="alert"[^>]*>Geef een toelichting/);
    const corrected = await q.form(`${ROUND}/${loc}/items/${computed}/correctie`, { teller: '3', noemer: '4', justification: 'Dubbele registratie verwijderd na controle' });
    expect(corrected.status).toBe(303);
    const page = await (await q.fetch(corrected.headers.get('location')!)).text();
    expect(page).toContain(`data-testid="corrected-${computed}"`);
    expect(page).toContain(`oorspronkelijk ${original}`);
    expect(page).toContain('Dubbele registratie verwijderd na controle');
  });

  it('item page: definition, interpretation, versions, snapshot and history', async () => {
    const loc = locations[0]!;
    const html = await (await clients.viewer.fetch(`${ROUND}/${loc}`)).text();
    const href = /<th scope="row"><a href="([^"]+\/items\/[^"]+)">/.exec(html)![1]!;
    const res = await clients.viewer.fetch(href);
    expect(res.status).toBe(200);
    const item = await res.text();
    expect(item).toContain('id="item-definition"');
    expect(item).toContain('id="item-interpretation"');
    expect(item).toMatch(/<dt>Queryhash<\/dt><dd><code class="hash">[0-9a-f]{64}<\/code>/);
    expect(item).toMatch(/<dt>Momentopname<\/dt><dd><code class="hash">[0-9a-f]{64}<\/code>/);
    expect(item).toContain('answer.computed');
    expect((await clients.viewer.fetch(`${ROUND}/${loc}/items/nope`)).status).toBe(404);
  });

  it('approval page: what will be sent, the password field for the board only; viewer and a form without CSRF token are refused', async () => {
    const board = await (await clients.board.fetch(`${ROUND}/alle/goedkeuren`)).text();
    expect(board).toContain('<label for="approve-password">Wachtwoord (opnieuw)</label>');
    expect(board).toMatch(/<button type="submit" id="approve">Goedkeuren<\/button>/);
    for (const loc of [...locations, 'Organisatie']) expect(board).toMatch(new RegExp(`data-testid="content-hash-${loc}">[0-9a-f]{64}<`));
    expect(board).toMatch(/<tr><th scope="row">\d+(\.\d+)*[a-z]? [^<]+<\/th><td>\d{12}<\/td>.*<td class="num">[^<]*<\/td><td><code class="hash">[0-9a-f]{64}<\/code><\/td><\/tr>/);
    expect(unlabelledFields(board)).toEqual([]);

    const viewer = await (await clients.viewer.fetch(`${ROUND}/alle/goedkeuren`)).text();
    expect(has(viewer, 'approve-form')).toBe(false);
    const byViewer = await clients.viewer.form(`${ROUND}/alle/goedkeuren`, { password: 'correct horse battery staple' });
    expect(byViewer.status).toBe(403);
    expect(await byViewer.text()).toContain('Geen toegang');

    const noCsrf = await clients.board.form(`${ROUND}/alle/goedkeuren`, { password: 'correct horse battery staple' }, false);
    expect(noCsrf.status).toBe(403);
    expect(await noCsrf.text()).toContain('CSRF');

    const wrong = await clients.board.form(`${ROUND}/alle/goedkeuren`, { password: 'fout wachtwoord', expectedHash: '0'.repeat(64) });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toMatch(/role="alert"[^>]*>Het wachtwoord klopt niet/);
  });

  it('prepare and reject by form; a rejection without reason is refused in Dutch', async () => {
    const prepared = await clients.quality.form(`${ROUND}/klaarzetten`, { indeling: 'all' });
    expect(prepared.status).toBe(303);
    const round = await (await clients.quality.fetch(prepared.headers.get('location')!)).text();
    expect(round).toContain('Klaargezet voor goedkeuring');
    expect(round).toContain('klaargezet, wacht op goedkeuring');

    const noReason = await clients.board.form(`${ROUND}/afwijzen`, { indeling: locations[0]!, reason: '' });
    expect(noReason.status).toBe(400);
    expect(await noReason.text()).toMatch(/role="alert"[^>]*>Geef een reden op/);
    const rejected = await clients.board.form(`${ROUND}/afwijzen`, { indeling: locations[0]!, reason: 'Bezetting klopt niet met het rooster' });
    expect(rejected.status).toBe(303);
    const after = await (await clients.board.fetch(rejected.headers.get('location')!)).text();
    expect(after).toMatch(new RegExp(`data-testid="review-state-${locations[0]}">afgewezen, terug naar kwaliteit`));
    expect(after).toContain('Bezetting klopt niet met het rooster');
  });

  it('print page, exports and the audit log', async () => {
    const print = await clients.viewer.fetch(`${ROUND}/afdrukken`);
    expect(print.status).toBe(200);
    const printHtml = await print.text();
    expect(printHtml).toContain('@media print');
    expect(printHtml).not.toMatch(/<form method="post" action="[^"]*\/items\//);
    expect((printHtml.match(/<section /g) ?? []).length).toBe(locations.length + 1);

    const csv = await clients.viewer.fetch(`${ROUND}/opendata.csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toContain('attachment');
    const pdf = await clients.viewer.fetch(`${ROUND}/prestatieoverzicht.pdf`);
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');

    expect((await clients.quality.fetch('/logboek')).status).toBe(403);
    const log = await (await clients.operator.fetch('/logboek')).text();
    expect(log).toContain('<table id="audit">');
    expect(log).toContain('review.rejected');
    expect(log).toContain('id="audit-older"');
    const seqs = [...log.matchAll(/data-testid="audit-(\d+)"/g)].map((m) => Number(m[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    const second = await (await clients.operator.fetch('/logboek?pagina=2')).text();
    expect(second).toContain('id="audit-newer"');
  });
});
