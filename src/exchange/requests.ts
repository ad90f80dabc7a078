import { contentHashOf, recordAnswer, resultOf, type Answer } from '../answers/answers.js';
import { appendAudit } from '../audit/log.js';
import type { AgentConfig } from '../config/schema.js';
import { canonicalJson } from '../db/json.js';
import type { Db } from '../db/open.js';
import { availableEngines, engineOptionsFromConfig, enginePool } from '../engines/registry.js';
import { chooseEngine, queryKey, type EngineMatrix } from '../engines/routing.js';
import type { SparqlJsonResults } from '../engines/types.js';
import { declaredParameters, type ParameterValue } from '../indicators/bind.js';
import { itemRows } from '../indicators/item-rows.js';
import { checkParameters, ParameterError } from '../indicators/parameter-shapes.js';
import { loadPack, normaliserEngine, normaliserParameters, parametersFor, runIndicator, type IndicatorDef, type ProfilePack } from '../indicators/pack.js';
import { answerResultSet, loadMatrix, snapshotVestigingen, verifiedSnapshot } from '../indicators/run-profile.js';
import { latestSnapshotHash } from '../pipeline/import.js';
import { normaliseQuery } from '../sparql/normalise.js';
import { sha256, snapshotFile } from '../store/snapshot.js';
import { personalBindings, personIndexOf } from './aggregates.js';
import { problemReport, responseMessage, type DidcommMessage } from './messages.js';
import { ExchangeError, type Trust, type ValidatedQuery } from './types.js';

/**
 * From a verified request to answers: each query is matched to a configured profile pack (by the
 * query identifier when the manifest names it, else by the SHA-256 of the SPARQL text), an answer
 * for the same query, parameters and snapshot is reused, anything else is computed on the latest
 * snapshot and waits for the board. The request keeps the answers it was linked to.
 */

/** What to do with a credentialed query that no configured pack ships. */
export type NotShippedPolicy = 'run-and-hold' | 'refuse';

export type RequestStatus = 'accepted' | 'computing' | 'linked' | 'refused';

/** One query of a request, matched and with its parameters checked. */
export interface QueryPlan {
  identifier: string;
  uuid: string;
  name?: string;
  profile: { id: string; version: string };
  /** The pack item that computes it; absent for a credentialed query we do not ship. */
  item?: string;
  matchedBy: 'identifier' | 'sha256' | 'not-shipped';
  sparqlSha256: string;
  /** Kept only for not-shipped queries: the text to run. */
  sparql?: string;
  year: number;
  parameters: Record<string, ParameterValue>;
}

export interface RequestRow {
  id: string;
  consumer: string;
  body_form: 'vp' | 'credentialSubject';
  status: RequestStatus;
  snapshot_hash: string | null;
  queries: string;
  parameters: string;
  problem: string | null;
  problem_status: number | null;
  response: string | null;
  created_at: string;
  updated_at: string;
}

/** The packs this agent answers for (indicators.profiles), loaded once per call site. */
export function configuredPacks(cfg: Pick<AgentConfig, 'indicators'>): ProfilePack[] {
  return cfg.indicators.profiles.map((p) => loadPack(cfg.indicators.packs, p.profile, p.version));
}

const ONTOLOGY_BASES: Record<string, string[]> = { ONZ: ['http://purl.org/ozo/onz'] };

