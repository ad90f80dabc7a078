import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { recordAnswer } from '../answers/answers.js';
import { manualValues } from '../answers/manual.js';
import { appendAudit } from '../audit/log.js';
import type { AgentConfig } from '../config/schema.js';
import { canonicalJson } from '../db/json.js';
import type { Db } from '../db/open.js';
import { availableEngines, engineOptionsFromConfig, enginePool } from '../engines/registry.js';
import { chooseEngine, MATRIX_FILE, queryKey, type EngineMatrix } from '../engines/routing.js';
import type { QueryEngine, SparqlJsonResults, SparqlJsonTerm } from '../engines/types.js';
import { latestSnapshotHash } from '../pipeline/import.js';
import { sha256, snapshotFile, type SnapshotMeta } from '../store/snapshot.js';
import { itemRows, ORGANISATIE, type ItemRow } from './item-rows.js';
import { checkParameters } from './parameter-shapes.js';
import { loadPack, parametersFor, runIndicator, type IndicatorDef, type ProfilePack, type SharedRuns } from './pack.js';

/**
 * `kikv run`: every item of a profile on the latest snapshot. Parameters are checked against their
 * shapes before any query runs; each computed item goes to the engine the conformance matrix proves
 * correct for exactly that query text (or is refused); manual items take the board's latest entries.
 * Every item with a value becomes an answer awaiting approval that records the snapshot, the query's
 * hash, the profile and ontology versions and the engine.
 */

const PACKAGE_ROOT = resolve(import.meta.dirname, '..', '..');
const XSD = 'http://www.w3.org/2001/XMLSchema#';

export interface ProfileRunOptions {
  profile?: string;
  version?: string;
  year: number;
  /** Run every computed item on this engine (still only where the matrix proves it, unless allowUnproven). */
  engine?: string;
  /** Use the named engine even where the matrix does not prove it; recorded in the answer and the audit log. */
  allowUnproven?: boolean;
  snapshotHash?: string;
  actor: string;
  /** The conformance matrix; defaults to conformance/engine-matrix.json of this package. */
  matrix?: EngineMatrix;
}

export type ItemStatus = 'computed' | 'entered' | 'awaiting entry' | 'refused' | 'failed';

export interface ItemOutcome {
  item: IndicatorDef;
  status: ItemStatus;
  engine?: string;
  queryHash?: string;
  answerId?: string;
  /** False when an identical answer (same query, parameters and snapshot) already existed and was reused. */
  created?: boolean;
  /** Rows per location and organisation (ward details included, marked with afdeling). */
  rows: ItemRow[];
  /** Why the item has no answer (refused, failed). */
  error?: string;
  ms?: number;
}

export interface LocationInfo {
  vestigingsnummer: string;
  name: string;
}

export interface ProfileRun {
  profile: { id: string; version: string; iri: string; ontology: string };
  year: number;
  snapshot: string;
  organisation: { name: string; kvk: string };
  locations: LocationInfo[];
  items: ItemOutcome[];
}

export class ProfileRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileRunError';
  }
}

export function loadMatrix(file = join(PACKAGE_ROOT, MATRIX_FILE)): EngineMatrix {
  if (!existsSync(file)) throw new ProfileRunError(`${file} does not exist: no engine is proven for any query; run \`npm run conformance:engines\``);
  return JSON.parse(readFileSync(file, 'utf8')) as EngineMatrix;
}

