import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAnswer, listAnswers, recordAnswer } from '../src/answers/answers.js';
import type { IndicatorDef } from '../src/indicators/pack.js';
import { approve, currentAnswers, deliveryStateOf, indelingContent, indelingReview, prepare, reject, roundContentHash, roundIndelingen, roundSummary, type Actor } from '../src/answers/review.js';
import { getRound } from '../src/answers/rounds.js';
import { listAudit } from '../src/audit/log.js';
import type { AgentConfig } from '../src/config/schema.js';
import { verifyPresentation } from '../src/exchange/credentials/index.js';
import { runDeliveryRound } from '../src/exchange/delivery-round.js';
import { jwksOf, loadOrCreateSigningKey } from '../src/exchange/keys.js';
import { createTrust } from '../src/exchange/trust/index.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { boardFixture, PROFILE, refusal, windowFor, type BoardFixture } from './board-fixture.js';
import { runCli } from './helpers.js';

const alice: Actor = { name: 'alice', role: 'quality' };
const quinn: Actor = { name: 'quinn', role: 'quality' };
const bob: Actor = { name: 'bob', role: 'board' };
const bea: Actor = { name: 'bea', role: 'board' };
const vera: Actor = { name: 'vera', role: 'viewer' };

/** The KIK-starter simulator as the configured delivery.kikStarter, and a delivery round against it. */
async function receiver(f: BoardFixture): Promise<{ sim: KikStarterSim; deliver: (o?: { windowsAt?: Date }) => ReturnType<typeof runDeliveryRound>; messages: Array<Record<string, unknown>> }> {
  const key = await loadOrCreateSigningKey(f.cfg.trust.mode === 'standalone' ? f.cfg.trust.keysDir : '');
  const messages: Array<Record<string, unknown>> = [];
  const sim = await startKikStarterSim({ did: f.cfg.delivery.kikStarter.did, agentDid: f.cfg.agent.did, agentJwks: jwksOf(key), beforeHandle: async (m) => void messages.push(m as Record<string, unknown>) });
  const cfg: AgentConfig = { ...f.cfg, delivery: { ...f.cfg.delivery, kikStarter: { ...f.cfg.delivery.kikStarter, endpoint: sim.endpoint } } };
  const trust = createTrust(cfg, { verifyPresentation });
  const settings = { from: cfg.agent.did, kikStarter: cfg.delivery.kikStarter, retry: cfg.delivery.retry, timeoutMs: 5000 };
  return { sim, messages, deliver: (o = {}) => runDeliveryRound({ db: f.db, trust, cfg, settings }, { actor: 'test', ...o }) };
}

