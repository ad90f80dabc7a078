import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultOf, type Answer } from '../src/answers/answers.js';
import { correctValue, enterManual } from '../src/answers/corrections.js';
import { currentAnswers } from '../src/answers/review.js';
import { getRound, RoundError, type Round } from '../src/answers/rounds.js';
import { decimalChange, locationOverview, roundOverviews, type LocationOverview } from '../src/board/overview.js';
import { providerOfSnapshot } from '../src/board/provider.js';
import { loadPack } from '../src/indicators/pack.js';
import type { ProcessingReport } from '../src/report/types.js';
import { boardFixture, PROFILE, type BoardFixture } from './board-fixture.js';

let f: BoardFixture;
let round: Round;
let overviews: LocationOverview[];

const sourceDir = () => (f.cfg.sources.staging as unknown as { directory: string }).directory;
const rowOf = (a: Answer, indeling: string) => resultOf(a).results.bindings.find((b) => b.indeling?.value === indeling);

beforeAll(async () => {
  f = await boardFixture({ previousYear: true });
  round = getRound(f.cfg, f.db, `${PROFILE}/2023`);
  overviews = await roundOverviews(f.cfg, f.db, round);
}, 120_000);

afterAll(() => f?.db.close());

describe('provider info from the snapshot', () => {
  it('names the organisation and each location with its address, as the source data has them', async () => {
    const p = await providerOfSnapshot(f.cfg, f.db, overviews[0]!.snapshot!);
    const orgCsv = readFileSync(`${sourceDir()}/organisation.csv`, 'utf8');
    expect(orgCsv).toContain(p.organisation.kvk);
    expect(orgCsv).toContain(p.organisation.name);
    expect(p.organisation.kvk).toMatch(/^\d{8}$/);
    expect(p.locations).toHaveLength(2);
    const locCsv = readFileSync(`${sourceDir()}/locations.csv`, 'utf8');
    for (const l of p.locations) {
      expect(l.vestigingsnummer).toMatch(/^\d{12}$/);
      expect(locCsv).toContain(l.vestigingsnummer);
      expect(locCsv).toContain(l.name);
      expect(l.postcode).toMatch(/^\d{4} ?[A-Z]{2}$/);
      expect(locCsv).toContain(l.postcode!);
      expect(locCsv).toContain(l.plaats!);
    }
    // Cached per snapshot: the same object comes back.
    expect(await providerOfSnapshot(f.cfg, f.db, overviews[0]!.snapshot!)).toBe(p);
  });
});