/** The pack for the query's profile, after checking the ontology versions it is written in. */
export function packForQuery(packs: ProfilePack[], q: ValidatedQuery, at: string): ProfilePack {
  const norm = (s: string) => s.trim().replace(/\/+$/, '').toLowerCase();
  const pack = packs.find((p) => norm(p.manifest.profile.iri) === norm(q.profile) || p.manifest.profile.id === q.profile);
  if (!pack) {
    throw new ExchangeError('e.p.req.unsupported-profile', 422, `${at}.profile "${q.profile}" is not an exchange profile this datastation supports; supported: ${packs.map((p) => `${p.manifest.profile.iri} (${p.manifest.profile.version})`).join(', ')}`, `${at}.profile`);
  }
  const ours = pack.manifest.profile.ontology;
  const bases = ONTOLOGY_BASES[ours.name] ?? [];
  for (const [i, o] of q.ontology.entries()) {
    const [base, version] = o.split('#') as [string, string | undefined];
    if (!bases.some((b) => base.startsWith(b))) {
      throw new ExchangeError('e.p.req.unsupported-ontology', 422, `${at}.ontology[${i}] "${o}" is not an ontology this datastation's data is mapped to (${ours.name} ${ours.version}, IRIs under ${bases.join(', ')})`, `${at}.ontology[${i}]`);
    }
    if (version && /^\d+(\.\d+)*$/.test(version) && !versionServes(ours.version, version)) {
      throw new ExchangeError('e.p.req.unsupported-ontology', 422, `${at}.ontology[${i}] asks for ${ours.name} ${version}; this datastation's data is ${ours.name} ${ours.version} (same major version, not older, required)`, `${at}.ontology[${i}]`);
    }
  }
  return pack;
}

function versionServes(have: string, want: string): boolean {
  const h = have.split('.').map(Number);
  const w = want.split('.').map(Number);
  if (h[0] !== w[0]) return false;
  for (let i = 1; i < Math.max(h.length, w.length); i++) if ((h[i] ?? 0) !== (w[i] ?? 0)) return (h[i] ?? 0) > (w[i] ?? 0);
  return true;
}

/** The pack item that computes a query: by identifier when the manifest names it, else by the SPARQL's hash. */
export function itemForQuery(pack: ProfilePack, q: ValidatedQuery): { item: IndicatorDef; by: 'identifier' | 'sha256' } | undefined {
  const byId = pack.manifest.indicators.find((i) => {
    const id = (i as IndicatorDef & { identifier?: string }).identifier;
    return typeof id === 'string' && id.replace(/^urn:uuid:/i, '').toLowerCase() === q.uuid;
  });
  if (byId && pack.queries.has(byId.id)) return { item: byId, by: 'identifier' };
  const hashes = new Set([sha256(q.sparql), sha256(`${q.sparql.trimEnd()}\n`), sha256(q.sparql.trimEnd())]);
  for (const [id, query] of pack.queries) {
    if (hashes.has(query.sha256)) return { item: pack.manifest.indicators.find((i) => i.id === id)!, by: 'sha256' };
  }
  return undefined;
}

/** The reporting year the parameters speak of: the year of the first date among them, else the configured one. */
function yearOf(params: Record<string, ParameterValue>, fallback: number): number {
  for (const v of Object.values(params)) if ('value' in v && /^\d{4}-\d{2}-\d{2}/.test(v.value)) return Number(v.value.slice(0, 4));
  return fallback;
}

/**
 * Matches one verified query and fixes its parameters (already checked against the credential's
 * paramsSHACL): a shipped item takes the pack's values for the year with the request's on top, and
 * they must fit the item's own shape too; a not-shipped query is refused or must give every parameter.
 */
