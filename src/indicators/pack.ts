import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readYamlFile } from '../config/load.js';
import type { QueryEngine, SparqlJsonResults } from '../engines/types.js';
import { expand } from '../ontology/namespaces.js';
import { sha256 } from '../store/snapshot.js';
import { bindParameters, declaredParameters, type ParameterValue } from './bind.js';

export interface IndicatorDef {
  id: string;
  set: { name: string; code: string };
  inid: string;
  number: string;
  name: string;
  unit: 'number' | 'percentage' | 'yes/no' | 'text' | 'url';
  level: Array<'organisation' | 'location'>;
  query: string;
  measurementPeriod: { start: string; end: string };
  parameters: Record<string, { datatype: string; value: string; description?: string }>;
  columns?: Record<string, string>;
  interpretation?: string;
}

export interface ProfileManifest {
  profile: {
    id: string;
    iri: string;
    name: string;
    version: string;
    consumer: string;
    ontology: { name: string; version: string };
    reportingYear: number;
    deliveryWindow: { opens: string; closes: string; timeZone: string };
  };
  indicators: IndicatorDef[];
}

/** A loaded profile pack: its manifest and, per indicator, the SPARQL text and its hash. */
export interface ProfilePack {
  dir: string;
  manifest: ProfileManifest;
  queries: Map<string, { sparql: string; sha256: string }>;
}

/** Loads queries/<profile>/<version>/: the manifest and every query it names, checked for consistency. */
export function loadPack(packsDir: string, profile: string, version: string): ProfilePack {
  const dir = join(packsDir, profile, version);
  const manifest = readYamlFile(join(dir, 'manifest.yaml'), `profile pack manifest (${profile} ${version}; check indicators.packs and indicators.profiles)`) as ProfileManifest;
  if (manifest.profile.id !== profile || manifest.profile.version !== version) {
    throw new Error(`${join(dir, 'manifest.yaml')}: declares ${manifest.profile.id} ${manifest.profile.version}, but lives in ${profile}/${version}`);
  }
  const queries = new Map<string, { sparql: string; sha256: string }>();
  for (const ind of manifest.indicators) {
    const sparql = readFileSync(join(dir, ind.query), 'utf8');
    const declared = declaredParameters(sparql).sort().join(',');
    const given = Object.keys(ind.parameters).sort().join(',');
    if (declared !== given) throw new Error(`${ind.query}: its header declares parameters [${declared}], the manifest gives [${given}]`);
    queries.set(ind.id, { sparql, sha256: sha256(sparql) });
  }
  return { dir, manifest, queries };
}

/** The parameter values of an indicator for a reporting year ("{year}" in the manifest is replaced). */
export function parametersFor(ind: IndicatorDef, year: number): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const [name, p] of Object.entries(ind.parameters)) {
    const value = p.value.replaceAll('{year}', String(year));
    out[name] = p.datatype === 'iri' ? { iri: value } : { value, datatype: expand(p.datatype) };
  }
  return out;
}

export interface IndicatorRun {
  indicator: IndicatorDef;
  parameters: Record<string, ParameterValue>;
  queryHash: string;
  results: SparqlJsonResults;
}

/** Runs one indicator of a pack on the snapshot loaded in the engine. */
export async function runIndicator(engine: QueryEngine, pack: ProfilePack, indicatorId: string, year: number): Promise<IndicatorRun> {
  const indicator = pack.manifest.indicators.find((i) => i.id === indicatorId);
  const query = pack.queries.get(indicatorId);
  if (!indicator || !query) throw new Error(`indicator ${indicatorId} is not in profile ${pack.manifest.profile.id} ${pack.manifest.profile.version}`);
  const parameters = parametersFor(indicator, year);
  const results = await engine.select(bindParameters(query.sparql, parameters));
  return { indicator, parameters, queryHash: query.sha256, results };
}
