import { existsSync, readFileSync, statSync } from 'node:fs';
import { resultOf, type Answer, type AnswerStatus } from '../answers/answers.js';
import { currentAnswers, roundIndelingen } from '../answers/review.js';
import { RoundError, type Round } from '../answers/rounds.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { ORGANISATIE } from '../indicators/item-rows.js';
import { loadPack, yearTemplate, type IndicatorDef, type ItemLevel, type ItemUnit } from '../indicators/pack.js';
import { latestSnapshotHash } from '../pipeline/import.js';
import type { ProcessingReport } from '../report/types.js';
import { providerOfSnapshot } from './provider.js';

/**
 * The performance overview (prestatieoverzicht) of one indeling of a round: every item of the pack
 * (both sets, in handbook order) with what would be sent for it, the previous year's value and the
 * change, the trend, what the processing report warns about, overrides and manual entries, and where
 * the number came from. Plain data: the pages, the PDF and the API render it.
 */

export interface OverviewItem {
  item: { id: string; inid: string; number: string; name: string; unit: ItemUnit; level: ItemLevel[]; set: string; manual: boolean; interpretation?: string; definition?: string; decimals?: number };
  answerId?: string;
  answerStatus?: AnswerStatus | 'superseded';
  value: string | null;
  teller: string | null;
  noemer: string | null;
  notComputable?: string;
  /** A manual item with no entry for this indeling yet. */
  awaitingEntry?: boolean;
  previous?: { year: number; value: string | null };
  /** value − previous, exact decimal text with a sign ("+1.25", "-0.50", "0.00"); only when both are numbers. */
  change?: string;
  trend: Array<{ year: number; value: number | null }>;
  warnings: string[];
  override?: { original: { value: string | null; teller: string | null; noemer: string | null }; justification: string; by: string; at: string };
  manualEntry?: { enteredBy: string; enteredAt: string };
  provenance?: { profile: string; profileVersion: string; queryHash: string; snapshotHash: string; engine: string | null; ontologyVersion: string | null; computedAt: string; contentHash: string };
}

export interface LocationOverview {
  round: Round;
  indeling: string;
  name: string;
  organisation: { name: string; kvk: string };
  snapshot?: string;
  items: OverviewItem[];
}

/** What Part B's correction writes into metadata.overrides (design "Correction"). */
interface OverrideMeta {
  indeling: string;
  original?: { value?: string | null; teller?: string | null; noemer?: string | null };
  justification?: string;
  by?: string;
  at?: string;
}

interface AnswerMeta {
  overrides?: OverrideMeta[];
  entries?: Array<{ item_id: string; indeling: string; entered_by: string; entered_at: string }>;
  unprovenEngine?: boolean;
}

export interface IndelingRow {
  value: string | null;
  teller: string | null;
  noemer: string | null;
  notComputable?: string;
}

/** The row an answer sends for an indeling, or undefined when it has none. */
export function rowOf(a: Answer, indeling: string): IndelingRow | undefined {
  const b = resultOf(a).results.bindings.find((x) => x.indeling?.value === indeling);
  if (!b) return undefined;
  const row: IndelingRow = { value: b.waarde?.value ?? null, teller: b.teller?.value ?? null, noemer: b.noemer?.value ?? null };
  if (b.niet_berekenbaar) row.notComputable = b.niet_berekenbaar.value;
  return row;
}