describe('the performance overview', () => {
  it('has every location, then the organisation, each with every item of both sets that has its level, in manifest order', () => {
    const pack = loadPack(f.cfg.indicators.packs, round.profile, round.version);
    expect(overviews.map((o) => o.indeling)).toEqual([...overviews.slice(0, 2).map((o) => o.indeling).sort(), 'Organisatie']);
    for (const o of overviews) {
      const level = o.indeling === 'Organisatie' ? 'organisation' : 'location';
      expect(o.items.map((i) => i.item.id)).toEqual(pack.manifest.indicators.filter((i) => i.level.includes(level)).map((i) => i.id));
      expect(new Set(o.items.map((i) => i.item.set))).toEqual(new Set(['Basisveiligheid', 'Personeelssamenstelling']));
      expect(o.organisation.kvk).toMatch(/^\d{8}$/);
    }
    // Location-only items (the manual "gekozen voor leren en verbeteren" ones) are not on the organisation page.
    expect(overviews[2]!.items.find((i) => i.item.id === 'bv-1.1a')).toBeUndefined();
    expect(overviews[0]!.name).not.toBe(overviews[0]!.indeling);
  });

  it('shows exactly the current answer\'s row, its provenance, and the previous year with an exact change', () => {
    const current = new Map(currentAnswers(f.db, round).map((a) => [a.indicator_id, a]));
    const previous = new Map(currentAnswers(f.db, { ...round, id: `${PROFILE}/2022`, year: 2022 }).map((a) => [a.indicator_id, a]));
    let withChange = 0;
    for (const o of overviews) {
      for (const it of o.items.filter((i) => !i.item.manual)) {
        const a = current.get(it.item.id)!;
        const row = rowOf(a, o.indeling)!;
        expect(it.answerId).toBe(a.id);
        expect(it.value).toBe(row.waarde?.value ?? null);
        expect(it.teller).toBe(row.teller?.value ?? null);
        expect(it.noemer).toBe(row.noemer?.value ?? null);
        expect(it.notComputable).toBe(row.niet_berekenbaar?.value);
        expect(it.provenance).toEqual({ profile: a.profile, profileVersion: a.profile_version, queryHash: a.query_hash, snapshotHash: a.snapshot_hash, engine: a.engine, ontologyVersion: a.ontology_version, computedAt: a.created_at, contentHash: a.content_hash });
        const prevValue = rowOf(previous.get(it.item.id)!, o.indeling)?.waarde?.value ?? null;
        expect(it.previous).toEqual({ year: 2022, value: prevValue });
        expect(it.trend.map((t) => t.year)).toEqual([2022, 2023]);
        expect(it.trend[1]!.value).toBe(it.value === null ? null : Number(it.value));
        if (it.value !== null && prevValue !== null) {
          withChange++;
          expect(it.change).toMatch(/^[+-]?\d+(\.\d+)?$/);
          expect(Number(it.change)).toBeCloseTo(Number(it.value) - Number(prevValue), 9);
        } else expect(it.change).toBeUndefined();
        expect(it.item.definition).toContain(it.item.inid);
      }
    }
    expect(withChange).toBeGreaterThan(20);
  });

  it('computes the change in exact decimals, never through floating point', () => {
    expect(decimalChange('0.30', '0.10')).toBe('+0.20');
    expect(decimalChange('-1.5', '2.25')).toBe('-3.75');
    expect(decimalChange('12.00', '12')).toBe('0.00');
    expect(decimalChange('100000000000000000001', '1')).toBe('+100000000000000000000');
    expect(decimalChange('ja', '1')).toBeUndefined();
  });

  it('marks manual items awaiting entry, then shows who entered them', async () => {
    const loc = overviews[0]!;
    const before = loc.items.find((i) => i.item.id === 'bv-1.1a')!;
    expect(before.awaitingEntry).toBe(true);
    expect(before.value).toBeNull();
    enterManual(f.cfg, f.db, round, 'bv-1.1a', loc.indeling, 'ja', { name: 'q.kwaliteit', role: 'quality' });
    const after = (await locationOverview(f.cfg, f.db, round, loc.indeling)).items.find((i) => i.item.id === 'bv-1.1a')!;
    expect(after.awaitingEntry).toBeUndefined();
    expect(after.value).toBe('ja');
    expect(after.manualEntry?.enteredBy).toBe('q.kwaliteit');
    expect(Date.parse(after.manualEntry!.enteredAt)).toBeGreaterThan(Date.now() - 60_000);
    // The other location still waits.
    const other = (await locationOverview(f.cfg, f.db, round, overviews[1]!.indeling)).items.find((i) => i.item.id === 'bv-1.1a')!;
    expect(other.awaitingEntry).toBe(true);
  });

  it('shows a correction with the original value, the justification and who made it', async () => {
    const loc = overviews[1]!;
    const item = loc.items.find((i) => i.item.id === 'ps-1.2' && i.value !== null)!;
    expect(item).toBeDefined();
    correctValue(f.cfg, f.db, round, 'ps-1.2', loc.indeling, { teller: '85', noemer: '2', justification: 'Uitzendkrachten van december ontbraken in de export.' }, { name: 'q.kwaliteit', role: 'quality' });
    const after = (await locationOverview(f.cfg, f.db, round, loc.indeling)).items.find((i) => i.item.id === 'ps-1.2')!;
    // The value follows teller and noemer, at the item's two decimals.
    expect(after.value).toBe('42.50');
    expect(after.override).toMatchObject({ original: { value: item.value, teller: item.teller, noemer: item.noemer }, justification: 'Uitzendkrachten van december ontbraken in de export.', by: 'q.kwaliteit' });
    expect(after.answerId).not.toBe(item.answerId);
    expect(after.change).toBe(decimalChange('42.50', after.previous!.value!));
    // The other location's row of the same item is not overridden.
    const other = (await locationOverview(f.cfg, f.db, round, overviews[0]!.indeling)).items.find((i) => i.item.id === 'ps-1.2')!;
    expect(other.override).toBeUndefined();
  });

  it('carries the processing report\'s warnings to the items they name', async () => {
    const item = overviews[0]!.items.find((i) => i.item.id === 'ps-3.1')!;
    const file = (f.db.prepare('SELECT report_file FROM snapshots WHERE hash = ?').get(item.provenance!.snapshotHash) as { report_file: string }).report_file;
    const report = JSON.parse(readFileSync(file, 'utf8')) as ProcessingReport;
    report.missing.push({ indicator: 'ps-3.1', year: 2023, message: '3.1 cannot be computed for 2023: no absence periods in 2023-01-01 – 2023-12-31' });
    report.missing.push({ indicator: 'ps-3.1', year: 2022, message: 'about another year' });
    writeFileSync(file, JSON.stringify(report));
    const again = await roundOverviews(f.cfg, f.db, round);
    for (const o of again) {
      for (const it of o.items) {
        if (it.item.id === 'ps-3.1') expect(it.warnings).toEqual(['3.1 cannot be computed for 2023: no absence periods in 2023-01-01 – 2023-12-31']);
        else expect(it.warnings).toEqual([]);
      }
    }
  });

  it('refuses an indeling the round does not have, naming the ones it has', async () => {
    const e = await locationOverview(f.cfg, f.db, round, '123456789012').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RoundError);
    expect((e as RoundError).status).toBe(404);
    expect((e as Error).message).toContain(overviews[0]!.indeling);
    expect((e as Error).message).toContain('Organisatie');
  });
});
