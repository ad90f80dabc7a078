import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { snapshotFile } from '../store/snapshot.js';

/**
 * Who the provider is, as its own snapshot says: the organisation (name, KvK number) and its locations
 * (vestigingsnummer, name and, when the source had an address, postcode, house number and place). Read
 * line by line from the N-Triples file, like snapshotVestigingen, so no engine is loaded to print a page
 * or an export; the same triples PROVIDER_QUERY in src/indicators/run-profile.ts reads, plus the address
 * chain the mapping writes (Vestiging hasLocalizableArea → gebied identifiedBy → ext:Adres rdfs:label
 * "{street} {house_number}, {postcode} {city}").
 */

export interface ProviderLocation {
  vestigingsnummer: string;
  name: string;
  postcode?: string;
  plaats?: string;
  /** House number (with any addition) from the address label; the open-data export's LocatieHuisnummer. */
  huisnummer?: string;
}

export interface ProviderInfo {
  organisation: { name: string; kvk: string };
  locations: ProviderLocation[];
}

const RDF_TYPE = '<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>';
const RDFS_LABEL = '<http://www.w3.org/2000/01/rdf-schema#label>';
const IDENTIFIED_BY = '<http://purl.org/ozo/onz-g#identifiedBy>';
const HAS_DATA_VALUE = '<http://purl.org/ozo/onz-g#hasDataValue>';
const HAS_AREA = '<http://purl.org/ozo/onz-g#hasLocalizableArea>';
const CLASSES = {
  vestiging: '<http://purl.org/ozo/onz-org#Vestiging>',
  vestigingsnummer: '<http://purl.org/ozo/onz-org#Vestigingsnummer>',
  business: '<http://purl.org/ozo/onz-g#Business>',
  kvk: '<https://w3id.org/kikv-agent/ext#KvkNummer>',
  adres: '<https://w3id.org/kikv-agent/ext#Adres>',
} as const;
type Kind = keyof typeof CLASSES;
const KIND_OF = new Map<string, Kind>(Object.entries(CLASSES).map(([k, v]) => [v, k as Kind]));

/** "Kerkstraat 12a, 1234 AB Utrecht" → street, number, postcode, place. */
const ADDRESS = /^(.*\S)\s+(\d+\S*),\s*(\d{4}\s?[A-Za-z]{2})\s+(.+)$/;

const cache = new Map<string, Promise<ProviderInfo>>();

/** The provider as the snapshot `snapshotHash` describes it; read once per snapshot (snapshots never change). */
export function providerOfSnapshot(cfg: AgentConfig, _db: Db, snapshotHash: string): Promise<ProviderInfo> {
  const file = snapshotFile(cfg.storage.dataDir, snapshotHash);
  let p = cache.get(file);
  if (!p) {
    p = readProvider(file);
    cache.set(file, p);
    // A failed read (file missing) is not remembered: the next call reports it again, or succeeds after a re-import.
    p.catch(() => cache.delete(file));
  }
  return p;
}

interface Triple {
  s: string;
  p: string;
  o: string;
}

/** One N-Triples line split in subject, predicate and object (terms kept in their N-Triples form). */
function tripleOf(line: string): Triple | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  if (a < 0 || b < 0) return undefined;
  const o = line.slice(b + 1).replace(/\s*\.\s*$/, '');
  return { s: line.slice(0, a), p: line.slice(a + 1, b), o };
}

/** The lexical form of an N-Triples literal ("…"^^<dt> or "…"@lang), unescaped; undefined for IRIs and blank nodes. */
export function literalValue(term: string): string | undefined {
  if (!term.startsWith('"')) return undefined;
  const end = term.lastIndexOf('"');
  if (end <= 0) return undefined;
  return term.slice(1, end).replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_m, e: string) => {
    if (e[0] === 'u' || e[0] === 'U') return String.fromCodePoint(parseInt(e.slice(1), 16));
    return ({ t: '\t', n: '\n', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[e] ?? e;
  });
}

async function* triples(file: string): AsyncGenerator<Triple> {
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (!line || line.startsWith('#')) continue;
    const t = tripleOf(line);
    if (t) yield t;
  }
}

/**
 * Two passes: the first finds the typed nodes (and each location's area), the second keeps only the
 * labels, identifiers and values of those nodes, so a snapshot of any size costs memory per location,
 * not per statement.
 */
async function readProvider(file: string): Promise<ProviderInfo> {
  if (!existsSync(file)) throw new Error(`snapshot file ${file} is missing; run \`kikv import\` again`);
  const typed = new Map<string, Set<Kind>>();
  const area = new Map<string, string>();
  for await (const t of triples(file)) {
    if (t.p === RDF_TYPE) {
      const kind = KIND_OF.get(t.o);
      if (kind) (typed.get(t.s) ?? typed.set(t.s, new Set()).get(t.s)!).add(kind);
    } else if (t.p === HAS_AREA) area.set(t.s, t.o);
  }
  const is = (s: string, k: Kind) => typed.get(s)?.has(k) === true;
  const areas = new Set(area.values());
  const labels = new Map<string, string>();
  const ids = new Map<string, string[]>();
  const values = new Map<string, string>();
  for await (const t of triples(file)) {
    if (t.p === RDFS_LABEL && typed.has(t.s)) {
      const v = literalValue(t.o);
      if (v !== undefined) labels.set(t.s, v);
    } else if (t.p === IDENTIFIED_BY && (typed.has(t.s) || areas.has(t.s))) {
      (ids.get(t.s) ?? ids.set(t.s, []).get(t.s)!).push(t.o);
    } else if (t.p === HAS_DATA_VALUE && (is(t.s, 'vestigingsnummer') || is(t.s, 'kvk'))) {
      const v = literalValue(t.o);
      if (v !== undefined) values.set(t.s, v);
    }
  }
  const idOfKind = (s: string, k: Kind) => (ids.get(s) ?? []).filter((i) => is(i, k)).map((i) => values.get(i)).find((v) => v !== undefined);

  let organisation = { name: '', kvk: '' };
  for (const [s, kinds] of typed) {
    if (!kinds.has('business')) continue;
    const kvk = idOfKind(s, 'kvk');
    // The organisation is the business identified by a KvK number (suppliers and others have none).
    if (kvk !== undefined && (!organisation.kvk || kvk < organisation.kvk)) organisation = { name: labels.get(s) ?? '', kvk };
  }
  const locations = new Map<string, ProviderLocation>();
  for (const [s, kinds] of typed) {
    if (!kinds.has('vestiging')) continue;
    const nummer = idOfKind(s, 'vestigingsnummer');
    if (nummer === undefined) continue;
    const loc: ProviderLocation = { vestigingsnummer: nummer, name: labels.get(s) ?? '' };
    const gebied = area.get(s);
    const adres = gebied ? (ids.get(gebied) ?? []).find((i) => is(i, 'adres')) : undefined;
    const m = adres ? ADDRESS.exec(labels.get(adres) ?? '') : null;
    if (m) {
      loc.huisnummer = m[2]!;
      loc.postcode = m[3]!;
      loc.plaats = m[4]!;
    }
    if (!locations.has(nummer)) locations.set(nummer, loc);
  }
  return { organisation, locations: [...locations.values()].sort((a, b) => (a.vestigingsnummer < b.vestigingsnummer ? -1 : 1)) };
}