describe('review without four-eyes', () => {
  let f: BoardFixture;
  let sim: KikStarterSim;
  let deliver: Awaited<ReturnType<typeof receiver>>['deliver'];
  beforeAll(async () => {
    f = await boardFixture({ board: { fourEyes: false } });
    ({ sim, deliver } = await receiver(f));
  }, 60_000);
  afterAll(async () => {
    await sim?.close();
    f?.db.close();
  });
  const round = () => getRound(f.cfg, f.db, `${PROFILE}/2023`);

  it('shows per location exactly the rows that would be sent, with a hash over them', () => {
    const answers = currentAnswers(f.db, round());
    expect(answers.length).toBeGreaterThan(10);
    expect(new Set(answers.map((a) => a.indicator_id)).size).toBe(answers.length);
    const indelingen = roundIndelingen(f.db, round());
    expect(indelingen).toHaveLength(3);
    expect(indelingen[0]).toMatch(/^\d{12}$/);
    expect(indelingen[2]).toBe('Organisatie');
    const c = indelingContent(f.db, round(), indelingen[0]!);
    expect(c.rows.length).toBeGreaterThan(0);
    expect(c.rows.every((r) => r.row.indeling === indelingen[0])).toBe(true);
    expect(indelingContent(f.db, round(), indelingen[1]!).hash).not.toBe(c.hash);
    expect(indelingReview(f.cfg, f.db, round(), indelingen[0]!)).toMatchObject({ state: 'to-prepare', hash: c.hash, steps: [] });
  });

  it('checks roles inside: a viewer or quality cannot approve, the board cannot prepare', () => {
    const [loc] = roundIndelingen(f.db, round());
    const viewer = refusal(() => approve(f.cfg, f.db, round(), loc!, vera));
    expect(viewer.status).toBe(403);
    expect(viewer.message).toContain('board role');
    expect(refusal(() => approve(f.cfg, f.db, round(), loc!, alice)).message).toMatch(/needs the board role; alice has the quality role/);
    expect(refusal(() => prepare(f.cfg, f.db, round(), loc!, bob)).message).toMatch(/needs the quality role/);
    expect(refusal(() => reject(f.cfg, f.db, round(), loc!, alice, 'not right at all')).status).toBe(403);
    expect(refusal(() => reject(f.cfg, f.db, round(), loc!, bob, '  ')).status).toBe(400);
    expect(refusal(() => approve(f.cfg, f.db, round(), '999999999999', bob)).status).toBe(404);
    expect(f.db.prepare('SELECT COUNT(*) AS n FROM review_steps').get()).toEqual({ n: 0 });
  });

  it('refuses an approval of content that changed since the page was opened', () => {
    const [loc] = roundIndelingen(f.db, round());
    const e = refusal(() => approve(f.cfg, f.db, round(), loc!, bob, { expectedHash: 'a'.repeat(64) }));
    expect(e.status).toBe(409);
    expect(e.message).toBe('the answer changed since you opened the page; reload and review again');
    expect(refusal(() => approve(f.cfg, f.db, round(), 'all', bob, { expectedHash: indelingContent(f.db, round(), loc!).hash })).status).toBe(409);
  });

  it('approves location by location; a rejection sends one back, and without four-eyes the board may approve it directly after', () => {
    const [a, b] = roundIndelingen(f.db, round());
    const hash = indelingContent(f.db, round(), a!).hash;
    const { steps, approvedAnswers } = approve(f.cfg, f.db, round(), a!, bob, { expectedHash: hash });
    expect(steps).toMatchObject([{ indeling: a, action: 'approved', actor: 'bob', role: 'board', content_hash: hash }]);
    expect(approvedAnswers).toEqual([]);
    expect(listAnswers(f.db, 'approved')).toHaveLength(0);
    expect(indelingReview(f.cfg, f.db, round(), a!).state).toBe('approved');
    expect(refusal(() => approve(f.cfg, f.db, round(), a!, bea)).status).toBe(409);

    reject(f.cfg, f.db, round(), b!, bob, 'the fall rate looks far too high');
    const rb = indelingReview(f.cfg, f.db, round(), b!);
    expect(rb.state).toBe('rejected');
    expect(rb.valid.rejected?.reason).toBe('the fall rate looks far too high');
    approve(f.cfg, f.db, round(), b!, bob);
    expect(indelingReview(f.cfg, f.db, round(), b!).state).toBe('approved');

    const audit = listAudit(f.db).filter((e) => e.action.startsWith('review.'));
    expect(audit.map((e) => e.action)).toEqual(['review.approved', 'review.rejected', 'review.approved']);
    const d = JSON.parse(audit[0]!.details) as Record<string, unknown>;
    expect(d).toMatchObject({ round: `${PROFILE}/2023`, indeling: a, contentHash: hash });
    expect((d.answers as string[]).length).toBe(indelingContent(f.db, round(), a!).rows.length);
  });

  it('the last approval approves every answer, and the next delivery round sends them to the consumer', async () => {
    const r = round();
    expect(roundSummary(f.cfg, f.db, r).indelingen.map((i) => i.state)).toEqual(['approved', 'approved', 'to-prepare']);
    // A consumer's request for a query the pack does not ship: stored under the round's profile,
    // version and year, but on no approval page, so the board's approval of the round never covers it.
    const asked = recordAnswer(
      f.db,
      { indicator: { id: 'query:abc', number: '', name: 'credentialed query abc' } as IndicatorDef, parameters: {}, queryHash: 'f'.repeat(64), results: { head: { vars: ['aantal'] }, results: { bindings: [{ aantal: { type: 'literal', value: '3' } }] } } },
      { profile: r.profile, version: r.version, year: r.year, snapshotHash: currentAnswers(f.db, r)[0]!.snapshot_hash, actor: 'test' },
    ).answer;
    expect(currentAnswers(f.db, r).map((a) => a.id)).not.toContain(asked.id);
    const waiting = currentAnswers(f.db, r).filter((a) => a.status === 'awaiting_approval');
    const { approvedAnswers } = approve(f.cfg, f.db, r, 'Organisatie', bob);
    expect(approvedAnswers.map((a) => a.id).sort()).toEqual(waiting.map((a) => a.id).sort());
    expect(getAnswer(f.db, asked.id).status).toBe('awaiting_approval');
    // Exactly the answers the board's approval steps list, nothing more.
    const listed = new Set((f.db.prepare(`SELECT answers FROM review_steps WHERE action = 'approved'`).all() as Array<{ answers: string }>).flatMap((x) => (JSON.parse(x.answers) as Array<{ id: string }>).map((c) => c.id)));
    expect(approvedAnswers.every((a) => listed.has(a.id))).toBe(true);
    expect(approvedAnswers.every((a) => a.status === 'approved' && a.decided_by === 'bob' && a.approved_hash === a.content_hash)).toBe(true);
    expect(deliveryStateOf(f.cfg, f.db, approvedAnswers[0]!.id)).toEqual({ state: 'queued' });

    const out = await deliver();
    expect(out.answers).toHaveLength(approvedAnswers.length);
    expect(out.outcomes.every((o) => o.status === 'delivered')).toBe(true);
    expect(sim.accepted()).toHaveLength(approvedAnswers.length);
    const state = deliveryStateOf(f.cfg, f.db, approvedAnswers[0]!.id);
    expect(state).toMatchObject({ state: 'delivered', attempts: 1, retriesLeft: f.cfg.delivery.retry.maxAttempts - 1, lastError: null });
    expect(getAnswer(f.db, approvedAnswers[0]!.id).status).toBe('delivered');
    const summary = roundSummary(f.cfg, f.db, r);
    expect(summary.indelingen.map((i) => i.state)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(summary.answers.delivered).toBe(approvedAnswers.length);
    expect(refusal(() => reject(f.cfg, f.db, r, 'all', bob, 'too late to reject this')).status).toBe(409);
  });
});

describe('review with four-eyes', () => {
  let f: BoardFixture;
  beforeAll(async () => {
    f = await boardFixture({ board: { fourEyes: true } });
  }, 60_000);
  afterAll(() => f?.db.close());
  const round = () => getRound(f.cfg, f.db, `${PROFILE}/2023`);

  it('needs a preparation by someone else, after the latest rejection', () => {
    const [a, b] = roundIndelingen(f.db, round());
    const unprepared = refusal(() => approve(f.cfg, f.db, round(), a!, bob));
    expect(unprepared.status).toBe(403);
    expect(unprepared.message).toContain('four-eyes');
    prepare(f.cfg, f.db, round(), a!, alice);
    expect(indelingReview(f.cfg, f.db, round(), a!).state).toBe('prepared');
    expect(refusal(() => prepare(f.cfg, f.db, round(), a!, quinn)).status).toBe(409);
    // The same person cannot be both eyes, whatever role they act in.
    expect(refusal(() => approve(f.cfg, f.db, round(), a!, { name: 'alice', role: 'board' })).message).toMatch(/alice prepared .* another person must approve/);
    approve(f.cfg, f.db, round(), a!, bob);
    expect(indelingReview(f.cfg, f.db, round(), a!).state).toBe('approved');

    prepare(f.cfg, f.db, round(), b!, alice);
    reject(f.cfg, f.db, round(), b!, bea, 'staff numbers missing for March');
    expect(indelingReview(f.cfg, f.db, round(), b!).state).toBe('rejected');
    expect(refusal(() => approve(f.cfg, f.db, round(), b!, bob)).message).toContain('after the latest rejection');
    prepare(f.cfg, f.db, round(), b!, quinn);
    approve(f.cfg, f.db, round(), b!, bob);
    expect(indelingReview(f.cfg, f.db, round(), b!).state).toBe('approved');
    expect(listAnswers(f.db, 'approved')).toHaveLength(0);
  });

  it('prepares and approves all remaining locations at once', () => {
    const r = round();
    const steps = prepare(f.cfg, f.db, r, 'all', alice);
    expect(steps.map((s) => s.indeling)).toEqual(['Organisatie']);
    const before = roundContentHash(f.db, r);
    const { steps: approved, approvedAnswers } = approve(f.cfg, f.db, r, 'all', bea, { expectedHash: before });
    expect(approved.map((s) => s.indeling)).toEqual(['Organisatie']);
    expect(approvedAnswers.length).toBe(currentAnswers(f.db, r).length);
    expect(listAnswers(f.db, 'awaiting_approval')).toHaveLength(0);
    expect(roundSummary(f.cfg, f.db, r).indelingen.every((i) => i.state === 'approved')).toBe(true);
  });
});

describe('a locked round', () => {
  let f: BoardFixture;
  beforeAll(async () => {
    f = await boardFixture({ windows: [windowFor(2023, 'locked')] });
  }, 60_000);
  afterAll(() => f?.db.close());

  it('refuses every review action with 409 naming the closed deadline', () => {
    const r = getRound(f.cfg, f.db, `${PROFILE}/2023`);
    for (const act of [() => prepare(f.cfg, f.db, r, 'all', alice), () => approve(f.cfg, f.db, r, 'all', bob), () => reject(f.cfg, f.db, r, 'all', bob, 'a good enough reason')]) {
      const e = refusal(act);
      expect(e.status).toBe(409);
      expect(e.message).toContain('is locked');
      expect(e.message).toContain(r.closes);
    }
    expect(roundSummary(f.cfg, f.db, r)).toMatchObject({ phase: 'locked', reminder: false });
    expect(f.db.prepare('SELECT COUNT(*) AS n FROM review_steps').get()).toEqual({ n: 0 });
  });

  it('`kikv answers approve` refuses a round item (naming the board page and API) and still approves a request-only answer', async () => {
    const r = getRound(f.cfg, f.db, `${PROFILE}/2023`);
    const item = currentAnswers(f.db, r)[0]!;
    const refused = await runCli(['answers', 'approve', item.id, '--as', 'R. van Bestuur', '--no-deliver', '--config', f.file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`is item ${item.indicator_id} of round ${r.id}`);
    expect(refused.stderr).toContain(`/rondes/${PROFILE}/2023`);
    expect(refused.stderr).toContain(`POST /api/rounds/${PROFILE}/2023/indelingen/INDELING/approve`);
    expect(getAnswer(f.db, item.id).status).toBe('awaiting_approval');

    const asked = recordAnswer(
      f.db,
      { indicator: { id: 'query:def', number: '', name: 'credentialed query def' } as IndicatorDef, parameters: {}, queryHash: 'e'.repeat(64), results: { head: { vars: ['aantal'] }, results: { bindings: [{ aantal: { type: 'literal', value: '4' } }] } } },
      { profile: r.profile, version: r.version, year: r.year, snapshotHash: item.snapshot_hash, actor: 'test' },
    ).answer;
    const ok = await runCli(['answers', 'approve', asked.id, '--as', 'R. van Bestuur', '--no-deliver', '--config', f.file]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(getAnswer(f.db, asked.id)).toMatchObject({ status: 'approved', decided_by: 'R. van Bestuur' });
  }, 30_000);
});
