import { join } from 'node:path';
import { loadPack, yearTemplate } from '../indicators/pack.js';
import { DataFactory, Store, type Quad, type Term } from 'n3';
import { NS } from '../ontology/namespaces.js';
import type { MissingData } from './types.js';

/**
 * What data each indicator needs, and whether a snapshot has it for the reporting period.
 *
 * Indicators declare the kinds of data they need in their pack manifest (queries/<profile>/<version>/
 * manifest.yaml, `requires:` per indicator). A data kind is defined here once: the classes that make
 * it up, how a node of it falls in a period (an interval, a date, a time stamp, or not dated), and
 * optionally a link the node must have. The check is deliberately shallow: it tells the provider
 * "3.1 cannot be computed for 2023: no absence data", not whether every number is right (that is what
 * the SHACL shapes and the board's review are for).
 */

const G = NS['onz-g'];
const PERS = NS['onz-pers'];
const ORG = NS['onz-org'];
const ZORG = NS['onz-zorg'];
const FIN = NS['onz-fin'];
const EXT = NS.ext;
const RDF_TYPE = `${NS.rdf}type`;

export interface DataKind {
  /** How manifests name it. */
  id: string;
  /** Completes "no …": e.g. "absence data". */
  label: string;
  /** A node of this kind has one of these types. */
  classes: string[];
  /** How a node falls in a period: startDatum/eindDatum overlap, hasDate, hasBeginTimeStamp, or always. */
  dated: 'interval' | 'date' | 'timestamp' | 'none' | 'calendar';
  /** The node must also reach, along this path, a value that is one of `values` or has type `valueClass`. */
  where?: { path: string[]; values?: string[]; valueClass?: string };
  /** Where such data comes from, for the operator. */
  source: string;
  /** Said when the kind is absent but absence may be the truth (e.g. no measures were applied). */
  note?: string;
}

const PIL_RUBRICS = ['WPerLes', 'WPerSol', '411', '412', '413', '414', '415', '416', '419', '420000', '420100', '422100', '422300', '422400', '422410', '422500', '422600', '422900'].map((c) => FIN + c);
const PNIL_RUBRICS = ['WBedOvpUik', 'WBedOvpUit', 'WBedOvpMaf', 'WBedOvpZzp', 'WBedOvpPay', 'WBedOvpOip', '418'].map((c) => FIN + c);