export async function runProfile(cfg: AgentConfig, db: Db, opts: ProfileRunOptions): Promise<ProfileRun> {
  const chosen = opts.profile ? cfg.indicators.profiles.find((p) => p.profile === opts.profile) ?? { profile: opts.profile, version: opts.version } : cfg.indicators.profiles[0];
  if (!chosen) throw new ProfileRunError('no profile configured; add one under indicators.profiles or pass --profile');
  const version = opts.version ?? chosen.version;
  if (!version) throw new ProfileRunError(`profile ${chosen.profile} is not configured; pass --version or add it under indicators.profiles`);
  const pack = loadPack(cfg.indicators.packs, chosen.profile, version);
  const header = pack.manifest.profile;
  const snapshot = opts.snapshotHash ?? latestSnapshotHash(db);
  if (!snapshot) throw new ProfileRunError('there is no snapshot yet; run `kikv import` first');
  const file = snapshotFile(cfg.storage.dataDir, snapshot);
  const meta = await verifiedSnapshot(file, snapshot);
  if (meta.ontology.version.split('.')[0] !== header.ontology.version.split('.')[0] || meta.ontology.version < header.ontology.version) {
    throw new ProfileRunError(`snapshot ${snapshot.slice(0, 12)} was mapped to ${meta.ontology.name} ${meta.ontology.version}; profile ${header.id} ${header.version} needs ${header.ontology.name} ${header.ontology.version}. Re-import with a mapping for that ontology version`);
  }

  // Every parameter of every item is checked before any query runs.
  const problems: string[] = [];
  for (const ind of pack.manifest.indicators) {
    if (ind.manual) continue;
    await checkParameters(ind, parametersFor(ind, opts.year), opts.year).catch((e: Error) => problems.push(e.message));
  }
  if (problems.length > 0) throw new ProfileRunError(problems.join('\n'));

  const eo = engineOptionsFromConfig(cfg);
  const available = (await availableEngines(eo)).filter((e) => e.available).map((e) => e.name as string);
  if (opts.engine && !available.includes(opts.engine)) {
    const all = await availableEngines(eo);
    const why = all.find((e) => e.name === opts.engine)?.reason ?? `unknown engine; choose one of ${all.map((e) => e.name).join(', ')}`;
    throw new ProfileRunError(`engine ${opts.engine} is not available: ${why}`);
  }
  const matrix = opts.matrix ?? loadMatrix();
  const candidates = opts.engine ? [opts.engine] : available;
  const preference = opts.engine ? [opts.engine] : [eo.defaultEngine, ...available];

  const engines = enginePool(file, eo);
  const shared: SharedRuns = new Map();

  try {
    // Locations and the organisation: simple patterns every engine answers the same.
    const first = await engines.get(opts.engine ?? eo.defaultEngine);
    const { organisation, locations } = await providerOf(first);
    const vestigingen = locations.map((l) => l.vestigingsnummer);

    const items: ItemOutcome[] = [];
    const scope = { profile: header.id, version: header.version, year: opts.year };
    const manual = manualValues(db, scope);
    for (const ind of pack.manifest.indicators) {
      if (ind.manual) {
        items.push(manualOutcome(db, pack, ind, manual, vestigingen, snapshot, opts));
        continue;
      }
      const query = pack.queries.get(ind.id)!;
      let route = chooseEngine(matrix, queryKey(ind.id, query.sha256), candidates, preference);
      let unproven = false;
      if ('refusal' in route && opts.engine && opts.allowUnproven) {
        route = { engine: opts.engine };
        unproven = true;
      }
      if ('refusal' in route) {
        items.push({ item: ind, status: 'refused', queryHash: query.sha256, rows: [], error: route.refusal });
        appendAudit(db, { actor: opts.actor, action: 'answer.refused', subject: `${header.id} ${header.version} ${opts.year} ${ind.id}`, details: { queryHash: query.sha256, snapshot, reason: route.refusal } });
        continue;
      }
      const t0 = performance.now();
      try {
        const engine = await engines.get(route.engine);
        const run = await runIndicator(engine, pack, ind.id, opts.year, shared);
        const rows = itemRows(ind, run.results, vestigingen);
        const delivered = rows.filter((r) => r.afdeling === undefined);
        const { answer, created } = recordAnswer(
          db,
          { indicator: ind, parameters: run.parameters, queryHash: run.queryHash, engine: run.engine, results: answerResultSet(delivered) },
          {
            profile: header.id,
            version: header.version,
            year: opts.year,
            snapshotHash: snapshot,
            actor: opts.actor,
            ontologyVersion: `${header.ontology.name} ${header.ontology.version}`,
            metadata: { item: itemSummary(ind), normalisation: run.normalisation, wards: rows.filter((r) => r.afdeling !== undefined), ...(unproven ? { unprovenEngine: true } : {}) },
          },
        );
        items.push({ item: ind, status: 'computed', engine: run.engine, queryHash: run.queryHash, answerId: answer.id, created, rows, ms: performance.now() - t0 });
      } catch (e) {
        items.push({ item: ind, status: 'failed', engine: route.engine, queryHash: query.sha256, rows: [], error: (e as Error).message, ms: performance.now() - t0 });
      }
    }
  return { profile: { id: header.id, version: header.version, iri: header.iri, ontology: `${header.ontology.name} ${header.ontology.version}` }, year: opts.year, snapshot, organisation, locations, items };
  } finally {
    await engines.close();
  }
}

function itemSummary(ind: IndicatorDef) {
  return { id: ind.id, inid: ind.inid, number: ind.number, name: ind.name, unit: ind.unit, level: ind.level, set: ind.set };
}

/** What leaves with an answer: a row per location and the organisation, never ward details. */
export function answerResultSet(rows: ItemRow[]): SparqlJsonResults {
  const num = (v: string | null): SparqlJsonTerm | undefined => (v === null ? undefined : { type: 'literal', value: v, datatype: `${XSD}decimal` });
  return {
    head: { vars: ['indeling', 'teller', 'noemer', 'waarde', 'niet_berekenbaar'] },
    results: {
      bindings: rows.map((r) => {
        const b: Record<string, SparqlJsonTerm> = { indeling: { type: 'literal', value: r.indeling } };
        const t = num(r.teller);
        const n = num(r.noemer);
        if (t) b.teller = t;
        if (n) b.noemer = n;
        if (r.value !== null) b.waarde = /^-?\d+(\.\d+)?$/.test(r.value) ? num(r.value)! : { type: 'literal', value: r.value };
        if (r.notComputable) b.niet_berekenbaar = { type: 'literal', value: r.notComputable };
        return b;
      }),
    },
  };
}

