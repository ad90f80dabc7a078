import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, Store, type Quad } from 'n3';
import { describe, expect, it, vi } from 'vitest';
import { formatReportSummary, htmlFileFor, readReportFile } from '../src/cli/commands/report.js';
import { openDb, type Db } from '../src/db/open.js';
import { NS } from '../src/ontology/namespaces.js';
import { MAX_TABLE_ROWS, escapeHtml, renderReportHtml } from '../src/report/html.js';
import { DATA_KINDS, RequirementError, loadIndicatorRequirements, missingData, periodDate, type IndicatorRequirements } from '../src/report/missing.js';
import type { ProcessingReport } from '../src/report/types.js';
import { ontologyFiles, parseTurtleFiles } from '../src/validation/ontology.js';
import { ROOT, tempDir, writeConfig } from './helpers.js';

const PREFIXES = `
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix time: <http://www.w3.org/2006/time#> .
@prefix onz-g: <http://purl.org/ozo/onz-g#> .
@prefix onz-pers: <http://purl.org/ozo/onz-pers#> .
@prefix onz-org: <http://purl.org/ozo/onz-org#> .
@prefix onz-fin: <http://purl.org/ozo/onz-fin#> .
@prefix ext: <https://w3id.org/kikv-agent/ext#> .
@base <https://data.test.example/id/> .
`;

function calendar(days: string[]): string {
  return days.map((d) => `<https://w3id.org/kikv-agent/ref/dag/${d}> time:inXSDDate "${d}"^^xsd:date .`).join('\n');
}

/** Staff data for 2023: one agreement with one clause at a ward of a vestiging, and the calendar. */
const STAFF_2023 = `${PREFIXES}
<vestiging/L1> a onz-org:Vestiging , onz-g:StationaryArtifact .
<afdeling/W1> a onz-g:StationaryArtifact , ext:Afdeling ; onz-g:partOf <vestiging/L1> .
<functie/VIG> a onz-g:OccupationalPositionRole , onz-pers:ZorgverlenerFunctie .
<overeenkomst/A1> a onz-pers:WerkOvereenkomst , onz-pers:ArbeidsOvereenkomst ; onz-g:startDatum "2020-03-01"^^xsd:date ; onz-g:hasPart <afspraak/C1> .
<afspraak/C1> a onz-pers:WerkOvereenkomstAfspraak ; onz-g:startDatum "2020-03-01"^^xsd:date ; onz-g:isAbout <functie/VIG> , <afdeling/W1> .
${calendar(['2023-01-01', '2023-12-31'])}
`;

function parse(ttl: string): Quad[] {
  return new Parser({ format: 'text/turtle' }).parse(ttl);
}

const ind = (id: string, number: string, ...requires: IndicatorRequirements['requires']): IndicatorRequirements => ({ id, number, name: `Indicator ${number}`, requires });

