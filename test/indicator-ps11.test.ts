import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, Writer } from 'n3';
import { beforeAll, describe, expect, it } from 'vitest';
import { ComunicaQueryEngine } from '../src/engines/comunica.js';
import type { SparqlJsonResults } from '../src/engines/types.js';
import { loadPack, type ProfilePack } from '../src/indicators/pack.js';
import { bindParameters } from '../src/indicators/bind.js';
import { calendarLines } from '../src/ontology/calendar.js';
import { ROOT } from './helpers.js';

const XSD_DATE = 'http://www.w3.org/2001/XMLSchema#date';
const engine = new ComunicaQueryEngine();
let pack: ProfilePack;

function nquadsOf(fixture: string): string {
  const quads = new Parser().parse(readFileSync(join(ROOT, 'test/fixtures', fixture), 'utf8'));
  return `${new Writer({ format: 'N-Quads' }).quadsToString(quads)}${calendarLines(2023, 2023).join('\n')}\n`;
}

async function ps11(fixture: string, start: string, end: string): Promise<Record<string, { zorg: number; nietZorg: number; totaal: number }>> {
  await engine.load(nquadsOf(fixture));
  const q = pack.queries.get('ps-1.1')!.sparql;
  const r: SparqlJsonResults = await engine.select(bindParameters(q, { start_periode: { value: start, datatype: XSD_DATE }, eind_periode: { value: end, datatype: XSD_DATE } }));
  expect(r.head.vars).toEqual(['Indeling', 'Zorg', 'Niet_zorg', 'Totaal']);
  return Object.fromEntries(r.results.bindings.map((b) => [b.Indeling!.value, { zorg: Number(b.Zorg!.value), nietZorg: Number(b.Niet_zorg!.value), totaal: Number(b.Totaal!.value) }]));
}

describe('personeelssamenstelling 1.1 (gemiddeld aantal personeelsleden)', () => {
  beforeAll(() => {
    pack = loadPack(join(ROOT, 'queries'), 'zorginstituut-verpleeghuiszorg', '2023.1.0');
  });

  it('reproduces the official KIK-V worked example: 0.25 care, 0.25 non-care, 0.5 total', async () => {
    const rows = await ps11('worked-example.ttl', '2023-07-01', '2023-09-30');
    expect(rows).toEqual({
      '000012345678': { zorg: 0.25, nietZorg: 0.25, totaal: 0.5 },
      Organisatie: { zorg: 0.25, nietZorg: 0.25, totaal: 0.5 },
    });
  });

  it('scales with the period: the same person over the whole year counts 46/365', async () => {
    const rows = await ps11('worked-example.ttl', '2023-01-01', '2023-12-31');
    expect(rows.Organisatie!.totaal).toBeCloseTo(46 / 365, 12);
    expect(rows.Organisatie!.zorg).toBeCloseTo(23 / 365, 12);
  });

  it('counts overlapping clauses once, leaves interns and volunteers out, and counts unlocated staff for the organisation only', async () => {
    const rows = await ps11('overlap-and-non-staff.ttl', '2023-07-01', '2023-09-30');
    expect(rows['000099999999']).toEqual({ zorg: 0.5, nietZorg: 0, totaal: 0.5 });
    expect(rows.Organisatie).toEqual({ zorg: 0.5, nietZorg: 1, totaal: 1.5 });
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
