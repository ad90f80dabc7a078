import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultOf } from '../src/answers/answers.js';
import { enterManual } from '../src/answers/corrections.js';
import { currentAnswers } from '../src/answers/review.js';
import { getRound, type Round } from '../src/answers/rounds.js';
import { openDataCsv } from '../src/board/export/open-data-csv.js';
import { overviewPdf, pdfSafe } from '../src/board/export/pdf.js';
import { roundOverviews } from '../src/board/overview.js';
import { providerOfSnapshot, type ProviderInfo } from '../src/board/provider.js';
import { loadPack, type ProfilePack } from '../src/indicators/pack.js';
import { boardFixture, PROFILE, type BoardFixture } from './board-fixture.js';
import { runCli, tempDir } from './helpers.js';

// The documented columns (research/kikv-ontology-indicators.md §4.4), written out here on purpose.
const HEADER = 'IndicatorsetNaam;IndicatorsetCode;Verslagjaar;OrganisatieNaam;KvkNummer;OrganisatieAGBCode;LocatieNaam;Vestigingsnummer;LocatiePostcode;LocatieHuisnummer;LocatiePlaats;LocatieAGBcode;TypeZorgaanbieder;Thema;IndicatorCode;IndicatorSorteernummer;IndicatorNummer;IndicatorNaam;IndicatorEenheid;IndicatorWaarde;Teller;Noemer;Indicator_nvt;Opmerking;IndicatorTypeNaam;Bron;MeetperiodeBeginDatum;MeetperiodeEindDatum;Aanleverfrequentie';

/** The open-data file as Excel and csv-parse read it: semicolons, RFC 4180 quoting, CRLF. */
function parseCsv(text: string): string[][] {
  return parse(text, { delimiter: ';', record_delimiter: '\r\n', relax_column_count: true }) as string[][];
}

/** The text pdfkit writes (uncompressed): hex strings in TJ arrays, WinAnsi (latin-1 for these names). */
function pdfText(pdf: Buffer): string {
  const s = pdf.toString('latin1');
  let out = '';
  for (const m of s.matchAll(/\[((?:<[0-9a-f]*>\s*-?[\d.]*\s*)+)\]\s*TJ/g)) {
    for (const h of m[1]!.matchAll(/<([0-9a-f]*)>/g)) out += Buffer.from(h[1]!, 'hex').toString('latin1');
    out += '\n';
  }
  return out;
}

let f: BoardFixture;
let round: Round;
let pack: ProfilePack;
let provider: ProviderInfo;

beforeAll(async () => {
  f = await boardFixture();
  round = getRound(f.cfg, f.db, `${PROFILE}/2023`);
  pack = loadPack(f.cfg.indicators.packs, round.profile, round.version);
  const snapshot = currentAnswers(f.db, round)[0]!.snapshot_hash;
  provider = await providerOfSnapshot(f.cfg, f.db, snapshot);
}, 120_000);

afterAll(() => f?.db.close());