describe('missing data per indicator', () => {
  it('reads the requires lists of the configured packs', () => {
    const reqs = loadIndicatorRequirements(join(ROOT, 'queries'), [{ profile: 'zorginstituut-verpleeghuiszorg', version: '2023.1.0' }]);
    const ps11 = reqs.find((r) => r.id === 'ps-1.1');
    expect(ps11).toMatchObject({ number: '1.1', profile: 'zorginstituut-verpleeghuiszorg 2023.1.0', measurementPeriod: { start: '{year}-01-01', end: '{year}-12-31' } });
    expect(ps11!.requires).toEqual(
      expect.arrayContaining([{ kind: 'staff-agreements' }, { kind: 'clauses' }, { kind: 'clause-locations', level: 'location' }]),
    );
    for (const r of reqs) for (const q of r.requires) expect(DATA_KINDS[q.kind], `${r.id} requires ${q.kind}`).toBeDefined();
  });

  it('rejects a manifest naming an unknown data kind, and lists the known ones', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'p', '1.0.0'), { recursive: true });
    writeFileSync(join(dir, 'p', '1.0.0', 'manifest.yaml'), 'profile: { id: p, version: 1.0.0 }\nindicators:\n  - id: x-1\n    set: { name: S, code: ISID0 }\n    number: "1"\n    name: x\n    unit: yes/no\n    level: [location]\n    manual: true\n    requires: [absences, shoe-sizes]\n');
    expect(() => loadIndicatorRequirements(dir, [{ profile: 'p', version: '1.0.0' }])).toThrow(RequirementError);
    expect(() => loadIndicatorRequirements(dir, [{ profile: 'p', version: '1.0.0' }])).toThrow(/indicator x-1: unknown data kind "shoe-sizes".*known kinds: .*absences/);
  });

  it('defines every data kind in declared ontology terms', () => {
    const declared = new Set(new Store(parseTurtleFiles(ontologyFiles('onz-3.0.0'))).getSubjects(`${NS.rdf}type`, null, null).map((t) => t.value));
    for (const k of Object.values(DATA_KINDS)) {
      for (const iri of [...k.classes, ...(k.where?.path ?? []), ...(k.where?.values ?? []), ...(k.where?.valueClass ? [k.where.valueClass] : [])]) {
        expect(declared.has(iri), `${k.id}: ${iri}`).toBe(true);
      }
    }
  });

  it('says nothing when every indicator has its data for the year', () => {
    // STAFF_2023 holds what ps-1.1 reads (the other items read more: hours, absences, clients).
    const reqs = loadIndicatorRequirements(join(ROOT, 'queries'), [{ profile: 'zorginstituut-verpleeghuiszorg', version: '2023.1.0' }]).filter((r) => r.id === 'ps-1.1');
    expect(reqs).toHaveLength(1);
    expect(missingData(parse(STAFF_2023), reqs, 2023)).toEqual([]);
    expect(missingData(new Store(parse(STAFF_2023)), reqs, 2023)).toEqual([]);
  });

  it('names the indicator, the year and the missing kind ("3.1 cannot be computed for 2023: no absence data")', () => {
    const out = missingData(parse(STAFF_2023), [ind('ps-3.1', '3.1', { kind: 'staff-agreements' }, { kind: 'absences' })], 2023);
    expect(out).toEqual([
      {
        indicator: 'ps-3.1',
        title: '3.1 Indicator 3.1',
        year: 2023,
        dataKinds: ['absences'],
        message: '3.1 cannot be computed for 2023: no absence data in 2023-01-01 – 2023-12-31 (from absences.csv)',
      },
    ]);
  });

  it('tells data outside the period from no data at all', () => {
    const data = parse(`${STAFF_2023}
      <verzuim/V1> a onz-pers:ZiektePeriode ; onz-g:definedBy <overeenkomst/A1> ; onz-g:startDatum "2022-03-01"^^xsd:date ; onz-g:eindDatum "2022-03-05"^^xsd:date .`);
    const [m] = missingData(data, [ind('ps-3.1', '3.1', { kind: 'absences' })], 2023);
    expect(m!.message).toMatch(/no absence data in 2023-01-01 – 2023-12-31 \(there is some for other periods: check the export covers this one\)/);
    // An absence running into the year counts, and one still open counts.
    expect(missingData(parse(`${STAFF_2023} <verzuim/V2> a onz-pers:ZiektePeriode ; onz-g:startDatum "2022-12-20"^^xsd:date ; onz-g:eindDatum "2023-01-02"^^xsd:date .`), [ind('a', '3.1', { kind: 'absences' })], 2023)).toEqual([]);
    expect(missingData(parse(`${STAFF_2023} <verzuim/V3> a onz-pers:ZiektePeriode ; onz-g:startDatum "2021-06-01"^^xsd:date .`), [ind('a', '3.1', { kind: 'absences' })], 2023)).toEqual([]);
    expect(missingData(parse(`${STAFF_2023} <verzuim/V4> a onz-pers:ZiektePeriode ; onz-g:startDatum "2024-01-01"^^xsd:date .`), [ind('a', '3.1', { kind: 'absences' })], 2023)).toHaveLength(1);
  });

  it('separates what only the per-location rows need', () => {
    const noWard = parse(STAFF_2023).filter((q) => !(q.subject.value.endsWith('afspraak/C1') && q.object.value.endsWith('afdeling/W1')));
    const reqs = loadIndicatorRequirements(join(ROOT, 'queries'), [{ profile: 'zorginstituut-verpleeghuiszorg', version: '2023.1.0' }]).filter((r) => r.id === 'ps-1.1');
    const [m] = missingData(noWard, reqs, 2023);
    expect(m!.message).toBe('1.1 cannot be computed per location for 2023: no clauses tied to a location in 2023-01-01 – 2023-12-31 (from clauses.csv (ward_id))');
    const empty = missingData([], reqs, 2023);
    expect(empty[0]!.message).toMatch(/^1\.1 cannot be computed for 2023: no staff agreement data .*; and not per location: no locations \(vestigingen\)/);
    // ps-1.1 turns dates into day numbers itself, so it no longer needs the calendar.
    expect(empty[0]!.dataKinds).toEqual(['staff-agreements', 'clauses', 'locations', 'clause-locations']);
  });

  it('checks the calendar covers the measurement period', () => {
    const data = parse(STAFF_2023).filter((q) => !q.subject.value.endsWith('2023-12-31'));
    const [m] = missingData(data, [ind('ps-1.1', '1.1', { kind: 'calendar' })], 2023);
    expect(m!.message).toBe('1.1 cannot be computed for 2023: no OWL-Time calendar days for 2023-01-01 and 2023-12-31 (the calendar covers other years)');
  });

  it('uses the indicator measurement period, also one in the following year', () => {
    expect(periodDate('{year+1}-02-28', 2023)).toBe('2024-02-28');
    expect(periodDate('{year-1}-12-31', 2023)).toBe('2022-12-31');
    const bv = { ...ind('bv-1.1', '1.1', { kind: 'decubitus-observations' }), measurementPeriod: { start: '{year+1}-01-01', end: '{year+1}-02-28' } };
    const obs = `${PREFIXES} <observatie/O1> a ext:DecubitusObservatie ; onz-g:hasDate "2024-01-15"^^xsd:date ; ext:uitkomst "2" .`;
    expect(missingData(parse(obs), [bv], 2023)).toEqual([]);
    const [m] = missingData(parse(obs), [bv], 2024);
    expect(m!.message).toContain('no decubitus observations in 2025-01-01 – 2025-02-28');
  });

  it('checks links where a kind needs them (ledger rubric), and says when absence may be the truth', () => {
    const ledger = `${PREFIXES}
      <post/P1> a onz-fin:Grootboekpost ; onz-g:partOf onz-fin:WBedOvpUik ; onz-g:hasDate "2023-05-31"^^xsd:date ; onz-fin:heeftGeldBedrag "10.0"^^xsd:decimal .`;
    const out = missingData(parse(ledger), [ind('ps-1.5', '1.5', { kind: 'personnel-costs' }, { kind: 'pnil-costs' }), ind('bv-4.1', '4.1', { kind: 'restrictive-measures' })], 2023);
    expect(out.map((m) => m.dataKinds)).toEqual([['personnel-costs'], ['restrictive-measures']]);
    expect(out[1]!.message).toContain('correct if no measures were applied');
  });
});

