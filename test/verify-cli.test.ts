import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactSign, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correctValue } from '../src/answers/corrections.js';
import { approve, currentAnswers } from '../src/answers/review.js';
import { getRound, type Round } from '../src/answers/rounds.js';
import { answerBundle, verifyBundle, type AnswerBundle } from '../src/board/export/bundle.js';
import { verifyFile } from '../src/cli/commands/export.js';
import { deliverySettings, UsageError } from '../src/cli/context.js';
import { verifyPresentation } from '../src/exchange/credentials/index.js';
import { runDeliveryRound } from '../src/exchange/delivery-round.js';
import { loadOrCreateSigningKey, rotateSigningKey } from '../src/exchange/keys.js';
import { createTrust } from '../src/exchange/trust/index.js';
import type { Trust } from '../src/exchange/types.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { boardFixture, PROFILE, type BoardFixture } from './board-fixture.js';
import { runCli, tempDir } from './helpers.js';

/**
 * The signed answer bundle from answers the board really approved and the outbox really delivered to
 * the KIK-starter simulator (which checked each JWS itself), across a key rotation: the first delivery
 * is signed with a key that is retired by the time the bundle is made.
 */

let f: BoardFixture;
let round: Round;
let trust: Trust;
let bundle: AnswerBundle;
const sims: KikStarterSim[] = [];
const board = { name: 'b.bestuur', role: 'board' as const };

async function deliverTo(): Promise<KikStarterSim> {
  const sim = await startKikStarterSim({ did: f.cfg.delivery.kikStarter.did, agentDid: f.cfg.agent.did, agentJwks: await trust.jwks() });
  sims.push(sim);
  f.cfg.delivery.kikStarter = { ...f.cfg.delivery.kikStarter, endpoint: sim.endpoint };
  const r = await runDeliveryRound({ db: f.db, trust, cfg: f.cfg, settings: deliverySettings(f.cfg) }, { actor: 'test' });
  expect(r.outcomes.length).toBeGreaterThan(0);
  for (const o of r.outcomes) expect(o, JSON.stringify(o)).toMatchObject({ status: 'delivered' });
  return sim;
}

const clone = (): AnswerBundle => JSON.parse(JSON.stringify(bundle)) as AnswerBundle;

beforeAll(async () => {
  f = await boardFixture();
  round = getRound(f.cfg, f.db, `${PROFILE}/2023`);
  await loadOrCreateSigningKey(f.cfg.trust.keysDir!);
  trust = createTrust(f.cfg, { verifyPresentation });
  approve(f.cfg, f.db, round, 'all', board);
  const first = await deliverTo();
  expect(first.accepted().length).toBe(currentAnswers(f.db, round).length);
  // A new key, then a correction approved and delivered with it: the first messages' key is retired.
  await rotateSigningKey(f.cfg.trust.keysDir!, { retentionDays: 30 });
  const loc = currentAnswers(f.db, round).find((a) => a.indicator_id === 'ps-1.2')!;
  const indeling = (JSON.parse(loc.result) as { results: { bindings: Array<{ indeling: { value: string } }> } }).results.bindings[0]!.indeling.value;
  correctValue(f.cfg, f.db, round, 'ps-1.2', indeling, { teller: '17.25', justification: 'Inhuur via payroll ontbrak in de export.' }, { name: 'q.kwaliteit', role: 'quality' });
  approve(f.cfg, f.db, round, 'all', board);
  const second = await deliverTo();
  expect(second.accepted()).toHaveLength(1);
  bundle = await answerBundle(f.cfg, f.db, trust, round);
}, 120_000);

afterAll(async () => {
  for (const s of sims) await s.close();
  f?.db.close();
});

