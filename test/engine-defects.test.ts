import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Parser, Writer } from 'n3';
import { ComunicaQueryEngine } from '../src/engines/comunica.js';
import { bindOfficialQuery } from '../src/engines/jena/official.js';
import { OxigraphQueryEngine } from '../src/engines/oxigraph.js';
import type { QueryEngine, SparqlJsonResults } from '../src/engines/types.js';
import { normaliseQuery, type Engine, type ParamValue } from '../src/sparql/normalise.js';
import { ROOT, SHARED } from './helpers.js';

/**
 * One minimal regression query per measured engine defect (docs/research/engine-anchors.md §4).
 * Each runs on the raw engine, pinning the wrong answer it gives today, and on the normalised query,
 * showing the right one. If an engine upgrade fixes a defect, the "raw" pin fails: then the rewrite
 * in src/sparql/normalise.ts may be dropped for that engine.
 */

const XSD = 'http://www.w3.org/2001/XMLSchema#';
const PREFIX = `PREFIX xsd: <${XSD}>\n`;
const DATA = [
  `<urn:s> <urn:d> "2023-10-01"^^<${XSD}date> .`,
  `<urn:s> <urn:end> "2023-12-31"^^<${XSD}date> .`,
  `<urn:s> <urn:n> "1"^^<${XSD}integer> .`,
  `<urn:g1> <urn:x> "1"^^<${XSD}integer> .`,
  `<urn:g1> <urn:x> "3"^^<${XSD}integer> .`,
  `<urn:g2> <urn:x> "10"^^<${XSD}integer> .`,
].join('\n');

async function engine(kind: 'comunica' | 'oxigraph'): Promise<QueryEngine> {
  const e = kind === 'comunica' ? new ComunicaQueryEngine() : new OxigraphQueryEngine();
  await e.load(`${DATA}\n`);
  return e;
}

/** The values of one variable over all rows ('unbound' for a row without it), in row order. */
function column(r: SparqlJsonResults, v: string): string[] {
  return r.results.bindings.map((b) => b[v]?.value ?? 'unbound');
}

async function runNormalised(e: QueryEngine, kind: Engine, q: string, params: Record<string, ParamValue> = {}): Promise<{ r: SparqlJsonResults; applied: string[] }> {
  const { text, applied } = normaliseQuery(q, params, kind);
  return { r: await e.select(text), applied };
}

describe('Comunica defects', () => {
  it('date + "P3M"^^xsd:duration is an error (unbound); normalised it is 2024-01-01', async () => {
    const e = await engine('comunica');
    const q = `${PREFIX}SELECT ?e WHERE { <urn:s> <urn:d> ?d BIND(?d + "P3M"^^xsd:duration AS ?e) }`;
    expect(column(await e.select(q), 'e')).toEqual(['unbound']); // pinned wrong answer
    const { r, applied } = await runNormalised(e, 'comunica', q);
    expect(column(r, 'e')).toEqual(['2024-01-01']);
    expect(applied).toEqual(['comunica: "P3M"^^xsd:duration -> "P3M"^^xsd:yearMonthDuration (Comunica cannot add xsd:duration to a date)']);
  });

  it('the official end-of-quarter chain date + "P3M" + "-P1D" is unbound; normalised it is the quarter end', async () => {
    const e = await engine('comunica');
    const q = `${PREFIX}SELECT ?e WHERE { <urn:s> <urn:d> ?d BIND(?d + "P3M"^^xsd:duration + "-P1D"^^xsd:duration AS ?e) }`;
    expect(column(await e.select(q), 'e')).toEqual(['unbound']);
    expect(column((await runNormalised(e, 'comunica', q)).r, 'e')).toEqual(['2023-12-31']);
    // With the start date a parameter, the whole chain is folded to a constant before Comunica sees it.
    const p = `${PREFIX}SELECT ?e WHERE { BIND(?start + "P3M"^^xsd:duration + "-P1D"^^xsd:duration AS ?e) }`;
    const { r, applied } = await runNormalised(e, 'comunica', p, { start: { literal: '2023-10-01', datatype: `${XSD}date` } });
    expect(column(r, 'e')).toEqual(['2023-12-31']);
    expect(applied.some((a) => a.startsWith('fold: BIND'))).toBe(true);
  });
});