/**
 * A manual item's answer from the latest entries per indeling (awaiting entry while none is given).
 * Exported for the board's manual entry (src/answers/corrections.ts), which rebuilds it after each entry.
 */
export function manualOutcome(db: Db, pack: ProfilePack, ind: IndicatorDef, entries: ReturnType<typeof manualValues>, vestigingen: string[], snapshot: string, opts: Pick<ProfileRunOptions, 'year' | 'actor'>): ItemOutcome {
  const header = pack.manifest.profile;
  const expected = [...(ind.level.includes('location') ? vestigingen : []), ...(ind.level.includes('organisation') ? [ORGANISATIE] : [])];
  const mine = entries.filter((e) => e.item_id === ind.id && expected.includes(e.indeling));
  const rows: ItemRow[] = expected.map((indeling) => {
    const e = mine.find((m) => m.indeling === indeling);
    return e ? { indeling, teller: null, noemer: null, value: e.value, details: { entered_by: e.entered_by, entered_at: e.entered_at } } : { indeling, teller: null, noemer: null, value: null, notComputable: 'not entered yet (manual item)' };
  });
  if (mine.length === 0) return { item: ind, status: 'awaiting entry', engine: 'manual', rows };
  const { answer, created } = recordAnswer(
    db,
    { indicator: ind, parameters: {}, queryHash: sha256(canonicalJson({ item: ind.id, entries: mine })), engine: 'manual', results: answerResultSet(rows) },
    { profile: header.id, version: header.version, year: opts.year, snapshotHash: snapshot, actor: opts.actor, ontologyVersion: `${header.ontology.name} ${header.ontology.version}`, metadata: { item: itemSummary(ind), entries: mine } },
  );
  return { item: ind, status: mine.length === expected.length ? 'entered' : 'awaiting entry', engine: 'manual', answerId: answer.id, created, rows };
}

const PROVIDER_QUERY = `PREFIX onz-g: <http://purl.org/ozo/onz-g#>
PREFIX onz-org: <http://purl.org/ozo/onz-org#>
PREFIX ext: <https://w3id.org/kikv-agent/ext#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?kind ?id ?name WHERE {
  { ?v a onz-org:Vestiging ; onz-g:identifiedBy ?n . ?n a onz-org:Vestigingsnummer ; onz-g:hasDataValue ?id .
    OPTIONAL { ?v rdfs:label ?name } BIND("location" AS ?kind) }
  UNION
  { ?o a onz-g:Business ; onz-g:identifiedBy ?k . ?k a ext:KvkNummer ; onz-g:hasDataValue ?id .
    OPTIONAL { ?o rdfs:label ?name } BIND("organisation" AS ?kind) }
}`;

async function providerOf(engine: QueryEngine): Promise<{ organisation: { name: string; kvk: string }; locations: LocationInfo[] }> {
  const r = await engine.select(PROVIDER_QUERY);
  const locations = new Map<string, LocationInfo>();
  let organisation = { name: '', kvk: '' };
  for (const b of r.results.bindings) {
    if (b.kind?.value === 'location') locations.set(b.id!.value, { vestigingsnummer: b.id!.value, name: b.name?.value ?? '' });
    else organisation = { name: b.name?.value ?? '', kvk: b.id!.value };
  }
  return { organisation, locations: [...locations.values()].sort((a, b) => (a.vestigingsnummer < b.vestigingsnummer ? -1 : 1)) };
}

/** The snapshot's metadata, after checking (streaming) that the file still has the hash it is named by. */
export async function verifiedSnapshot(file: string, hash: string): Promise<SnapshotMeta> {
  if (!existsSync(file)) throw new ProfileRunError(`snapshot file ${file} is missing; run \`kikv import\` again`);
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  if (h.digest('hex') !== hash) throw new ProfileRunError(`snapshot ${hash} is corrupt: ${file} no longer matches its hash; re-import the source`);
  return JSON.parse(readFileSync(join(dirname(file), `${hash}.json`), 'utf8')) as SnapshotMeta;
}

const VESTIGINGSNUMMER_TYPE = '<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://purl.org/ozo/onz-org#Vestigingsnummer>';
const HAS_DATA_VALUE = /^(\S+) <http:\/\/purl\.org\/ozo\/onz-g#hasDataValue> "(\d{12})"/;

/** The vestigingsnummers in a snapshot file, read line by line (no engine needed; any size). */
export async function snapshotVestigingen(file: string): Promise<string[]> {
  const typed = new Set<string>();
  const values = new Map<string, string>();
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line.includes(VESTIGINGSNUMMER_TYPE)) typed.add(line.slice(0, line.indexOf(' ')));
    else {
      const m = HAS_DATA_VALUE.exec(line);
      if (m) values.set(m[1]!, m[2]!);
    }
  }
  return [...new Set([...typed].map((s) => values.get(s)).filter((v): v is string => v !== undefined))].sort();
}
