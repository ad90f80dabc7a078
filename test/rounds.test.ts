import { afterEach, describe, expect, it } from 'vitest';
import { recordAnswer } from '../src/answers/answers.js';
import { daysToDeadline, getRound, listRounds, roundOfAnswer, roundPhase, RoundError } from '../src/answers/rounds.js';
import { loadConfig } from '../src/config/load.js';
import { openDb, type Db } from '../src/db/open.js';
import type { IndicatorDef } from '../src/indicators/pack.js';
import { rewriteConfig } from './exchange-agent.js';
import { writeConfig } from './helpers.js';

const PROFILE = 'zorginstituut-verpleeghuiszorg';
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function agent(windows: unknown[]) {
  const c = writeConfig();
  const base = loadConfig(c.file);
  rewriteConfig(c.file, { delivery: { ...base.delivery, windows } });
  const cfg = loadConfig(c.file);
  const db = openDb(cfg.storage.dataDir);
  dbs.push(db);
  return { cfg, db };
}

function answerFor(db: Db, year: number) {
  db.prepare(`INSERT OR IGNORE INTO snapshots VALUES ('s', '2024-01-01', 1, 'test', '3.0.0', 'r.json', 1, 1, 0)`).run();
  const indicator = { id: 'x', number: '1', name: 'x' } as IndicatorDef;
  recordAnswer(db, { indicator, parameters: {}, queryHash: `q${year}`, results: { head: { vars: [] }, results: { bindings: [] } } }, { profile: PROFILE, version: '2023.1.0', year, snapshotHash: 's', actor: 'test' });
}

describe('delivery rounds', () => {
  it('takes the pack window for its reporting year, shifted for other years, in Europe/Amsterdam', () => {
    const { cfg, db } = agent([]);
    answerFor(db, 2022);
    answerFor(db, 2024);
    const rounds = listRounds(cfg, db);
    expect(rounds.map((r) => r.id)).toEqual([`${PROFILE}/2024`, `${PROFILE}/2023`, `${PROFILE}/2022`]);
    const r2023 = getRound(cfg, db, `${PROFILE}/2023`);
    expect(r2023).toMatchObject({ profile: PROFILE, version: '2023.1.0', year: 2023, opens: '2024-01-08T00:00:00+01:00', closes: '2024-06-24T23:59:00+02:00', timeZone: 'Europe/Amsterdam' });
    // Shifted by whole years in wall time: 23:59 stays 23:59 (summer time) and 00:00 stays 00:00 (winter time).
    expect(getRound(cfg, db, `${PROFILE}/2022`)).toMatchObject({ opens: '2023-01-08T00:00:00+01:00', closes: '2023-06-24T23:59:00+02:00' });
    expect(getRound(cfg, db, `${PROFILE}/2024`)).toMatchObject({ opens: '2025-01-08T00:00:00+01:00', closes: '2025-06-24T23:59:00+02:00' });
    expect(roundOfAnswer(cfg, { profile: PROFILE, reporting_year: 2021 })).toMatchObject({ id: `${PROFILE}/2021`, closes: '2022-06-24T23:59:00+02:00' });
    expect(roundOfAnswer(cfg, { profile: 'p', reporting_year: 2023 })).toBeUndefined();
  });

  it('takes a configured window over the pack one, for that profile and year only', () => {
    const { cfg, db } = agent([{ profile: PROFILE, year: 2023, opens: '2024-02-01T00:00:00+01:00', closes: '2024-07-15T12:00:00Z' }]);
    answerFor(db, 2022);
    expect(getRound(cfg, db, `${PROFILE}/2023`)).toMatchObject({ opens: '2024-02-01T00:00:00+01:00', closes: '2024-07-15T14:00:00+02:00' });
    expect(getRound(cfg, db, `${PROFILE}/2022`)).toMatchObject({ opens: '2023-01-08T00:00:00+01:00' });
  });

  it('refuses an unknown round with 404 naming the rounds there are', () => {
    const { cfg, db } = agent([]);
    const e = (() => {
      try {
        getRound(cfg, db, `${PROFILE}/1999`);
      } catch (err) {
        return err as RoundError;
      }
    })();
    expect(e).toBeInstanceOf(RoundError);
    expect(e!.status).toBe(404);
    expect(e!.message).toContain(`${PROFILE}/2023`);
  });

  it('phases: upcoming before it opens, open through the deadline minute, locked after', () => {
    const { cfg, db } = agent([]);
    const r = getRound(cfg, db, `${PROFILE}/2023`);
    expect(roundPhase(r, new Date('2024-01-07T22:59:59Z'))).toBe('upcoming');
    expect(roundPhase(r, new Date('2024-01-07T23:00:00Z'))).toBe('open');
    expect(roundPhase(r, new Date('2024-06-24T21:59:00Z'))).toBe('open');
    expect(roundPhase(r, new Date('2024-06-24T21:59:01Z'))).toBe('locked');
  });

  it('counts days to the deadline in calendar days of Europe/Amsterdam, across DST', () => {
    const { cfg, db } = agent([]);
    const r = getRound(cfg, db, `${PROFILE}/2023`);
    // 00:30 on 24 June in Amsterdam is still 23 June in UTC: the deadline is today.
    expect(daysToDeadline(r, new Date('2024-06-23T22:30:00Z'))).toBe(0);
    expect(daysToDeadline(r, new Date('2024-06-23T21:30:00Z'))).toBe(1);
    // 00:30 on 31 March (the night summer time starts) in Amsterdam is 30 March in UTC.
    expect(daysToDeadline(r, new Date('2024-03-30T23:30:00Z'))).toBe(85);
    expect(daysToDeadline(r, new Date('2024-03-30T22:30:00Z'))).toBe(86);
    expect(daysToDeadline(r, new Date('2024-06-25T10:00:00Z'))).toBe(-1);
  });
});
