import { readYamlFile } from '../config/load.js';
import type { Rejection } from '../report/types.js';

export type { Rejection };

/** A column of a staging table (config/staging.yaml documents the types). */
export interface ColumnSpec {
  type: 'string' | 'id' | 'date' | 'month' | 'integer' | 'decimal' | 'code' | 'digits' | 'postcode';
  required?: boolean;
  unique?: boolean;
  values?: string[];
  valuesBy?: { column: string; values: Record<string, string[]> };
  length?: number;
  min?: number;
  max?: number;
  references?: string;
  notBefore?: string;
  /** false for dates that do not describe events (birth dates): they do not widen the calendar. */
  calendar?: boolean;
  description?: string;
}

export interface TableSpec {
  name: string;
  file: string;
  key?: string;
  description?: string;
  columns: Record<string, ColumnSpec>;
}

export interface StagingSchema {
  tables: TableSpec[];
}

/** Reads config/staging.yaml and orders the tables so that every referenced table comes first. */
export function loadStagingSchema(file: string): StagingSchema {
  const raw = readYamlFile(file, 'staging schema') as { tables: Record<string, Omit<TableSpec, 'name'>> };
  const tables = Object.entries(raw.tables).map(([name, t]) => ({ name, ...t }));
  const byName = new Map(tables.map((t) => [t.name, t]));
  const ordered: TableSpec[] = [];
  const visiting = new Set<string>();
  const visit = (t: TableSpec) => {
    if (ordered.includes(t)) return;
    if (visiting.has(t.name)) throw new Error(`${file}: tables ${[...visiting].join(' -> ')} reference each other in a cycle`);
    visiting.add(t.name);
    for (const [col, spec] of Object.entries(t.columns)) {
      if (!spec.references) continue;
      const target = byName.get(spec.references.split('.')[0] ?? '');
      if (!target) throw new Error(`${file}: ${t.name}.${col} references unknown table "${spec.references}"`);
      if (target !== t) visit(target);
    }
    visiting.delete(t.name);
    ordered.push(t);
  };
  tables.forEach(visit);
  return { tables: ordered };
}

/** Values already accepted, per "table.column", for uniqueness and reference checks. */
export type KeyIndex = Map<string, Set<string>>;

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;
const POSTCODE = /^[1-9]\d{3} ?[A-Za-z]{2}$/;

/** Checks one row against its table; returns every problem found (empty = the row is good). */
export function checkRow(table: TableSpec, values: Record<string, string>, keys: KeyIndex, at: Omit<Rejection, 'column' | 'value' | 'reason'>): Rejection[] {
  const problems: Rejection[] = [];
  const reject = (column: string, reason: string) => problems.push({ ...at, column, value: values[column] ?? null, reason });
  for (const [name, spec] of Object.entries(table.columns)) {
    const v = values[name];
    if (v === undefined) {
      if (spec.required) reject(name, `column "${name}" is missing from the header of ${table.file}`);
      continue;
    }
    if (v === '') {
      if (spec.required) reject(name, `is empty; a value is required (${describeType(spec)})`);
      continue;
    }
    const typeProblem = checkType(spec, v, values);
    if (typeProblem) {
      reject(name, typeProblem);
      continue;
    }
    if (spec.notBefore && values[spec.notBefore] && DATE.test(values[spec.notBefore]!) && v < values[spec.notBefore]!) {
      reject(name, `${v} is before ${spec.notBefore} ${values[spec.notBefore]}; an end date cannot precede its start`);
    }
    if (spec.references) {
      const known = keys.get(spec.references);
      if (!known?.has(v)) {
        const [t, c] = spec.references.split('.');
        reject(name, `refers to ${c} "${v}", which is not in ${t} (missing there, or that row was rejected)`);
      }
    }
    if ((spec.unique || table.key === name) && keys.get(`${table.name}.${name}`)?.has(v)) {
      reject(name, `"${v}" occurs more than once; ${name} must be unique in ${table.file}`);
    }
  }
  return problems;
}

/** Records the unique and key values of an accepted row so later rows and tables can refer to them. */
export function rememberKeys(table: TableSpec, values: Record<string, string>, keys: KeyIndex): void {
  for (const [name, spec] of Object.entries(table.columns)) {
    if (!(spec.unique || table.key === name) || !values[name]) continue;
    const k = `${table.name}.${name}`;
    if (!keys.has(k)) keys.set(k, new Set());
    keys.get(k)!.add(values[name]!);
  }
}

function checkType(spec: ColumnSpec, v: string, row: Record<string, string>): string | undefined {
  switch (spec.type) {
    case 'string':
      return undefined;
    case 'id':
      return ID.test(v) ? undefined : `"${v}" is not a valid identifier (1–64 letters, digits, ".", "_" or "-")`;
    case 'date':
      return validDate(v) ? undefined : `"${v}" is not a date; write YYYY-MM-DD, e.g. 2023-07-01`;
    case 'month': {
      const m = MONTH.exec(v);
      return m && Number(m[2]) >= 1 && Number(m[2]) <= 12 ? undefined : `"${v}" is not a month; write YYYY-MM, e.g. 2023-07`;
    }
    case 'integer':
    case 'decimal': {
      const ok = spec.type === 'integer' ? INTEGER.test(v) : DECIMAL.test(v);
      if (!ok) return `"${v}" is not ${spec.type === 'integer' ? 'a whole number' : 'a number'}${v.includes(',') ? '; use a decimal point, not a comma' : ''}`;
      const n = Number(v);
      if (spec.min !== undefined && n < spec.min) return `${v} is below the minimum ${spec.min}`;
      if (spec.max !== undefined && n > spec.max) return `${v} is above the maximum ${spec.max}`;
      return undefined;
    }
    case 'digits':
      return new RegExp(`^\\d{${spec.length}}$`).test(v) ? undefined : `"${v}" must be exactly ${spec.length} digits`;
    case 'postcode':
      return POSTCODE.test(v) ? undefined : `"${v}" is not a Dutch postcode; write 4 digits and 2 letters, e.g. 7411AB`;
    case 'code': {
      const allowed = spec.valuesBy ? spec.valuesBy.values[row[spec.valuesBy.column] ?? ''] : spec.values;
      if (!allowed) return undefined; // the column it depends on is itself invalid and reported there
      if (allowed.includes(v)) return undefined;
      const ctx = spec.valuesBy ? ` when ${spec.valuesBy.column} is "${row[spec.valuesBy.column]}"` : '';
      return `"${v}" is not an allowed value${ctx}; allowed: ${allowed.join(', ')}`;
    }
  }
}

function validDate(v: string): boolean {
  const m = DATE.exec(v);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

function describeType(spec: ColumnSpec): string {
  if (spec.type === 'code') return `one of ${(spec.values ?? Object.values(spec.valuesBy?.values ?? {}).flat()).join(', ')}`;
  if (spec.type === 'digits') return `${spec.length} digits`;
  return spec.type;
}
