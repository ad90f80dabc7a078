/**
 * File names and column order of the staging tables (mirrors config/staging.yaml; a test checks
 * that these lists equal the YAML's column lists).
 */
export interface SampleTableLayout {
  file: string;
  columns: string[];
}

export const SAMPLE_LAYOUT = {
  organisation: { file: 'organisation.csv', columns: ['organisation_id', 'name', 'kvk_number'] },
  locations: {
    file: 'locations.csv',
    columns: ['location_id', 'name', 'vestigingsnummer', 'street', 'house_number', 'postcode', 'city', 'organisation_id'],
  },
  wards: { file: 'wards.csv', columns: ['ward_id', 'location_id', 'name'] },
  functions: { file: 'functions.csv', columns: ['function_code', 'name', 'care', 'qualification'] },
  employees: { file: 'employees.csv', columns: ['employee_id', 'birth_date'] },
  agreements: { file: 'agreements.csv', columns: ['agreement_id', 'employee_id', 'kind', 'start_date', 'end_date'] },
  clauses: {
    file: 'clauses.csv',
    columns: ['clause_id', 'agreement_id', 'start_date', 'end_date', 'function_code', 'ward_id', 'contract_size', 'size_unit'],
  },
  worked_hours: { file: 'worked_hours.csv', columns: ['worked_id', 'agreement_id', 'month', 'hours', 'ward_id'] },
  absences: {
    file: 'absences.csv',
    columns: ['absence_id', 'agreement_id', 'kind', 'start_date', 'end_date', 'percentage'],
  },
  ledger: { file: 'ledger.csv', columns: ['posting_id', 'booking_date', 'rgs_code', 'amount', 'location_id'] },
  clients: { file: 'clients.csv', columns: ['client_id', 'birth_date'] },
  indications: {
    file: 'indications.csv',
    columns: ['indication_id', 'client_id', 'care_profile', 'delivery_form', 'with_treatment', 'start_date', 'end_date'],
  },
  care_episodes: {
    file: 'care_episodes.csv',
    columns: ['episode_id', 'client_id', 'indication_id', 'ward_id', 'start_date', 'end_date'],
  },
  client_observations: {
    file: 'client_observations.csv',
    columns: ['observation_id', 'client_id', 'observation_date', 'kind', 'value'],
  },
  restrictive_measures: {
    file: 'restrictive_measures.csv',
    columns: ['measure_id', 'client_id', 'measure_type', 'start_date', 'end_date', 'description'],
  },
  ward_discussions: { file: 'ward_discussions.csv', columns: ['discussion_id', 'ward_id', 'discussion_date', 'topic'] },
} as const satisfies Record<string, { file: string; columns: readonly string[] }>;

export type SampleTableName = keyof typeof SAMPLE_LAYOUT;

export const SAMPLE_TABLE_NAMES = Object.keys(SAMPLE_LAYOUT) as SampleTableName[];

/** Formats sequential ids: prefix + zero-padded number, width at least `minWidth` and wide enough for `count`. */
export function idFormatter(prefix: string, count: number, minWidth: number): (n: number) => string {
  const width = Math.max(minWidth, String(Math.max(count, 1)).length);
  return (n: number) => prefix + String(n).padStart(width, '0');
}