// ---------------------------------------------------------------- HTML

function report(over: Partial<ProcessingReport> = {}): ProcessingReport {
  return {
    startedAt: '2024-01-10T02:00:00.000Z',
    finishedAt: '2024-01-10T02:00:07.500Z',
    source: '/srv/export/staging',
    mapping: { file: 'config/mappings/onz.rml.ttl', sha256: 'a'.repeat(64) },
    ontology: 'onz-3.0.0',
    period: { from: '2013-12-01', to: '2024-02-28' },
    files: [
      { file: 'agreements.csv', table: 'agreements', rowsRead: 120, rowsMapped: 118, rowsRejected: 2, triples: 700, rejections: [
        { file: 'agreements.csv', row: 7, line: 8, column: 'end_date', value: '2023-02-30', reason: 'not a calendar date (YYYY-MM-DD)' },
        { file: 'agreements.csv', row: 9, line: 11, column: 'kind', value: 'freelance', reason: 'not one of permanent, fixed_term, …' },
      ] },
      { file: 'clients.csv', table: 'clients', rowsRead: 40, rowsMapped: 40, rowsRejected: 0, triples: 80, rejections: [] },
    ],
    fileErrors: [],
    totals: { rowsRead: 160, rowsMapped: 158, rowsRejected: 2, triples: 780 },
    violations: [
      {
        severity: 'Violation',
        focusNode: 'https://data.test.example/id/vestiging/L1/nr',
        path: 'onz-g:hasDataValue',
        value: '00001234567',
        message: 'A vestigingsnummer has exactly 12 digits.',
        shape: 'https://w3id.org/kikv-agent/shapes/onz-3.0.0#Vestigingsnummer-vorm',
        origin: { file: 'locations.csv', row: 3 },
      },
      { severity: 'Warning', focusNode: 'https://data.test.example/id/persoon/E9', path: 'onz-g:hasDateOfBirth', message: 'The staff member has no date of birth.', shape: 'https://w3id.org/kikv-agent/shapes/onz-3.0.0#Medewerker-geboortedatum-bekend' },
    ],
    missing: [{ indicator: 'ps-3.1', title: '3.1 Ziekteverzuim', year: 2023, message: '3.1 cannot be computed for 2023: no absence data' }],
    snapshot: 'f'.repeat(64),
    ...over,
  };
}

