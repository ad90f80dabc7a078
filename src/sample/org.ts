/** Organisation, locations, wards and the function list of the fictitious provider. */
import { Rng } from './random.js';
import { idFormatter } from './tables.js';

export interface Organisation {
  id: string;
  name: string;
  kvk: string;
  /** Short brand used in location names, e.g. "De Linde". */
  brand: string;
}

export interface Location {
  idx: number;
  id: string;
  name: string;
  vestigingsnummer: string;
  street: string;
  houseNumber: string;
  postcode: string;
  city: string;
}

export interface Ward {
  idx: number;
  id: string;
  location: Location;
  name: string;
  /** Psychogeriatric (true) or somatic (false) ward. */
  pg: boolean;
}

export type Qualification =
  | 'level_1'
  | 'level_2'
  | 'level_3'
  | 'level_4'
  | 'level_5'
  | 'level_6'
  | 'treatment'
  | 'other_care'
  | 'student'
  | 'none';

export interface FunctionDef {
  code: string;
  name: string;
  care: boolean;
  qualification: Qualification;
  /** Gross hourly wage in euros (before holiday allowance and year-end bonus). */
  wage: number;
}

export const FUNCTIONS: readonly FunctionDef[] = [
  { code: 'ZH', name: 'Zorghulp', care: true, qualification: 'level_1', wage: 16.9 },
  { code: 'HLP', name: 'Helpende', care: true, qualification: 'level_2', wage: 18.4 },
  { code: 'VIG', name: 'Verzorgende IG', care: true, qualification: 'level_3', wage: 21.6 },
  { code: 'VPK4', name: 'Verpleegkundige MBO', care: true, qualification: 'level_4', wage: 24.8 },
  { code: 'VPK5', name: 'Verpleegkundige HBO', care: true, qualification: 'level_5', wage: 28.9 },
  { code: 'VS', name: 'Verpleegkundig specialist', care: true, qualification: 'level_6', wage: 38.5 },
  { code: 'SO', name: 'Specialist ouderengeneeskunde', care: true, qualification: 'treatment', wage: 52.0 },
  { code: 'FYS', name: 'Fysiotherapeut', care: true, qualification: 'treatment', wage: 27.5 },
  { code: 'PSY', name: 'GZ-psycholoog', care: true, qualification: 'treatment', wage: 33.0 },
  { code: 'ACT', name: 'Activiteitenbegeleider', care: true, qualification: 'other_care', wage: 20.2 },
  { code: 'LVIG', name: 'Leerling verzorgende IG', care: true, qualification: 'student', wage: 14.8 },
  { code: 'STG', name: 'Stagiair verpleging en verzorging', care: true, qualification: 'student', wage: 0 },
  { code: 'MGR', name: 'Manager', care: false, qualification: 'none', wage: 41.0 },
  { code: 'TL', name: 'Teamleider', care: false, qualification: 'none', wage: 31.5 },
  { code: 'FAC', name: 'Facilitair medewerker', care: false, qualification: 'none', wage: 17.6 },
  { code: 'ADM', name: 'Administratief medewerker', care: false, qualification: 'none', wage: 21.0 },
  { code: 'REC', name: 'Receptionist', care: false, qualification: 'none', wage: 17.9 },
  { code: 'KOK', name: 'Kok', care: false, qualification: 'none', wage: 19.8 },
  { code: 'VRW', name: 'Vrijwilliger', care: false, qualification: 'none', wage: 0 },
];

export function fn(code: string): FunctionDef {
  const f = FUNCTIONS.find((x) => x.code === code);
  if (!f) throw new Error(`unknown function ${code}`);
  return f;
}

