import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_SAMPLE, generateSample, toCsv, writeSample, type SampleOptions, type SampleTables } from '../src/sample/generate.js';
import { SAMPLE_LAYOUT, SAMPLE_TABLE_NAMES } from '../src/sample/tables.js';
import { checkRow, loadStagingSchema, rememberKeys, type ColumnSpec, type KeyIndex, type Rejection } from '../src/sources/staging.js';

interface TableSpec {
  file: string;
  key?: string;
  columns: Record<string, ColumnSpec>;
}

const STAGING = fileURLToPath(new URL('../config/staging.yaml', import.meta.url));
const schema = (parse(readFileSync(STAGING, 'utf8')) as { tables: Record<string, TableSpec> }).tables;

function validDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

/** Mini-validator: every schema rule of staging.yaml, returns human-readable problems (empty = valid). */
function validate(tables: SampleTables): string[] {
  const problems: string[] = [];
  const keys = new Map<string, Set<string>>();
  // First pass: keys and unique columns (references may point to any table).
  for (const [name, spec] of Object.entries(schema)) {
    for (const [col, c] of Object.entries(spec.columns)) {
      if (spec.key !== col && !c.unique) continue;
      const seen = new Set<string>();
      for (const [i, row] of (tables[name] ?? []).entries()) {
        const v = row[col] ?? '';
        if (v === '') continue;
        if (seen.has(v)) problems.push(`${name}[${i}].${col}: duplicate "${v}"`);
        seen.add(v);
      }
      keys.set(`${name}.${col}`, seen);
    }
  }
  for (const [name, spec] of Object.entries(schema)) {
    const rows = tables[name];
    if (!rows) {
      problems.push(`table ${name} missing`);
      continue;
    }
    rows.forEach((row, i) => {
      const at = `${name}[${i}]`;
      for (const [col, c] of Object.entries(spec.columns)) {
        const v = row[col];
        if (v === undefined) {
          problems.push(`${at}.${col}: column missing`);
          continue;
        }
        if (v === '') {
          if (c.required) problems.push(`${at}.${col}: required but empty`);
          continue;
        }
        let ok = true;
        switch (c.type) {
          case 'string':
            break;
          case 'id':
            ok = /^[A-Za-z0-9._-]{1,64}$/.test(v);
            break;
          case 'date':
            ok = validDate(v);
            break;
          case 'month':
            ok = /^\d{4}-(0[1-9]|1[0-2])$/.test(v);
            break;
          case 'integer':
          case 'decimal':
            ok = (c.type === 'integer' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/).test(v);
            if (ok && c.min !== undefined && Number(v) < c.min) ok = false;
            if (ok && c.max !== undefined && Number(v) > c.max) ok = false;
            break;
          case 'digits':
            ok = new RegExp(`^\\d{${c.length}}$`).test(v);
            break;
          case 'postcode':
            ok = /^[1-9]\d{3} ?[A-Za-z]{2}$/.test(v);
            break;
          case 'code': {
            const allowed = c.valuesBy ? c.valuesBy.values[row[c.valuesBy.column] ?? ''] : c.values;
            ok = !!allowed && allowed.includes(v);
            break;
          }
          default:
            ok = false;
        }
        if (!ok) problems.push(`${at}.${col}: "${v}" is not a valid ${c.type}`);
        if (c.notBefore) {
          const start = row[c.notBefore] ?? '';
          if (start !== '' && v < start) problems.push(`${at}.${col}: ${v} before ${c.notBefore} ${start}`);
        }
        if (c.references && !keys.get(c.references)?.has(v)) problems.push(`${at}.${col}: "${v}" not found in ${c.references}`);
      }
    });
  }
  return problems;
}

const INF = '9999-12-31';
const endOf = (v: string | undefined) => (v ? v : INF);