describe('HTML processing report', () => {
  it('is a self-contained page: no scripts, no external resources', () => {
    const html = renderReportHtml(report());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|@import|url\(/i);
    expect(html.trim().endsWith('</html>')).toBe(true);
  });

  it('shows the summary totals, per-source rows, hashes and the ontology version', () => {
    const html = renderReportHtml(report());
    for (const s of ['/srv/export/staging', 'onz-3.0.0', 'a'.repeat(64), 'f'.repeat(64), '2013-12-01 – 2024-02-28', 'rows read', 'rows rejected', 'Snapshot made']) expect(html).toContain(s);
    expect(html).toMatch(/<tr class="has-rejections"><td>agreements\.csv<\/td><td>agreements<\/td><td class="n">120<\/td><td class="n">118<\/td><td class="n bad">2<\/td><td class="n">700<\/td>/);
    expect(html).toMatch(/<tfoot><tr><th>Total<\/th><th><\/th><th class="n">160<\/th><th class="n">158<\/th><th class="n">2<\/th><th class="n">780<\/th>/);
    expect(html).toContain('1 violations, 1 warnings, 0 notes');
  });

  it('lists rejections with file, row, line, column, value and reason', () => {
    const html = renderReportHtml(report());
    expect(html).toContain('<tr><td>agreements.csv</td><td class="n">7</td><td class="n">8</td><td>end_date</td><td class="value">2023-02-30</td><td>not a calendar date (YYYY-MM-DD)</td></tr>');
    expect(html).toContain('Rejected rows (2)');
  });

  it('lists SHACL results with their source row, focus node, path, value and message', () => {
    const html = renderReportHtml(report());
    expect(html).toContain('<td>locations.csv row 3</td><td class="iri">https://data.test.example/id/vestiging/L1/nr</td><td class="path">onz-g:hasDataValue</td><td class="value">00001234567</td><td>A vestigingsnummer has exactly 12 digits.</td>');
    expect(html).toContain('title="https://w3id.org/kikv-agent/shapes/onz-3.0.0#Vestigingsnummer-vorm">Vestigingsnummer-vorm</td>');
    expect(html).toContain('<tr class="sev-warning">');
  });

  it('lists missing data per indicator', () => {
    const html = renderReportHtml(report());
    expect(html).toContain('<td>ps-3.1</td><td>3.1 Ziekteverzuim</td><td class="n">2023</td><td>3.1 cannot be computed for 2023: no absence data</td>');
    expect(renderReportHtml(report({ missing: [] }))).toContain('Every indicator of the configured profiles has the data it needs');
  });

  it('escapes every value that comes from the data', () => {
    const evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;\'';
    const html = renderReportHtml(
      report({
        source: evil,
        mapping: { file: evil, sha256: evil },
        ontology: evil,
        files: [{ file: evil, table: evil, rowsRead: 1, rowsMapped: 0, rowsRejected: 1, triples: 0, rejections: [{ file: evil, row: 1, line: 2, column: evil, value: evil, reason: evil }] }],
        fileErrors: [{ file: evil, reason: evil }],
        violations: [{ severity: 'Violation', focusNode: evil, path: evil, value: evil, message: evil, shape: evil, origin: { file: evil, row: 1 } }],
        missing: [{ indicator: evil, title: evil, year: 2023, message: evil }],
        snapshot: evil,
      }),
    );
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).not.toContain('onerror=alert(2)>');
    expect(html).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;&#39;');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('says plainly when no snapshot was made and which sources were not read', () => {
    const html = renderReportHtml(report({ snapshot: undefined, fileErrors: [{ file: 'absences.csv', reason: 'not found in /srv/export' }] }));
    expect(html).toContain('No snapshot was made: fix the sources listed under');
    expect(html).toContain('<td>absences.csv</td><td class="bad">not found in /srv/export</td>');
  });

  it('caps long tables and says how many more the JSON report holds', () => {
    const rejections = Array.from({ length: MAX_TABLE_ROWS + 5 }, (_, i) => ({ file: 'clauses.csv', row: i + 1, line: i + 2, column: 'start_date', value: 'x', reason: 'not a date' }));
    const html = renderReportHtml(report({ files: [{ file: 'clauses.csv', rowsRead: rejections.length, rowsMapped: 0, rowsRejected: rejections.length, triples: 0, rejections }] }));
    expect(html).toContain(`Showing the first 2,000 of 2,005; the JSON report holds them all.`);
    expect(html.match(/<td>clauses\.csv<\/td><td class="n">/g)).toHaveLength(MAX_TABLE_ROWS);
  });
});

