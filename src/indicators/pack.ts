import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readYamlFile } from '../config/load.js';
import type { QueryEngine, SparqlJsonResults, SparqlJsonTerm } from '../engines/types.js';
import { expand } from '../ontology/namespaces.js';
import { normaliseQuery, type Engine as NormaliserEngine, type ParamValue } from '../sparql/normalise.js';
import { sha256 } from '../store/snapshot.js';
import { declaredParameters, type ParameterValue } from './bind.js';

export type ItemUnit = 'number' | 'percentage' | 'yes/no' | 'text' | 'url';
export type ItemLevel = 'organisation' | 'location';

export interface ParameterDef {
  /** `xsd:date`, `xsd:integer`, `xsd:decimal`, `xsd:string`, … or `iri`. */
  datatype: string;
  /** The value; `{year}`, `{year-1}`, `{year+1}` are replaced by the reporting year (± N). */
  value: string;
  description?: string;
  /** Allowed values (IRIs as CURIEs or full IRIs, literals as text): sh:in of the parameter shape. */
  in?: string[];
  /** Bounds for dates and numbers (may use {year}): sh:minInclusive / sh:maxInclusive. */
  minInclusive?: string;
  maxInclusive?: string;
  /** The name of a parameter this one may not exceed (sh:lessThanOrEquals), e.g. start_periode ≤ eind_periode. */
  notAfter?: string;
}

/**
 * One item of a profile: a computed item (`query`) or a manual item (`manual: true`) that the
 * board enters. See queries/README.md for the contract a computed item's query must meet.
 */
export interface IndicatorDef {
  id: string;
  set: { name: string; code: string };
  inid: string;
  number: string;
  name: string;
  unit: ItemUnit;
  level: ItemLevel[];
  query?: string;
  manual?: boolean;
  /** Decimal places of the value (default 2). */
  decimals?: number;
  /** Why there is no value when the noemer is zero or there is no row, e.g. "no clients in care on the peildatum". */
  notComputable?: string;
  measurementPeriod: { start: string; end: string };
  parameters: Record<string, ParameterDef>;
  requires?: unknown[];
  columns?: Record<string, string>;
  /**
   * The columns of the query's results that are this item's teller (and noemer), when the item shares
   * its query with another item: 2.1.1–2.1.9 read their category's column of 2.1's query, so the
   * month-to-clause attribution runs once for ten items instead of ten times.
   */
  resultColumns?: { teller: string; noemer?: string };
  interpretation?: string;
}

export interface ProfileHeader {
  id: string;
  iri: string;
  name: string;
  version: string;
  consumer: string;
  ontology: { name: string; version: string };
  reportingYear: number;
  validity?: { from: string; until?: string };
  deliveryWindow: { opens: string; closes: string; timeZone: string };
}

export interface ProfileManifest {
  profile: ProfileHeader;
  indicators: IndicatorDef[];
}

/** A loaded profile pack: its manifest (includes resolved) and, per computed item, the SPARQL text and its hash. */
export interface ProfilePack {
  dir: string;
  manifest: ProfileManifest;
  queries: Map<string, { sparql: string; sha256: string }>;
}

interface ManifestFile {
  profile: ProfileHeader;
  /** Files next to the manifest, each with `indicators:` (one per chapter of a handbook). */
  include?: string[];
  indicators?: IndicatorDef[];
}

const UNITS: ReadonlySet<string> = new Set(['number', 'percentage', 'yes/no', 'text', 'url']);

/** Loads queries/<profile>/<version>/: the manifest, its included item files and every query they name, checked for consistency. */
export function loadPack(packsDir: string, profile: string, version: string): ProfilePack {
  const dir = join(packsDir, profile, version);
  const manifestFile = join(dir, 'manifest.yaml');
  const file = readYamlFile(manifestFile, `profile pack manifest (${profile} ${version}; check indicators.packs and indicators.profiles)`) as ManifestFile;
  if (file.profile?.id !== profile || file.profile.version !== version) {
    throw new Error(`${manifestFile}: declares ${file.profile?.id} ${file.profile?.version}, but lives in ${profile}/${version}`);
  }
  const indicators: IndicatorDef[] = [...(file.indicators ?? [])];
  for (const inc of file.include ?? []) {
    const part = readYamlFile(join(dir, inc), `item file ${inc} included by ${manifestFile}`) as { indicators?: IndicatorDef[] };
    if (!Array.isArray(part?.indicators)) throw new Error(`${join(dir, inc)}: expected a list under "indicators:"`);
    indicators.push(...part.indicators);
  }
  const seen = new Set<string>();
  const queries = new Map<string, { sparql: string; sha256: string }>();
  for (const ind of indicators) {
    const where = `${manifestFile} (item ${ind.id ?? '?'})`;
    if (!ind.id || seen.has(ind.id)) throw new Error(`${where}: every item needs a unique id`);
    seen.add(ind.id);
    if (!UNITS.has(ind.unit)) throw new Error(`${where}: unit "${ind.unit}" is not one of ${[...UNITS].join(', ')}`);
    ind.parameters ??= {};
    if (ind.manual) {
      if (ind.query) throw new Error(`${where}: a manual item has no query`);
      continue;
    }
    if (!ind.query) throw new Error(`${where}: a computed item names its query (or is marked manual: true)`);
    const path = join(dir, ind.query);
    if (!existsSync(path)) throw new Error(`${where}: query file ${path} does not exist`);
    const sparql = readFileSync(path, 'utf8');
    const declared = declaredParameters(sparql).sort().join(',');
    const given = Object.keys(ind.parameters).sort().join(',');
    if (declared !== given) throw new Error(`${ind.query}: its header declares parameters [${declared}], the manifest item ${ind.id} gives [${given}]`);
    for (const col of Object.values(ind.resultColumns ?? {})) {
      if (!new RegExp(`[?$]${col}\\b`).test(sparql)) throw new Error(`${where}: resultColumns names ?${col}, which ${ind.query} does not select`);
    }
    queries.set(ind.id, { sparql, sha256: sha256(sparql) });
  }
  indicators.sort((a, b) => compareItems(a, b));
  return { dir, manifest: { profile: file.profile, indicators }, queries };
}