/** Domain coherence checks beyond the schema. */
function coherence(t: SampleTables): string[] {
  const problems: string[] = [];
  const agreements = new Map((t.agreements ?? []).map((a) => [a.agreement_id ?? '', a]));
  const clausesBy = new Map<string, Array<Record<string, string>>>();
  for (const c of t.clauses ?? []) {
    const list = clausesBy.get(c.agreement_id ?? '') ?? [];
    list.push(c);
    clausesBy.set(c.agreement_id ?? '', list);
  }
  for (const [id, a] of agreements) {
    const cl = [...(clausesBy.get(id) ?? [])].sort((x, y) => (x.start_date ?? '').localeCompare(y.start_date ?? ''));
    if (cl.length === 0) {
      problems.push(`agreement ${id} has no clause`);
      continue;
    }
    if (cl[0]?.start_date !== a.start_date) problems.push(`agreement ${id}: first clause does not start on the agreement start`);
    if ((cl[cl.length - 1]?.end_date ?? '') !== (a.end_date ?? '')) problems.push(`agreement ${id}: last clause does not end on the agreement end`);
    for (let i = 0; i < cl.length; i++) {
      const c = cl[i]!;
      if ((c.start_date ?? '') < (a.start_date ?? '') || endOf(c.end_date) > endOf(a.end_date)) problems.push(`clause ${c.clause_id} outside agreement ${id}`);
      const next = cl[i + 1];
      if (next && endOf(c.end_date) >= (next.start_date ?? '')) problems.push(`clauses ${c.clause_id} and ${next.clause_id} overlap`);
    }
  }
  for (const ab of t.absences ?? []) {
    const a = agreements.get(ab.agreement_id ?? '');
    if (!a) continue;
    if ((ab.start_date ?? '') < (a.start_date ?? '')) problems.push(`absence ${ab.absence_id} starts before its agreement`);
    if (ab.end_date && endOf(ab.end_date) > endOf(a.end_date)) problems.push(`absence ${ab.absence_id} ends after its agreement`);
    if (!ab.end_date && a.end_date && a.end_date <= '2023-12-31') problems.push(`absence ${ab.absence_id} open but agreement ended`);
  }
  for (const w of t.worked_hours ?? []) {
    const a = agreements.get(w.agreement_id ?? '');
    if (!a) continue;
    const m = w.month ?? '';
    if (m < (a.start_date ?? '').slice(0, 7) || m > endOf(a.end_date).slice(0, 7)) problems.push(`worked ${w.worked_id} outside agreement`);
    if (a.kind === 'volunteer') problems.push(`worked ${w.worked_id} for a volunteer`);
  }
  const indications = new Map((t.indications ?? []).map((i) => [i.indication_id ?? '', i]));
  for (const e of t.care_episodes ?? []) {
    const ind = indications.get(e.indication_id ?? '');
    if (!ind) continue;
    if (ind.client_id !== e.client_id) problems.push(`episode ${e.episode_id}: client differs from its indication`);
    if ((e.start_date ?? '') < (ind.start_date ?? '') || endOf(e.end_date) > endOf(ind.end_date)) problems.push(`episode ${e.episode_id} outside indication`);
  }
  const withEpisode = new Set((t.care_episodes ?? []).map((e) => e.indication_id));
  for (const id of indications.keys()) if (!withEpisode.has(id)) problems.push(`indication ${id} has no episode`);
  // Observations fall inside a care episode of the client.
  const episodesBy = new Map<string, Array<Record<string, string>>>();
  for (const e of t.care_episodes ?? []) {
    const list = episodesBy.get(e.client_id ?? '') ?? [];
    list.push(e);
    episodesBy.set(e.client_id ?? '', list);
  }
  for (const o of t.client_observations ?? []) {
    const d = o.observation_date ?? '';
    const inCare = (episodesBy.get(o.client_id ?? '') ?? []).some((e) => (e.start_date ?? '') <= d && d <= endOf(e.end_date));
    if (!inCare) problems.push(`observation ${o.observation_id} outside care`);
  }
  for (const m of t.restrictive_measures ?? []) if (m.measure_type === 'other' && !m.description) problems.push(`measure ${m.measure_id}: other without description`);
  return problems;
}

const overlaps = (s: string, e: string, lo: string, hi: string) => s <= hi && endOf(e) >= lo;

function allCsv(t: SampleTables): string {
  return SAMPLE_TABLE_NAMES.map((n) => toCsv([...SAMPLE_LAYOUT[n].columns], t[n] ?? [])).join('\u0000');
}