describe('Comunica OPTIONAL with FILTER and BIND', () => {
  it('fails to join; normalised (BIND moved out) it gives the answer Oxigraph gives on the raw query', async () => {
    const data = [
      '<urn:a> <urn:p> <urn:x1> .',
      '<urn:a> <urn:p> <urn:x2> .',
      '<urn:b> <urn:p> <urn:x3> .',
      `<urn:x1> <urn:q> "5"^^<${XSD}integer> .`,
      `<urn:x2> <urn:q> "1"^^<${XSD}integer> .`,
    ].join('\n');
    const q = 'SELECT ?x ?z WHERE { ?s <urn:p> ?x OPTIONAL { FILTER(?s = <urn:a>) ?x <urn:q> ?y BIND(?y * 10 + 1 AS ?z) } } ORDER BY ?x';
    const c = new ComunicaQueryEngine();
    await c.load(`${data}\n`);
    await expect(c.select(q)).rejects.toThrow(/none of the configured actors were able to handle the join type optional/); // pinned
    const o = new OxigraphQueryEngine();
    await o.load(`${data}\n`);
    const expected = await o.select(normaliseQuery(q, {}, 'oxigraph').text);
    expect(column(expected, 'z')).toEqual(['51', '11', 'unbound']);
    const { r, applied } = await runNormalised(c, 'comunica', q);
    expect(column(r, 'x')).toEqual(['urn:x1', 'urn:x2', 'urn:x3']);
    expect(column(r, 'z')).toEqual(['51', '11', 'unbound']);
    expect(applied.some((a) => a.includes('moved out of an OPTIONAL'))).toBe(true);
  });

  it('keeps a non-strict BIND inside (moving it would bind where the OPTIONAL does not match)', () => {
    const q = 'SELECT * WHERE { ?s <urn:p> ?x OPTIONAL { FILTER(BOUND(?s)) ?x <urn:q> ?y BIND(COALESCE(?y, 0) AS ?z) } }';
    expect(normaliseQuery(q, {}, 'comunica').applied).toEqual([]);
  });

  it('keeps a BIND inside that uses only variables bound before the OPTIONAL', () => {
    const q = 'SELECT * WHERE { ?s <urn:p> ?x OPTIONAL { FILTER(BOUND(?s)) ?x <urn:q> ?y BIND(?x AS ?z) } }';
    expect(normaliseQuery(q, {}, 'comunica').applied).toEqual([]);
  });
});

