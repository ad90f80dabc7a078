/**
 * Basisveiligheid (ISID000151): every computed item on hand-built client records, through the real
 * import and the pack queries, on Oxigraph and Comunica. The expected teller and noemer of every ward,
 * location and organisation row are written by hand below (no oracle); the comments say why.
 *
 * Two locations from the generated provider (seed 7): L01 with wards W01–W03, L02 with W04–W06.
 * Measurement window for 2023: 2024-01-01 .. 2024-02-29; reporting year 2023.
 *   C1  W01, in care throughout (indication with treatment)            -> window: W01, peildatum 2024-02-29
 *   C2  W01 until 2024-01-20, then W02 (no treatment)                   -> window: W02 only, peildatum 2024-02-29
 *   C3  W02, episode open but indication ends 2024-01-31 (treatment)    -> window: W02, peildatum 2024-01-31
 *   C4  W01, discharged 2023-12-31 (treatment)                          -> not in the window; in care in 2023
 *   C5  W02 episode from 2024-01-01, indication only from 2024-03-01    -> never in care (indication not active)
 *   C6  W01, admitted 2024-03-05                                        -> after the window
 *   C7  W04 (L02), in care 2023-02-01 .. 2023-10-31 (no treatment)      -> L02 has nobody in the window
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComunicaQueryEngine } from '../src/engines/comunica.js';
import { OxigraphQueryEngine } from '../src/engines/oxigraph.js';
import type { QueryEngine } from '../src/engines/types.js';
import type { ItemRow } from '../src/indicators/item-rows.js';
import type { ProfilePack } from '../src/indicators/pack.js';
import type { StagingRows } from '../src/oracle/personeel.js';
import { generateSample } from '../src/sample/generate.js';
import { importTables, loadTestPack, runItem } from './pack-harness.js';

type Row = Record<string, string>;

const client = (client_id: string): Row => ({ client_id, birth_date: '1938-05-04' });
const indication = (indication_id: string, client_id: string, with_treatment: 'yes' | 'no', start_date: string, end_date = ''): Row => ({
  indication_id,
  client_id,
  care_profile: 'VV5',
  delivery_form: 'instelling',
  with_treatment,
  start_date,
  end_date,
});
const episode = (episode_id: string, client_id: string, indication_id: string, ward_id: string, start_date: string, end_date = ''): Row => ({
  episode_id,
  client_id,
  indication_id,
  ward_id,
  start_date,
  end_date,
});
let obsN = 0;
const obs = (client_id: string, observation_date: string, kind: string, value: string): Row => ({ observation_id: `OB${++obsN}`, client_id, observation_date, kind, value });
let mN = 0;
const measure = (client_id: string, measure_type: string, start_date: string, end_date = ''): Row => ({
  measure_id: `M${++mN}`,
  client_id,
  measure_type,
  start_date,
  end_date,
  description: measure_type === 'other' ? 'Gesloten voordeur' : '',
});
let dN = 0;
const discussion = (ward_id: string, discussion_date: string, topic: string): Row => ({ discussion_id: `D${++dN}`, ward_id, discussion_date, topic });

function fixture(): StagingRows {
  const t = generateSample({ employees: 0, clients: 0, locations: 2, seed: 7 });
  const wardsOf = (loc: string) => t.wards!.filter((w) => w.location_id === loc).map((w) => w.ward_id);
  // The hand-written rows below name wards W01, W02 (L01) and W04 (L02); make sure the generator still gives them.
  expect(wardsOf('L01')).toEqual(['W01', 'W02', 'W03']);
  expect(wardsOf('L02')).toEqual(['W04', 'W05', 'W06']);
  return {
    ...t,
    clients: ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7'].map(client),
    indications: [
      indication('I1', 'C1', 'yes', '2022-01-01'),
      indication('I2', 'C2', 'no', '2023-06-01'),
      indication('I3', 'C3', 'yes', '2023-03-01', '2024-01-31'),
      indication('I4', 'C4', 'yes', '2022-01-01', '2023-12-31'),
      indication('I5', 'C5', 'no', '2024-03-01'),
      indication('I6', 'C6', 'no', '2024-03-05'),
      indication('I7', 'C7', 'no', '2023-02-01', '2023-10-31'),
    ],
    care_episodes: [
      episode('E1', 'C1', 'I1', 'W01', '2022-01-01'),
      episode('E2a', 'C2', 'I2', 'W01', '2023-06-01', '2024-01-20'),
      episode('E2b', 'C2', 'I2', 'W02', '2024-01-21'),
      episode('E3', 'C3', 'I3', 'W02', '2023-03-01'),
      episode('E4', 'C4', 'I4', 'W01', '2022-01-01', '2023-12-31'),
      episode('E5', 'C5', 'I5', 'W02', '2024-01-01'),
      episode('E6', 'C6', 'I6', 'W01', '2024-03-05'),
      episode('E7', 'C7', 'I7', 'W04', '2023-02-01', '2023-10-31'),
    ],
    client_observations: [
      // Decubitus: the latest observation in the window decides; one day with two findings takes the highest.
      obs('C1', '2023-12-20', 'decubitus', '4'), // before the window
      obs('C1', '2024-01-10', 'decubitus', '1'),
      obs('C1', '2024-02-15', 'decubitus', '2'), // latest: category 2 -> teller
      obs('C2', '2024-01-05', 'decubitus', '3'),
      obs('C2', '2024-02-01', 'decubitus', '0'), // latest: none -> not in teller
      obs('C3', '2023-11-01', 'decubitus', '3'), // before the window
      obs('C3', '2024-01-15', 'decubitus', '1'),
      obs('C3', '2024-01-15', 'decubitus', '2'), // same day: highest (2) -> teller
      obs('C4', '2024-01-10', 'decubitus', '4'), // C4 is not in care in the window
      obs('C5', '2024-01-10', 'decubitus', '4'), // C5's indication is not active
      // End-of-life agreements: latest in the window.
      obs('C1', '2024-01-12', 'end_of_life_agreements', 'no'),
      obs('C1', '2024-02-20', 'end_of_life_agreements', 'yes'), // -> teller
      obs('C2', '2024-02-03', 'end_of_life_agreements', 'no'),
      obs('C3', '2023-12-15', 'end_of_life_agreements', 'yes'), // before the window: not recorded in it
      obs('C4', '2024-01-12', 'end_of_life_agreements', 'yes'),
      // Toileting plan: C1 yes; C2 latest "no"; C3 none -> unknown.
      obs('C1', '2024-01-08', 'toileting_plan', 'yes'),
      obs('C2', '2024-01-09', 'toileting_plan', 'unknown'),
      obs('C2', '2024-02-02', 'toileting_plan', 'no'),
      obs('C4', '2024-01-09', 'toileting_plan', 'no'),
      // Food preferences, 183 days up to the peildatum: C1 (2024-02-29) from 2023-08-31, C3 (2024-01-31) from 2023-08-02.
      obs('C1', '2023-09-01', 'food_preferences', 'discussed'), // in the look-back -> discussed, despite the later "not"
      obs('C1', '2024-01-15', 'food_preferences', 'not_discussed'),
      obs('C2', '2023-08-30', 'food_preferences', 'discussed'), // one day before C2's look-back
      obs('C2', '2024-02-10', 'food_preferences', 'not_discussed'), // -> not discussed
      obs('C3', '2024-02-10', 'food_preferences', 'discussed'), // after C3's peildatum -> unknown
      // Medication reviews in 2023 (3.2b).
      obs('C1', '2023-05-01', 'medication_review', 'with_administering_carer'), // treatment, reviewed -> teller
      obs('C2', '2023-09-01', 'medication_review', 'with_administering_carer'), // no treatment: outside the noemer
      obs('C3', '2023-07-01', 'medication_review', 'without_administering_carer'), // no carer present
      obs('C3', '2024-01-05', 'medication_review', 'with_administering_carer'), // after the year
      obs('C4', '2022-11-01', 'medication_review', 'with_administering_carer'), // before the year
      obs('C4', '2023-12-31', 'medication_review', 'with_administering_carer'), // last day of the year -> teller
    ],
    restrictive_measures: [
      // 30 days up to the peildatum: C1 and C2 2024-01-31 .. 2024-02-29, C3 2024-01-02 .. 2024-01-31.
      measure('C1', 'mechanical', '2023-06-01', '2024-01-30'), // ends the day before the look-back
      measure('C1', 'electronic', '2024-01-31', '2024-01-31'), // exactly the first day -> hit
      measure('C1', 'psychological', '2023-01-01'), // open-ended -> hit (C1 counts once in 4.1b)
      measure('C2', 'pharmacological', '2024-02-29'), // starts on the peildatum -> hit
      measure('C2', 'other', '2024-03-01'), // after the peildatum
      measure('C2', 'one_to_one_supervision', '2024-01-01', '2024-01-29'), // before C2's look-back
      measure('C3', 'physical', '2023-12-01', '2024-01-02'), // ends on the first day -> hit
      measure('C3', 'seclusion', '2024-02-05'), // after C3's peildatum
      measure('C3', 'other', '2024-01-20', '2024-01-25'), // -> hit
      measure('C4', 'mechanical', '2023-01-01'), // C4 not in care in the window
    ],
    ward_discussions: [
      discussion('W01', '2023-03-15', 'decubitus_case'), // -> W01
      discussion('W02', '2022-12-20', 'decubitus_case'), // before the year
      discussion('W02', '2024-01-10', 'decubitus_case'), // after the year
      discussion('W03', '2023-05-01', 'decubitus_case'), // W03 had no clients: not a ward in the noemer
      discussion('W04', '2023-12-31', 'decubitus_case'), // -> W04
      // Medication errors: W01 in all four quarters (quarter edges), W02 misses Q3, W04 misses Q4 (2024-01-02 is after the year).
      discussion('W01', '2023-01-10', 'medication_errors'),
      discussion('W01', '2023-04-01', 'medication_errors'),
      discussion('W01', '2023-09-30', 'medication_errors'),
      discussion('W01', '2023-12-31', 'medication_errors'),
      discussion('W02', '2023-02-01', 'medication_errors'),
      discussion('W02', '2023-03-15', 'medication_errors'),
      discussion('W02', '2023-06-30', 'medication_errors'),
      discussion('W02', '2023-10-15', 'medication_errors'),
      discussion('W04', '2023-01-01', 'medication_errors'),
      discussion('W04', '2023-05-05', 'medication_errors'),
      discussion('W04', '2023-08-08', 'medication_errors'),
      discussion('W04', '2024-01-02', 'medication_errors'),
    ],
  };
}

/** Expected rows: key "L01", "L01/W02", "Organisatie" -> [teller, noemer], or "nc" (not computable). */
type Expected = Record<string, [number, number] | 'nc'>;

