/** Namespaces the agent writes and queries. ONZ IRIs are exact (DOMAIN §4). */
export const NS = {
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  owl: 'http://www.w3.org/2002/07/owl#',
  time: 'http://www.w3.org/2006/time#',
  'onz-g': 'http://purl.org/ozo/onz-g#',
  'onz-pers': 'http://purl.org/ozo/onz-pers#',
  'onz-org': 'http://purl.org/ozo/onz-org#',
  'onz-zorg': 'http://purl.org/ozo/onz-zorg#',
  'onz-fin': 'http://purl.org/ozo/onz-fin#',
  /** The project's extension terms for client-record concepts ONZ lacks (ontology/ext/kikv-ext.ttl). */
  ext: 'https://w3id.org/kikv-agent/ext#',
  /** Reference individuals shipped with the agent (units, qualification values, postcodes, calendar). */
  ref: 'https://w3id.org/kikv-agent/ref/',
} as const;

export type Prefix = keyof typeof NS;

/** Expands "onz-g:startDatum" to its full IRI; leaves full IRIs as they are. */
export function expand(curie: string, prefixes: Record<string, string> = NS): string {
  const i = curie.indexOf(':');
  if (i > 0) {
    const ns = prefixes[curie.slice(0, i)];
    if (ns !== undefined && !curie.slice(i + 1).startsWith('//')) return ns + curie.slice(i + 1);
  }
  return curie;
}
