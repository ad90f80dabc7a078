import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SparqlJsonResults } from '../engines/types.js';

/**
 * Answers leave the provider as aggregates only. A result row that names a person (an IRI of a
 * person in the data, or a literal equal to a person's identifier) is refused. Persons are what the
 * snapshot types onz-g:Human (employees and clients); their IRIs' last segment is their identifier.
 */

const HUMAN = '<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://purl.org/ozo/onz-g#Human>';
const NUMERIC = /#(integer|decimal|double|float|long|int|short|nonNegativeInteger|positiveInteger|boolean|date|dateTime|gYear)$/;

export interface PersonIndex {
  /** IRI prefixes persons live under (e.g. `…/id/persoon/`, `…/id/client/`). */
  prefixes: string[];
  identifiers: Set<string>;
}

const cache = new Map<string, Promise<PersonIndex>>();

/** The persons of a snapshot file, read line by line; cached per file (snapshots never change). */
export function personIndexOf(snapshotFile: string): Promise<PersonIndex> {
  let p = cache.get(snapshotFile);
  if (!p) {
    p = readPersons(snapshotFile);
    cache.set(snapshotFile, p);
    p.catch(() => cache.delete(snapshotFile));
  }
  return p;
}

async function readPersons(file: string): Promise<PersonIndex> {
  const prefixes = new Set<string>();
  const identifiers = new Set<string>();
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (!line.includes(HUMAN) || !line.startsWith('<')) continue;
    const iri = line.slice(1, line.indexOf('>'));
    const cut = iri.lastIndexOf('/') + 1;
    prefixes.add(iri.slice(0, cut));
    identifiers.add(decodeURIComponent(iri.slice(cut)));
  }
  return { prefixes: [...prefixes], identifiers };
}

/** Where the results name a person: "row N ?var" (never the value itself, which is personal). */
export function personalBindings(results: SparqlJsonResults, persons: PersonIndex): string[] {
  const found: string[] = [];
  results.results.bindings.forEach((row, i) => {
    for (const [v, t] of Object.entries(row)) {
      const personal =
        t.type === 'uri'
          ? persons.prefixes.some((p) => t.value.startsWith(p))
          : t.type === 'literal' && !(t.datatype && NUMERIC.test(t.datatype)) && persons.identifiers.has(t.value.trim());
      if (personal) found.push(`row ${i + 1} ?${v}`);
    }
  });
  return found;
}
