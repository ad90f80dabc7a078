import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, Writer } from 'n3';
import { beforeAll, describe, expect, it } from 'vitest';
import { ComunicaQueryEngine } from '../src/engines/comunica.js';
import type { SparqlJsonResults } from '../src/engines/types.js';
import { loadPack, type ProfilePack } from '../src/indicators/pack.js';
import { bindParameters } from '../src/indicators/bind.js';
import { canonicalDecimal } from '../src/indicators/item-rows.js';
import { ROOT } from './helpers.js';

const XSD_DATE = 'http://www.w3.org/2001/XMLSchema#date';
const engine = new ComunicaQueryEngine();
let pack: ProfilePack;

function nquadsOf(fixture: string): string {
  const quads = new Parser().parse(readFileSync(join(ROOT, 'test/fixtures', fixture), 'utf8'));
  return new Writer({ format: 'N-Quads' }).quadsToString(quads);
}

/** ps-1.1 per indeling as [teller, noemer, zorg_dagen, niet_zorg_dagen] (exact decimals). */
async function ps11(fixture: string, start: string, end: string): Promise<Record<string, string[]>> {
  await engine.load(nquadsOf(fixture));
  const q = pack.queries.get('ps-1.1')!.sparql;
  const r: SparqlJsonResults = await engine.select(bindParameters(q, { start_periode: { value: start, datatype: XSD_DATE }, eind_periode: { value: end, datatype: XSD_DATE } }));
  expect(r.head.vars).toEqual(['indeling', 'teller', 'noemer', 'zorg_dagen', 'niet_zorg_dagen']);
  return Object.fromEntries(r.results.bindings.map((b) => [b.indeling!.value, [b.teller!, b.noemer!, b.zorg_dagen!, b.niet_zorg_dagen!].map((t) => canonicalDecimal(t.value))]));
}

describe('personeelssamenstelling 1.1 (gemiddeld aantal personeelsleden)', () => {
  beforeAll(() => {
    pack = loadPack(join(ROOT, 'queries'), 'zorginstituut-verpleeghuiszorg', '2023.1.0');
  });

  it('reproduces the official KIK-V worked example: 23 care + 23 non-care person-days of 92 = 0.25 / 0.25 / 0.5', async () => {
    const rows = await ps11('worked-example.ttl', '2023-07-01', '2023-09-30');
    expect(rows).toEqual({ '000012345678': ['46', '92', '23', '23'], Organisatie: ['46', '92', '23', '23'] });
  });

  it('scales with the period: the same person over the whole year counts 46/365', async () => {
    const rows = await ps11('worked-example.ttl', '2023-01-01', '2023-12-31');
    expect(rows.Organisatie).toEqual(['46', '365', '23', '23']);
  });

  it('needs no calendar: day numbers across a leap day are computed from the dates', async () => {
    // 2020-02-28 .. 2023-12-31 spans 29 February 2020: 1403 days (the fixture has no calendar at all).
    const wide = await ps11('worked-example.ttl', '2020-02-28', '2023-12-31');
    expect(wide.Organisatie).toEqual(['46', '1403', '23', '23']);
  });

  it('counts overlapping clauses once, leaves interns and volunteers out, and counts unlocated staff for the organisation only', async () => {
    const rows = await ps11('overlap-and-non-staff.ttl', '2023-07-01', '2023-09-30');
    expect(rows['000099999999']).toEqual(['46', '92', '46', '0']);
    expect(rows.Organisatie).toEqual(['138', '92', '46', '92']);
  });

  it('the pack manifest names the query, its hash and its parameters', () => {
    const ind = pack.manifest.indicators.find((i) => i.id === 'ps-1.1')!;
    expect(ind).toMatchObject({ inid: 'INID013486', number: '1.1', unit: 'number' });
    expect(Object.keys(ind.parameters).sort()).toEqual(['eind_periode', 'start_periode']);
    expect(pack.queries.get('ps-1.1')!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(pack.manifest.profile.deliveryWindow.closes).toBe('2024-06-24T23:59:00+02:00');
  });

  it('refuses to bind a parameter the query does not use, and one the query assigns itself', () => {
    expect(() => bindParameters('SELECT ?x WHERE { ?x ?p ?o }', { y: { value: '1' } })).toThrow(/\?y does not occur/);
    expect(() => bindParameters('SELECT ?x WHERE { BIND(1 AS ?y) ?x ?p ?y }', { y: { value: '1' } })).toThrow(/assigned by a BIND/);
  });
});
