import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { appendAudit } from '../audit/log.js';
import type { AgentConfig } from '../config/schema.js';
import { canonicalJson } from '../db/json.js';
import type { Db } from '../db/open.js';
import type { SparqlJsonResults, SparqlJsonTerm } from '../engines/types.js';
import { canonicalDecimal, ratio } from '../indicators/item-rows.js';
import { loadPack, type IndicatorDef } from '../indicators/pack.js';
import { manualOutcome } from '../indicators/run-profile.js';
import { latestSnapshotHash } from '../pipeline/import.js';
import { snapshotFile } from '../store/snapshot.js';
import { contentHashOf, getAnswer, insertAnswer, resultOf, supersedeAnswer, type Answer } from './answers.js';
import { enterManualValue, ManualValueError, manualValues, validateManualValue, type ManualValue } from './manual.js';
import { assertCan, currentAnswers, type Actor } from './review.js';
import { assertNotLocked, RoundError, type Round } from './rounds.js';

/**
 * Corrections and manual entries by the board's users. A correction never changes an answer (their
 * content is frozen): it makes a new answer with one indeling's row overridden and the original kept
 * in its metadata, which the board then reviews like any other.
 */

const XSD_DECIMAL = 'http://www.w3.org/2001/XMLSchema#decimal';
const MIN_JUSTIFICATION = 10;

export interface Override {
  indeling: string;
  original: { value: string | null; teller: string | null; noemer: string | null; notComputable: string | null };
  value: string;
  teller: string | null;
  noemer: string | null;
  justification: string;
  by: string;
  at: string;
  corrects: string;
}

function itemOf(cfg: AgentConfig, round: Round, itemId: string): IndicatorDef {
  const item = loadPack(cfg.indicators.packs, round.profile, round.version).manifest.indicators.find((i) => i.id === itemId);
  if (!item) throw new RoundError(`item "${itemId}" is not in ${round.profile} ${round.version}`, 404);
  return item;
}

function exactDecimal(field: 'teller' | 'noemer', raw: string): string {
  const v = raw.trim().replace(',', '.');
  if (!/^\d+(\.\d+)?$/.test(v)) throw new RoundError(`${field}: "${raw}" is not an exact decimal of at least 0 (digits, optionally one decimal separator)`, 400);
  return v;
}

/**
 * The value a corrected row sends. A row with a teller is a ratio (factor 100 for a percentage, the
 * item's decimals, noemer 1 when it has none): its value is computed from teller and noemer exactly
 * as `kikv run` does (item-rows.ts `ratio`), and a value given with them must equal it, so the row
 * sent never says one thing while its teller and noemer say another. A value alone is accepted only
 * for a row without teller and noemer.
 */
function correctedValue(item: IndicatorDef, r: { teller: string | null; noemer: string | null; typed: string | undefined; tellerGiven: boolean }): string {
  if (r.teller === null && r.noemer === null) {
    if (r.typed === undefined) throw new RoundError('value: give the corrected value', 400);
    return r.typed;
  }
  if (!r.tellerGiven) {
    throw new RoundError(`teller: this row has a teller${r.noemer !== null ? ' and noemer' : ''}, from which its value is computed; give the corrected teller${r.noemer !== null ? ' and noemer' : ''} instead of (or with) the value`, 400);
  }
  if (r.teller === null) throw new RoundError('teller: give the teller too; the value is computed from teller and noemer', 400);
  if (r.noemer !== null && /^0+(\.0+)?$/.test(r.noemer)) throw new RoundError('noemer: a noemer of 0 gives no value; leave the row not computable or give the real noemer', 400);
  const computed = ratio(r.teller, r.noemer ?? '1', item.unit === 'percentage' ? 100 : 1, item.decimals ?? 2);
  if (item.unit === 'percentage' && Number(computed) > 100) throw new RoundError(`teller: ${r.teller} of ${r.noemer} gives ${computed}%, more than 100; check teller and noemer`, 400);
  if (r.typed !== undefined && canonicalDecimal(r.typed) !== canonicalDecimal(computed)) {
    throw new RoundError(`value: ${r.typed} does not match teller ${r.teller} and noemer ${r.noemer ?? '1'}, which give ${computed}; leave the value empty or give ${computed}`, 400);
  }
  return computed;
}

function metadataOf(a: Answer): Record<string, unknown> {
  return a.metadata ? (JSON.parse(a.metadata) as Record<string, unknown>) : {};
}

/**
 * A new answer for `itemId` with the row of `indeling` set to the corrected value (and teller and
 * noemer when given). The answer it corrects, when still awaiting approval, is superseded at once;
 * an approved or delivered one is superseded when the board approves the correction (review.ts).
 */
