/**
 * Deterministic, seedable generator of a fictitious Dutch nursing-home provider's source exports
 * (the staging CSV files described by config/staging.yaml). Same options => byte-identical files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateClients } from './clients.js';
import { toCsv } from './csv.js';
import { generateEdgeCases } from './edge-cases.js';
import { limitHistory } from './history.js';
import { FUNCTIONS, generateOrg } from './org.js';
import { DEFAULT_YEARS, Period, type SampleYears } from './period.js';
import { Rng } from './random.js';
import { generateStaff } from './staff.js';
import { SAMPLE_LAYOUT, SAMPLE_TABLE_NAMES } from './tables.js';

export { toCsv } from './csv.js';
export { SAMPLE_LAYOUT, SAMPLE_TABLE_NAMES } from './tables.js';
export { DEFAULT_YEARS, type SampleYears } from './period.js';

export interface SampleOptions {
  /** Staff persons (PIL and PNIL) active at some time in the period's years; interns (+8 %) and volunteers (+6 %) come on top. */
  employees: number;
  /** Clients in care at some time from 1 January of `years.from` to the end of February after `years.to`. */
  clients: number;
  locations: number;
  seed: number;
  /**
   * Calendar years the data covers (default 2022–2023): agreements, clauses, monthly worked hours, absences,
   * ledger postings, indications, care episodes, observations, measures and ward discussions are spread over
   * them at the same yearly densities, with staff and client turnover. The default gives the same files as
   * before the option existed.
   */
  years?: SampleYears;
  /**
   * Adds a fixed set of edge cases on top (src/sample/edge-cases.ts: year-boundary agreements, clause
   * changes mid-month and on 29 February, overlapping and partial absences, several agreements at once,
   * pregnancy leave, interns, volunteers, staff without a location; with `clients` > 0 also edge-case
   * clients). Off by default, so the default sample stays as it is.
   */
  edgeCases?: boolean;
  /**
   * At most this many whole years of history before `years.from`: earlier starts move to 1 January of
   * year `from - historyYears`, and what ended before it is left out (src/sample/history.ts). Keeps the
   * import's calendar short for tests that import many small providers. Unlimited by default.
   */
  historyYears?: number;
}

export const DEFAULT_SAMPLE: SampleOptions = { employees: 250, clients: 180, locations: 3, seed: 2023 };

/** Table name (key of `tables` in staging.yaml) -> rows, each row an object keyed by column name with string values ('' = empty). */
export type SampleTables = Record<string, Array<Record<string, string>>>;

function count(name: string, v: number, min: number): number {
  if (!Number.isFinite(v) || Math.floor(v) < min) throw new RangeError(`sample option ${name} must be a whole number >= ${min} (got ${v})`);
  return Math.floor(v);
}

export function generateSample(opts: SampleOptions): SampleTables {
  const employees = count('employees', opts.employees, 0);
  const clients = count('clients', opts.clients, 0);
  const locations = count('locations', opts.locations, 1);
  const period = new Period(opts.years ?? DEFAULT_YEARS);
  const root = new Rng(opts.seed, 'sample');

  const org = generateOrg(root.fork('org'), locations);
  const staff = generateStaff(root.fork('staff'), employees, org.locations, org.wards, period);
  const care = generateClients(root.fork('clients'), clients, org.locations, org.wards, period);
  if (opts.edgeCases) {
    // Its own stream: the generated rows stay the same with or without the edge cases.
    const edge = generateEdgeCases(root.fork('edge-cases'), org.locations, org.wards, period, clients > 0);
    for (const k of ['employees', 'agreements', 'clauses', 'worked_hours', 'absences'] as const) staff[k].push(...edge[k]);
    for (const k of ['clients', 'indications', 'care_episodes'] as const) care[k].push(...edge[k]);
  }

  const tables: SampleTables = {
    organisation: [{ organisation_id: org.organisation.id, name: org.organisation.name, kvk_number: org.organisation.kvk }],
    locations: org.locations.map((l) => ({
      location_id: l.id,
      name: l.name,
      vestigingsnummer: l.vestigingsnummer,
      street: l.street,
      house_number: l.houseNumber,
      postcode: l.postcode,
      city: l.city,
      organisation_id: org.organisation.id,
    })),
    wards: org.wards.map((w) => ({ ward_id: w.id, location_id: w.location.id, name: w.name })),
    functions: FUNCTIONS.map((f) => ({ function_code: f.code, name: f.name, care: f.care ? 'yes' : 'no', qualification: f.qualification })),
    employees: staff.employees,
    agreements: staff.agreements,
    clauses: staff.clauses,
    worked_hours: staff.worked_hours,
    absences: staff.absences,
    ledger: staff.ledger,
    clients: care.clients,
    indications: care.indications,
    care_episodes: care.care_episodes,
    client_observations: care.client_observations,
    restrictive_measures: care.restrictive_measures,
    ward_discussions: care.ward_discussions,
  };
  // Return the tables in staging.yaml order.
  const ordered: SampleTables = {};
  for (const name of SAMPLE_TABLE_NAMES) ordered[name] = tables[name] ?? [];
  if (opts.historyYears !== undefined) limitHistory(ordered, period.from - count('historyYears', opts.historyYears, 1));
  return ordered;
}

/** Writes one CSV per table (file name from staging.yaml, e.g. agreements.csv) into dir (created if missing); returns the file paths written. */
export async function writeSample(opts: SampleOptions, dir: string): Promise<string[]> {
  const tables = generateSample(opts);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const name of SAMPLE_TABLE_NAMES) {
    const layout = SAMPLE_LAYOUT[name];
    const file = join(dir, layout.file);
    await writeFile(file, toCsv([...layout.columns], tables[name] ?? []), 'utf8');
    written.push(file);
  }
  return written;
}