export async function planQuery(pack: ProfilePack, q: ValidatedQuery, params: Record<string, ParameterValue>, opts: { policy: NotShippedPolicy; reportingYear: number; at: string }): Promise<QueryPlan> {
  const header = pack.manifest.profile;
  const base = { identifier: q.identifier, uuid: q.uuid, ...(q.name ? { name: q.name } : {}), profile: { id: header.id, version: header.version }, sparqlSha256: sha256(q.sparql) };
  const match = itemForQuery(pack, q);
  const year = yearOf(params, opts.reportingYear);
  if (match) {
    const parameters = { ...parametersFor(match.item, year), ...params };
    try {
      await checkParameters(match.item, parameters, year);
    } catch (e) {
      if (e instanceof ParameterError) throw new ExchangeError('e.p.req.invalid-parameters', 422, `${e.message.replace(/ Fix the value.*$/, '')}. Send param_values this profile allows`, '$.body.param_values');
      throw e;
    }
    return { ...base, item: match.item.id, matchedBy: match.by, year, parameters };
  }
  if (opts.policy === 'refuse') {
    throw new ExchangeError('e.p.req.query-not-shipped', 422, `${opts.at} (query ${q.identifier}) is not a query of profile ${header.id} ${header.version} as this datastation ships it (no item with that identifier, and no query file with the SHA-256 of its SPARQL); this datastation only answers the queries of its profile packs`, `${opts.at}.sparql`);
  }
  const missing = declaredParameters(q.sparql).filter((n) => !(n in params));
  if (missing.length > 0) throw new ExchangeError('e.p.req.invalid-parameters', 422, `${opts.at}: the query declares ${missing.map((n) => `?${n}`).join(', ')} but param_values gives no value for ${missing.length === 1 ? 'it' : 'them'}`, '$.body.param_values');
  return { ...base, matchedBy: 'not-shipped', sparql: q.sparql, year, parameters: params };
}

/** Stores an accepted request (status accepted) with its audit entry, in one transaction. */
export function createRequest(db: Db, r: { id: string; consumer: string; bodyForm: RequestRow['body_form']; plans: QueryPlan[]; actor: string }): void {
  const at = new Date().toISOString();
  db.prepare(
    `INSERT INTO requests (id, consumer, body_form, status, queries, parameters, created_at, updated_at) VALUES (?, ?, ?, 'accepted', ?, ?, ?, ?)`,
  ).run(r.id, r.consumer, r.bodyForm, canonicalJson(r.plans), canonicalJson(r.plans.map((p) => ({ query: p.identifier, parameters: p.parameters }))), at, at);
  appendAudit(db, { actor: r.actor, action: 'request.accepted', subject: r.id, threadId: r.id, details: { consumer: r.consumer, queries: r.plans.map((p) => ({ identifier: p.identifier, item: p.item ?? null, matchedBy: p.matchedBy, profile: p.profile, year: p.year })) } });
}

export function getRequest(db: Db, id: string): RequestRow | undefined {
  return db.prepare('SELECT * FROM requests WHERE id = ?').get(id) as RequestRow | undefined;
}

export function linkedAnswers(db: Db, requestId: string): Array<Answer & { query_uuid: string; query_identifier: string }> {
  return db
    .prepare('SELECT a.*, l.query_uuid, l.query_identifier FROM request_answers l JOIN answers a ON a.id = l.answer_id WHERE l.request_id = ? ORDER BY l.rowid')
    .all(requestId) as Array<Answer & { query_uuid: string; query_identifier: string }>;
}

export interface ComputeDeps {
  db: Db;
  cfg: AgentConfig;
  trust: Pick<Trust, 'did'>;
  packs: ProfilePack[];
  /** The conformance matrix (default: the package's conformance/engine-matrix.json). */
  matrix?: EngineMatrix;
  actor?: string;
}

/**
 * Computes (or reuses) the answers of an accepted request and links them. A result naming a person
 * refuses the whole request before any answer is stored. Safe to run again after a crash: answers
 * are deduplicated by recordAnswer and links are inserted once.
 */
export async function processRequest(deps: ComputeDeps, requestId: string): Promise<RequestRow> {
  const { db } = deps;
  const actor = deps.actor ?? 'agent';
  const req = getRequest(db, requestId);
  if (!req) throw new Error(`no request ${requestId}`);
  if (req.status === 'linked' || req.status === 'refused') return req;
  db.prepare(`UPDATE requests SET status = 'computing', updated_at = ? WHERE id = ?`).run(new Date().toISOString(), requestId);
  try {
    await computeAndLink(deps, req, actor);
  } catch (e) {
    const err = e instanceof ExchangeError ? e : new ExchangeError('e.p.req.not-computed', 500, `the datastation could not compute the answer (${(e as Error).message.split('\n')[0]}); the provider has been told, ask again later or contact the provider`);
    refuseRequest(db, req, err, actor, deps.trust.did);
  }
  return getRequest(db, requestId)!;
}

