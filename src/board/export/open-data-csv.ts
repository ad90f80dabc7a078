import type { Round } from '../../answers/rounds.js';
import type { AgentConfig } from '../../config/schema.js';
import type { Db } from '../../db/open.js';
import { ORGANISATIE } from '../../indicators/item-rows.js';
import { loadPack, yearTemplate, type IndicatorDef, type ItemUnit } from '../../indicators/pack.js';
import { itemsFor, roundOverviews, type LocationOverview, type OverviewItem } from '../overview.js';
import { providerOfSnapshot, type ProviderInfo } from '../provider.js';

/**
 * A round's answers in the columns of Zorginstituut's open-data file (openbaar databestand
 * verpleeghuiszorg; research/kikv-ontology-indicators.md §4.4, DOMAIN §5), for providers who still
 * deliver through the broker portal: one row per item and indeling (each location, and "Concernniveau"
 * for the organisation where the item has that level), in the pack's item order.
 *
 * Format: semicolon-separated, UTF-8 with a byte-order mark, CRLF line ends, fields quoted per RFC 4180
 * when they hold the separator, a quote or a line break. Numbers use a decimal comma: the open-data files
 * are made for and read by Dutch Excel (the research note's source template is an .xlsx whose numbers
 * Excel shows with a comma in the nl-NL locale), and with ";" as separator Excel in the Netherlands reads
 * "12,5" as a number but "12.5" as text or a date. The exact text the agent stores has a decimal point;
 * only this export changes it.
 *
 * Assumed (not in the research note or the pack manifest; correct here when the template is checked):
 * - IndicatorsetNaam: "Verpleeghuiszorg <set>" as the open-data files name the sets ("Verpleeghuiszorg
 *   Basisveiligheid", ISID000151; "Verpleeghuiszorg Personeelssamenstelling", ISID000160).
 * - TypeZorgaanbieder: "Verpleeghuiszorg" for this profile.
 * - Thema: the handbook chapter of the item (table THEMES below, from the pack's chapter comments and
 *   DOMAIN §5), the item's own `theme` when the manifest gives one.
 * - IndicatorSorteernummer: the item's 1-based position within its set in handbook order.
 * - Indicator_nvt: "1" when the item has no value for the indeling (not computable, not entered), else "0".
 * - IndicatorTypeNaam (Uitkomst/Proces/Structuur): the manifest's `indicatorType` when given, else empty:
 *   the pack does not classify its items and a guess would be published as fact.
 * - Bron: "KIK-V datastation".
 * - Dates (MeetperiodeBeginDatum/EindDatum) as ISO yyyy-mm-dd, unambiguous in any locale.
 * - OrganisatieAGBCode and LocatieAGBcode empty: AGB codes are not in the provider's data.
 */

export const OPEN_DATA_COLUMNS = [
  'IndicatorsetNaam', 'IndicatorsetCode', 'Verslagjaar', 'OrganisatieNaam', 'KvkNummer', 'OrganisatieAGBCode', 'LocatieNaam', 'Vestigingsnummer',
  'LocatiePostcode', 'LocatieHuisnummer', 'LocatiePlaats', 'LocatieAGBcode', 'TypeZorgaanbieder', 'Thema', 'IndicatorCode', 'IndicatorSorteernummer',
  'IndicatorNummer', 'IndicatorNaam', 'IndicatorEenheid', 'IndicatorWaarde', 'Teller', 'Noemer', 'Indicator_nvt', 'Opmerking', 'IndicatorTypeNaam',
  'Bron', 'MeetperiodeBeginDatum', 'MeetperiodeEindDatum', 'Aanleverfrequentie',
] as const;

export const CONCERNNIVEAU = 'Concernniveau';

const SET_NAMES: Record<string, string> = { ISID000151: 'Verpleeghuiszorg Basisveiligheid', ISID000160: 'Verpleeghuiszorg Personeelssamenstelling' };

/** Handbook chapters per set code and chapter number (the part of the item number before the first dot). */
const THEMES: Record<string, Record<string, string>> = {
  ISID000151: { '1': 'Decubitus', '2': 'Advance Care Planning', '3': 'Medicatieveiligheid', '4': 'Middelen en maatregelen rond vrijheid', '5': 'Continentie', '6': 'Eten en drinken', '7': 'Kwaliteitsverslag', '8': 'Cliëntervaring' },
  ISID000160: { '1': 'Aard van de aanstellingen', '2': 'Kwalificatieniveaus zorgverleners, stagiairs en vrijwilligers', '3': 'Ziekteverzuim', '4': 'In-, door- en uitstroom', '5': 'Ratio personeel / cliënten' },
};