// Client items over the window: W01 = {C1}, W02 = {C2, C3}; L02 has nobody in the window.
const win = (w01: number, w02: number): Expected => ({ L01: [w01 + w02, 3], 'L01/W01': [w01, 1], 'L01/W02': [w02, 2], L02: 'nc', Organisatie: [w01 + w02, 3] });

const EXPECTED: Record<string, Expected> = {
  'bv-1.1b': win(1, 1), // C1 (latest 2), C3 (same-day 1 and 2)
  'bv-2': win(1, 0), // C1 (latest yes)
  'bv-4.1b': win(1, 2), // C1 (electronic, psychological), C2 (pharmacological), C3 (physical, other)
  'bv-4.1c': win(0, 0), // mechanical: C1's ended the day before the look-back, C4 not in care
  'bv-4.1d': win(0, 1), // physical: C3
  'bv-4.1e': win(0, 1), // pharmacological: C2
  'bv-4.1f': win(1, 0), // psychological: C1
  'bv-4.1g': win(1, 0), // electronic: C1
  'bv-4.1h': win(0, 0), // one-to-one: C2's ended before its look-back
  'bv-4.1i': win(0, 0), // seclusion: C3's starts after its peildatum
  'bv-4.1j': win(0, 1), // other: C3 (C2's starts after the peildatum)
  'bv-5.2a': win(1, 0), // yes: C1
  'bv-5.2b': win(0, 1), // no: C2 (latest)
  'bv-5.2c': win(0, 1), // unknown: C3 (no observation)
  'bv-6.1a': win(1, 0), // discussed: C1
  'bv-6.1b': win(0, 1), // not discussed: C2
  'bv-6.1c': win(0, 1), // unknown: C3
  // Year 2023: W01 = {C1, C4 with treatment; C2 without}, W02 = {C3 with treatment}, W04 = {C7 without}.
  'bv-3.2b': { L01: [2, 3], 'L01/W01': [2, 2], 'L01/W02': [0, 1], L02: 'nc', 'L02/W04': 'nc', Organisatie: [2, 3] },
  // Wards with clients in 2023: W01, W02 (L01), W04 (L02); W03, W05, W06 had none.
  'bv-1.2b': { L01: [1, 2], 'L01/W01': [1, 1], 'L01/W02': [0, 1], L02: [1, 1], 'L02/W04': [1, 1], Organisatie: [2, 3] },
  'bv-3.1': { L01: [1, 2], 'L01/W01': [1, 1], 'L01/W02': [0, 1], L02: [0, 1], 'L02/W04': [0, 1], Organisatie: [1, 3] },
};

