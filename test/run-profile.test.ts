import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAnswers, resultOf } from '../src/answers/answers.js';
import { enterManualValue, manualValues } from '../src/answers/manual.js';
import { loadConfig } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/schema.js';
import { openDb, type Db } from '../src/db/open.js';
import { queryKey, type EngineMatrix } from '../src/engines/routing.js';
import { loadPack } from '../src/indicators/pack.js';
import { runProfile, snapshotVestigingen } from '../src/indicators/run-profile.js';
import { importSource } from '../src/pipeline/import.js';
import { DEFAULT_SAMPLE, writeSample } from '../src/sample/generate.js';
import { snapshotFile } from '../src/store/snapshot.js';
import { ROOT, tempDir, writeConfig } from './helpers.js';

/** A matrix proving one engine for every computed item of the pack as it is now (the routing test double). */
function matrixProving(engine: string, except: string[] = []): EngineMatrix {
  const pack = loadPack(join(ROOT, 'queries'), 'zorginstituut-verpleeghuiszorg', '2023.1.0');
  const queries: EngineMatrix['queries'] = {};
  for (const [id, q] of pack.queries) {
    if (except.includes(id)) continue;
    queries[queryKey(id, q.sha256)] = { id, kind: 'pack', sha256: q.sha256, engines: { [engine]: { verdict: 'same', providers: { sample: 'same' } } } };
  }
  return { version: 1, reference: 'jena', providers: ['sample'], engines: [engine], queries };
}

