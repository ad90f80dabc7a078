/**
 * The board's pages in a real browser: Debian's chromium driven by playwright-core, against the
 * agent's real HTTP server on loopback, with the KIK-starter simulator receiving what is approved.
 * Covers the "done when" list: log in; open a round; read a location's overview; enter a
 * manual item; correct a value with a justification; approve (password asked again) and see it
 * delivered; a viewer cannot approve; a form post without the CSRF token is refused; after the
 * deadline the round is locked. Screenshots of the overview and the approval page are saved in
 * test-artifacts/browser/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAnswers } from '../src/answers/answers.js';
import { currentAnswers, roundIndelingen } from '../src/answers/review.js';
import { getRound } from '../src/answers/rounds.js';
import { listAudit } from '../src/audit/log.js';
import { addUser } from '../src/auth/users.js';
import { verifyPresentation } from '../src/exchange/credentials/index.js';
import { loadOrCreateSigningKey } from '../src/exchange/keys.js';
import { createTrust } from '../src/exchange/trust/index.js';
import { loadPack } from '../src/indicators/pack.js';
import { buildAgentServer } from '../src/server/app.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { boardFixture, PROFILE, windowFor, type BoardFixture } from './board-fixture.js';
import { ROOT } from './helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser');
const PASSWORD = 'een-lang-wachtwoord-2024';

describe('the board in a browser', () => {
  let fx: BoardFixture;
  let app: FastifyInstance;
  let base: string;
  let sim: KikStarterSim;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Anything the browser refused under the pages' Content Security Policy (there must be nothing). */
  const cspViolations: string[] = [];

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('chromium is not installed: `apt-get install chromium` (.ci/run does this)');
    mkdirSync(ARTIFACTS, { recursive: true });
    // 2023 is open now; 2022's deadline passed yesterday.
    fx = await boardFixture({ previousYear: true, windows: [windowFor(2023, 'open'), windowFor(2022, 'locked')] });
    await loadOrCreateSigningKey(fx.cfg.trust.keysDir);
    const trust = createTrust(fx.cfg, { verifyPresentation });
    sim = await startKikStarterSim({ did: fx.cfg.delivery.kikStarter.did, agentDid: fx.cfg.agent.did, agentJwks: await trust.jwks() });
    const cfg = { ...fx.cfg, delivery: { ...fx.cfg.delivery, kikStarter: { ...fx.cfg.delivery.kikStarter, endpoint: sim.endpoint } } };
    await addUser(fx.db, 'kwaliteit', 'quality', PASSWORD, 'test');
    await addUser(fx.db, 'bestuurder', 'board', PASSWORD, 'test');
    await addUser(fx.db, 'kijker', 'viewer', PASSWORD, 'test');
    app = (await buildAgentServer({ db: fx.db, cfg, trust })).app;
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await sim?.close();
    fx?.db.close();
  });

  async function loggedIn(name: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'nl-NL' });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
    });
    await page.goto(`${base}/`);
    // Not logged in: the home page sends us to the login form.
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByLabel('Naam').fill(name);
    await page.getByLabel('Wachtwoord').fill(PASSWORD);
    await page.getByRole('button', { name: 'Inloggen' }).click();
    await page.waitForURL(`${base}/`);
    return page;
  }

  const round2023 = () => `/rondes/${PROFILE}/2023`;

  it('quality logs in, opens the round and reads the overview of a location', async () => {
    const page = await loggedIn('kwaliteit');
    await page.getByTestId(`round-${PROFILE}/2023`).getByRole('link').click();
    await page.waitForURL(`${base}${round2023()}`);
    expect(await page.getByTestId('round-phase').textContent()).toBe('open');
    const round = getRound(fx.cfg, fx.db, `${PROFILE}/2023`);
    const first = roundIndelingen(fx.db, round)[0]!;
    expect(first).toMatch(/^\d{12}$/);
    await page.goto(`${base}${round2023()}/${first}`);
    await expect.poll(() => page.locator('h1').textContent()).toContain('Prestatieoverzicht');
    // Both sets, with values, teller and noemer, the previous year and a trend chart.
    await page.getByTestId('set-personeelssamenstelling').waitFor();
    await page.getByTestId('set-basisveiligheid').waitFor();
    const rows = await page.locator('[data-testid^="item-"]').count();
    const pack = loadPack(fx.cfg.indicators.packs, PROFILE, '2023.1.0');
    expect(rows).toBe(pack.manifest.indicators.filter((i) => i.level.includes('location')).length);
    expect(await page.locator('svg.trend').count()).toBeGreaterThan(0);
    expect(await page.locator('td', { hasText: '(2022)' }).count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'prestatieoverzicht.png'), fullPage: true });
    // Readable on a tablet: the same page at 820 px wide, the first screen of it.
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.screenshot({ path: join(ARTIFACTS, 'prestatieoverzicht-tablet.png') });
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(820);
  });

  it('quality enters a manual item, and corrects a computed value with a justification', async () => {
    const page = await loggedIn('kwaliteit');
    const round = getRound(fx.cfg, fx.db, `${PROFILE}/2023`);
    const first = roundIndelingen(fx.db, round)[0]!;
    const pack = loadPack(fx.cfg.indicators.packs, PROFILE, '2023.1.0');
    const yesNo = pack.manifest.indicators.find((i) => i.manual && i.unit === 'yes/no' && i.level.includes('location'))!;
    await page.goto(`${base}${round2023()}/${first}`);
    await page.locator(`[id="manual-value-${yesNo.id}"]`).selectOption('ja');
    await page.locator(`[id="manual-save-${yesNo.id}"]`).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('opgeslagen');
    expect(await page.getByTestId(`value-${yesNo.id}`).textContent()).toContain('ja');
    expect(await page.getByTestId(`item-${yesNo.id}`).textContent()).toContain('ingevoerd door kwaliteit');

    // A computed percentage with a value: open "Corrigeren", give the new teller and noemer (the value
    // is computed from them, so the three never disagree) and the reason.
    const computed = pack.manifest.indicators.find((i) => !i.manual && i.unit === 'percentage' && i.level.includes('location'))!;
    const before = (await page.getByTestId(`value-${computed.id}`).textContent())!.trim();
    const row = page.getByTestId(`item-${computed.id}`);
    await row.getByText('Corrigeren').click();
    await page.locator(`[id="correction-teller-${computed.id}"]`).fill('1');
    await page.locator(`[id="correction-noemer-${computed.id}"]`).fill('8');
    await page.locator(`[id="correction-justification-${computed.id}"]`).fill('Twee cliënten zijn dubbel geteld in het ECD; nageteld op de afdeling.');
    await page.locator(`[id="correction-save-${computed.id}"]`).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('correctie');
    expect(await page.getByTestId(`value-${computed.id}`).textContent()).toContain('12,5');
    const corrected = await page.getByTestId(`item-${computed.id}`).textContent();
    expect(corrected).toContain('gecorrigeerd');
    expect(corrected).toContain(`oorspronkelijk ${before.replace(/\s*%$/, '')}`);
    expect(corrected).toContain('dubbel geteld');
    expect(listAudit(fx.db).some((e) => e.action === 'answer.corrected' && e.actor === 'kwaliteit')).toBe(true);
  });

  it('a form post without the CSRF token is refused', async () => {
    const page = await loggedIn('kwaliteit');
    const res = await page.request.post(`${base}${round2023()}/klaarzetten`, { form: { indeling: 'all' }, maxRedirects: 0 });
    expect(res.status()).toBe(403);
    expect(await res.text()).toMatch(/CSRF/i);
    expect(listAudit(fx.db).some((e) => e.action === 'review.prepared')).toBe(false);
  });

  it('a viewer reads the round but cannot approve', async () => {
    const page = await loggedIn('kijker');
    await page.goto(`${base}${round2023()}`);
    expect(await page.locator('#approve-all').count()).toBe(0);
    await page.goto(`${base}${round2023()}/alle/goedkeuren`);
    expect(await page.locator('#approve-form').count()).toBe(0);
    // Even with a valid session and CSRF token, the server refuses.
    const csrf = await page.locator('input[name="_csrf"]').first().getAttribute('value');
    const res = await page.request.post(`${base}${round2023()}/alle/goedkeuren`, { form: { _csrf: csrf!, password: PASSWORD, expectedHash: 'x' }, maxRedirects: 0 });
    expect(res.status()).toBe(403);
    expect(listAnswers(fx.db, 'approved')).toHaveLength(0);
  });

  it('the board approves everything with its password again and sees it delivered to the KIK-starter', async () => {
    const quality = await loggedIn('kwaliteit');
    await quality.goto(`${base}${round2023()}`);
    await quality.locator('#prepare-all').click();
    await expect.poll(() => quality.getByRole('status').first().textContent()).toContain('Klaargezet');

    const page = await loggedIn('bestuurder');
    await page.goto(`${base}${round2023()}`);
    await page.locator('#approve-all').click();
    await page.waitForURL(/\/alle\/goedkeuren/);
    await page.getByTestId(`content-Organisatie`).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'goedkeuren.png'), fullPage: true });
    await page.locator('#approve-form').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'goedkeuren-formulier.png') });

    // A wrong password approves nothing.
    await page.getByLabel('Wachtwoord (opnieuw)').fill('niet-het-goede-wachtwoord');
    await page.locator('#approve').click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/wachtwoord/i);
    expect(listAnswers(fx.db, 'approved').length + listAnswers(fx.db, 'delivered').length).toBe(0);

    await page.getByLabel('Wachtwoord (opnieuw)').fill(PASSWORD);
    await page.locator('#approve').click();
    await page.waitForURL(new RegExp(`${round2023()}\\?melding=goedgekeurd`));
    const round = getRound(fx.cfg, fx.db, `${PROFILE}/2023`);
    const sent = currentAnswers(fx.db, round);
    await expect.poll(() => sim.accepted().length, { timeout: 20_000 }).toBe(sent.length);
    await page.reload();
    expect(await page.getByTestId('delivery-summary').textContent()).toContain('afgeleverd');
    for (const a of sent) expect(listAnswers(fx.db).find((x) => x.id === a.id)?.status).toBe('delivered');
    const approvals = listAudit(fx.db).filter((e) => e.action === 'review.approved');
    expect(approvals.length).toBe(roundIndelingen(fx.db, round).length);
    expect(approvals.every((e) => e.actor === 'bestuurder')).toBe(true);
    expect(listAudit(fx.db).some((e) => e.action === 'user.confirm-failed' && e.actor === 'bestuurder')).toBe(true);
  });

  it('the API is documented at /docs, and the page works under the security headers', async () => {
    const page = await loggedIn('kijker');
    await page.goto(`${base}/docs`);
    await page.getByText('/api/rounds/{profile}/{year}/indelingen/{indeling}/approve').first().waitFor({ timeout: 20_000 });
    expect(cspViolations, cspViolations.join('\n')).toEqual([]);
  });

  it('after the deadline the round is locked: nothing can be approved', async () => {
    const page = await loggedIn('bestuurder');
    await page.goto(`${base}/rondes/${PROFILE}/2022`);
    await page.locator('#locked-banner').waitFor();
    expect(await page.getByTestId('round-phase').textContent()).toBe('gesloten');
    expect(await page.locator('#approve-all').count()).toBe(0);
    const csrf = await page.locator('input[name="_csrf"]').first().getAttribute('value');
    const res = await page.request.post(`${base}/rondes/${PROFILE}/2022/alle/goedkeuren`, { form: { _csrf: csrf!, password: PASSWORD, expectedHash: 'x' }, maxRedirects: 0 });
    expect(res.status()).toBe(409);
    expect(listAnswers(fx.db).filter((a) => a.reporting_year === 2022 && a.status !== 'awaiting_approval')).toHaveLength(0);
    expect(cspViolations, cspViolations.join('\n')).toEqual([]);
  });
});