describe('answer bundle', () => {
  it('holds every delivered message, signed by the current and a retired key, and verifies offline', async () => {
    const n = currentAnswers(f.db, round).length;
    expect(bundle.messages).toHaveLength(n + 1);
    expect(bundle.messages.every((m) => m.status === 'delivered')).toBe(true);
    const kids = new Set(bundle.messages.map((m) => JSON.parse(Buffer.from(m.jws.split('.')[0]!, 'base64url').toString()).kid as string));
    expect(kids.size).toBe(2);
    expect(bundle.jwks.keys.map((k) => k.kid).sort()).toEqual([...kids].sort());
    const v = await verifyBundle(bundle);
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, checked: n + 1 });
    // The superseded (corrected) answer's delivery is in the bundle too, with its own content.
    expect(bundle.answers).toHaveLength(n + 1);
  });

  it('fails a tampered payload, naming the message and the key', async () => {
    const b = clone();
    const m = b.messages[3]!;
    const [h, p, s] = m.jws.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { resultset: Array<{ result: { results: { bindings: Array<Record<string, { value: string }>> } } }> };
    const binding = payload.resultset[0]!.result.results.bindings[0]!;
    binding.teller = { ...binding.teller!, value: '999' };
    m.jws = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    m.message.body.response = m.jws;
    const v = await verifyBundle(b);
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([expect.stringMatching(new RegExp(`^message ${m.messageId}: the signature does not verify with key \\S+`))]);
    expect(v.messages.filter((x) => !x.ok).map((x) => x.messageId)).toEqual([m.messageId]);
  });

  it('fails a signed result that is not the recorded answer, and an answer whose content was changed', async () => {
    // Re-signed with a key the bundle trusts, but the result is not what the answer recorded.
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const b = clone();
    const m = b.messages[0]!;
    const payload = JSON.parse(Buffer.from(m.jws.split('.')[1]!, 'base64url').toString()) as { resultset: Array<{ id: string; result: unknown }> };
    (payload.resultset[0]!.result as { head: { vars: string[] } }).head.vars.push('extra');
    m.jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256', kid: 'auditor-test' }).sign(privateKey);
    m.message.body.response = m.jws;
    b.jwks.keys.push({ ...(await exportJWK(publicKey)), kid: 'auditor-test', alg: 'ES256' } as JWK);
    const v = await verifyBundle(b);
    expect(v.problems).toContain(`message ${m.messageId}: the signed result does not match the recorded content of answer ${m.answerIds[0]} (${b.answers.find((a) => a.id === m.answerIds[0])!.indicator})`);
    expect(v.problems).toContain(`message ${m.messageId}: signed result ${payload.resultset[0]!.id} is not the recorded content of any answer this message carries`);

    const c = clone();
    const a = c.answers.find((x) => x.id === c.messages[1]!.answerIds[0])!;
    a.content.result = a.content.result.replace(/"value":"(\d+)"/, '"value":"1$1"');
    const w = await verifyBundle(c);
    expect(w.ok).toBe(false);
    expect(w.problems.some((p) => p.startsWith(`message ${c.messages[1]!.messageId}: answer ${a.id} (${a.indicator}): its content hashes to `) && p.includes(`not the recorded content hash ${a.contentHash}`))).toBe(true);
  });

  it('fails when the signing key is missing from the JWKS or the kid names another key', async () => {
    const removed = clone();
    const retiredKid = bundle.jwks.keys[1]!.kid!;
    removed.jwks.keys = removed.jwks.keys.filter((k) => k.kid !== retiredKid);
    const v = await verifyBundle(removed);
    const failed = v.messages.filter((m) => !m.ok);
    expect(failed).toHaveLength(currentAnswers(f.db, round).length);
    expect(failed[0]!.problems[0]).toBe(`message ${failed[0]!.messageId}: signed with key ${retiredKid}, which is not in the bundle's JWKS (it has ${bundle.jwks.keys[0]!.kid})`);

    // The kid names a key the bundle has, but a different one than signed: the signature fails.
    const wrong = clone();
    const [current, retired] = wrong.jwks.keys;
    wrong.jwks.keys = [{ ...retired!, kid: current!.kid }, { ...current!, kid: retired!.kid }];
    const w = await verifyBundle(wrong);
    expect(w.messages.every((m) => !m.ok)).toBe(true);
    expect(w.problems.every((p) => /^message \S+: the signature does not verify with key \S+ \(/.test(p))).toBe(true);
  });

  it('kikv verify prints OK per message and exits 0; FAILED and exit 1 for a broken bundle; 2 for a file that is not a bundle', async () => {
    const dir = tempDir('kikv-verify-');
    const good = join(dir, 'bundle.json');
    const made = await runCli(['--config', f.file, 'export', 'bundle', '--round', round.id, '--out', good]);
    expect(made.stderr).toContain(good);
    expect(made.code).toBe(0);
    const written = JSON.parse(readFileSync(good, 'utf8')) as AnswerBundle;
    expect(written.messages.map((m) => m.messageId)).toEqual(bundle.messages.map((m) => m.messageId));
    const ok = await runCli(['verify', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.split('\n').filter((l) => l.startsWith('OK '))).toHaveLength(bundle.messages.length);
    expect(ok.stdout).toContain(`all ${bundle.messages.length} signed messages verify`);

    const bad = clone();
    bad.jwks.keys = bad.jwks.keys.slice(0, 1);
    const badFile = join(dir, 'bad.json');
    writeFileSync(badFile, JSON.stringify(bad));
    const failed = await runCli(['verify', badFile]);
    expect(failed.code).toBe(1);
    expect(failed.stdout.split('\n').filter((l) => l.startsWith('FAILED '))).toHaveLength(bundle.messages.length - 1);
    expect(failed.stdout).toContain("which is not in the bundle's JWKS");

    // A file that is not a bundle is a usage error (exit 2), not a failed verification.
    writeFileSync(join(dir, 'not.json'), 'hello');
    await expect(verifyFile(join(dir, 'not.json'))).rejects.toThrow(UsageError);
    await expect(verifyFile(join(dir, 'not.json'))).rejects.toThrow(/not\.json is not JSON/);
    await expect(verifyFile(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json does not exist/);
    expect((await verifyFile(good)).ok).toBe(true);
  }, 60_000);
});