/** Handbook order: set, then the item number compared part by part (2.1.9 before 2.2, 4.1c before 4.1d). */
function compareItems(a: IndicatorDef, b: IndicatorDef): number {
  if (a.set.code !== b.set.code) return a.set.code < b.set.code ? -1 : 1;
  const pa = a.number.split('.');
  const pb = b.number.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = parseInt(x, 10);
    const ny = parseInt(y, 10);
    if (nx !== ny && !(Number.isNaN(nx) || Number.isNaN(ny))) return nx - ny;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * A manifest value with `{year}`, `{year-1}`, `{year+1}` … replaced, then `YYYY-MM-{last}` by that
 * month's last day (so a window "to the end of February" holds in leap and common years alike).
 */
export function yearTemplate(text: string, year: number): string {
  const withYear = text.replace(/\{year(?:([+-])(\d+))?\}/g, (_m, sign: string | undefined, n: string | undefined) => String(sign === '-' ? year - Number(n) : sign === '+' ? year + Number(n) : year));
  return withYear.replace(/(\d{4})-(\d{2})-\{last\}/g, (_m, y: string, m: string) => `${y}-${m}-${String(new Date(Date.UTC(Number(y), Number(m), 0)).getUTCDate()).padStart(2, '0')}`);
}

/** The parameter values of an indicator for a reporting year. */
export function parametersFor(ind: IndicatorDef, year: number): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const [name, p] of Object.entries(ind.parameters)) {
    const value = yearTemplate(p.value, year);
    out[name] = p.datatype === 'iri' ? { iri: expand(value) } : { value, datatype: expand(p.datatype) };
  }
  return out;
}

/** Parameter values in the normaliser's form. */
export function normaliserParameters(params: Record<string, ParameterValue>): Record<string, ParamValue> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, 'iri' in v ? { iri: v.iri } : { literal: v.value, ...(v.datatype ? { datatype: v.datatype } : {}) }]));
}

/** The normaliser profile for an engine name (unknown engines get only the engine-neutral steps). */
export function normaliserEngine(engineName: string): NormaliserEngine {
  return engineName === 'comunica' || engineName === 'oxigraph' || engineName === 'jena' ? engineName : 'generic';
}

export interface IndicatorRun {
  indicator: IndicatorDef;
  parameters: Record<string, ParameterValue>;
  queryHash: string;
  engine: string;
  /** The rewrites the normaliser applied before the engine saw the query. */
  normalisation: string[];
  results: SparqlJsonResults;
}

/**
 * Results of queries already run, by engine and exact query text: items that share a query and its
 * parameters (resultColumns) run it once. One cache per loaded snapshot; the caller drops it with the engine.
 */
export type SharedRuns = Map<string, Promise<SparqlJsonResults>>;

/** Runs one computed item of a pack on the snapshot loaded in the engine, through the query normaliser. */
export async function runIndicator(engine: QueryEngine, pack: ProfilePack, indicatorId: string, year: number, shared?: SharedRuns): Promise<IndicatorRun> {
  const indicator = pack.manifest.indicators.find((i) => i.id === indicatorId);
  const query = pack.queries.get(indicatorId);
  if (!indicator || !query) throw new Error(`indicator ${indicatorId} is not a computed item of profile ${pack.manifest.profile.id} ${pack.manifest.profile.version}`);
  const parameters = parametersFor(indicator, year);
  const normalised = normaliseQuery(query.sparql, normaliserParameters(parameters), normaliserEngine(engine.name));
  const key = `${engine.name}\n${normalised.text}`;
  let pending = shared?.get(key);
  if (!pending) {
    pending = engine.select(normalised.text);
    shared?.set(key, pending);
    // A failed run is not remembered: the next item that needs it tries again and reports its own error.
    pending.catch(() => shared?.delete(key));
  }
  const results = await pending;
  return { indicator, parameters, queryHash: query.sha256, engine: engine.name, normalisation: normalised.applied, results: itemResults(indicator, results) };
}

/** The results as the item's contract columns: resultColumns renamed to ?teller and ?noemer, the other columns dropped. */
export function itemResults(ind: IndicatorDef, results: SparqlJsonResults): SparqlJsonResults {
  const cols = ind.resultColumns;
  if (!cols) return results;
  for (const c of Object.values(cols)) {
    if (!results.head.vars.includes(c)) throw new Error(`item ${ind.id}: its query returned no column ?${c} (resultColumns); columns: ${results.head.vars.join(', ')}`);
  }
  const keep = results.head.vars.filter((v) => v === 'indeling' || v === 'afdeling');
  return {
    head: { vars: [...keep, 'teller', ...(cols.noemer ? ['noemer'] : [])] },
    results: {
      bindings: results.results.bindings.map((b) => {
        const out: Record<string, SparqlJsonTerm> = {};
        for (const v of keep) if (b[v]) out[v] = b[v];
        if (b[cols.teller]) out.teller = b[cols.teller]!;
        if (cols.noemer && b[cols.noemer]) out.noemer = b[cols.noemer]!;
        return out;
      }),
    },
  };
}