describe('sample generator', () => {
  const sample = generateSample(DEFAULT_SAMPLE);

  it('is deterministic per seed and differs between seeds', () => {
    expect(allCsv(generateSample(DEFAULT_SAMPLE))).toBe(allCsv(sample));
    expect(allCsv(generateSample({ ...DEFAULT_SAMPLE, seed: DEFAULT_SAMPLE.seed + 1 }))).not.toBe(allCsv(sample));
  });

  it('has the staging.yaml tables, files and column order', () => {
    expect(Object.keys(sample)).toEqual(Object.keys(schema));
    for (const [name, spec] of Object.entries(schema)) {
      const layout = SAMPLE_LAYOUT[name as keyof typeof SAMPLE_LAYOUT];
      expect(layout, name).toBeDefined();
      expect(layout.file).toBe(spec.file);
      expect([...layout.columns]).toEqual(Object.keys(spec.columns));
      const header = toCsv([...layout.columns], sample[name] ?? []).split('\n')[0];
      expect(header).toBe(Object.keys(spec.columns).join(','));
    }
  });

  it('satisfies every staging.yaml rule and is coherent (default sample)', () => {
    expect(validate(sample)).toEqual([]);
    expect(coherence(sample)).toEqual([]);
  });

  it('mini-validator catches broken rows', () => {
    const broken = structuredClone(sample);
    broken.agreements![0]!.end_date = '2023-02-30';
    broken.clauses![0]!.function_code = 'NOPE';
    const obs = broken.client_observations!.find((o) => o.kind === 'decubitus')!;
    obs.value = 'yes';
    broken.clients![1]!.client_id = broken.clients![0]!.client_id!;
    broken.absences![0]!.end_date = '2000-01-01';
    const problems = validate(broken);
    expect(problems.some((p) => p.includes('end_date') && p.includes('2023-02-30'))).toBe(true);
    expect(problems.some((p) => p.includes('NOPE'))).toBe(true);
    expect(problems.some((p) => p.includes('"yes"'))).toBe(true);
    expect(problems.some((p) => p.includes('duplicate'))).toBe(true);
    expect(problems.some((p) => p.includes('before start_date'))).toBe(true);
  });

  it('covers every code list that matters for the indicators', () => {
    const kinds = new Set(sample.agreements!.map((a) => a.kind));
    expect([...kinds].sort()).toEqual([...(schema.agreements!.columns.kind!.values ?? [])].sort());
    const types = new Set(sample.restrictive_measures!.map((m) => m.measure_type));
    expect([...types].sort()).toEqual([...(schema.restrictive_measures!.columns.measure_type!.values ?? [])].sort());
    const profiles = new Set(sample.indications!.map((i) => i.care_profile));
    expect([...profiles].sort()).toEqual([...(schema.indications!.columns.care_profile!.values ?? [])].sort());
    const qualifications = new Set(sample.functions!.map((f) => f.qualification));
    expect([...qualifications].sort()).toEqual([...(schema.functions!.columns.qualification!.values ?? [])].sort());
    const absenceKinds = new Set(sample.absences!.map((a) => a.kind));
    expect(absenceKinds).toEqual(new Set(['sickness', 'pregnancy_leave']));
    const obsKinds = new Set(sample.client_observations!.map((o) => o.kind));
    expect(obsKinds.size).toBe(5);
    const topics = new Set(sample.ward_discussions!.map((d) => d.topic));
    expect(topics.size).toBe(2);
    const units = new Set(sample.clauses!.map((c) => c.size_unit));
    expect(units).toEqual(new Set(['hours_per_week', 'fte', '']));
  });

  it('has realistic counts and shape', () => {
    expect(sample.organisation).toHaveLength(1);
    expect(sample.locations).toHaveLength(3);
    expect(sample.clients).toHaveLength(180);
    const wardsPer = new Map<string, number>();
    for (const w of sample.wards!) wardsPer.set(w.location_id!, (wardsPer.get(w.location_id!) ?? 0) + 1);
    for (const n of wardsPer.values()) expect(n).toBeGreaterThanOrEqual(2);
    for (const n of wardsPer.values()) expect(n).toBeLessThanOrEqual(4);

    // Staff persons (PIL + PNIL) active some time in 2022–2023.
    const staffKinds = new Set(['permanent', 'fixed_term', 'on_call', 'bbl', 'zzp', 'agency', 'payroll']);
    const staff = new Set(
      sample.agreements!.filter((a) => staffKinds.has(a.kind!) && overlaps(a.start_date!, a.end_date!, '2022-01-01', '2023-12-31')).map((a) => a.employee_id),
    );
    expect(staff.size).toBeGreaterThanOrEqual(235);
    expect(staff.size).toBeLessThanOrEqual(265);
    // Every person is active in the period.
    const active = new Set(sample.agreements!.filter((a) => overlaps(a.start_date!, a.end_date!, '2022-01-01', '2023-12-31')).map((a) => a.employee_id));
    expect(active.size).toBe(sample.employees!.length);
    // Permanent is the majority kind; some agreements have several clauses.
    const permanent = sample.agreements!.filter((a) => a.kind === 'permanent').length;
    expect(permanent / sample.agreements!.length).toBeGreaterThan(0.4);
    const perAgreement = new Map<string, number>();
    for (const c of sample.clauses!) perAgreement.set(c.agreement_id!, (perAgreement.get(c.agreement_id!) ?? 0) + 1);
    const multi = [...perAgreement.values()].filter((n) => n > 1).length / perAgreement.size;
    expect(multi).toBeGreaterThan(0.15);
    expect(multi).toBeLessThan(0.45);
    // Concurrent agreements for some persons.
    const byPerson = new Map<string, Array<Record<string, string>>>();
    for (const a of sample.agreements!) byPerson.set(a.employee_id!, [...(byPerson.get(a.employee_id!) ?? []), a]);
    const concurrent = [...byPerson.values()].filter((list) =>
      list.some((a, i) => list.some((b, j) => i < j && overlaps(a.start_date!, a.end_date!, b.start_date!, endOf(b.end_date)))),
    ).length;
    expect(concurrent).toBeGreaterThan(0);

    // Clients: most in care on 2024-01-15.
    const inCare = new Set(
      sample.care_episodes!.filter((e) => overlaps(e.start_date!, e.end_date!, '2024-01-15', '2024-01-15')).map((e) => e.client_id),
    );
    expect(inCare.size / 180).toBeGreaterThan(0.5);
    const withMeasures = new Set(sample.restrictive_measures!.map((m) => m.client_id)).size / 180;
    expect(withMeasures).toBeGreaterThan(0.15);
    expect(withMeasures).toBeLessThan(0.35);
    // Every client is in care some time in 2022-01-01 .. 2024-02-29.
    const served = new Set(sample.care_episodes!.filter((e) => overlaps(e.start_date!, e.end_date!, '2022-01-01', '2024-02-29')).map((e) => e.client_id));
    expect(served.size).toBe(180);
  });

  it('works for tiny and large options', () => {
    const tiny = generateSample({ employees: 5, clients: 3, locations: 1, seed: 1 });
    expect(validate(tiny)).toEqual([]);
    expect(coherence(tiny)).toEqual([]);
    expect(tiny.clients).toHaveLength(3);
    const t0 = performance.now();
    const big = generateSample({ employees: 5000, clients: 3000, locations: 40, seed: 7 });
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(big.locations).toHaveLength(40);
    expect(big.clients).toHaveLength(3000);
    expect(validate(big)).toEqual([]);
    expect(coherence(big)).toEqual([]);
  }, 60_000);

  it('survives many seeds', () => {
    for (let seed = 0; seed < 20; seed++) {
      const opts: SampleOptions = { employees: 60 + seed * 7, clients: 40 + seed * 5, locations: 1 + (seed % 5), seed };
      const t = generateSample(opts);
      expect(validate(t), `seed ${seed}`).toEqual([]);
      expect(coherence(t), `seed ${seed}`).toEqual([]);
    }
  }, 60_000);

  it('writes one CSV per table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kikv-sample-'));
    try {
      const files = await writeSample(DEFAULT_SAMPLE, join(dir, 'out'));
      expect(files.map((f) => f.slice(f.lastIndexOf('/') + 1).replace(/^.*\\/, ''))).toEqual(Object.values(schema).map((s) => s.file));
      const agreements = await readFile(join(dir, 'out', 'agreements.csv'), 'utf8');
      expect(agreements).toBe(toCsv([...SAMPLE_LAYOUT.agreements.columns], sample.agreements!));
      expect(agreements.charCodeAt(0)).not.toBe(0xfeff);
      expect(agreements.endsWith('\n')).toBe(true);
      expect(agreements.includes('\r')).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Every row through the import's own staging check (tables in reference order, keys remembered as the import does). */
function stagingRejections(tables: SampleTables): Rejection[] {
  const keys: KeyIndex = new Map();
  const out: Rejection[] = [];
  for (const table of loadStagingSchema(STAGING).tables)
    (tables[table.name] ?? []).forEach((values, i) => {
      const problems = checkRow(table, values, keys, { file: table.file, row: i + 1, line: i + 2 });
      if (problems.length > 0) out.push(...problems);
      else rememberKeys(table, values, keys);
    });
  return out;
}

describe('sample generator over a configurable period', () => {
  it('keeps the default output byte for byte (pinned), also when the default years are given', () => {
    const csv = allCsv(generateSample(DEFAULT_SAMPLE));
    expect(createHash('sha256').update(csv).digest('hex')).toBe('6e3194dffebbfbfecce3743359efe80a990884f84e833c4588a7329afc1b13cb');
    expect(allCsv(generateSample({ ...DEFAULT_SAMPLE, years: { from: 2022, to: 2023 } }))).toBe(csv);
    expect(stagingRejections(generateSample(DEFAULT_SAMPLE))).toEqual([]);
  });

  it('rejects impossible years', () => {
    expect(() => generateSample({ ...DEFAULT_SAMPLE, years: { from: 2023, to: 2019 } })).toThrow(RangeError);
    expect(() => generateSample({ ...DEFAULT_SAMPLE, years: { from: 2019.5, to: 2023 } })).toThrow(RangeError);
    expect(() => generateSample({ ...DEFAULT_SAMPLE, years: { from: 1900, to: 2023 } })).toThrow(RangeError);
  });

  describe('a provider over 2019–2023', () => {
    const N = 600;
    const C = 300;
    const t = generateSample({ employees: N, clients: C, locations: 5, seed: 1919, years: { from: 2019, to: 2023 } });
    const YEARS = ['2019', '2020', '2021', '2022', '2023'];
    const perYear = (rows: Array<Record<string, string>>, col: string) => {
      const by = new Map<string, number>();
      for (const r of rows) by.set(r[col]!.slice(0, 4), (by.get(r[col]!.slice(0, 4)) ?? 0) + 1);
      return YEARS.map((y) => by.get(y) ?? 0);
    };
    /** Every value within `tolerance` of the mean. */
    const flat = (counts: number[], tolerance: number) => {
      const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
      for (const n of counts) expect(Math.abs(n - mean) / mean, `${counts.join(', ')}`).toBeLessThan(tolerance);
    };

    it('passes the staging checks row by row and is coherent', () => {
      expect(stagingRejections(t)).toEqual([]);
      expect(validate(t)).toEqual([]);
      expect(coherence(t)).toEqual([]);
    });

    it('spreads every dated table over the five years at steady yearly densities', () => {
      const dated: Array<[string, string, number]> = [
        ['agreements', 'start_date', 0.5],
        ['clauses', 'start_date', 0.5],
        ['worked_hours', 'month', 0.2],
        ['absences', 'start_date', 0.35],
        ['ledger', 'booking_date', 0.1],
        ['indications', 'start_date', 0.5],
        ['care_episodes', 'start_date', 0.5],
        ['restrictive_measures', 'start_date', 0.8],
        ['ward_discussions', 'discussion_date', 0.35],
      ];
      for (const [table, col, tolerance] of dated) {
        const counts = perYear(t[table]!, col);
        for (const [i, n] of counts.entries()) expect(n, `${table} in ${YEARS[i]}`).toBeGreaterThan(0);
        flat(counts, tolerance);
      }
      // Medication reviews every year; Basisveiligheid measurements early in each year after the first.
      const obs = t.client_observations!;
      for (const y of YEARS) expect(obs.some((o) => o.kind === 'medication_review' && o.observation_date!.startsWith(y)), y).toBe(true);
      for (const y of ['2020', '2021', '2022', '2023', '2024'])
        expect(obs.some((o) => o.kind === 'decubitus' && o.observation_date! >= `${y}-01-01` && o.observation_date! <= `${y}-02-29`), y).toBe(true);
      expect(obs.every((o) => o.observation_date! >= '2019-01-01' && o.observation_date! <= '2024-02-29')).toBe(true);
      // Worked hours: every month of the period, none outside it.
      const months = new Set(t.worked_hours!.map((w) => w.month));
      expect(months.size).toBe(60);
      expect([...months].every((m) => m! >= '2019-01' && m! <= '2023-12')).toBe(true);
    });

    it('counts staff and clients active in the period, with steady head counts (turnover)', () => {
      const staffKinds = new Set(['permanent', 'fixed_term', 'on_call', 'bbl', 'zzp', 'agency', 'payroll']);
      const staff = new Set(
        t.agreements!.filter((a) => staffKinds.has(a.kind!) && overlaps(a.start_date!, a.end_date!, '2019-01-01', '2023-12-31')).map((a) => a.employee_id),
      );
      expect(staff.size).toBeGreaterThanOrEqual(N * 0.94);
      expect(staff.size).toBeLessThanOrEqual(N * 1.06);
      const active = new Set(t.agreements!.filter((a) => overlaps(a.start_date!, a.end_date!, '2019-01-01', '2023-12-31')).map((a) => a.employee_id));
      expect(active.size).toBe(t.employees!.length);
      const served = new Set(t.care_episodes!.filter((e) => overlaps(e.start_date!, e.end_date!, '2019-01-01', '2024-02-29')).map((e) => e.client_id));
      expect(served.size).toBe(C);
      // On 1 July of each year a similar number of staff and clients is present: people come and go.
      const on = (rows: Array<Record<string, string>>, d: string, id: string) => new Set(rows.filter((r) => overlaps(r.start_date!, r.end_date!, d, d)).map((r) => r[id])).size;
      const staffNow = YEARS.map((y) => on(t.agreements!.filter((a) => staffKinds.has(a.kind!)), `${y}-07-01`, 'employee_id'));
      const clientsNow = YEARS.map((y) => on(t.care_episodes!, `${y}-07-01`, 'client_id'));
      flat(staffNow, 0.15);
      flat(clientsNow, 0.2);
      // Far fewer present at any one time than over five years.
      expect(Math.max(...staffNow)).toBeLessThan(N * 0.7);
      expect(Math.max(...clientsNow)).toBeLessThan(C * 0.6);
    });
  });

  it('survives other spans and seeds', () => {
    for (const [from, to] of [[2023, 2023], [2015, 2024], [2010, 2012]] as const)
      for (let seed = 0; seed < 4; seed++) {
        const s = generateSample({ employees: 40 + seed * 17, clients: 30 + seed * 11, locations: 1 + seed, seed, years: { from, to } });
        expect(stagingRejections(s), `${from}–${to} seed ${seed}`).toEqual([]);
        expect(validate(s), `${from}–${to} seed ${seed}`).toEqual([]);
      }
  }, 60_000);
});

describe('toCsv', () => {
  it('quotes only fields with commas, quotes, CR or LF', () => {
    const csv = toCsv(['a', 'b', 'c'], [
      { a: 'plain', b: 'with, comma', c: 'say "hi"' },
      { a: 'line\nbreak', b: 'cr\rhere', c: '' },
      { a: 'x' },
    ]);
    expect(csv).toBe('a,b,c\nplain,"with, comma","say ""hi"""\n"line\nbreak","cr\rhere",\nx,,\n');
  });

  it('writes a header only for no rows', () => {
    expect(toCsv(['x', 'y'], [])).toBe('x,y\n');
  });
});

describe('sample generator with edge cases (option edgeCases)', () => {
  const periods: SampleOptions['years'][] = [undefined, { from: 2019, to: 2023 }, { from: 2023, to: 2023 }, { from: 2020, to: 2021 }];
  for (const years of periods) {
    it(`adds the edge cases on top of the same generated rows, and they pass the staging checks (${years ? `${years.from}–${years.to}` : 'default years'})`, () => {
      const opts: SampleOptions = { employees: 12, clients: 4, locations: 2, seed: 42, ...(years ? { years } : {}) };
      const plain = generateSample(opts);
      const edge = generateSample({ ...opts, edgeCases: true });
      for (const [name, rows] of Object.entries(edge)) expect(rows.filter((r) => !Object.values(r)[0]!.startsWith('X')), name).toEqual(plain[name]);
      expect(stagingRejections(edge)).toEqual([]);
      expect(validate(edge)).toEqual([]);
      expect(coherence(edge)).toEqual([]);
    });
  }

  it('contains each edge case the oracle test relies on', () => {
    const t = generateSample({ employees: 3, clients: 1, locations: 1, seed: 5, years: { from: 2019, to: 2023 }, edgeCases: true });
    const Y = '2023';
    const x = <T extends Record<string, string>>(rows: T[]) => rows.filter((r) => Object.values(r)[0]!.startsWith('X'));
    const agreements = x(t.agreements!);
    const clauses = x(t.clauses!);
    const absences = x(t.absences!);
    // Agreements crossing the reporting year's start and end, open-ended ones.
    expect(agreements.some((a) => a.start_date! < `${Y}-01-01` && a.end_date! >= `${Y}-01-01` && a.end_date! < `${Y}-12-31`)).toBe(true);
    expect(agreements.some((a) => a.start_date! > `${Y}-01-01` && a.start_date! <= `${Y}-12-31` && a.end_date! > `${Y}-12-31`)).toBe(true);
    expect(agreements.filter((a) => a.end_date === '').length).toBeGreaterThan(2);
    // Clause changes on 29 February (2020 and 2024 here) and mid-month.
    for (const leap of ['2020-02-29', '2024-02-29']) expect(clauses.some((c) => c.start_date === leap) && clauses.some((c) => c.end_date === leap)).toBe(true);
    expect(clauses.some((c) => c.start_date === `${Y}-05-17`)).toBe(true);
    // Overlapping, partial, open-ended absences; pregnancy leave.
    const byAgreement = new Map<string, typeof absences>();
    for (const a of absences) byAgreement.set(a.agreement_id!, [...(byAgreement.get(a.agreement_id!) ?? []), a]);
    const overlapping = [...byAgreement.values()].some((list) => list.some((a) => list.some((b) => a !== b && a.start_date! <= b.start_date! && b.start_date! <= (a.end_date || '9999'))));
    expect(overlapping).toBe(true);
    expect(absences.some((a) => a.percentage === '37.5') && absences.some((a) => a.end_date === '') && absences.some((a) => a.kind === 'pregnancy_leave')).toBe(true);
    // Several agreements of one person at once, interns, volunteers, staff without a location.
    const perPerson = new Map<string, number>();
    for (const a of agreements) if (a.start_date! <= `${Y}-06-15` && (a.end_date === '' || a.end_date! >= `${Y}-06-15`)) perPerson.set(a.employee_id!, (perPerson.get(a.employee_id!) ?? 0) + 1);
    expect(Math.max(...perPerson.values())).toBeGreaterThanOrEqual(3);
    expect(agreements.some((a) => a.kind === 'internship') && agreements.some((a) => a.kind === 'volunteer')).toBe(true);
    const kindOf = new Map(agreements.map((a) => [a.agreement_id!, a.kind!]));
    expect(clauses.some((c) => c.ward_id === '' && !['internship', 'volunteer'].includes(kindOf.get(c.agreement_id!)!))).toBe(true);
    // Clients in care in the reporting year, one admitted on 29 February.
    expect(x(t.care_episodes!).some((e) => e.start_date === '2020-02-29')).toBe(true);
    expect(x(t.care_episodes!).filter((e) => e.start_date! <= `${Y}-12-31` && (e.end_date === '' || e.end_date! >= `${Y}-01-01`)).length).toBeGreaterThanOrEqual(3);
    // Without clients asked for, no edge-case clients either.
    expect(generateSample({ employees: 3, clients: 0, locations: 1, seed: 5, edgeCases: true }).clients).toEqual([]);
  });
});

describe('sample generator with limited history (option historyYears)', () => {
  it('starts nothing before the cut, keeps every agreement of the period, and passes the staging checks', () => {
    for (const years of [{ from: 2022, to: 2023 }, { from: 2019, to: 2023 }]) {
      const opts: SampleOptions = { employees: 80, clients: 30, locations: 2, seed: 9, years, edgeCases: true };
      const full = generateSample(opts);
      const short = generateSample({ ...opts, historyYears: 2 });
      const cut = `${years.from - 2}-01-01`;
      for (const [table, col] of [['agreements', 'start_date'], ['clauses', 'start_date'], ['absences', 'start_date'], ['indications', 'start_date'], ['care_episodes', 'start_date']] as const) {
        expect(short[table]!.filter((r) => r[col]! < cut), `${table} before ${cut}`).toEqual([]);
      }
      expect(full.agreements!.some((a) => a.start_date! < cut), 'the full sample has older agreements').toBe(true);
      const inPeriod = (rows: Array<Record<string, string>>) => rows.filter((a) => !a.end_date || a.end_date >= `${years.from}-01-01`).map((a) => a.agreement_id);
      expect(inPeriod(short.agreements!)).toEqual(inPeriod(full.agreements!));
      expect(stagingRejections(short)).toEqual([]);
      expect(validate(short)).toEqual([]);
      expect(coherence(short)).toEqual([]);
    }
    expect(() => generateSample({ ...DEFAULT_SAMPLE, historyYears: 0 })).toThrow(RangeError);
  });
});