/** The data kinds manifests may name in `requires:`. */
export const DATA_KINDS: Record<string, DataKind> = Object.fromEntries(
  (
    [
      { id: 'staff-agreements', label: 'staff agreement data (arbeids-, uitzend- or inhuurovereenkomsten)', classes: [`${PERS}ArbeidsOvereenkomst`, `${PERS}UitzendOvereenkomst`, `${PERS}InhuurOvereenkomst`], dated: 'interval', source: 'agreements.csv' },
      { id: 'employment-agreements', label: 'employment agreement data (arbeidsovereenkomsten)', classes: [`${PERS}ArbeidsOvereenkomst`], dated: 'interval', source: 'agreements.csv' },
      { id: 'intern-agreements', label: 'internship agreement data', classes: [`${PERS}StageOvereenkomst`], dated: 'interval', source: 'agreements.csv (kind internship)', note: 'correct if there were no interns' },
      { id: 'volunteer-agreements', label: 'volunteer agreement data', classes: [`${PERS}VrijwilligersOvereenkomst`], dated: 'interval', source: 'agreements.csv (kind volunteer)', note: 'correct if there were no volunteers' },
      { id: 'clauses', label: 'agreement clause data (function and period)', classes: [`${PERS}WerkOvereenkomstAfspraak`], dated: 'interval', source: 'clauses.csv' },
      {
        id: 'clause-locations',
        label: 'clauses tied to a location',
        classes: [`${PERS}WerkOvereenkomstAfspraak`],
        dated: 'interval',
        where: { path: [`${G}isAbout`], valueClass: `${G}StationaryArtifact` },
        source: 'clauses.csv (ward_id)',
      },
      {
        id: 'contract-sizes',
        label: 'contract size data',
        classes: [`${PERS}WerkOvereenkomstAfspraak`],
        dated: 'interval',
        where: { path: [`${G}hasPart`], valueClass: `${PERS}ContractOmvang` },
        source: 'clauses.csv (contract_size, size_unit)',
      },
      { id: 'care-functions', label: 'care functions (functions classified as zorg)', classes: [`${PERS}ZorgverlenerFunctie`], dated: 'none', source: 'functions.csv (care = yes)' },
      {
        id: 'qualifications',
        label: 'qualification levels of care functions',
        classes: [`${PERS}ZorgverlenerFunctie`],
        dated: 'none',
        where: { path: [`${G}hasQuality`, `${G}hasQualityValue`], valueClass: `${PERS}ODBKwalificatieWaarde` },
        source: 'functions.csv (qualification)',
      },
      { id: 'worked-hours', label: 'worked hours', classes: [`${PERS}GewerktePeriode`], dated: 'timestamp', source: 'worked_hours.csv' },
      { id: 'absences', label: 'absence data', classes: [`${PERS}ZiektePeriode`], dated: 'interval', source: 'absences.csv' },
      { id: 'personnel-costs', label: 'personnel cost postings (PIL rubrics)', classes: [`${FIN}Grootboekpost`], dated: 'date', where: { path: [`${G}partOf`], values: PIL_RUBRICS }, source: 'ledger.csv (WPer* rubrics)' },
      { id: 'pnil-costs', label: 'cost postings for staff not in payroll (PNIL rubrics)', classes: [`${FIN}Grootboekpost`], dated: 'date', where: { path: [`${G}partOf`], values: PNIL_RUBRICS }, source: 'ledger.csv (WBedOvp* rubrics)', note: 'correct if no staff were hired' },
      { id: 'locations', label: 'locations (vestigingen)', classes: [`${ORG}Vestiging`], dated: 'none', source: 'locations.csv' },
      { id: 'wards', label: 'wards (afdelingen)', classes: [`${EXT}Afdeling`], dated: 'none', source: 'wards.csv' },
      { id: 'indications', label: 'Wlz indication data', classes: [`${ZORG}WlzIndicatie`], dated: 'interval', source: 'indications.csv' },
      { id: 'care-episodes', label: 'care episode data', classes: [`${ZORG}NursingProcess`, `${G}CureAndCareProcess`], dated: 'interval', source: 'care_episodes.csv' },
      { id: 'decubitus-observations', label: 'decubitus observations', classes: [`${EXT}DecubitusObservatie`], dated: 'date', source: 'client_observations.csv (kind decubitus)' },
      { id: 'end-of-life-observations', label: 'observations of end-of-life agreements', classes: [`${EXT}AfsprakenLevenseindeObservatie`], dated: 'date', source: 'client_observations.csv (kind end_of_life_agreements)' },
      { id: 'medication-reviews', label: 'medication reviews', classes: [`${EXT}Medicatiereview`], dated: 'date', source: 'client_observations.csv (kind medication_review)' },
      { id: 'toileting-plan-observations', label: 'toileting plan observations', classes: [`${EXT}ToiletgangplanObservatie`], dated: 'date', source: 'client_observations.csv (kind toileting_plan)' },
      { id: 'food-preference-observations', label: 'food preference observations', classes: [`${EXT}VoedselvoorkeurenObservatie`], dated: 'date', source: 'client_observations.csv (kind food_preferences)' },
      { id: 'restrictive-measures', label: 'freedom-restricting measure data', classes: [`${EXT}VrijheidsbeperkendeMaatregel`], dated: 'interval', source: 'restrictive_measures.csv', note: 'correct if no measures were applied' },
      { id: 'decubitus-discussions', label: 'decubitus case discussions', classes: [`${EXT}CasuistiekbesprekingDecubitus`], dated: 'date', source: 'ward_discussions.csv (topic decubitus_case)' },
      { id: 'medication-error-discussions', label: 'medication error discussions', classes: [`${EXT}BesprekingMedicatiefouten`], dated: 'date', source: 'ward_discussions.csv (topic medication_errors)' },
      { id: 'calendar', label: 'OWL-Time calendar days', classes: [], dated: 'calendar', source: 'the calendar the import generates' },
    ] satisfies DataKind[]
  ).map((k) => [k.id, k]),
);