function metaOf(a: Answer): AnswerMeta {
  try {
    return (a.metadata ? JSON.parse(a.metadata) : {}) as AnswerMeta;
  } catch {
    return {};
  }
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** a − b exactly (scaled integers), at the larger of their scales, signed: "+1.25", "-0.50", "0.00". */
export function decimalChange(a: string, b: string): string | undefined {
  if (!DECIMAL.test(a) || !DECIMAL.test(b)) return undefined;
  const scaleOf = (t: string) => (t.split('.')[1] ?? '').length;
  const scale = Math.max(scaleOf(a), scaleOf(b));
  const scaled = (t: string) => {
    const [i, f = ''] = t.replace('-', '').split('.');
    const n = BigInt(i! + f.padEnd(scale, '0'));
    return t.startsWith('-') ? -n : n;
  };
  const d = scaled(a) - scaled(b);
  const abs = (d < 0n ? -d : d).toString().padStart(scale + 1, '0');
  const text = scale > 0 ? `${abs.slice(0, -scale)}.${abs.slice(-scale)}` : abs;
  return d < 0n ? `-${text}` : d > 0n ? `+${text}` : text;
}

const UNIT_NL: Record<ItemUnit, string> = { number: 'getal', percentage: 'percentage', 'yes/no': 'ja/nee', text: 'tekst', url: 'webadres' };

/** The item as the overview shows it; `definition` is the manifest's when it has one, else built from it. */
function itemInfo(ind: IndicatorDef, year: number): OverviewItem['item'] {
  const withDefinition = ind as IndicatorDef & { definition?: string };
  const period = `${yearTemplate(ind.measurementPeriod.start, year)} – ${yearTemplate(ind.measurementPeriod.end, year)}`;
  const definition = withDefinition.definition ?? `${ind.set.name} ${ind.number} ${ind.name} (${ind.inid}); eenheid ${UNIT_NL[ind.unit]}; meetperiode ${period}${ind.notComputable ? `; niet berekenbaar als: ${ind.notComputable}` : ''}`;
  return {
    id: ind.id,
    inid: ind.inid,
    number: ind.number,
    name: ind.name,
    unit: ind.unit,
    level: ind.level,
    set: ind.set.name,
    manual: ind.manual === true,
    ...(ind.interpretation ? { interpretation: yearTemplate(ind.interpretation, year) } : {}),
    definition,
    ...(ind.decimals !== undefined ? { decimals: ind.decimals } : {}),
  };
}

/** Items of the pack that have a row for this indeling: organisation-level items only on Organisatie. */
export function itemsFor(items: IndicatorDef[], indeling: string): IndicatorDef[] {
  return items.filter((i) => i.level.includes(indeling === ORGANISATIE ? 'organisation' : 'location'));
}

/**
 * Per year of the profile with answers: the current answer of each item. The round's own year uses
 * the round's answers; other years any pack version (of several, the most recently computed current answer). Uses
 * Part B's currentAnswers per (version, year), so "current" means the same here as in the review.
 */
function answersByYear(db: Db, round: Round, current: Answer[]): Map<number, Map<string, Answer>> {
  const out = new Map<number, Map<string, Answer>>([[round.year, new Map(current.map((a) => [a.indicator_id, a]))]]);
  const combos = db.prepare('SELECT DISTINCT profile_version AS version, reporting_year AS year FROM answers WHERE profile = ? AND reporting_year != ?').all(round.profile, round.year) as Array<{ version: string; year: number }>;
  for (const c of combos) {
    const byItem = out.get(c.year) ?? out.set(c.year, new Map()).get(c.year)!;
    for (const a of currentAnswers(db, { ...round, id: `${round.profile}/${c.year}`, version: c.version, year: c.year })) {
      const had = byItem.get(a.indicator_id);
      if (!had || had.created_at < a.created_at) byItem.set(a.indicator_id, a);
    }
  }
  // A year whose answers were all rejected or superseded has no values to show.
  for (const [y, m] of out) if (m.size === 0 && y !== round.year) out.delete(y);
  return out;
}

const reports = new Map<string, { mtimeMs: number; report: ProcessingReport }>();

function reportOfSnapshot(db: Db, snapshot: string): ProcessingReport | null {
  const row = db.prepare('SELECT report_file FROM snapshots WHERE hash = ?').get(snapshot) as { report_file: string } | undefined;
  // A missing report file means no warnings to show, not a broken overview.
  if (!row || !existsSync(row.report_file)) return null;
  const mtimeMs = statSync(row.report_file).mtimeMs;
  const cached = reports.get(row.report_file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.report;
  const report = JSON.parse(readFileSync(row.report_file, 'utf8')) as ProcessingReport;
  reports.set(row.report_file, { mtimeMs, report });
  return report;
}

/** What the processing report of the answer's snapshot says about this item (missing data for the round's year, anything naming it). */
function warningsFor(db: Db, a: Answer | undefined, item: IndicatorDef, year: number): string[] {
  if (!a) return [];
  const out: string[] = [];
  const report = reportOfSnapshot(db, a.snapshot_hash);
  if (report) {
    for (const m of report.missing ?? []) if (m.indicator === item.id && m.year === year) out.push(m.message);
    const names = new RegExp(`(^|[^\\w.-])${item.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.-])`);
    for (const v of report.violations ?? []) if (names.test(v.message)) out.push(v.message);
    for (const f of report.fileErrors ?? []) if (names.test(f.reason)) out.push(`${f.file}: ${f.reason}`);
  }
  if (metaOf(a).unprovenEngine) out.push(`computed on engine ${a.engine}, which the conformance matrix does not prove for this query`);
  return out;
}

function supersededIds(db: Db, ids: string[]): Set<string> {
  if (ids.length === 0) return new Set();
  const rows = db.prepare(`SELECT answer_id FROM answer_supersessions WHERE answer_id IN (${ids.map(() => '?').join(',')})`).all(...ids) as Array<{ answer_id: string }>;
  return new Set(rows.map((r) => r.answer_id));
}

interface RoundContext {
  items: IndicatorDef[];
  current: Map<string, Answer>;
  byYear: Map<number, Map<string, Answer>>;
  superseded: Set<string>;
  snapshot?: string;
  provider: { organisation: { name: string; kvk: string }; locations: Array<{ vestigingsnummer: string; name: string }> };
}

async function roundContext(cfg: AgentConfig, db: Db, round: Round): Promise<RoundContext> {
  const pack = loadPack(cfg.indicators.packs, round.profile, round.version);
  const answers = currentAnswers(db, round);
  const byYear = answersByYear(db, round, answers);
  const current = byYear.get(round.year)!;
  // The location names of the newest snapshot the round's answers ran on (a later import may add a location).
  const newest = [...current.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
  const snapshot = newest?.snapshot_hash ?? latestSnapshotHash(db);
  const provider = snapshot ? await providerOfSnapshot(cfg, db, snapshot) : { organisation: { name: '', kvk: '' }, locations: [] };
  return { items: pack.manifest.indicators, current, byYear, superseded: supersededIds(db, [...current.values()].map((a) => a.id)), ...(snapshot ? { snapshot } : {}), provider };
}

function overviewOf(db: Db, round: Round, ctx: RoundContext, indeling: string): LocationOverview {
  const items: OverviewItem[] = [];
  for (const ind of itemsFor(ctx.items, indeling)) {
    const a = ctx.current.get(ind.id);
    const row = a ? rowOf(a, indeling) : undefined;
    const meta = a ? metaOf(a) : {};
    const o: OverviewItem = {
      item: itemInfo(ind, round.year),
      value: row?.value ?? null,
      teller: row?.teller ?? null,
      noemer: row?.noemer ?? null,
      trend: [],
      warnings: warningsFor(db, a, ind, round.year),
    };
    if (a) {
      o.answerId = a.id;
      o.answerStatus = ctx.superseded.has(a.id) ? 'superseded' : a.status;
      o.provenance = { profile: a.profile, profileVersion: a.profile_version, queryHash: a.query_hash, snapshotHash: a.snapshot_hash, engine: a.engine, ontologyVersion: a.ontology_version, computedAt: a.created_at, contentHash: a.content_hash };
    }
    const entry = meta.entries?.find((e) => e.item_id === ind.id && e.indeling === indeling);
    if (ind.manual && !entry) {
      o.awaitingEntry = true;
      o.notComputable = 'not entered yet (manual item)';
    } else if (row?.notComputable) o.notComputable = row.notComputable;
    else if (!a && !ind.manual) o.notComputable = 'not computed for this round yet';
    if (entry) o.manualEntry = { enteredBy: entry.entered_by, enteredAt: entry.entered_at };
    const override = [...(meta.overrides ?? [])].reverse().find((x) => x.indeling === indeling);
    if (override) {
      o.override = {
        original: { value: override.original?.value ?? null, teller: override.original?.teller ?? null, noemer: override.original?.noemer ?? null },
        justification: override.justification ?? '',
        by: override.by ?? '',
        at: override.at ?? '',
      };
    }
    const prev = ctx.byYear.get(round.year - 1)?.get(ind.id);
    if (prev) {
      const value = rowOf(prev, indeling)?.value ?? null;
      o.previous = { year: round.year - 1, value };
      const change = o.value !== null && value !== null ? decimalChange(o.value, value) : undefined;
      if (change !== undefined) o.change = change;
    }
    for (const year of [...ctx.byYear.keys()].sort((x, y) => x - y)) {
      const ya = year === round.year ? a : ctx.byYear.get(year)!.get(ind.id);
      if (!ya) continue;
      const v = rowOf(ya, indeling)?.value ?? null;
      o.trend.push({ year, value: v !== null && DECIMAL.test(v) ? Number(v) : null });
    }
    items.push(o);
  }
  const name = indeling === ORGANISATIE ? ctx.provider.organisation.name || ORGANISATIE : (ctx.provider.locations.find((l) => l.vestigingsnummer === indeling)?.name ?? indeling);
  return { round, indeling, name, organisation: ctx.provider.organisation, ...(ctx.snapshot ? { snapshot: ctx.snapshot } : {}), items };
}

/** The indelingen of a round: those its answers have rows for, else the snapshot's locations and Organisatie. */
function indelingenOf(db: Db, round: Round, ctx: RoundContext): string[] {
  const fromAnswers = roundIndelingen(db, round);
  if (fromAnswers.length > 0) return fromAnswers;
  return [...ctx.provider.locations.map((l) => l.vestigingsnummer), ORGANISATIE];
}

export async function locationOverview(cfg: AgentConfig, db: Db, round: Round, indeling: string): Promise<LocationOverview> {
  const ctx = await roundContext(cfg, db, round);
  const known = indelingenOf(db, round, ctx);
  if (!known.includes(indeling)) throw new RoundError(`round ${round.id} has no location or organisation "${indeling}"; give a 12-digit vestigingsnummer or Organisatie, one of: ${known.join(', ')}`, 404);
  return overviewOf(db, round, ctx, indeling);
}

/** The overview of every indeling of the round: locations (by vestigingsnummer) then Organisatie. */
export async function roundOverviews(cfg: AgentConfig, db: Db, round: Round): Promise<LocationOverview[]> {
  const ctx = await roundContext(cfg, db, round);
  return indelingenOf(db, round, ctx).map((i) => overviewOf(db, round, ctx, i));
}