export function correctValue(
  cfg: AgentConfig,
  db: Db,
  round: Round,
  itemId: string,
  indeling: string,
  input: { value?: string; teller?: string; noemer?: string; justification: string },
  actor: Actor,
  now = new Date(),
): Answer {
  assertCan(actor, 'correct', 'correcting a value');
  const item = itemOf(cfg, round, itemId);
  if (item.manual) throw new RoundError(`${itemId} is a manual item: enter a new value instead of correcting it`, 400);
  const justification = (input.justification ?? '').trim();
  if (justification.length < MIN_JUSTIFICATION) {
    throw new RoundError(`justification: write why the value is corrected, at least ${MIN_JUSTIFICATION} characters (got ${justification.length})`, 400);
  }
  const given = (input.value ?? '').trim();
  let typed: string | undefined;
  if (given !== '') {
    try {
      typed = validateManualValue(item, given);
    } catch (e) {
      if (e instanceof ManualValueError) throw new RoundError(`value: ${e.message}`, 400);
      throw e;
    }
    if (typed.startsWith('-')) throw new RoundError(`value: ${given} is negative; a corrected value is at least 0`, 400);
  }
  const teller = input.teller !== undefined && input.teller.trim() !== '' ? exactDecimal('teller', input.teller) : undefined;
  const noemer = input.noemer !== undefined && input.noemer.trim() !== '' ? exactDecimal('noemer', input.noemer) : undefined;
  if (noemer !== undefined && /^0+(\.0+)?$/.test(noemer)) throw new RoundError('noemer: a noemer of 0 gives no value; leave the row not computable or give the real noemer', 400);

  return db.transaction(() => {
    assertNotLocked(round, now);
    const old = currentAnswers(db, round).find((a) => a.indicator_id === itemId);
    if (!old) throw new RoundError(`item ${itemId} has no answer in round ${round.id} to correct; run \`kikv run --year ${round.year}\` first`, 404);
    const result = resultOf(old);
    const at = result.results.bindings.findIndex((b) => b.indeling?.value === indeling);
    if (at < 0) throw new RoundError(`item ${itemId} has no row for "${indeling}" in round ${round.id}`, 404);
    const before = result.results.bindings[at]!;
    const original = { value: before.waarde?.value ?? null, teller: before.teller?.value ?? null, noemer: before.noemer?.value ?? null, notComputable: before.niet_berekenbaar?.value ?? null };
    const row: Record<string, SparqlJsonTerm> = { indeling: before.indeling! };
    const newTeller = teller ?? original.teller;
    const newNoemer = noemer ?? original.noemer;
    const value = correctedValue(item, { teller: newTeller, noemer: newNoemer, typed, tellerGiven: teller !== undefined || noemer !== undefined });
    if (newTeller !== null) row.teller = { type: 'literal', value: newTeller, datatype: XSD_DECIMAL };
    if (newNoemer !== null) row.noemer = { type: 'literal', value: newNoemer, datatype: XSD_DECIMAL };
    row.waarde = /^-?\d+(\.\d+)?$/.test(value) ? { type: 'literal', value, datatype: XSD_DECIMAL } : { type: 'literal', value };
    if (original.value === value && original.teller === newTeller && original.noemer === newNoemer && original.notComputable === null) {
      throw new RoundError(`value: ${itemId} for ${indeling} is already ${value}; nothing to correct`, 400);
    }
    const corrected: SparqlJsonResults = { ...result, results: { ...result.results, bindings: result.results.bindings.map((b, i) => (i === at ? row : b)) } };
    const meta = metadataOf(old);
    const override: Override = { indeling, original, value, teller: newTeller, noemer: newNoemer, justification, by: actor.name, at: now.toISOString(), corrects: old.id };
    const overrides = [...((meta.overrides as Override[] | undefined) ?? []), override];
    const base = {
      id: randomUUID(),
      // The same thread and item id: the consumer's result id stays the same, the new message replaces the old.
      thread_id: old.thread_id,
      profile: old.profile,
      profile_version: old.profile_version,
      indicator_id: old.indicator_id,
      indicator_name: old.indicator_name,
      reporting_year: old.reporting_year,
      parameters: old.parameters,
      query_hash: old.query_hash,
      snapshot_hash: old.snapshot_hash,
      result: canonicalJson(corrected),
      status: 'awaiting_approval' as const,
      // Strictly after the answer it corrects, so it is the current one even within the same millisecond.
      created_at: new Date(Math.max(now.getTime(), Date.parse(old.created_at) + 1)).toISOString(),
      engine: old.engine,
      ontology_version: old.ontology_version,
      metadata: canonicalJson({ ...meta, overrides, supersedes: old.id }),
    };
    const answer = { ...base, content_hash: contentHashOf(base) };
    insertAnswer(db, answer);
    appendAudit(db, {
      actor: actor.name,
      action: 'answer.corrected',
      subject: answer.id,
      threadId: answer.thread_id,
      details: { round: round.id, indicator: itemId, indeling, corrects: old.id, original, value, teller: newTeller, noemer: newNoemer, justification, contentHash: answer.content_hash },
      at: now,
    });
    if (old.status === 'awaiting_approval') supersedeAnswer(db, old, answer.id, 'correction', `corrected by ${actor.name}: ${justification}`, actor.name, now);
    return getAnswer(db, answer.id);
  }).immediate();
}

