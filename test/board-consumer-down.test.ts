/**
 * Approval while the KIK-starter is down: the approval answers without waiting for the consumer, the
 * answers stay queued in the outbox, and the round page says the delivery failed with retries left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAnswers } from '../src/answers/answers.js';
import { roundContentHash } from '../src/answers/review.js';
import { getRound } from '../src/answers/rounds.js';
import { PROFILE } from './board-fixture.js';
import { Client, PASSWORD, startBoardServer, USERS, type BoardServer } from './board-http.js';

describe('approving while the consumer is down', () => {
  let s: BoardServer;
  beforeAll(async () => {
    s = await startBoardServer();
    // Nothing listens on port 9: every delivery attempt fails at once.
    s.cfg.delivery.kikStarter.endpoint = 'http://127.0.0.1:9/didcomm';
  }, 120_000);
  afterAll(async () => s?.close());

  it('approves, keeps every answer in the outbox, and shows "mislukt, nog N pogingen" on the round page', async () => {
    const board = new Client(s.url);
    await board.loginApi(USERS.board);
    const round = getRound(s.cfg, s.db, `${PROFILE}/2023`);
    const res = await board.json('POST', `/api/rounds/${PROFILE}/2023/indelingen/all/approve`, { password: PASSWORD, expectedHash: roundContentHash(s.db, round) });
    expect(res.status, await res.clone().text()).toBe(200);
    const approved = listAnswers(s.db, 'approved');
    expect(approved.length).toBeGreaterThan(10);
    expect(listAnswers(s.db, 'delivered')).toHaveLength(0);
    const pending = s.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' AND attempts = 1 AND last_error IS NOT NULL").get() as { n: number };
    expect(pending.n).toBe(approved.length);
    const page = await (await board.fetch(`/rondes/${PROFILE}/2023`)).text();
    const retries = s.cfg.delivery.retry.maxAttempts - 1;
    expect(page).toContain(`mislukt, nog ${retries} pogingen</span> ${approved.length} items`);
    const api = (await (await board.json('GET', `/api/rounds/${PROFILE}/2023`)).json()) as { deliveries: Array<{ state: { state: string; retriesLeft: number; lastError: string } }> };
    for (const d of api.deliveries) expect(d.state).toMatchObject({ state: 'queued', retriesLeft: retries });
    expect(api.deliveries.every((d) => /127\.0\.0\.1:9|ECONNREFUSED|fetch failed/.test(d.state.lastError))).toBe(true);
  });
});