describe('open-data CSV', () => {
  it('has the documented header, UTF-8 with BOM, and one row per item and location (and the organisation where the item has it)', async () => {
    const text = await openDataCsv(f.cfg, f.db, round);
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const rows = parseCsv(text.slice(1));
    expect(rows[0]!.join(';')).toBe(HEADER);
    const data = rows.slice(1);
    for (const r of data) expect(r).toHaveLength(29);
    const locations = provider.locations.map((l) => l.vestigingsnummer);
    expect(locations).toHaveLength(2);
    const expected = pack.manifest.indicators.reduce((n, i) => n + (i.level.includes('location') ? locations.length : 0) + (i.level.includes('organisation') ? 1 : 0), 0);
    expect(data).toHaveLength(expected);
    const col = (name: string) => HEADER.split(';').indexOf(name);
    const keys = data.map((r) => `${r[col('IndicatorCode')]}|${r[col('IndicatorNummer')]}|${r[col('Vestigingsnummer')] || r[col('LocatieNaam')]}`);
    expect(new Set(keys).size).toBe(data.length);
    for (const ind of pack.manifest.indicators) {
      for (const v of locations) expect(keys.includes(`${ind.inid}|${ind.number}|${v}`)).toBe(ind.level.includes('location'));
      expect(keys.includes(`${ind.inid}|${ind.number}|Concernniveau`)).toBe(ind.level.includes('organisation'));
    }
    for (const r of data) {
      expect(r[col('Verslagjaar')]).toBe('2023');
      expect(r[col('KvkNummer')]).toBe(provider.organisation.kvk);
      expect(r[col('OrganisatieNaam')]).toBe(provider.organisation.name);
      expect(['Getal', 'Percentage', 'JaNee', 'Tekst']).toContain(r[col('IndicatorEenheid')]);
      expect(r[col('Aanleverfrequentie')]).toBe('Jaarlijks');
      const loc = provider.locations.find((l) => l.vestigingsnummer === r[col('Vestigingsnummer')]);
      if (r[col('LocatieNaam')] === 'Concernniveau') expect(r[col('Vestigingsnummer')]).toBe('');
      else {
        expect(r[col('LocatieNaam')]).toBe(loc!.name);
        expect(r[col('LocatiePostcode')]).toBe(loc!.postcode);
        expect(r[col('LocatiePlaats')]).toBe(loc!.plaats);
      }
    }
    // Set codes, measurement period and values as the answers hold them (decimal comma).
    const bv = data.find((r) => r[col('IndicatorNummer')] === '1.1b' && r[col('Vestigingsnummer')] === locations[0])!;
    expect(bv[col('IndicatorsetCode')]).toBe('ISID000151');
    expect(bv[col('IndicatorsetNaam')]).toBe('Verpleeghuiszorg Basisveiligheid');
    expect([bv[col('MeetperiodeBeginDatum')], bv[col('MeetperiodeEindDatum')]]).toEqual(['2024-01-01', '2024-02-29']);
    const answer = currentAnswers(f.db, round).find((a) => a.indicator_id === 'bv-1.1b')!;
    const row = resultOf(answer).results.bindings.find((b) => b.indeling?.value === locations[0])!;
    expect(bv[col('IndicatorWaarde')]).toBe((row.waarde?.value ?? '').replace('.', ','));
    expect(bv[col('Teller')]).toBe(row.teller?.value ?? '');
    expect(bv[col('Noemer')]).toBe(row.noemer?.value ?? '');
    const ps = data.find((r) => r[col('IndicatorNummer')] === '1.2' && r[col('LocatieNaam')] === 'Concernniveau')!;
    expect(ps[col('IndicatorsetCode')]).toBe('ISID000160');
    expect(ps[col('IndicatorWaarde')]).toMatch(/^\d+,\d{2}$/);
    expect(ps[col('Indicator_nvt')]).toBe('0');
    // A manual item not entered yet: no value, marked not applicable with a remark.
    const manual = data.find((r) => r[col('IndicatorNummer')] === '1.1a')!;
    expect([manual[col('IndicatorWaarde')], manual[col('Indicator_nvt')]]).toEqual(['', '1']);
    expect(manual[col('Opmerking')]).not.toBe('');
  });

  it('quotes per RFC 4180 and writes entered text and yes/no values as the open data does', async () => {
    const loc = provider.locations[1]!.vestigingsnummer;
    const quality = { name: 'q.kwaliteit', role: 'quality' as const };
    const text = 'Wij gebruiken "domotica"; en sensoren\nop elke afdeling';
    enterManual(f.cfg, f.db, round, 'bv-4.2b', loc, text, quality);
    enterManual(f.cfg, f.db, round, 'bv-1.1a', loc, 'ja', quality);
    const csv = await openDataCsv(f.cfg, f.db, round);
    expect(csv).toContain('"Wij gebruiken ""domotica""; en sensoren\nop elke afdeling"');
    const rows = parseCsv(csv.slice(1));
    const col = (name: string) => HEADER.split(';').indexOf(name);
    const of = (nr: string) => rows.find((r) => r[col('IndicatorNummer')] === nr && r[col('Vestigingsnummer')] === loc)!;
    expect(of('4.2b')[col('IndicatorWaarde')]).toBe(text);
    expect(of('4.2b')[col('IndicatorEenheid')]).toBe('Tekst');
    expect(of('1.1a')[col('IndicatorWaarde')]).toBe('Ja');
    expect(of('1.1a')[col('Indicator_nvt')]).toBe('0');
    expect(rows.length - 1).toBe(pack.manifest.indicators.reduce((n, i) => n + (i.level.includes('location') ? 2 : 0) + (i.level.includes('organisation') ? 1 : 0), 0));
  });

  it('kikv export csv writes the same file; an unknown round is a usage error naming the rounds', async () => {
    const out = join(tempDir('kikv-export-'), 'open-data.csv');
    const ok = await runCli(['--config', f.file, 'export', 'csv', '--round', round.id, '--out', out]);
    expect(ok.stderr).toContain(out);
    expect(ok.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await openDataCsv(f.cfg, f.db, round));
    const bad = await runCli(['--config', f.file, 'export', 'pdf', '--round', `${PROFILE}/1999`, '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${PROFILE}/2023`);
  }, 60_000);
});

describe('overview PDF', () => {
  it('is an A4 PDF with a section per location, page numbers and the snapshot in the footer', async () => {
    const overviews = await roundOverviews(f.cfg, f.db, round);
    const pdf = await overviewPdf(overviews, { compress: false, now: new Date('2024-03-01T10:00:00Z') });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const raw = pdf.toString('latin1');
    const pages = Number(/\/Type \/Pages\s*\/Count (\d+)/.exec(raw)?.[1]);
    expect(pages).toBeGreaterThanOrEqual(overviews.length);
    expect(raw.match(/\/MediaBox \[0 0 595\.28 841\.89\]/g)).toHaveLength(pages);
    const text = pdfText(pdf);
    for (let p = 1; p <= pages; p++) expect(text).toContain(`Pagina ${p} van ${pages}`);
    expect(text).not.toContain(`Pagina ${pages + 1} van`);
    for (const l of provider.locations) {
      expect(text).toContain(`Prestatieoverzicht ${l.name}`);
      expect(text).toContain(`Vestigingsnummer: ${l.vestigingsnummer}`);
    }
    expect(text).toContain(`Prestatieoverzicht ${provider.organisation.name}`);
    expect(text).toContain(`Snapshot ${overviews[0]!.snapshot}`);
    expect(text).toContain('1 maart 2024');
    expect(text).toContain('Deadline:');
    // Values as a Dutch reader writes them: a percentage with a decimal comma.
    const withValue = overviews[0]!.items.find((i) => i.item.unit === 'percentage' && i.value !== null)!;
    expect(text).toContain(`${withValue.value!.replace('.', ',')}%`);
    // Text the standard fonts cannot show is spelled out or marked, never printed as another glyph.
    expect(pdfSafe('≥ 2 – cliënten € Ω ṡ')).toBe('>= 2 – cliënten € ? s');
    const compressed = await overviewPdf(overviews);
    expect(compressed.subarray(0, 5).toString()).toBe('%PDF-');
    expect(compressed.length).toBeLessThan(pdf.length);
  });
});
