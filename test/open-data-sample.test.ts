/**
 * The "done when": the open-data CSV of the sample provider (the embedded config/sample that
 * `npm start` imports) has one row per item and location with the documented columns.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentAnswers } from '../src/answers/review.js';
import { getRound } from '../src/answers/rounds.js';
import { OPEN_DATA_COLUMNS, openDataCsv } from '../src/board/export/open-data-csv.js';
import { providerOfSnapshot } from '../src/board/provider.js';
import { loadConfig } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/schema.js';
import { openDb, type Db } from '../src/db/open.js';
import { loadPack } from '../src/indicators/pack.js';
import { runProfile } from '../src/indicators/run-profile.js';
import { importSource } from '../src/pipeline/import.js';
import { writeConfig } from './helpers.js';

const PROFILE = 'zorginstituut-verpleeghuiszorg';
/** The columns of Zorginstituut's open-data template, in order (research/kikv-ontology-indicators.md). */
const DOCUMENTED =
  'IndicatorsetNaam;IndicatorsetCode;Verslagjaar;OrganisatieNaam;KvkNummer;OrganisatieAGBCode;LocatieNaam;Vestigingsnummer;LocatiePostcode;LocatieHuisnummer;LocatiePlaats;LocatieAGBcode;TypeZorgaanbieder;Thema;IndicatorCode;IndicatorSorteernummer;IndicatorNummer;IndicatorNaam;IndicatorEenheid;IndicatorWaarde;Teller;Noemer;Indicator_nvt;Opmerking;IndicatorTypeNaam;Bron;MeetperiodeBeginDatum;MeetperiodeEindDatum;Aanleverfrequentie';

/** The open-data file as Excel and csv-parse read it: semicolons, RFC 4180 quoting, CRLF. */
function parseCsv(text: string): string[][] {
  return parse(text, { delimiter: ';', record_delimiter: '\r\n', relax_column_count: true }) as string[][];
}

describe('open-data CSV of the embedded sample provider', () => {
  let cfg: AgentConfig;
  let db: Db;

  beforeAll(async () => {
    cfg = loadConfig(writeConfig().file);
    db = openDb(cfg.storage.dataDir);
    await importSource(cfg, db, 'test');
    await runProfile(cfg, db, { year: 2023, actor: 'test' });
  }, 180_000);
  afterAll(() => db?.close());

  it('has one row per item and location (and the organisation where the item has it) with the documented columns', async () => {
    expect(OPEN_DATA_COLUMNS.join(';')).toBe(DOCUMENTED);
    const round = getRound(cfg, db, `${PROFILE}/2023`);
    const text = await openDataCsv(cfg, db, round);
    const rows = parseCsv(text.replace(/^\uFEFF/, ''));
    expect(rows[0]!.join(';')).toBe(DOCUMENTED);
    const data = rows.slice(1);
    const col = (name: string) => rows[0]!.indexOf(name);
    const provider = await providerOfSnapshot(cfg, db, currentAnswers(db, round)[0]!.snapshot_hash);
    const locations = provider.locations.map((l) => l.vestigingsnummer);
    expect(locations.length).toBeGreaterThan(1);
    const pack = loadPack(cfg.indicators.packs, round.profile, round.version);
    const expected = pack.manifest.indicators.flatMap((i) => [...(i.level.includes('location') ? locations : []), ...(i.level.includes('organisation') ? ['Concernniveau'] : [])].map((where) => `${i.inid}|${i.number}|${where}`));
    const got = data.map((r) => {
      expect(r).toHaveLength(DOCUMENTED.split(';').length);
      return `${r[col('IndicatorCode')]}|${r[col('IndicatorNummer')]}|${r[col('Vestigingsnummer')] || r[col('LocatieNaam')]}`;
    });
    expect(got.sort()).toEqual(expected.sort());
    for (const r of data) {
      expect(r[col('Verslagjaar')]).toBe('2023');
      expect(r[col('KvkNummer')]).toBe(provider.organisation.kvk);
      expect(r[col('IndicatorCode')]).toMatch(/^INID\d+$/);
      // A value, or marked not applicable with a remark saying why: never an empty, unexplained row.
      if (r[col('IndicatorWaarde')] === '') expect([r[col('Indicator_nvt')], r[col('Opmerking')] !== '']).toEqual(['1', true]);
      else expect(r[col('Indicator_nvt')]).toBe('0');
    }
  });
});