// ---------------------------------------------------------------- kikv report

describe('kikv report', () => {
  async function run(args: string[], configFile: string): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
    const { Command } = await import('commander');
    const { registerReportCommands } = await import('../src/cli/commands/report.js');
    const program = new Command('kikv').option('-c, --config <file>').exitOverride();
    registerReportCommands(program);
    program.commands.forEach((c) => c.exitOverride());
    let stdout = '';
    let stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`));
    const before = process.exitCode;
    process.exitCode = undefined;
    try {
      await program.parseAsync(['--config', configFile, ...args], { from: 'user' });
      return { stdout, stderr, exitCode: process.exitCode as number | undefined };
    } finally {
      out.mockRestore();
      err.mockRestore();
      log.mockRestore();
      process.exitCode = before;
    }
  }

  function insertRun(db: Db, r: { status: string; report: string | null; snapshot?: string; error?: string }): void {
    db.prepare(
      `INSERT INTO import_runs (trigger, started_at, finished_at, status, snapshot_hash, report_file, error, rows_read, rows_mapped, rows_rejected, holder_pid, holder_host, heartbeat_at)
       VALUES ('manual', ?, ?, ?, ?, ?, ?, 160, 158, 2, 1, 'test', ?)`,
    ).run('2024-01-10T02:00:00.000Z', '2024-01-10T02:00:07.500Z', r.status, r.snapshot ?? null, r.report, r.error ?? null, '2024-01-10T02:00:07.500Z');
  }

  it('says so when no import has run yet', async () => {
    const cfg = writeConfig();
    const r = await run(['report'], cfg.file);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('There is no processing report yet: no import has run. Run `kikv import` first.');
  });

  it("prints a short summary of the last import's report and both paths", async () => {
    const cfg = writeConfig();
    mkdirSync(join(cfg.dataDir, 'reports'), { recursive: true });
    const json = join(cfg.dataDir, 'reports', 'import-1.json');
    writeFileSync(json, JSON.stringify(report()));
    const db = openDb(cfg.dataDir);
    db.prepare(`INSERT INTO snapshots (hash, created_at, quads, source, ontology_version, report_file, rows_read, rows_mapped, rows_rejected) VALUES (?, ?, 1, 's', 'onz-3.0.0', ?, 160, 158, 2)`).run('f'.repeat(64), '2024-01-10T02:00:07.500Z', json);
    insertRun(db, { status: 'succeeded', report: json, snapshot: 'f'.repeat(64) });
    db.close();

    const r = await run(['report'], cfg.file);
    expect(r.exitCode).toBeUndefined();
    expect(r.stdout).toContain('Last import (run #1, manual, succeeded), finished 2024-01-10T02:00:07.500Z');
    expect(r.stdout).toContain(`snapshot    ${'f'.repeat(64)}`);
    expect(r.stdout).toContain('rows        160 read, 158 mapped, 2 rejected; 780 statements');
    expect(r.stdout).toContain('SHACL       1 violation(s), 1 warning(s), 0 note(s)');
    expect(r.stdout).toContain('3.1 cannot be computed for 2023: no absence data');
    expect(r.stdout).toContain(`Report (JSON) ${json}`);
    expect(r.stdout).toContain(`Report (HTML) ${json.replace(/\.json$/, '.html')} (not written by this import`);

    const asJson = await run(['report', '--json'], cfg.file);
    expect(JSON.parse(asJson.stdout)).toEqual(report());
    const asHtml = await run(['report', '--html'], cfg.file);
    expect(asHtml.stdout).toContain('<h1>Processing report</h1>');
    // The page the import wrote is printed as it is.
    writeFileSync(json.replace(/\.json$/, '.html'), '<!doctype html><p>as written</p>');
    expect((await run(['report', '--html'], cfg.file)).stdout).toBe('<!doctype html><p>as written</p>');
    expect((await run(['report'], cfg.file)).stdout).not.toContain('not written by this import');
  });

  it('shows a failed import, and says when the last run left no report', async () => {
    const cfg = writeConfig();
    mkdirSync(join(cfg.dataDir, 'reports'), { recursive: true });
    const json = join(cfg.dataDir, 'reports', 'import-2.json');
    writeFileSync(json, JSON.stringify(report({ snapshot: undefined, fileErrors: [{ file: 'absences.csv', reason: 'not found' }] })));
    const db = openDb(cfg.dataDir);
    insertRun(db, { status: 'failed', report: json });
    let r = await run(['report'], cfg.file);
    expect(r.stdout).toContain('(run #1, manual, failed)');
    expect(r.stdout).toContain('snapshot    none made');
    expect(r.stdout).toContain('NOT READ    absences.csv: not found');
    insertRun(db, { status: 'failed', report: null, error: 'database unreachable' });
    db.close();
    r = await run(['report'], cfg.file);
    expect(r.stdout).toContain('The last import (run #2, failed at 2024-01-10T02:00:07.500Z) wrote no report: database unreachable. Showing the report of run #1.');
  });

  it('refuses --json together with --html', async () => {
    const cfg = writeConfig();
    await expect(run(['report', '--json', '--html'], cfg.file)).rejects.toThrow(/choose one of --json and --html/);
  });

  it('older report files (fewer fields) still summarise and render', () => {
    const dir = tempDir();
    const f = join(dir, 'old.json');
    writeFileSync(f, JSON.stringify({ source: '/old', files: [{ table: 'clients', file: 'clients.csv', rowsRead: 3, rowsMapped: 3, rowsRejected: 0, triples: 9, rejections: [] }], fileErrors: [], totals: { rowsRead: 3, rowsMapped: 3, rowsRejected: 0 } }));
    const r = readReportFile(f);
    expect(r.totals).toEqual({ rowsRead: 3, rowsMapped: 3, rowsRejected: 0, triples: 9 });
    expect(renderReportHtml(r)).toContain('clients.csv');
    expect(formatReportSummary(r, { jsonFile: f, htmlFile: htmlFileFor(f) })).toContain('rows        3 read, 3 mapped, 0 rejected; 9 statements');
    expect(() => readReportFile(join(dir, 'gone.json'))).toThrow(/no longer exists; run `kikv import`/);
  });
});