let tables: StagingRows;
let nquads: string;
let locations: string[];
let locationId: Map<string, string>;
let pack: ProfilePack;

function keyed(rows: ItemRow[]): Record<string, [number, number] | 'nc'> {
  const out: Record<string, [number, number] | 'nc'> = {};
  for (const r of rows) {
    const loc = r.indeling === 'Organisatie' ? 'Organisatie' : locationId.get(r.indeling)!;
    const key = r.afdeling ? `${loc}/${r.afdeling.slice(r.afdeling.lastIndexOf('/') + 1)}` : loc;
    out[key] = r.value === null ? 'nc' : [Number(r.teller), Number(r.noemer)];
  }
  return out;
}

beforeAll(async () => {
  tables = fixture();
  const imported = await importTables(tables);
  expect(imported.rowsRejected, JSON.stringify(imported.report.files.flatMap((f) => f.rejections))).toBe(0);
  nquads = imported.nquads;
  locations = imported.locations;
  locationId = new Map(tables.locations!.map((l) => [l.vestigingsnummer!, l.location_id!]));
  pack = loadTestPack();
}, 120_000);

describe('basisveiligheid pack items', () => {
  it('has a fixture for every computed basisveiligheid item, and manual items without a query', () => {
    const bv = pack.manifest.indicators.filter((i) => i.set.code === 'ISID000151');
    expect(bv.filter((i) => !i.manual).map((i) => i.id).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const i of bv.filter((x) => x.manual)) {
      expect(i.query, i.id).toBeUndefined();
      expect(['yes/no', 'text', 'url', 'number'], i.id).toContain(i.unit);
    }
    for (const i of bv) expect(i.interpretation?.trim().length, `${i.id} states its interpretation`).toBeGreaterThan(40);
  });
});