const UNIT_WORDS: Record<ItemUnit, string> = { number: 'Getal', percentage: 'Percentage', 'yes/no': 'JaNee', text: 'Tekst', url: 'Tekst' };

/** RFC 4180 quoting for a semicolon-separated file. */
export function csvField(v: string): string {
  return /[";\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

const NUMBER = /^-?\d+(\.\d+)?$/;
const dutchNumber = (v: string | null): string => (v === null ? '' : NUMBER.test(v) ? v.replace('.', ',') : v);

function valueText(item: OverviewItem): string {
  if (item.value === null) return '';
  if (item.item.unit === 'yes/no') return item.value === 'ja' ? 'Ja' : item.value === 'nee' ? 'Nee' : item.value;
  return dutchNumber(item.value);
}

function themeOf(ind: IndicatorDef): string {
  const own = (ind as IndicatorDef & { theme?: string }).theme;
  return own ?? THEMES[ind.set.code]?.[ind.number.split('.')[0]!.replace(/[a-z]+$/, '')] ?? ind.set.name;
}

function rowsOf(round: Round, provider: ProviderInfo, ov: LocationOverview, defs: Map<string, IndicatorDef>, sortNumber: Map<string, number>): string[][] {
  const org = ov.indeling === ORGANISATIE;
  const loc = org ? undefined : provider.locations.find((l) => l.vestigingsnummer === ov.indeling);
  return ov.items.map((it) => {
    const ind = defs.get(it.item.id)!;
    const type = (ind as IndicatorDef & { indicatorType?: string }).indicatorType ?? '';
    const remark = [it.awaitingEntry ? 'nog niet ingevuld (handmatig item)' : (it.notComputable ?? ''), it.override ? `gecorrigeerd: ${it.override.justification}` : ''].filter(Boolean).join('; ');
    return [
      SET_NAMES[ind.set.code] ?? ind.set.name,
      ind.set.code,
      String(round.year),
      provider.organisation.name,
      provider.organisation.kvk,
      '',
      org ? CONCERNNIVEAU : (loc?.name ?? ov.name),
      org ? '' : ov.indeling,
      loc?.postcode ?? '',
      loc?.huisnummer ?? '',
      loc?.plaats ?? '',
      '',
      'Verpleeghuiszorg',
      themeOf(ind),
      ind.inid,
      String(sortNumber.get(ind.id)),
      ind.number,
      ind.name,
      UNIT_WORDS[ind.unit],
      valueText(it),
      dutchNumber(it.teller),
      dutchNumber(it.noemer),
      it.value === null ? '1' : '0',
      remark,
      type,
      'KIK-V datastation',
      yearTemplate(ind.measurementPeriod.start, round.year),
      yearTemplate(ind.measurementPeriod.end, round.year),
      'Jaarlijks',
    ];
  });
}

/** The open-data CSV of a round (text including the BOM): header, then per location and the organisation the rows of its items. */
export async function openDataCsv(cfg: AgentConfig, db: Db, round: Round): Promise<string> {
  const pack = loadPack(cfg.indicators.packs, round.profile, round.version);
  const defs = new Map(pack.manifest.indicators.map((i) => [i.id, i]));
  const sortNumber = new Map<string, number>();
  const perSet = new Map<string, number>();
  for (const i of pack.manifest.indicators) {
    const n = (perSet.get(i.set.code) ?? 0) + 1;
    perSet.set(i.set.code, n);
    sortNumber.set(i.id, n);
  }
  const overviews = await roundOverviews(cfg, db, round);
  const snapshot = overviews[0]?.snapshot;
  const provider = snapshot ? await providerOfSnapshot(cfg, db, snapshot) : { organisation: overviews[0]?.organisation ?? { name: '', kvk: '' }, locations: [] };
  const lines = [OPEN_DATA_COLUMNS.join(';')];
  for (const ov of overviews) {
    // Defensive: the overview already keeps only the items with this indeling's level.
    if (ov.items.length !== itemsFor(pack.manifest.indicators, ov.indeling).length) throw new Error(`overview of ${ov.indeling} does not list every item of the pack`);
    for (const r of rowsOf(round, provider, ov, defs, sortNumber)) lines.push(r.map(csvField).join(';'));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
