import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAnswer, resultOf, supersessionOf, type Answer } from '../src/answers/answers.js';
import { correctValue, enterManual } from '../src/answers/corrections.js';
import { approve, currentAnswers, deliveryStateOf, indelingContent, indelingReview, roundIndelingen, type Actor } from '../src/answers/review.js';
import { getRound } from '../src/answers/rounds.js';
import { listAudit } from '../src/audit/log.js';
import type { AgentConfig } from '../src/config/schema.js';
import { verifyPresentation } from '../src/exchange/credentials/index.js';
import { runDeliveryRound } from '../src/exchange/delivery-round.js';
import { jwksOf, loadOrCreateSigningKey } from '../src/exchange/keys.js';
import { createTrust } from '../src/exchange/trust/index.js';
import { canonicalDecimal, ratio } from '../src/indicators/item-rows.js';
import { loadPack } from '../src/indicators/pack.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { boardFixture, PROFILE, refusal, type BoardFixture } from './board-fixture.js';

const alice: Actor = { name: 'alice', role: 'quality' };
const bob: Actor = { name: 'bob', role: 'board' };

const rowOf = (a: Answer, indeling: string) => resultOf(a).results.bindings.find((b) => b.indeling?.value === indeling)!;

describe('corrections and manual entries', () => {
  let f: BoardFixture;
  let sim: KikStarterSim;
  let deliver: () => ReturnType<typeof runDeliveryRound>;
  const messages: Array<{ id: string; thid: string; body: Record<string, unknown> }> = [];
  beforeAll(async () => {
    f = await boardFixture();
    const key = await loadOrCreateSigningKey(f.cfg.trust.mode === 'standalone' ? f.cfg.trust.keysDir : '');
    sim = await startKikStarterSim({ did: f.cfg.delivery.kikStarter.did, agentDid: f.cfg.agent.did, agentJwks: jwksOf(key), beforeHandle: async (m) => void messages.push(m as (typeof messages)[number]) });
    const cfg: AgentConfig = { ...f.cfg, delivery: { ...f.cfg.delivery, kikStarter: { ...f.cfg.delivery.kikStarter, endpoint: sim.endpoint } } };
    const settings = { from: cfg.agent.did, kikStarter: cfg.delivery.kikStarter, retry: cfg.delivery.retry, timeoutMs: 5000 };
    const trust = createTrust(cfg, { verifyPresentation });
    deliver = () => runDeliveryRound({ db: f.db, trust, cfg, settings }, { actor: 'test' });
  }, 60_000);
  afterAll(async () => {
    await sim?.close();
    f?.db.close();
  });
  const round = () => getRound(f.cfg, f.db, `${PROFILE}/2023`);
  /** A computed percentage item with a value for the first location. */
  const target = () => {
    const loc = roundIndelingen(f.db, round())[0]!;
    const a = currentAnswers(f.db, round()).find((x) => (JSON.parse(x.metadata!) as { item: { unit: string } }).item.unit === 'percentage' && x.engine !== 'manual' && rowOf(x, loc)?.waarde)!;
    return { loc, answer: a };
  };
  /** What `kikv run` would compute for this teller and noemer of the item (percentage: × 100, the item's decimals). */
  const percentOf = (itemId: string, teller: string, noemer: string) => {
    const item = loadPack(f.cfg.indicators.packs, PROFILE, round().version).manifest.indicators.find((i) => i.id === itemId)!;
    return ratio(teller, noemer, 100, item.decimals ?? 2);
  };

  it('checks the justification, the value by the item\'s unit, teller and noemer, and who corrects', () => {
    const { loc, answer } = target();
    const fix = (input: Partial<{ value: string; teller: string; noemer: string; justification: string }>, actor = alice) => () =>
      correctValue(f.cfg, f.db, round(), answer.indicator_id, loc, { value: '12.5', justification: 'the export missed two falls in March', ...input }, actor);
    const short = refusal(fix({ justification: 'typo' }));
    expect(short.status).toBe(400);
    expect(short.message).toMatch(/^justification: .*at least 10 characters/);
    expect(refusal(fix({ value: '140' })).message).toMatch(/^value: .*not a percentage between 0 and 100/);
    expect(refusal(fix({ value: 'veel' })).message).toMatch(/^value: .*not a number/);
    expect(refusal(fix({ teller: '-1' })).message).toMatch(/^teller: .*at least 0/);
    expect(refusal(fix({ noemer: '1e3' })).message).toMatch(/^noemer: /);
    expect(refusal(fix({}, bob)).status).toBe(403);
    // Teller, noemer and value never disagree: a row with a teller is corrected through teller and noemer.
    const valueOnly = refusal(fix({}));
    expect(valueOnly.status).toBe(400);
    expect(valueOnly.message).toMatch(/^teller: this row has a teller and noemer, from which its value is computed/);
    const mismatch = refusal(fix({ value: '1', teller: '1', noemer: '4' }));
    expect(mismatch.message).toBe(`value: 1 does not match teller 1 and noemer 4, which give ${percentOf(answer.indicator_id, '1', '4')}; leave the value empty or give ${percentOf(answer.indicator_id, '1', '4')}`);
    expect(refusal(fix({ teller: '1', noemer: '0' })).message).toBe('noemer: a noemer of 0 gives no value; leave the row not computable or give the real noemer');
    expect(refusal(fix({ teller: '1', noemer: '0.0' })).status).toBe(400);
    expect(refusal(fix({ value: '-5' })).message).toMatch(/^value: /);
    expect(refusal(fix({ noemer: '-4', teller: '1' })).message).toMatch(/^noemer: .*at least 0/);
    expect(refusal(fix({ teller: '5', noemer: '4' })).message).toMatch(/^teller: 5 of 4 gives .*more than 100/);
    const manualItem = loadPack(f.cfg.indicators.packs, PROFILE, round().version).manifest.indicators.find((i) => i.manual)!;
    expect(refusal(() => correctValue(f.cfg, f.db, round(), manualItem.id, loc, { value: 'ja', justification: 'the export missed two falls' }, alice)).message).toMatch(/manual item: enter a new value/);
    expect(getAnswer(f.db, answer.id).status).toBe('awaiting_approval');
    expect(supersessionOf(f.db, answer.id)).toBeUndefined();
  });

  it('a correction before approval is a new answer that supersedes the old one at once and asks for a new review', () => {
    const { loc, answer } = target();
    approve(f.cfg, f.db, round(), loc, bob);
    expect(indelingReview(f.cfg, f.db, round(), loc).state).toBe('approved');
    const before = rowOf(answer, loc);
    const fixed = correctValue(f.cfg, f.db, round(), answer.indicator_id, loc, { value: '12,5', teller: '5', noemer: '40', justification: 'two falls were registered on paper only' }, alice);
    const pct = percentOf(answer.indicator_id, '5', '40');
    expect(canonicalDecimal(pct)).toBe('12.5');
    expect(fixed.id).not.toBe(answer.id);
    expect(fixed.status).toBe('awaiting_approval');
    expect(fixed.thread_id).toBe(answer.thread_id);
    // The value sent is the one computed from teller and noemer, rounded as `kikv run` rounds.
    expect(rowOf(fixed, loc)).toMatchObject({ waarde: { value: pct }, teller: { value: '5' }, noemer: { value: '40' } });
    const meta = JSON.parse(fixed.metadata!) as { supersedes: string; overrides: Array<Record<string, unknown>> };
    expect(meta.supersedes).toBe(answer.id);
    expect(meta.overrides).toEqual([
      expect.objectContaining({ indeling: loc, value: pct, teller: '5', noemer: '40', by: 'alice', corrects: answer.id, justification: 'two falls were registered on paper only', original: { value: before.waarde!.value, teller: before.teller?.value ?? null, noemer: before.noemer?.value ?? null, notComputable: null } }),
    ]);
    // Other locations keep their values.
    for (const other of roundIndelingen(f.db, round()).filter((i) => i !== loc)) expect(rowOf(fixed, other)).toEqual(rowOf(answer, other));
    expect(supersessionOf(f.db, answer.id)).toMatchObject({ superseded_by: fixed.id, kind: 'correction', actor: 'alice' });
    expect(currentAnswers(f.db, round()).find((a) => a.indicator_id === answer.indicator_id)!.id).toBe(fixed.id);
    expect(indelingReview(f.cfg, f.db, round(), loc).state).toBe('to-prepare');
    expect(deliveryStateOf(f.cfg, f.db, answer.id).state).toBe('superseded');
    const audit = listAudit(f.db).find((e) => e.action === 'answer.corrected' && e.subject === fixed.id)!;
    expect(JSON.parse(audit.details)).toMatchObject({ corrects: answer.id, indeling: loc, value: pct, justification: 'two falls were registered on paper only' });
    // A second correction builds on the first: both overrides are kept.
    // Only the teller changes: the noemer stays, and the value follows.
    const again = correctValue(f.cfg, f.db, round(), answer.indicator_id, loc, { teller: '6', justification: 'one more fall found in the paper log' }, alice);
    expect(rowOf(again, loc)).toMatchObject({ waarde: { value: percentOf(answer.indicator_id, '6', '40') }, teller: { value: '6' }, noemer: { value: '40' } });
    expect((JSON.parse(again.metadata!) as { overrides: unknown[] }).overrides).toHaveLength(2);
    expect(supersessionOf(f.db, fixed.id)?.kind).toBe('correction');
    expect(refusal(() => correctValue(f.cfg, f.db, round(), answer.indicator_id, loc, { teller: '6', noemer: '40', justification: 'one more fall found in the paper log' }, alice)).message).toContain('nothing to correct');
  });

  it('manual items are entered per location by quality or the board, validated by unit, and rebuild the item\'s answer', () => {
    const pack = loadPack(f.cfg.indicators.packs, PROFILE, round().version);
    const item = pack.manifest.indicators.find((i) => i.manual && i.unit === 'yes/no' && i.level.includes('location'))!;
    const [a, b] = roundIndelingen(f.db, round());
    expect(() => enterManual(f.cfg, f.db, round(), item.id, a!, 'misschien', alice)).toThrow(/^value: .*not ja\/nee/);
    expect(refusal(() => enterManual(f.cfg, f.db, round(), item.id, a!, 'ja', { name: 'vera', role: 'viewer' })).status).toBe(403);
    const first = enterManual(f.cfg, f.db, round(), item.id, a!, 'Ja', alice);
    expect(first.entry).toMatchObject({ item_id: item.id, indeling: a, value: 'ja', entered_by: 'alice' });
    expect(rowOf(first.answer!, a!).waarde?.value).toBe('ja');
    const second = enterManual(f.cfg, f.db, round(), item.id, b!, 'nee', bob);
    expect(second.answer!.id).not.toBe(first.answer!.id);
    expect(rowOf(second.answer!, a!).waarde?.value).toBe('ja');
    expect(rowOf(second.answer!, b!).waarde?.value).toBe('nee');
    expect(supersessionOf(f.db, first.answer!.id)).toMatchObject({ superseded_by: second.answer!.id, kind: 'recomputed' });
    expect(currentAnswers(f.db, round()).find((x) => x.indicator_id === item.id)!.id).toBe(second.answer!.id);
  });

  it('a correction after delivery, approved before the deadline, is delivered again and says which message it supersedes', async () => {
    const approved = approve(f.cfg, f.db, round(), 'all', bob).approvedAnswers;
    expect(approved.length).toBe(currentAnswers(f.db, round()).length);
    await deliver();
    const { loc, answer } = target();
    expect(getAnswer(f.db, answer.id).status).toBe('delivered');
    const firstMessage = deliveryStateOf(f.cfg, f.db, answer.id).messageId!;
    expect(messages.some((m) => m.id === firstMessage)).toBe(true);

    const fixed = correctValue(f.cfg, f.db, round(), answer.indicator_id, loc, { teller: '7', noemer: '200', justification: 'the noemer counted a closed ward' }, alice);
    // Delivered and not yet replaced: the consumer keeps the first until the board approves the correction.
    expect(supersessionOf(f.db, answer.id)).toBeUndefined();
    expect(deliveryStateOf(f.cfg, f.db, fixed.id)).toEqual({ state: 'not-approved' });
    const before = messages.length;
    expect((await deliver()).answers).toHaveLength(0);
    expect(messages.length).toBe(before);

    const { approvedAnswers } = approve(f.cfg, f.db, round(), 'all', bob, {});
    expect(approvedAnswers.map((a) => a.id)).toEqual([fixed.id]);
    expect(supersessionOf(f.db, answer.id)).toMatchObject({ superseded_by: fixed.id, kind: 'redelivered', actor: 'bob' });
    const out = await deliver();
    expect(out.outcomes).toMatchObject([{ answerId: fixed.id, status: 'delivered' }]);
    const sent = messages.at(-1)!;
    expect(sent.thid).toBe(answer.thread_id);
    expect(sent.body.supersedes).toBe(firstMessage);
    expect(sim.accepted().at(-1)!.resultset![0]!.result.results.bindings.find((b) => b.indeling?.value === loc)!.waarde!.value).toBe(percentOf(answer.indicator_id, '7', '200'));
    expect(deliveryStateOf(f.cfg, f.db, answer.id)).toMatchObject({ state: 'superseded', messageId: firstMessage });
    expect(deliveryStateOf(f.cfg, f.db, fixed.id)).toMatchObject({ state: 'delivered' });
    expect(indelingContent(f.db, round(), loc).rows.find((r) => r.item === answer.indicator_id)!.answerId).toBe(fixed.id);
  });
});