function refuseRequest(db: Db, req: RequestRow, err: ExchangeError, actor: string, from: string): void {
  const report = problemReport({ about: { id: req.id }, from, to: req.consumer, code: err.code, comment: err.message });
  db.transaction(() => {
    db.prepare(`UPDATE requests SET status = 'refused', problem = ?, problem_status = ?, updated_at = ? WHERE id = ?`).run(JSON.stringify(report), err.status, new Date().toISOString(), req.id);
    appendAudit(db, { actor, action: 'request.refused', subject: req.id, threadId: req.id, details: { code: err.code, comment: err.message, status: err.status, message: report } });
  }).immediate();
}

interface Computed {
  plan: QueryPlan;
  existing?: Answer;
  results?: SparqlJsonResults;
  engine?: string;
  item?: IndicatorDef;
  metadata?: unknown;
}

async function computeAndLink(deps: ComputeDeps, req: RequestRow, actor: string): Promise<void> {
  const { db, cfg } = deps;
  const plans = JSON.parse(req.queries) as QueryPlan[];
  const snapshot = latestSnapshotHash(db);
  if (!snapshot) throw new ExchangeError('e.p.req.no-data', 503, 'the datastation has no data loaded yet, so nothing can be computed; ask again later');
  const file = snapshotFile(cfg.storage.dataDir, snapshot);
  // As `kikv run`: an answer is only as good as its snapshot, so the file must still match its hash.
  const meta = await verifiedSnapshot(file, snapshot).catch((e: Error) => {
    throw new ExchangeError('e.p.req.no-data', 503, `the datastation's latest data snapshot cannot be used (${e.message}); ask again later`);
  });
  db.prepare('UPDATE requests SET snapshot_hash = ? WHERE id = ?').run(snapshot, req.id);

  const eo = engineOptionsFromConfig(cfg);
  const engines = enginePool(file, eo);
  const done: Computed[] = [];
  try {
    let available: string[] | undefined;
    let matrix: EngineMatrix | undefined;
    for (const plan of plans) {
      const pack = deps.packs.find((p) => p.manifest.profile.id === plan.profile.id && p.manifest.profile.version === plan.profile.version);
      if (!pack) throw new ExchangeError('e.p.req.unsupported-profile', 422, `profile ${plan.profile.id} ${plan.profile.version} is no longer configured on this datastation`);
      const header = pack.manifest.profile;
      if (meta.ontology.version.split('.')[0] !== header.ontology.version.split('.')[0]) {
        throw new ExchangeError('e.p.req.no-data', 503, `the datastation's data is mapped to ${meta.ontology.name} ${meta.ontology.version}, not ${header.ontology.name} ${header.ontology.version}; ask again after the provider re-imports`);
      }
      const indicatorId = plan.item ?? `query:${plan.uuid}`;
      const parameters = canonicalJson(plan.parameters);
      const queryHash = plan.item ? pack.queries.get(plan.item)!.sha256 : plan.sparqlSha256;
      const existing = db
        .prepare(
          `SELECT * FROM answers WHERE profile = ? AND profile_version = ? AND indicator_id = ? AND reporting_year = ? AND parameters = ? AND query_hash = ? AND snapshot_hash = ? AND status != 'rejected'
           ORDER BY CASE status WHEN 'delivered' THEN 0 WHEN 'approved' THEN 1 ELSE 2 END, created_at DESC LIMIT 1`,
        )
        .get(header.id, header.version, indicatorId, plan.year, parameters, queryHash, snapshot) as Answer | undefined;
      if (existing) {
        done.push({ plan, existing });
        continue;
      }
      available ??= (await availableEngines(eo)).filter((e) => e.available).map((e) => e.name as string);
      matrix ??= deps.matrix ?? loadMatrix();
      const preference = [eo.defaultEngine, ...available];
      if (plan.item) {
        const item = pack.manifest.indicators.find((i) => i.id === plan.item)!;
        const route = chooseEngine(matrix, queryKey(item.id, queryHash), available, preference);
        if ('refusal' in route) throw new ExchangeError('e.p.req.engine-unproven', 503, `the datastation cannot yet compute query ${plan.identifier} with an engine proven correct for it; the provider has been told, ask again later`);
        const engine = await engines.get(route.engine);
        // The item with the request's values as its parameters, so the pack's own run path computes it.
        const withValues: IndicatorDef = { ...item, parameters: Object.fromEntries(Object.entries(item.parameters).map(([k, d]) => [k, { ...d, value: valueText(plan.parameters[k]) ?? d.value }])) };
        const run = await runIndicator(engine, { ...pack, manifest: { ...pack.manifest, indicators: [withValues] } }, item.id, plan.year);
        done.push({ plan, item, results: run.results, engine: run.engine, metadata: { request: req.id, normalisation: run.normalisation } });
      } else {
        const route = chooseEngine(matrix, queryKey(indicatorId, queryHash), available, preference);
        const name = 'engine' in route ? route.engine : available.includes(matrix.reference) ? matrix.reference : eo.defaultEngine;
        const engine = await engines.get(name);
        const normalised = normaliseQuery(plan.sparql!, normaliserParameters(plan.parameters), normaliserEngine(engine.name));
        const results = await engine.select(normalised.text);
        done.push({ plan, results, engine: name, metadata: { request: req.id, notShipped: true, unprovenEngine: !('engine' in route), normalisation: normalised.applied } });
      }
    }
  } finally {
    await engines.close();
  }

  // Aggregates only: every computed result is checked before anything is stored.
  const persons = await personIndexOf(file);
  const personal = done.flatMap((c) => (c.results ? personalBindings(c.results, persons).map((w) => `query ${c.plan.identifier} ${w}`) : []));
  if (personal.length > 0) {
    throw new ExchangeError('e.p.req.personal-data', 422, `the result is not an aggregate: it names a person (${personal.slice(0, 5).join(', ')}${personal.length > 5 ? ', …' : ''}); this datastation only releases aggregates. Ask the beheerorganisatie for a query that counts or sums instead of listing persons`);
  }

  for (const c of done) {
    let answer = c.existing;
    if (!answer) {
      const pack = deps.packs.find((p) => p.manifest.profile.id === c.plan.profile.id)!;
      const header = pack.manifest.profile;
      let results = c.results!;
      let indicator: Pick<IndicatorDef, 'id' | 'number' | 'name'> = { id: `query:${c.plan.uuid}`, number: '', name: c.plan.name ?? `credentialed query ${c.plan.identifier}` };
      if (c.item) {
        const rows = itemRows(c.item, results, await snapshotVestigingen(file));
        results = answerResultSet(rows.filter((r) => r.afdeling === undefined));
        indicator = c.item;
      }
      answer = recordAnswer(
        db,
        { indicator: indicator as IndicatorDef, parameters: c.plan.parameters, queryHash: c.item ? pack.queries.get(c.item.id)!.sha256 : c.plan.sparqlSha256, engine: c.engine!, results },
        { profile: header.id, version: header.version, year: c.plan.year, snapshotHash: snapshot, threadId: req.id, actor, ontologyVersion: `${header.ontology.name} ${header.ontology.version}`, metadata: c.metadata },
      ).answer;
    }
    const a = answer;
    db.transaction(() => {
      db.prepare('INSERT OR IGNORE INTO request_answers (request_id, query_uuid, query_identifier, answer_id) VALUES (?, ?, ?, ?)').run(req.id, c.plan.uuid, c.plan.identifier, a.id);
      appendAudit(db, { actor, action: 'request.answer-linked', subject: req.id, threadId: req.id, details: { query: c.plan.identifier, answer: a.id, status: a.status, reused: c.existing !== undefined } });
    }).immediate();
  }
  db.prepare(`UPDATE requests SET status = 'linked', updated_at = ? WHERE id = ?`).run(new Date().toISOString(), req.id);
}