/** One requirement of an indicator: a data kind, for all its rows or only the per-location ones. */
export interface Requirement {
  kind: string;
  /** "location": only the per-location rows need it (the organisation row can do without). */
  level?: 'location';
}

/** What a manifest declares about an indicator, as far as missing data is concerned. */
export interface IndicatorRequirements {
  /** Manifest id, e.g. "ps-1.1". */
  id: string;
  /** Indicator number as published, e.g. "1.1". */
  number?: string;
  name?: string;
  /** Profile id and version the indicator belongs to. */
  profile?: string;
  requires: Requirement[];
  /** With "{year}" (and "{year-1}", "{year+1}") placeholders; default: the calendar year. */
  measurementPeriod?: { start: string; end: string };
}

/** Thrown when a manifest names a data kind this agent does not know. */
export class RequirementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequirementError';
  }
}

function parseRequirement(raw: unknown, where: string): Requirement {
  const r: Requirement | undefined =
    typeof raw === 'string'
      ? { kind: raw }
      : raw && typeof raw === 'object' && typeof (raw as { kind?: unknown }).kind === 'string'
        ? { kind: (raw as { kind: string }).kind, ...((raw as { level?: unknown }).level === 'location' ? { level: 'location' as const } : {}) }
        : undefined;
  if (!r) throw new RequirementError(`${where}: a requires entry must be a data kind name or { kind: NAME, level: location }, got ${JSON.stringify(raw)}`);
  if (!DATA_KINDS[r.kind]) {
    throw new RequirementError(`${where}: unknown data kind "${r.kind}" in requires; known kinds: ${Object.keys(DATA_KINDS).join(', ')}`);
  }
  return r;
}

/** Reads the indicators and their `requires:` lists from the manifests of the configured profile packs. */
export function loadIndicatorRequirements(packsDir: string, profiles: Array<{ profile: string; version: string }>): IndicatorRequirements[] {
  const out: IndicatorRequirements[] = [];
  for (const { profile, version } of profiles) {
    // loadPack resolves the manifest's item files, so the report sees exactly the items a run computes.
    const { dir, manifest } = loadPack(packsDir, profile, version);
    for (const ind of manifest.indicators) {
      const requires = Array.isArray(ind.requires) ? ind.requires.map((r) => parseRequirement(r, `${join(dir, 'manifest.yaml')}, indicator ${ind.id}`)) : [];
      out.push({
        id: ind.id,
        number: String(ind.number),
        name: ind.name,
        profile: `${profile} ${version}`,
        requires,
        ...(ind.measurementPeriod ? { measurementPeriod: ind.measurementPeriod } : {}),
      });
    }
  }
  return out;
}

/** A manifest date for a year ({year}, {year-1}, {year+1}, YYYY-MM-{last}). */
export const periodDate = yearTemplate;

function dateOf(t: Term | undefined): string | undefined {
  return t && t.termType === 'Literal' ? t.value.slice(0, 10) : undefined;
}

/** Counts nodes of a kind: in the period, and at all (to tell "none" from "none in this period"). */
function presence(store: Store, kind: DataKind, from: string, to: string): { inPeriod: number; total: number } {
  if (kind.dated === 'calendar') {
    const total = store.countQuads(null, `${NS.time}inXSDDate`, null, null) > 0 ? 1 : 0;
    return { inPeriod: hasDay(store, from) && hasDay(store, to) ? 1 : 0, total };
  }
  const seen = new Set<string>();
  let inPeriod = 0;
  for (const cls of kind.classes) {
    for (const node of store.getSubjects(RDF_TYPE, cls, null)) {
      if (seen.has(node.id)) continue;
      seen.add(node.id);
      if (kind.where && !reaches(store, node, kind.where)) {
        seen.delete(node.id);
        continue;
      }
      if (inRange(store, node, kind.dated, from, to)) inPeriod++;
    }
  }
  return { inPeriod, total: seen.size };
}

function hasDay(store: Store, day: string): boolean {
  return store.countQuads(null, `${NS.time}inXSDDate`, DataFactory.literal(day, DataFactory.namedNode(`${NS.xsd}date`)), null) > 0;
}