describe('kikv run: a whole profile on the sample provider', () => {
  let cfg: AgentConfig;
  let db: Db;
  let locations: string[];

  beforeAll(async () => {
    const source = tempDir('kikv-run-src-');
    await writeSample(DEFAULT_SAMPLE, source);
    const { file } = writeConfig({ source });
    cfg = loadConfig(file);
    cfg = { ...cfg, mapping: { ...cfg.mapping, validateUpTo: 0 } };
    db = openDb(cfg.storage.dataDir);
    const imported = await importSource(cfg, db, 'test');
    locations = await snapshotVestigingen(snapshotFile(cfg.storage.dataDir, imported.snapshot!.meta.hash));
  }, 120_000);
  afterAll(() => db?.close());

  it('finds the sample\'s locations in the snapshot', () => {
    expect(locations.length).toBe(DEFAULT_SAMPLE.locations);
    for (const l of locations) expect(l).toMatch(/^\d{12}$/);
  });

  it('computes every item per location and organisation, with teller, noemer and value or a reason, and stores answers with their provenance', async () => {
    const pack = loadPack(cfg.indicators.packs, 'zorginstituut-verpleeghuiszorg', '2023.1.0');
    const run = await runProfile(cfg, db, { year: 2023, actor: 'test', matrix: matrixProving('oxigraph') });
    expect(run.items.map((i) => i.item.id)).toEqual(pack.manifest.indicators.map((i) => i.id));
    for (const o of run.items) {
      if (o.item.manual) {
        expect(o.status).toBe('awaiting entry');
        continue;
      }
      expect(o.status, `${o.item.id}: ${o.error}`).toBe('computed');
      const main = o.rows.filter((r) => r.afdeling === undefined).map((r) => r.indeling);
      const want = [...(o.item.level.includes('location') ? locations : []), ...(o.item.level.includes('organisation') ? ['Organisatie'] : [])];
      expect(main).toEqual(want);
      for (const r of o.rows) {
        if (r.value === null) expect(r.notComputable, `${o.item.id} ${r.indeling}`).toMatch(/\w/);
        else expect(r.value).toMatch(/^-?\d+(\.\d+)?$/);
      }
    }
    const answers = listAnswers(db, 'awaiting_approval');
    const computed = run.items.filter((i) => i.status === 'computed');
    expect(answers.length).toBe(computed.length);
    const a = answers.find((x) => x.indicator_id === computed[0]!.item.id)!;
    expect(a.engine).toBe('oxigraph');
    expect(a.ontology_version).toBe('ONZ 3.0.0');
    expect(a.snapshot_hash).toBe(run.snapshot);
    expect(a.query_hash).toBe(pack.queries.get(a.indicator_id)!.sha256);
    expect(resultOf(a).head.vars).toEqual(['indeling', 'teller', 'noemer', 'waarde', 'niet_berekenbaar']);
    const meta = JSON.parse(a.metadata!) as { item: { inid: string } };
    expect(meta.item.inid).toMatch(/^INID\d+$/);

    // The same inputs give the same answers: nothing new is stored.
    const again = await runProfile(cfg, db, { year: 2023, actor: 'test', matrix: matrixProving('oxigraph') });
    expect(again.items.filter((i) => i.status === 'computed').every((i) => i.created === false)).toBe(true);
    expect(listAnswers(db, 'awaiting_approval').length).toBe(computed.length);
  }, 300_000);

  it('refuses an item no engine is proven for, and runs the others', async () => {
    const pack = loadPack(cfg.indicators.packs, 'zorginstituut-verpleeghuiszorg', '2023.1.0');
    const victim = [...pack.queries.keys()][0]!;
    const run = await runProfile(cfg, db, { year: 2023, actor: 'test', matrix: matrixProving('oxigraph', [victim]) });
    const o = run.items.find((i) => i.item.id === victim)!;
    expect(o.status).toBe('refused');
    expect(o.error).toContain('conformance:engines');
    expect(run.items.filter((i) => !i.item.manual && i.item.id !== victim).every((i) => i.status === 'computed')).toBe(true);
  }, 300_000);

  it('checks parameters against their shapes before any query runs', async () => {
    // A copy of the pack whose ps-1.1 period start is not a date: the run stops before any query.
    const packs = tempDir('kikv-bad-pack-');
    cpSync(join(ROOT, 'queries'), packs, { recursive: true });
    const file = join(packs, 'zorginstituut-verpleeghuiszorg/2023.1.0/ps-1-personeel.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('value: "{year}-01-01"', 'value: "{year}-13-01"'));
    const before = listAnswers(db).length;
    const bad = { ...cfg, indicators: { ...cfg.indicators, packs } };
    await expect(runProfile(bad, db, { year: 2023, actor: 'test', matrix: matrixProving('oxigraph') })).rejects.toThrow(/parameters of ps-1\.1 .* for 2023: \?start_periode = "2023-13-01" is not a calendar date/);
    expect(listAnswers(db).length).toBe(before);
  });

  it('includes manual items once entered, validated by their unit', async () => {
    const pack = loadPack(cfg.indicators.packs, 'zorginstituut-verpleeghuiszorg', '2023.1.0');
    const manual = pack.manifest.indicators.filter((i) => i.manual);
    if (manual.length === 0) return expect(manual.length, 'the pack declares manual items').toBeGreaterThan(0);
    const scope = { profile: 'zorginstituut-verpleeghuiszorg', version: '2023.1.0', year: 2023 };
    const url = manual.find((i) => i.unit === 'url');
    const yesNo = manual.find((i) => i.unit === 'yes/no');
    if (yesNo) {
      const where = yesNo.level.includes('location') ? locations[0]! : 'Organisatie';
      expect(() => enterManualValue(db, scope, yesNo, where, 'misschien', 'bestuurder', locations)).toThrow(/not ja\/nee/);
      enterManualValue(db, scope, yesNo, where, 'Ja', 'bestuurder', locations);
    }
    if (url) {
      const where = url.level.includes('location') ? locations[0]! : 'Organisatie';
      expect(() => enterManualValue(db, scope, url, where, 'kwaliteitsverslag', 'bestuurder', locations)).toThrow(/not a web address/);
      enterManualValue(db, scope, url, where, 'https://example.nl/kwaliteitsverslag-2023.pdf', 'bestuurder', locations);
    }
    expect(() => db.prepare('DELETE FROM manual_values').run()).toThrow(/kept/);
    expect(manualValues(db, scope).length).toBe((yesNo ? 1 : 0) + (url ? 1 : 0));
    const run = await runProfile(cfg, db, { year: 2023, actor: 'test', matrix: matrixProving('oxigraph') });
    for (const def of [yesNo, url].filter((d) => d !== undefined)) {
      const o = run.items.find((i) => i.item.id === def.id)!;
      expect(o.answerId, `${def.id} has an answer`).toBeTruthy();
      expect(o.rows.find((r) => r.value !== null)!.value).toBe(def.unit === 'yes/no' ? 'ja' : 'https://example.nl/kwaliteitsverslag-2023.pdf');
    }
  }, 300_000);
});