function valueText(v: ParameterValue | undefined): string | undefined {
  return v === undefined ? undefined : 'iri' in v ? v.iri : v.value;
}

/** Where a request stands, from its own status and its answers' statuses. */
export type RequestState =
  | { state: 'unknown' }
  | { state: 'computing'; request: RequestRow }
  | { state: 'refused'; request: RequestRow; problem: DidcommMessage; status: number }
  | { state: 'rejected'; request: RequestRow; reason: string }
  | { state: 'awaiting_approval'; request: RequestRow; answers: Array<{ query: string; status: string }> }
  | { state: 'approved'; request: RequestRow; answers: Array<Answer & { query_uuid: string; query_identifier: string }> };

export function requestState(db: Db, id: string): RequestState {
  const request = getRequest(db, id);
  if (!request) return { state: 'unknown' };
  if (request.status === 'accepted' || request.status === 'computing') return { state: 'computing', request };
  if (request.status === 'refused') return { state: 'refused', request, problem: JSON.parse(request.problem!) as DidcommMessage, status: request.problem_status ?? 422 };
  const answers = linkedAnswers(db, id);
  const rejected = answers.find((a) => a.status === 'rejected');
  if (rejected) return { state: 'rejected', request, reason: `the provider did not release the answer to query ${rejected.query_identifier}` };
  if (answers.every((a) => a.status === 'approved' || a.status === 'delivered')) return { state: 'approved', request, answers };
  return { state: 'awaiting_approval', request, answers: answers.map((a) => ({ query: a.query_identifier, status: a.status })) };
}