for (const [name, make] of [
  ['oxigraph', () => new OxigraphQueryEngine()],
  ['comunica', () => new ComunicaQueryEngine()],
] as Array<[string, () => QueryEngine]>) {
  describe(`basisveiligheid on ${name}`, () => {
    const engine = make();
    beforeAll(async () => {
      await engine.load(nquads);
    }, 60_000);
    afterAll(async () => {
      await (engine as { close?: () => Promise<void> }).close?.();
    });

    for (const [id, expected] of Object.entries(EXPECTED)) {
      it(`${id}: teller and noemer per ward, location and organisation`, async () => {
        const rows = await runItem(engine, pack, id, 2023, locations);
        expect(keyed(rows)).toEqual(expected);
      }, 60_000);
    }

    it('computes values from teller and noemer and says why a location is not computable', async () => {
      const rows = await runItem(engine, pack, 'bv-1.1b', 2023, locations);
      const l01 = rows.find((r) => locationId.get(r.indeling) === 'L01' && !r.afdeling)!;
      expect(l01.value).toBe('66.67');
      const l02 = rows.find((r) => locationId.get(r.indeling) === 'L02')!;
      expect(l02.notComputable).toBe('no clients in care in the measurement window at this location');
      const zero = (await runItem(engine, pack, 'bv-3.2b', 2023, locations)).find((r) => locationId.get(r.indeling) === 'L02' && !r.afdeling)!;
      expect([zero.teller, zero.noemer, zero.value]).toEqual(['0', '0', null]);
      expect(zero.notComputable).toMatch(/noemer is 0/);
    }, 60_000);
  });
}
