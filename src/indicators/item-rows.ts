import type { SparqlJsonResults, SparqlJsonTerm } from '../engines/types.js';
import type { IndicatorDef } from './pack.js';

/** The organisation row's `?indeling` in every pack query. */
export const ORGANISATIE = 'Organisatie';

/**
 * One value of a computed item: for a location (vestigingsnummer), for the organisation, or (detail
 * only, not delivered) for a ward of a location. Teller and noemer are exact decimal strings as the
 * query summed them; the value is computed here, so no engine's division or rounding reaches an answer.
 */
export interface ItemRow {
  /** A 12-digit vestigingsnummer, or "Organisatie". */
  indeling: string;
  /** Set on ward detail rows (the ward's identifier); absent on location and organisation rows. */
  afdeling?: string;
  teller: string | null;
  noemer: string | null;
  /** The value rounded to the item's decimals; null when not computable. */
  value: string | null;
  /** Why there is no value (zero noemer, no row); absent when there is a value. */
  notComputable?: string;
  /** Other columns the query returned (e.g. a breakdown), as plain strings. */
  details?: Record<string, string>;
}

const XSD = 'http://www.w3.org/2001/XMLSchema#';
const CONTRACT_COLUMNS: ReadonlySet<string> = new Set(['indeling', 'afdeling', 'teller', 'noemer']);
/** Exact numeric datatypes: engines write the same sum as "5", "5.0" or "5.00", so these columns are compared and stored canonically. */
const EXACT_NUMERIC = new Set(['integer', 'decimal', 'long', 'int', 'short', 'byte', 'nonNegativeInteger', 'positiveInteger', 'negativeInteger', 'nonPositiveInteger', 'unsignedLong', 'unsignedInt'].map((t) => XSD + t));

function detailText(t: SparqlJsonTerm, where: string): string {
  return t.type === 'literal' && t.datatype && EXACT_NUMERIC.has(t.datatype) ? canonicalDecimal(t.value, where) : t.value;
}

const DECIMAL = /^[+-]?(\d+)(?:\.(\d*))?$|^[+-]?\.(\d+)$/;

/** An exact decimal as a scaled BigInt: value = n / 10^scale. */
interface Exact {
  n: bigint;
  scale: number;
}

function exact(text: string, where: string): Exact {
  const t = text.trim();
  const m = DECIMAL.exec(t);
  if (!m) throw new Error(`${where}: "${text}" is not an exact decimal number; pack queries must sum integers or decimals and must not divide`);
  const int = m[1] ?? '0';
  const frac = (m[2] ?? m[3] ?? '').replace(/0+$/, '');
  const n = BigInt(int + frac) * (t.startsWith('-') ? -1n : 1n);
  return { n, scale: frac.length };
}

/** Canonical decimal text of an exact number: no exponent, no trailing zeros, "0" for zero. */
export function canonicalDecimal(text: string, where = 'value'): string {
  const { n, scale } = exact(text, where);
  return formatScaled(n, scale);
}

function formatScaled(n: bigint, scale: number): string {
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** factor × teller / noemer rounded half away from zero to `places` decimals, exactly, as fixed-point text. */
export function ratio(teller: string, noemer: string, factor: number, places: number): string {
  const t = exact(teller, 'teller');
  const d = exact(noemer, 'noemer');
  if (d.n === 0n) throw new Error('ratio: noemer is zero');
  // value = (t.n / 10^ts) / (d.n / 10^ds) * factor = t.n * 10^ds * factor / (d.n * 10^ts)
  let num = t.n * 10n ** BigInt(d.scale) * BigInt(factor) * 10n ** BigInt(places);
  let den = d.n * 10n ** BigInt(t.scale);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const neg = num < 0n;
  const abs = neg ? -num : num;
  let q = abs / den;
  if ((abs % den) * 2n >= den) q += 1n;
  const digits = q.toString().padStart(places + 1, '0');
  const out = places > 0 ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
  return neg && q !== 0n ? `-${out}` : out;
}

/**
 * The rows of a computed item from its query results (contract: queries/README.md). Every expected
 * location gets a row; a location or the organisation without a row, or with a zero noemer, gets an
 * explicit not-computable reason instead of a value.
 */
export function itemRows(ind: IndicatorDef, results: SparqlJsonResults, locations: string[]): ItemRow[] {
  const where = `item ${ind.id}`;
  const vars = new Set(results.head.vars);
  for (const v of ['indeling', 'teller']) if (!vars.has(v)) throw new Error(`${where}: the query must select ?${v} (see queries/README.md)`);
  const places = ind.decimals ?? 2;
  const factor = ind.unit === 'percentage' ? 100 : 1;
  const reason = ind.notComputable ?? 'no data for this item in the measurement period';
  const byKey = new Map<string, ItemRow>();
  const wards: ItemRow[] = [];
  for (const b of results.results.bindings) {
    const indeling = b.indeling?.value;
    if (!indeling) throw new Error(`${where}: a result row without ?indeling`);
    const rowWhere = `${where}, row ${indeling}${b.afdeling ? ` ward ${b.afdeling.value}` : ''}`;
    const teller = b.teller ? canonicalDecimal(b.teller.value, `${rowWhere}, ?teller`) : null;
    const noemer = b.noemer ? canonicalDecimal(b.noemer.value, `${rowWhere}, ?noemer`) : null;
    const details: Record<string, string> = {};
    // In the query's column order, not the engine's binding order, so every engine's rows read (and compare) alike.
    for (const k of results.head.vars) if (b[k] && !CONTRACT_COLUMNS.has(k)) details[k] = detailText(b[k], `${rowWhere}, ?${k}`);
    let row: ItemRow;
    if (teller === null) row = { indeling, teller, noemer, value: null, notComputable: reason };
    else if (noemer === null) row = { indeling, teller, noemer, value: ratio(teller, '1', factor, places) };
    else if (/^-?0$/.test(noemer)) row = { indeling, teller, noemer, value: null, notComputable: `${reason} (noemer is 0)` };
    else row = { indeling, teller, noemer, value: ratio(teller, noemer, factor, places) };
    if (Object.keys(details).length > 0) row.details = details;
    if (b.afdeling) {
      wards.push({ ...row, afdeling: b.afdeling.value });
      continue;
    }
    if (byKey.has(indeling)) throw new Error(`${where}: two result rows for ${indeling}; the query must group by ?indeling`);
    byKey.set(indeling, row);
  }
  const expected = [...(ind.level.includes('location') ? [...locations].sort() : []), ...(ind.level.includes('organisation') ? [ORGANISATIE] : [])];
  const unexpected = [...byKey.keys()].filter((k) => !expected.includes(k));
  if (unexpected.length > 0) throw new Error(`${where}: rows for ${unexpected.join(', ')}, which is not a location of this snapshot or a level of this item (${ind.level.join(', ')})`);
  const out: ItemRow[] = [];
  for (const key of expected) {
    out.push(byKey.get(key) ?? { indeling: key, teller: null, noemer: null, value: null, notComputable: reason });
    out.push(...wards.filter((w) => w.indeling === key).sort((a, b) => (a.afdeling! < b.afdeling! ? -1 : 1)));
  }
  return out;
}