/**
 * The signed DIDComm response to a request whose answers are all approved: one result per query,
 * id `<requestId>#<queryUuid>`, JWS over the result set, thid = request id, from/to swapped. Built
 * once and kept, so every pull and every delivery carries the same message (same id).
 */
export async function responseFor(db: Db, trust: Pick<Trust, 'did' | 'signJws'>, requestId: string, actor = 'agent'): Promise<DidcommMessage | undefined> {
  const s = requestState(db, requestId);
  if (s.state !== 'approved') return undefined;
  if (s.request.response) return JSON.parse(s.request.response) as DidcommMessage;
  for (const a of s.answers) {
    if (contentHashOf(a) !== a.approved_hash) throw new ExchangeError('e.p.req.not-released', 500, `the answer to query ${a.query_identifier} does not match what the provider approved; it is not released`);
  }
  const payload = { resultset: s.answers.map((a) => ({ id: `${requestId}#${a.query_uuid}`, result: resultOf(a) })) };
  const jws = await trust.signJws(new TextEncoder().encode(JSON.stringify(payload)), { typ: 'JOSE', cty: 'application/json' });
  const msg = responseMessage({ requestId, from: trust.did, to: s.request.consumer, jws });
  return db.transaction(() => {
    const info = db.prepare('UPDATE requests SET response = ?, updated_at = ? WHERE id = ? AND response IS NULL').run(JSON.stringify(msg), new Date().toISOString(), requestId);
    if (info.changes === 0) return JSON.parse(getRequest(db, requestId)!.response!) as DidcommMessage;
    appendAudit(db, { actor, action: 'request.response-signed', subject: requestId, threadId: requestId, details: { messageId: msg.id, answers: s.answers.map((a) => ({ id: a.id, approvedHash: a.approved_hash })), message: msg } });
    return msg;
  }).immediate();
}

/** Requests accepted but not finished (e.g. the agent stopped while computing): process them at start. */
export function unfinishedRequests(db: Db): string[] {
  return (db.prepare(`SELECT id FROM requests WHERE status IN ('accepted', 'computing') ORDER BY created_at`).all() as Array<{ id: string }>).map((r) => r.id);
}