const VESTIGINGSNUMMER_TYPE = '<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://purl.org/ozo/onz-org#Vestigingsnummer>';
const HAS_DATA_VALUE = /^(\S+) <http:\/\/purl\.org\/ozo\/onz-g#hasDataValue> "(\d{12})"/;
// A snapshot never changes under its hash: its locations are read once.
const vestigingenCache = new Map<string, string[]>();

/**
 * The vestigingsnummers of a snapshot, read in chunks without holding the file (as
 * run-profile's snapshotVestigingen, but synchronous so an entry is one call).
 */
function vestigingenOf(file: string, hash: string): string[] {
  const cached = vestigingenCache.get(hash);
  if (cached) return cached;
  const typed = new Set<string>();
  const values = new Map<string, string>();
  const line = (l: string) => {
    if (l.includes(VESTIGINGSNUMMER_TYPE)) typed.add(l.slice(0, l.indexOf(' ')));
    else {
      const m = HAS_DATA_VALUE.exec(l);
      if (m) values.set(m[1]!, m[2]!);
    }
  };
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const utf8 = new StringDecoder('utf8');
    let rest = '';
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
      const lines = (rest + utf8.write(buf.subarray(0, n))).split('\n');
      rest = lines.pop()!;
      lines.forEach(line);
    }
    line(rest);
  } finally {
    closeSync(fd);
  }
  const out = [...new Set([...typed].map((s) => values.get(s)).filter((v): v is string => v !== undefined))].sort();
  vestigingenCache.set(hash, out);
  return out;
}

/**
 * A manual item's value for one indeling, then the item's answer rebuilt from the latest entries on
 * the latest snapshot (as `kikv run` does); the previous manual answer still awaiting approval is
 * superseded. `answer` is undefined while no entry exists (cannot happen after a successful entry).
 */
export function enterManual(
  cfg: AgentConfig,
  db: Db,
  round: Round,
  itemId: string,
  indeling: string,
  value: string,
  actor: Actor,
  now = new Date(),
): { entry: ManualValue; answer: Answer | undefined } {
  assertCan(actor, 'enter-manual', 'entering a manual value');
  assertNotLocked(round, now);
  const pack = loadPack(cfg.indicators.packs, round.profile, round.version);
  const item = pack.manifest.indicators.find((i) => i.id === itemId);
  if (!item) throw new RoundError(`item "${itemId}" is not in ${round.profile} ${round.version}`, 404);
  if (!item.manual) throw new RoundError(`${itemId} is computed from the data; correct its value with a justification instead`, 400);
  const snapshot = latestSnapshotHash(db);
  if (!snapshot) throw new RoundError('there is no snapshot yet; run `kikv import` first', 409);
  const vestigingen = vestigingenOf(snapshotFile(cfg.storage.dataDir, snapshot), snapshot);
  const scope = { profile: round.profile, version: round.version, year: round.year };
  // The entry and the rebuilt answer commit together: never an entry without its answer.
  return db.transaction(() => {
    let entry: ManualValue;
    try {
      entry = enterManualValue(db, scope, item, indeling, value, actor.name, vestigingen);
    } catch (e) {
      if (e instanceof ManualValueError) throw new RoundError(`value: ${e.message}`, 400);
      throw e;
    }
    const previous = currentAnswers(db, round).find((a) => a.indicator_id === itemId);
    const outcome = manualOutcome(db, pack, item, manualValues(db, scope), vestigingen, snapshot, { year: round.year, actor: actor.name });
    if (!outcome.answerId) return { entry, answer: undefined };
    if (previous && previous.id !== outcome.answerId && previous.status === 'awaiting_approval') {
      supersedeAnswer(db, previous, outcome.answerId, 'recomputed', `manual value for ${indeling} entered by ${actor.name}`, actor.name, now);
    }
    return { entry, answer: getAnswer(db, outcome.answerId) };
  }).immediate();
}