describe('Oxigraph defects', () => {
  it('1 - 2 - 3 parses right-associatively (= 2); normalised it is -4', async () => {
    const e = await engine('oxigraph');
    const q = 'SELECT ?v WHERE { BIND(1 - 2 - 3 AS ?v) }';
    expect(column(await e.select(q), 'v')).toEqual(['2']); // pinned wrong answer: 1 - (2 - 3)
    const { r, applied } = await runNormalised(e, 'oxigraph', q);
    expect(column(r, 'v')).toEqual(['-4']);
    expect(applied.some((a) => /^fold: BIND\(\(1 +- 2 *\) - 3 +AS \?v\) -> BIND\("-4"\^\^<http:\/\/www\.w3\.org\/2001\/XMLSchema#integer> AS \?v\)$/.test(a))).toBe(true);
  });

  it('?x - 2 - 3 over data (no folding possible) is fixed by explicit parentheses', async () => {
    const e = await engine('oxigraph');
    const q = 'SELECT ?v ?w WHERE { <urn:s> <urn:n> ?x BIND(?x - 2 - 3 AS ?v) BIND(?x * 8 / 2 / 2 AS ?w) }';
    const raw = await e.select(q);
    expect(column(raw, 'v')).toEqual(['2']);
    expect(Number(column(raw, 'w')[0])).toBe(8); // 1 * (8 / (2 / 2))
    const { r, applied } = await runNormalised(e, 'oxigraph', q);
    expect(column(r, 'v')).toEqual(['-4']);
    expect(Number(column(r, 'w')[0])).toBe(2);
    expect(applied).toEqual(['oxigraph: 3 nested arithmetic expression(s) serialised with explicit parentheses (Oxigraph parses + - and * / chains right-associatively)']);
  });

  it('"2023-12-31"^^xsd:date - "P1Y"^^xsd:duration = 2023-02-28; normalised (folded) it is 2022-12-31', async () => {
    const e = await engine('oxigraph');
    const q = `${PREFIX}SELECT ?v WHERE { BIND("2023-12-31"^^xsd:date - "P1Y"^^xsd:duration AS ?v) }`;
    expect(column(await e.select(q), 'v')).toEqual(['2023-02-28']); // pinned wrong answer
    expect(column((await runNormalised(e, 'oxigraph', q)).r, 'v')).toEqual(['2022-12-31']);
    // The way the official 13.x queries meet it: the reference date is a parameter.
    const p = `${PREFIX}SELECT ?v WHERE { BIND(?peildatum - "P1Y"^^xsd:duration AS ?v) }`;
    const { r } = await runNormalised(e, 'oxigraph', p, { peildatum: { literal: '2023-12-31', datatype: `${XSD}date` } });
    expect(column(r, 'v')).toEqual(['2022-12-31']);
  });

  it('other month-end date arithmetic: 2023-12-31 + -P1Y = 2023-02-28, 2024-02-29 + P1Y unbound; normalised right', async () => {
    const e = await engine('oxigraph');
    const q = `${PREFIX}SELECT ?a ?b WHERE { BIND("2023-12-31"^^xsd:date + "-P1Y"^^xsd:duration AS ?a) BIND("2024-02-29"^^xsd:date + "P1Y"^^xsd:duration AS ?b) }`;
    const raw = await e.select(q);
    expect([column(raw, 'a'), column(raw, 'b')]).toEqual([['2023-02-28'], ['unbound']]); // pinned wrong answers
    const { r } = await runNormalised(e, 'oxigraph', q);
    expect([column(r, 'a'), column(r, 'b')]).toEqual([['2022-12-31'], ['2025-02-28']]);
  });

  it('date arithmetic over data cannot be folded: the normaliser reports it', () => {
    const q = `${PREFIX}SELECT ?v WHERE { <urn:s> <urn:end> ?d BIND(?d - "P1Y"^^xsd:duration AS ?v) }`;
    expect(normaliseQuery(q, {}, 'oxigraph').applied.some((a) => a.startsWith('oxigraph: warning:'))).toBe(true);
    expect(normaliseQuery(q, {}, 'jena').applied).toEqual([]);
  });

  it('the quarter-end BIND after the 4-way IF stays unbound when the variable is ?start_periode; normalised (folded) it is bound', async () => {
    const e = await engine('oxigraph');
    const q = (v: string) => `${PREFIX}SELECT ?${v} ?e WHERE {
      BIND(2023 AS ?jaar) BIND("Q4" AS ?kwartaal)
      BIND(IF(?kwartaal = "Q1", xsd:date(CONCAT(STR(?jaar), "-01-01")), IF(?kwartaal = "Q2", xsd:date(CONCAT(STR(?jaar), "-04-01")),
           IF(?kwartaal = "Q3", xsd:date(CONCAT(STR(?jaar), "-07-01")), IF(?kwartaal = "Q4", xsd:date(CONCAT(STR(?jaar), "-10-01")), ""))))  AS ?${v})
      BIND((?${v} + "P3M"^^xsd:yearMonthDuration) + "-P1D"^^xsd:dayTimeDuration AS ?e) }`;
    const raw = await e.select(q('start_periode'));
    expect([column(raw, 'start_periode'), column(raw, 'e')]).toEqual([['2023-10-01'], ['unbound']]); // pinned wrong answer
    expect(column(await e.select(q('s')), 'e')).toEqual(['2023-12-31']); // the same text with another name works
    const { r, applied } = await runNormalised(e, 'oxigraph', q('start_periode'), { jaar: 2023, kwartaal: 'Q4' });
    expect([column(r, 'start_periode'), column(r, 'e')]).toEqual([['2023-10-01'], ['2023-12-31']]);
    expect(applied.filter((a) => a.startsWith('parameter: removed BIND'))).toHaveLength(2);
  });

  it('a SELECT reusing an aggregate alias is rejected; normalised it runs', async () => {
    const e = await engine('oxigraph');
    const q = 'SELECT ?g (SUM(?x) AS ?a) (COUNT(?x) AS ?b) (100 * ?a / ?b AS ?c) WHERE { ?g <urn:x> ?x } GROUP BY ?g ORDER BY ?g';
    await expect(e.select(q)).rejects.toThrow(/oxigraph: query failed/); // pinned: parse error
    const { r, applied } = await runNormalised(e, 'oxigraph', q);
    expect(column(r, 'g')).toEqual(['urn:g1', 'urn:g2']);
    expect(column(r, 'a')).toEqual(['4', '10']);
    expect(column(r, 'c').map(Number)).toEqual([200, 1000]);
    expect(applied.some((a) => a.startsWith('alias reuse:'))).toBe(true);
  });
});

/**
 * Found while proving the pack (issue 4). Not rewritten by the normaliser (no rewrite of MAX(?v) keeps
 * its meaning on every engine), so the pack's queries never aggregate a value that may be unbound:
 * they wrap it in COALESCE with a value below every real one (bv-1.1b.rq, bv-2.rq, …) or filter on BOUND. This pins the disagreement, so an Oxigraph upgrade that
 * changes it is noticed, and shows the form the pack uses agreeing on both in-process engines.
 */
describe('MAX over a group in which some rows leave the value unbound', () => {
  const data = ['<urn:g1> <urn:m> <urn:a> .', '<urn:g1> <urn:m> <urn:b> .', `<urn:a> <urn:v> "3"^^<${XSD}integer> .`].join('\n');
  const raw = 'SELECT ?g (MAX(?v) AS ?mx) WHERE { ?g <urn:m> ?x OPTIONAL { ?x <urn:v> ?v } } GROUP BY ?g';
  const packForms = [
    'SELECT ?g (MAX(COALESCE(?v, 0)) AS ?mx) WHERE { ?g <urn:m> ?x OPTIONAL { ?x <urn:v> ?v } } GROUP BY ?g',
    'SELECT ?g (MAX(?v) AS ?mx) WHERE { ?g <urn:m> ?x OPTIONAL { ?x <urn:v> ?v } FILTER(BOUND(?v)) } GROUP BY ?g',
  ];

  it('Oxigraph gives unbound where Comunica (and Jena) skip the unbound row and give 3', async () => {
    const o = new OxigraphQueryEngine();
    await o.load(`${data}\n`);
    const c = new ComunicaQueryEngine();
    await c.load(`${data}\n`);
    expect(column(await o.select(raw), 'mx')).toEqual(['unbound']); // pinned
    expect(column(await c.select(raw), 'mx')).toEqual(['3']);
    for (const q of packForms) {
      expect(column(await o.select(q), 'mx'), q).toEqual(['3']);
      expect(column(await c.select(q), 'mx'), q).toEqual(['3']);
    }
  });
});

describe('official queries on empty stores', () => {
  const dir = join(SHARED, 'kikv-official/zorgkantoren-1.3.4');
  const files = readdirSync(dir).filter((f) => f.endsWith('.rq')).sort();
  const params: Record<string, ParamValue> = {
    jaar: 2023,
    kwartaal: 'Q4',
    zorgkantoor: { iri: 'http://purl.org/ozo/onz-org#ZorgkantoorMenzis' },
    peildatum: { literal: '2023-12-31', datatype: `${XSD}date` },
  };
  /** Raw official texts Oxigraph 0.5 refuses to parse (aggregate alias reuse); normalised they all run. */
  const OXIGRAPH_RAW_PARSE_ERRORS = ['13.1.rq', '13.2.rq', '2.2.rq', '3.1.rq'];
  /** Comunica 5.4 fails these raw with "none of the configured actors were able to handle the join type optional". */
  const COMUNICA_OPTIONAL_JOIN = ['11.1.rq', '11.2.rq', '11.3.rq', '11.4.rq'];

  it('Oxigraph runs every normalised official query; raw, four do not parse', async () => {
    const e = new OxigraphQueryEngine();
    await e.load('');
    const rawFailures: string[] = [];
    for (const f of files) {
      const q = readFileSync(join(dir, f), 'utf8');
      await e.select(q).catch(() => rawFailures.push(f));
      await expect(e.select(normaliseQuery(q, params, 'oxigraph').text), f).resolves.toBeDefined();
    }
    expect(rawFailures).toEqual(OXIGRAPH_RAW_PARSE_ERRORS);
  });

  it('Comunica runs every normalised official query; raw, the 11.x queries fail', async () => {
    const e = new ComunicaQueryEngine();
    await e.load('');
    const rawFailures: string[] = [];
    for (const f of files) {
      const q = readFileSync(join(dir, f), 'utf8');
      await e.select(q).catch((err: Error) => {
        expect(err.message, f).toMatch(/join type optional/);
        rawFailures.push(f);
      });
      await expect(e.select(normaliseQuery(q, params, 'comunica').text), f).resolves.toBeDefined();
    }
    expect(rawFailures).toEqual(COMUNICA_OPTIONAL_JOIN);
  });
});

describe('official 1.1 on the KIK-V worked example (Q3 2023: zorg 0.25, niet-zorg 0.25, totaal 0.5)', () => {
  const TIME = 'http://www.w3.org/2006/time#';
  /** The worked example plus an OWL-Time day calendar for Q3 2023 (numericPosition = days since 2000-01-01). */
  function dataset(): string {
    const quads = new Parser().parse(readFileSync(join(ROOT, 'test/fixtures/worked-example.ttl'), 'utf8'));
    let nq = new Writer({ format: 'N-Quads' }).quadsToString(quads);
    const epoch = Date.UTC(2000, 0, 1) / 86400000;
    for (let t = Date.UTC(2023, 6, 1); t <= Date.UTC(2023, 8, 30); t += 86400000) {
      const d = new Date(t).toISOString().slice(0, 10);
      nq += `<urn:day:${d}> <${TIME}inXSDDate> "${d}"^^<${XSD}date> .\n<urn:day:${d}> <${TIME}inTemporalPosition> <urn:pos:${d}> .\n`;
      nq += `<urn:pos:${d}> <${TIME}numericPosition> "${t / 86400000 - epoch}"^^<${XSD}integer> .\n`;
    }
    return nq;
  }
  const q = readFileSync(join(SHARED, 'kikv-official/zorgkantoren-1.3.4/1.1.rq'), 'utf8');
  const params = { jaar: 2023, kwartaal: 'Q3', zorgkantoor: { iri: 'http://purl.org/ozo/onz-org#ZorgkantoorMenzis' } };
  const rows = (r: SparqlJsonResults) => r.results.bindings.map((b) => ({ Indeling: b.Indeling?.value, Zorg: Number(b.Zorg?.value), Niet_zorg: Number(b.Niet_zorg?.value), Totaal: Number(b.Totaal?.value) }));
  const expected = [{ Indeling: 'Organisatie (gecontracteerd + algemeen)', Zorg: 0.25, Niet_zorg: 0.25, Totaal: 0.5 }];

  for (const kind of ['oxigraph', 'comunica'] as const) {
    it(`${kind}: normalised it gives the official answer`, async () => {
      const e = kind === 'oxigraph' ? new OxigraphQueryEngine() : new ComunicaQueryEngine();
      await e.load(dataset());
      // The raw text (parameters bound as active BIND lines, as Jena gets them) is not run: unfolded, it
      // takes over a minute on Comunica (and returns no day counts: ?eind_periode stays unbound) and
      // minutes on Oxigraph even on this toy dataset (engine-anchors §4 #8). Here only check it is what we think.
      expect(bindOfficialQuery(q, params).text).toContain('"P3M"^^xsd:duration');
      expect(rows(await e.select(normaliseQuery(q, params, kind).text))).toEqual(expected);
    });
  }
});