function reaches(store: Store, node: Term, where: NonNullable<DataKind['where']>): boolean {
  let frontier: Term[] = [node];
  for (const p of where.path) frontier = frontier.flatMap((n) => store.getObjects(n, p, null));
  return frontier.some(
    (v) => (where.values ? where.values.includes(v.value) : true) && (where.valueClass ? store.countQuads(v, RDF_TYPE, where.valueClass, null) > 0 : true),
  );
}

function inRange(store: Store, node: Term, dated: DataKind['dated'], from: string, to: string): boolean {
  switch (dated) {
    case 'none':
      return true;
    case 'date':
      return store.getObjects(node, `${NS['onz-g']}hasDate`, null).some((d) => {
        const v = dateOf(d);
        return v !== undefined && v >= from && v <= to;
      });
    case 'timestamp':
      return store.getObjects(node, `${NS['onz-g']}hasBeginTimeStamp`, null).some((d) => {
        const v = dateOf(d);
        return v !== undefined && v >= from && v <= to;
      });
    case 'interval': {
      const start = store.getObjects(node, `${NS['onz-g']}startDatum`, null).map(dateOf).filter((d): d is string => d !== undefined)[0];
      if (start === undefined || start > to) return false;
      const ends = store.getObjects(node, `${NS['onz-g']}eindDatum`, null).map(dateOf).filter((d): d is string => d !== undefined);
      return ends.length === 0 || ends.some((e) => e >= from);
    }
    default:
      return false;
  }
}

/**
 * Per indicator, what data it needs that the snapshot does not have for the reporting period. One
 * entry per indicator that lacks something; indicators with all their data (or no `requires`) are
 * left out.
 */
export function missingData(data: Store | Iterable<Quad>, indicators: IndicatorRequirements[], year: number): MissingData[] {
  const store = data instanceof Store ? data : new Store([...data]);
  const out: MissingData[] = [];
  const cache = new Map<string, { inPeriod: number; total: number }>();
  for (const ind of indicators) {
    const from = periodDate(ind.measurementPeriod?.start ?? '{year}-01-01', year);
    const to = periodDate(ind.measurementPeriod?.end ?? '{year}-12-31', year);
    const whole: string[] = [];
    const perLocation: string[] = [];
    const kinds: string[] = [];
    for (const req of ind.requires) {
      const kind = DATA_KINDS[req.kind];
      if (!kind) throw new RequirementError(`indicator ${ind.id}: unknown data kind "${req.kind}"`);
      const key = `${kind.id}\n${from}\n${to}`;
      let p = cache.get(key);
      if (!p) cache.set(key, (p = presence(store, kind, from, to)));
      if (p.inPeriod > 0) continue;
      kinds.push(kind.id);
      let text = `no ${kind.label}`;
      if (kind.dated === 'calendar') text = `no ${kind.label} for ${from} and ${to}`;
      else if (kind.dated !== 'none') text += ` in ${from} – ${to}`;
      const hints: string[] = [];
      if (p.total > 0 && kind.dated !== 'none') hints.push(kind.dated === 'calendar' ? 'the calendar covers other years' : 'there is some for other periods: check the export covers this one');
      else hints.push(`from ${kind.source}`);
      if (kind.note) hints.push(kind.note);
      text += ` (${hints.join('; ')})`;
      (req.level === 'location' ? perLocation : whole).push(text);
    }
    if (whole.length === 0 && perLocation.length === 0) continue;
    const label = ind.number ?? ind.id;
    const parts: string[] = [];
    if (whole.length > 0) parts.push(`${label} cannot be computed for ${year}: ${whole.join('; ')}`);
    if (perLocation.length > 0) parts.push(`${whole.length > 0 ? 'and not' : `${label} cannot be computed`} per location${whole.length > 0 ? '' : ` for ${year}`}: ${perLocation.join('; ')}`);
    const entry: MissingData = { indicator: ind.id, year, message: parts.join('; ') };
    const title = [ind.number, ind.name].filter(Boolean).join(' ');
    if (title) entry.title = title;
    entry.dataKinds = kinds;
    out.push(entry);
  }
  return out;
}
