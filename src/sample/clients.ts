/**
 * Client side of the sample: clients, Wlz indications, care episodes, client-record observations,
 * restrictive measures and ward discussions. Covers the period and the two months after it; by default
 * 2022-01-01 .. 2024-02-29 (measurement window for reporting year 2023: 2024-01-01 .. 2024-02-29;
 * Basisveiligheid observations also in Jan–Feb of the earlier years after the first).
 */
import * as D from './dates.js';
import type { Location, Ward } from './org.js';
import { Period } from './period.js';
import { Rng } from './random.js';
import { idFormatter } from './tables.js';

export const CARE_PROFILES = ['VV4', 'VV5', 'VV6', 'VV7', 'VV8', 'VV9B', 'VV10'] as const;
export type CareProfile = (typeof CARE_PROFILES)[number];
export const MEASURE_TYPES = [
  'mechanical',
  'physical',
  'pharmacological',
  'psychological',
  'electronic',
  'one_to_one_supervision',
  'seclusion',
  'other',
] as const;
export type MeasureType = (typeof MEASURE_TYPES)[number];

type Row = Record<string, string>;

/** Yearly discharge rate of long-stay clients outside the two-year calibration (66 % of them still in care at its end). */
const DISCHARGE_RATE = Period.leaveRate(0.66);
type Delivery = 'instelling' | 'vpt' | 'mpt' | 'pgb';

const PROFILE_WEIGHTS: ReadonlyArray<readonly [CareProfile, number]> = [
  ['VV4', 15], ['VV5', 30], ['VV6', 24], ['VV7', 10], ['VV8', 6], ['VV9B', 8], ['VV10', 7],
];
const PG_PROFILES: ReadonlySet<CareProfile> = new Set(['VV5', 'VV7']);
const TRANSITIONS: Readonly<Record<CareProfile, readonly CareProfile[]>> = {
  VV4: ['VV5', 'VV6', 'VV6'],
  VV5: ['VV7', 'VV7', 'VV10'],
  VV6: ['VV8', 'VV8', 'VV10'],
  VV7: ['VV10'],
  VV8: ['VV10'],
  VV9B: ['VV6', 'VV4'],
  VV10: [],
};
const DELIVERY: ReadonlyArray<readonly [Delivery, number]> = [['instelling', 85], ['vpt', 6], ['mpt', 5], ['pgb', 4]];
const MEASURE_WEIGHTS: ReadonlyArray<readonly [MeasureType, number]> = [
  ['electronic', 25], ['pharmacological', 20], ['mechanical', 15], ['psychological', 12], ['physical', 8],
  ['one_to_one_supervision', 8], ['seclusion', 4], ['other', 8],
];
const DESCRIPTIONS: Readonly<Record<MeasureType, readonly string[]>> = {
  mechanical: ['Bedhekken omhoog in de nacht', 'Onrustband in bed', 'Tentbed', 'Rolstoel met tafelblad'],
  physical: ['Vasthouden bij de ADL-zorg', 'Begeleiding bij verzet tijdens wassen'],
  pharmacological: ['Haloperidol zo nodig', 'Lorazepam bij onrust, max. 2 keer per dag'],
  psychological: ['Afspraak over vaste rusttijden op de kamer', 'Beperking van het aantal sigaretten'],
  electronic: ['Bewegingssensor bij het bed', 'GPS-tracker bij wandelen', 'Deurdetectie met alarm', 'Camera-toezicht in de nacht'],
  one_to_one_supervision: ['Eén-op-één begeleiding in de avond', 'Permanent toezicht in de huiskamer'],
  seclusion: ['Afzondering op eigen kamer bij agressie', 'Kamer op slot tijdens de nacht'],
  other: [
    'Gesloten voordeur, cliënt mag alleen "onder begeleiding" naar buiten',
    'Verplicht dagprogramma in de huiskamer',
    'Beperking van bezoek, na overleg met de vertegenwoordiger',
    'Inname van de mobiele telefoon in de nacht',
    'Voedingsschema met beperking van suiker en snacks',
  ],
};

interface Episode {
  ward: Ward;
  start: number;
  end: number | null;
}