const BRANDS = ['De Linde', 'Het Baken', 'De Hazelaar', 'Sonnevanck', 'De Meander', 'Het Holtland', 'De Wingerd', 'Rivierenhof'];
const ORG_PREFIX = ['Zorggroep', 'Stichting Zorgcentra', 'Zorgorganisatie'];
const LOCATION_SUFFIX = [
  'Noord', 'Zuid', 'Oost', 'West', 'Centrum', 'Brinkhof', 'Rozenhof', 'Molenhof', 'Eikenhof', 'Beukenhof',
  'Esdoornhof', 'Lindehof', 'Kastanjehof', 'De Brink', 'De Es', 'Het Veld', 'De Weide', 'De Hoeve', 'De Borgh', 'De Kade',
  'Het Dal', 'De Heuvel', 'Het Bosch', 'De Stede', 'Het Erve', 'De Poort', 'De Vijver', 'De Gaarde', 'De Enk', 'Het Hof',
];
const PLACES: ReadonlyArray<{ city: string; pc: [number, number] }> = [
  { city: 'Deventer', pc: [7411, 7425] },
  { city: 'Deventer', pc: [7422, 7429] },
  { city: 'Schalkhaar', pc: [7433, 7433] },
  { city: 'Diepenveen', pc: [7431, 7431] },
  { city: 'Bathmen', pc: [7437, 7437] },
  { city: 'Holten', pc: [7451, 7452] },
  { city: 'Twello', pc: [7391, 7392] },
  { city: 'Zutphen', pc: [7201, 7207] },
  { city: 'Apeldoorn', pc: [7311, 7336] },
  { city: 'Lochem', pc: [7241, 7242] },
  { city: 'Gorssel', pc: [7213, 7213] },
  { city: 'Raalte', pc: [8102, 8103] },
  { city: 'Olst', pc: [8121, 8121] },
  { city: 'Wijhe', pc: [8131, 8131] },
  { city: 'Epe', pc: [8161, 8162] },
];
const STREETS = [
  'Brinkgreverweg', 'Zutphenseweg', 'Holterweg', 'Snipperlingsdijk', 'Rembrandtkade', 'Laan van Borgele', 'Lindelaan',
  'Kerkstraat', 'Molenweg', 'Dorpsstraat', 'Stationsweg', 'Julianalaan', 'Wilhelminastraat', 'Beukenlaan', 'Eikenlaan',
  'Hoofdstraat', 'Parkweg', 'Schoolstraat', 'Zandweg', 'Rozengaarde', 'Oranjelaan', 'Nieuwstraat', 'Brinkstraat', 'Esweg',
  'Veldweg', 'Kastanjelaan', 'Prinses Margrietlaan', 'Burgemeester van Suchtelenstraat', 'Jan van Goyenstraat',
  'Frans Halsstraat', 'Reggestraat', 'Dijkstraat', 'Ceintuurbaan', 'Hanzeweg', 'Singel', 'Boxbergerweg',
];
const PG_WARDS = ['Zonnebloem', 'Lavendel', 'Klaproos', 'Vergeet-mij-niet', 'Korenbloem', 'Madelief', 'Hortensia', 'Tulp', 'Iris', 'Roos'];
const SOM_WARDS = ['Eik', 'Beuk', 'Kastanje', 'Berk', 'Wilg', 'Esdoorn', 'Populier', 'Hazelaar', 'Els', 'Vlier'];
const LETTERS = 'ABCDEFGHJKLMNPRSTVWXZ';

export interface OrgModel {
  organisation: Organisation;
  locations: Location[];
  wards: Ward[];
}

export function generateOrg(rng: Rng, nLocations: number): OrgModel {
  const brand = rng.pick(BRANDS);
  const organisation: Organisation = {
    id: 'ORG1',
    name: `${rng.pick(ORG_PREFIX)} ${brand}`,
    kvk: String(rng.int(40_000_000, 79_999_999)),
    brand,
  };

  const locId = idFormatter('L', nLocations, 2);
  const usedVest = new Set<string>();
  const usedPostcodes = new Set<string>();
  const locations: Location[] = [];
  for (let i = 0; i < nLocations; i++) {
    const suffix = LOCATION_SUFFIX[i % LOCATION_SUFFIX.length] as string;
    const round = Math.floor(i / LOCATION_SUFFIX.length);
    const place = i === 0 ? (PLACES[0] as (typeof PLACES)[number]) : rng.pick(PLACES);
    let vest: string;
    do vest = '0000' + String(rng.int(10_000_000, 99_999_999));
    while (usedVest.has(vest));
    usedVest.add(vest);
    let postcode: string;
    do {
      let letters: string;
      do letters = rng.pick([...LETTERS]) + rng.pick([...LETTERS]);
      while (letters === 'SA' || letters === 'SD' || letters === 'SS');
      postcode = String(rng.int(place.pc[0], place.pc[1])) + letters;
    } while (usedPostcodes.has(postcode));
    usedPostcodes.add(postcode);
    const nr = rng.int(1, 180);
    locations.push({
      idx: i,
      id: locId(i + 1),
      name: `${brand} ${suffix}${round > 0 ? ` ${round + 1}` : ''}`,
      vestigingsnummer: vest,
      street: rng.pick(STREETS),
      houseNumber: rng.chance(0.15) ? `${nr}${rng.pick(['a', 'b', '-1', '-2'])}` : String(nr),
      postcode,
      city: place.city,
    });
  }

  const plans = locations.map((loc) => {
    const n = rng.int(2, 4);
    const pgFlags = [true, false];
    while (pgFlags.length < n) pgFlags.push(rng.chance(0.55));
    return { loc, pgFlags };
  });
  const totalWards = plans.reduce((s, p) => s + p.pgFlags.length, 0);
  const wardId = idFormatter('W', totalWards, 2);
  const wards: Ward[] = [];
  for (const { loc, pgFlags } of plans) {
    const pgNames = rng.shuffle([...PG_WARDS]);
    const somNames = rng.shuffle([...SOM_WARDS]);
    for (const pg of pgFlags) {
      const base = (pg ? pgNames.shift() : somNames.shift()) ?? 'Zuid';
      wards.push({
        idx: wards.length,
        id: wardId(wards.length + 1),
        location: loc,
        name: `Afdeling ${base} (${pg ? 'psychogeriatrie' : 'somatiek'})`,
        pg,
      });
    }
  }
  return { organisation, locations, wards };
}