interface Indication {
  profile: CareProfile;
  delivery: Delivery;
  treatment: boolean;
  start: number;
  end: number | null;
  episodes: Episode[];
}

interface Client {
  id: string;
  birth: number | null;
  admission: number;
  discharge: number | null;
  indications: Indication[];
}

interface Observation {
  client: Client;
  date: number;
  kind: string;
  value: string;
}

interface Measure {
  client: Client;
  type: MeasureType;
  start: number;
  end: number | null;
  description: string;
}

export interface ClientTables {
  clients: Row[];
  indications: Row[];
  care_episodes: Row[];
  client_observations: Row[];
  restrictive_measures: Row[];
  ward_discussions: Row[];
}

function between(rng: Rng, lo: number, hi: number): number {
  return hi <= lo ? lo : rng.int(lo, hi);
}

export function generateClients(rng: Rng, nClients: number, locations: Location[], wards: Ward[], P: Period): ClientTables {
  const PERIOD_START = P.start;
  const EXPORT_DATE = P.exportDate;
  // Long-stay clients: share still in care at the end (66 % over two years), and shares admitted before the period.
  const pStay = P.present(0.66);
  const pStayFromBefore = P.present(0.62);
  const pLeftFromBefore = P.present(0.7);
  const profiles: CareProfile[] = [];
  if (nClients >= CARE_PROFILES.length) profiles.push(...CARE_PROFILES);
  while (profiles.length < nClients) profiles.push(rng.weighted(PROFILE_WEIGHTS));
  rng.shuffle(profiles);

  const wardFor = (loc: Location, pg: boolean, not?: Ward): Ward => {
    const here = wards.filter((w) => w.location === loc && w !== not);
    const match = here.filter((w) => w.pg === pg);
    const pool = match.length > 0 ? match : here.length > 0 ? here : wards;
    return rng.pick(pool);
  };
  const treatmentFor = (p: CareProfile, d: Delivery): boolean =>
    d !== 'instelling' ? false : p === 'VV9B' ? true : p === 'VV10' ? rng.chance(0.7) : rng.chance(0.38);

  const clientId = idFormatter('C', nClients, 5);
  const clients: Client[] = profiles.map((profile, i) => {
    const loc = rng.pick(locations);
    const measureEnd = P.atEnd(1, 1, 15);
    let admission: number;
    let discharge: number | null;
    /** Day the profile changes (second indication), if any, and the new profile. */
    let change: { day: number; profile: CareProfile } | null = null;

    if (profile === 'VV10' || profile === 'VV9B') {
      const len = profile === 'VV10' ? rng.int(5, 56) : rng.int(21, 120);
      admission = between(rng, PERIOD_START - len + 1, EXPORT_DATE - 3);
      const end = admission + len - 1;
      discharge = end > EXPORT_DATE ? null : end;
      if (profile === 'VV9B' && discharge !== null && rng.chance(0.2) && discharge + 60 < EXPORT_DATE) {
        // Revalidation did not lead home: long-stay indication afterwards.
        change = { day: discharge + 1, profile: rng.pick(TRANSITIONS.VV9B) };
        discharge = rng.chance(0.4) ? between(rng, change.day + 60, EXPORT_DATE) : null;
      }
    } else {
      const pastStart = () => {
        const hi = P.atStart(-1, 12, 31);
        return hi - Math.floor(Math.pow(rng.next(), 1.6) * (hi - P.atStart(-6, 1, 1)));
      };
      const r = rng.next();
      if (!P.reference && r < 0.97) {
        // Steady census: present at the start with the share a constant discharge rate implies, else
        // admitted during the period; discharged after an exponential stay (at least 30 days).
        admission = rng.chance(pStay) ? pastStart() : between(rng, PERIOD_START, measureEnd);
        const d = Period.after(Math.max(admission, PERIOD_START), rng.exponential(DISCHARGE_RATE));
        discharge = Math.max(d, admission + 30);
        if (discharge > EXPORT_DATE) discharge = null;
      } else if (r < pStay) {
        admission = rng.chance(pStayFromBefore) ? pastStart() : between(rng, PERIOD_START, measureEnd);
        discharge = rng.chance(0.06) ? between(rng, measureEnd + 1, EXPORT_DATE) : null;
      } else if (r < 0.97) {
        admission = rng.chance(pLeftFromBefore) ? pastStart() : between(rng, PERIOD_START, P.atEnd(0, 12, 1));
        discharge = between(rng, Math.max(admission + 30, PERIOD_START), measureEnd - 1);
      } else {
        admission = between(rng, measureEnd + 1, P.atEnd(1, 2, 25));
        discharge = null;
      }
      const last = discharge ?? EXPORT_DATE;
      if (last - admission >= 150 && rng.chance(0.22)) {
        const options = TRANSITIONS[profile].filter((p) => p !== 'VV10' || discharge !== null);
        if (options.length > 0) {
          const next = rng.pick(options);
          const day =
            next === 'VV10'
              ? Math.max(admission + 60, last - rng.int(7, 56))
              : between(rng, Math.max(admission + 60, P.atStart(-1, 1, 1)), last - 30);
          if (day > admission + 30 && day <= last - 5) change = { day, profile: next };
        }
      }
    }

    const delivery: Delivery = profile === 'VV9B' || profile === 'VV10' ? 'instelling' : rng.weighted(DELIVERY);
    const closeEnd = discharge === null ? null : rng.chance(0.65) ? discharge : null;
    const indStart = rng.chance(0.35) ? admission : admission - rng.int(1, 120);
    const home = wardFor(loc, PG_PROFILES.has(profile));
    const indications: Indication[] = [];
    const first: Indication = {
      profile,
      delivery,
      treatment: treatmentFor(profile, delivery),
      start: indStart,
      end: change ? change.day - 1 : closeEnd,
      episodes: episodes(rng, home, admission, change ? change.day - 1 : discharge, wardFor, EXPORT_DATE),
    };
    indications.push(first);
    if (change) {
      const pgChanged = PG_PROFILES.has(change.profile) !== PG_PROFILES.has(profile);
      const ward = pgChanged || rng.chance(0.3) ? wardFor(loc, PG_PROFILES.has(change.profile), home) : home;
      const d2: Delivery = delivery === 'instelling' || profile === 'VV9B' ? 'instelling' : delivery;
      indications.push({
        profile: change.profile,
        delivery: d2,
        treatment: rng.chance(0.8) && change.profile !== 'VV10' ? first.treatment && d2 === 'instelling' : treatmentFor(change.profile, d2),
        start: change.day,
        end: closeEnd,
        episodes: episodes(rng, ward, change.day, discharge, wardFor, EXPORT_DATE),
      });
    }
    return { id: clientId(i + 1), birth: clientBirth(rng, admission, P), admission, discharge, indications };
  });

  // ---- observations ---------------------------------------------------------------------------
  const observations: Observation[] = [];
  const bvWindows: Array<readonly [number, number, number]> = [];
  for (let y = P.from + 1; y <= P.to + 1; y++) bvWindows.push([D.day(y, 1, 1), D.day(y, 2, D.daysInMonth(y, 2)), y === P.to + 1 ? 1 : 0.8]);
  for (const c of clients) {
    const mine: Observation[] = [];
    const stayEnd = c.discharge ?? Number.MAX_SAFE_INTEGER;
    // Medication reviews for clients with treatment (mostly in the reporting year, some in the years before).
    const reviewed = new Set<number>();
    for (const ind of c.indications) {
      if (!ind.treatment) continue;
      for (const year of P.yearList()) {
        const p = year === P.to ? 0.7 : 0.45;
        if (reviewed.has(year)) continue;
        const lo = Math.max(ind.start, c.admission, D.day(year, 1, 1));
        const hi = Math.min(ind.end ?? Number.MAX_SAFE_INTEGER, stayEnd, D.day(year, 12, 31));
        if (hi < lo || !rng.chance(p)) continue;
        reviewed.add(year);
        const value = () => (rng.chance(0.82) ? 'with_administering_carer' : 'without_administering_carer');
        if (hi - lo >= 240 && rng.chance(0.25)) {
          const mid = lo + Math.floor((hi - lo) / 2);
          mine.push({ client: c, date: rng.int(lo, mid), kind: 'medication_review', value: value() });
          mine.push({ client: c, date: rng.int(mid + 1, hi), kind: 'medication_review', value: value() });
        } else mine.push({ client: c, date: rng.int(lo, hi), kind: 'medication_review', value: value() });
      }
    }
    // Basisveiligheid measurements in the window early in the year (January–February after each year but the first).
    for (const [w0, w1, p] of bvWindows) {
      const lo = Math.max(w0, c.admission);
      const hi = Math.min(w1, stayEnd);
      if (hi < lo || !rng.chance(p)) continue;
      const base = rng.int(lo, hi);
      const dateNear = () => Math.min(hi, base + rng.int(0, 5));
      mine.push({ client: c, date: base, kind: 'decubitus', value: rng.chance(0.92) ? '0' : rng.weighted([['1', 30], ['2', 35], ['3', 25], ['4', 10]] as const) });
      mine.push({ client: c, date: dateNear(), kind: 'end_of_life_agreements', value: rng.chance(0.85) ? 'yes' : 'no' });
      mine.push({ client: c, date: dateNear(), kind: 'toileting_plan', value: rng.weighted([['yes', 70], ['no', 20], ['unknown', 10]] as const) });
      mine.push({ client: c, date: dateNear(), kind: 'food_preferences', value: rng.chance(0.8) ? 'discussed' : 'not_discussed' });
    }
    mine.sort((a, b) => a.date - b.date);
    observations.push(...mine);
  }

  // ---- restrictive measures -------------------------------------------------------------------
  const measures: Measure[] = [];
  for (const c of clients) {
    const pg = c.indications.some((i) => PG_PROFILES.has(i.profile));
    if (!rng.chance(pg ? 0.45 : 0.12)) continue;
    // One to three measures per two years of care; longer periods see more.
    const n = rng.weighted([[1, 60], [2, 30], [3, 10]] as const) + (P.extraYears > 0 ? rng.poisson(0.4 * P.extraYears) : 0);
    const last = Math.min(c.discharge ?? EXPORT_DATE, EXPORT_DATE);
    const mine: Measure[] = [];
    for (let k = 0; k < n; k++) {
      let start: number;
      if (last >= P.atEnd(1, 1, 1) && rng.chance(0.5)) start = between(rng, Math.max(c.admission, P.atEnd(0, 9, 1)), Math.min(last, P.atEnd(1, 2, 15)));
      else start = between(rng, Math.max(c.admission, P.atStart(-1, 7, 1)), last);
      let end: number | null;
      if (c.discharge === null && rng.chance(0.45)) end = null;
      else {
        end = start + rng.int(6, 300);
        if (end > last) end = c.discharge === null ? null : last;
      }
      mine.push({ client: c, type: rng.weighted(MEASURE_WEIGHTS), start, end, description: '' });
    }
    mine.sort((a, b) => a.start - b.start);
    measures.push(...mine);
  }
  // Make every measure type occur when there are enough measures.
  if (measures.length >= MEASURE_TYPES.length) {
    const touched = new Set<Measure>();
    for (const t of MEASURE_TYPES) {
      if (measures.some((m) => m.type === t)) continue;
      const counts = new Map<MeasureType, number>();
      for (const m of measures) counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
      const candidates = measures.filter((m) => !touched.has(m) && (counts.get(m.type) ?? 0) > 1);
      if (candidates.length === 0) break;
      const m = rng.pick(candidates);
      m.type = t;
      touched.add(m);
    }
  }
  for (const m of measures) if (m.type === 'other' || rng.chance(0.2)) m.description = rng.pick(DESCRIPTIONS[m.type]);

  // ---- ward discussions -----------------------------------------------------------------------
  const discussions: Array<{ ward: Ward; date: number; topic: string }> = [];
  const weekdayIn = (lo: number, hi: number): number => {
    for (let i = 0; i < 20; i++) {
      const d = rng.int(lo, hi);
      if (!D.isWeekend(d)) return d;
    }
    return lo;
  };
  for (const w of wards) {
    const mine: Array<{ ward: Ward; date: number; topic: string }> = [];
    for (const year of P.yearList()) {
      const nDec = year === P.to ? rng.weighted([[0, 30], [1, 30], [2, 25], [3, 15]] as const) : rng.weighted([[0, 40], [1, 35], [2, 25]] as const);
      for (let k = 0; k < nDec; k++) mine.push({ ward: w, date: weekdayIn(D.day(year, 1, 1), D.day(year, 12, 31)), topic: 'decubitus_case' });
      const missing = year === P.to ? (rng.chance(0.2) ? rng.int(1, 4) : 0) : -1;
      for (let q = 1; q <= 4; q++) {
        if (q === missing || (missing === -1 && !rng.chance(0.8))) continue;
        const qs = D.day(year, 3 * q - 2, 1);
        const qe = D.addMonths(qs, 3) - 1;
        mine.push({ ward: w, date: weekdayIn(qs, qe), topic: 'medication_errors' });
      }
    }
    mine.sort((a, b) => a.date - b.date);
    discussions.push(...mine);
  }

  // ---- rows -----------------------------------------------------------------------------------
  const nInd = clients.reduce((s, c) => s + c.indications.length, 0);
  const nEp = clients.reduce((s, c) => s + c.indications.reduce((t, i) => t + i.episodes.length, 0), 0);
  const indId = idFormatter('I', nInd, 5);
  const epId = idFormatter('EP', nEp, 5);
  const obsId = idFormatter('OB', observations.length, 6);
  const mId = idFormatter('M', measures.length, 5);
  const dId = idFormatter('D', discussions.length, 4);

  const indicationRows: Row[] = [];
  const episodeRows: Row[] = [];
  for (const c of clients)
    for (const ind of c.indications) {
      const iid = indId(indicationRows.length + 1);
      indicationRows.push({
        indication_id: iid,
        client_id: c.id,
        care_profile: ind.profile,
        delivery_form: ind.delivery,
        with_treatment: ind.treatment ? 'yes' : 'no',
        start_date: D.iso(ind.start),
        end_date: D.isoOrEmpty(ind.end),
      });
      for (const ep of ind.episodes)
        episodeRows.push({
          episode_id: epId(episodeRows.length + 1),
          client_id: c.id,
          indication_id: iid,
          ward_id: ep.ward.id,
          start_date: D.iso(ep.start),
          end_date: D.isoOrEmpty(ep.end),
        });
    }

  return {
    clients: clients.map((c) => ({ client_id: c.id, birth_date: D.isoOrEmpty(c.birth) })),
    indications: indicationRows,
    care_episodes: episodeRows,
    client_observations: observations.map((o, i) => ({
      observation_id: obsId(i + 1),
      client_id: o.client.id,
      observation_date: D.iso(o.date),
      kind: o.kind,
      value: o.value,
    })),
    restrictive_measures: measures.map((m, i) => ({
      measure_id: mId(i + 1),
      client_id: m.client.id,
      measure_type: m.type,
      start_date: D.iso(m.start),
      end_date: D.isoOrEmpty(m.end),
      description: m.description,
    })),
    ward_discussions: discussions.map((d, i) => ({
      discussion_id: dId(i + 1),
      ward_id: d.ward.id,
      discussion_date: D.iso(d.date),
      topic: d.topic,
    })),
  };
}

/** Episodes covering [start, end] on one ward, sometimes with a transfer to another ward of the location. */
function episodes(
  rng: Rng,
  ward: Ward,
  start: number,
  end: number | null,
  wardFor: (loc: Location, pg: boolean, not?: Ward) => Ward,
  exportDate: number,
): Episode[] {
  const last = end ?? exportDate;
  if (last - start >= 120 && rng.chance(0.08)) {
    const t = rng.int(start + 30, last - 30);
    const other = wardFor(ward.location, ward.pg, ward);
    if (other !== ward) return [{ ward, start, end: t - 1 }, { ward: other, start: t, end }];
  }
  return [{ ward, start, end }];
}

function clientBirth(rng: Rng, admission: number, P: Period): number {
  const lo = D.day(1925 + P.ageShift - P.extraYears, 1, 1);
  const hi = D.day(1960 + P.ageShift, 12, 31);
  for (let i = 0; i < 20; i++) {
    const age = 68 + Math.floor(((rng.next() + rng.next()) / 2) * 34); // 68–101, peak around 85
    const b = D.addYears(admission, -age) - rng.int(0, 364);
    if (b >= lo && b <= hi) return b;
  }
  return rng.int(lo, hi);
}
