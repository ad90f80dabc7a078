/**
 * Parameters of the official KIK-V validated queries (gevalideerde vragen). The published texts leave
 * their parameters as free variables and show example values in commented-out BIND lines, e.g.
 *
 *     # BIND(2024 AS ?jaar)
 *     # BIND("Q1" AS ?kwartaal)
 *     # BIND(onz-org:ZorgkantoorMenzis AS ?zorgkantoor)
 *
 * sometimes repeated inside each sub-select. The runner supplies the values. This module does so
 * where the authors put the examples: in every cluster of commented BIND lines, the first line for a
 * parameter becomes an active BIND with the supplied value (a second, alternative example for the same
 * parameter stays a comment), and a parameter the header declares but the cluster has no line for
 * gets a BIND appended to the cluster. Nothing else in the text changes, so line numbers in Jena's
 * messages still point at the official text (appended lines shift the lines below them).
 */

const XSD = 'http://www.w3.org/2001/XMLSchema#';
export const ONZ_ORG = 'http://purl.org/ozo/onz-org#';

/** A parameter value: a number (xsd:integer / xsd:decimal), a plain string, an IRI or a typed literal. */
export type ParameterValue = number | string | { iri: string } | { literal: string; datatype?: string; lang?: string };

export type ParameterValues = Record<string, ParameterValue>;

export const iri = (value: string): { iri: string } => ({ iri: value });
export const xsdDate = (isoDate: string): { literal: string; datatype: string } => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDate)) throw new Error(`not an xsd:date: ${isoDate}`);
  return { literal: isoDate, datatype: `${XSD}date` };
};
/** One of the zorgkantoor individuals the official SHACL shapes offer, e.g. "MiddenIJssel" for onz-org:ZorgkantoorMiddenIJssel. */
export const zorgkantoor = (name: string): { iri: string } => iri(`${ONZ_ORG}Zorgkantoor${name}`);

export type Quarter = 'Q1' | 'Q2' | 'Q3' | 'Q4';

/** ?jaar and ?kwartaal as the quarter queries expect them (an integer year: STR(?jaar) gives "2023"). */
export function quarterParameters(year: number, quarter: Quarter): ParameterValues {
  return { jaar: year, kwartaal: quarter };
}

/** ?peildatum for a reference-date query. */
export function peildatumParameter(isoDate: string): ParameterValues {
  return { peildatum: xsdDate(isoDate) };
}

/** The SPARQL term for a value (full IRIs, so it needs no PREFIX). */
export function sparqlTerm(v: ParameterValue): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`parameter value ${v} is not a finite number`);
    return Number.isInteger(v) ? String(v) : `"${v}"^^<${XSD}decimal>`;
  }
  if (typeof v === 'string') return quote(v);
  if ('iri' in v) {
    if (/[<>"{}|^`\\\s]/.test(v.iri)) throw new Error(`not a valid IRI for a parameter: ${v.iri}`);
    return `<${v.iri}>`;
  }
  if (v.lang) return `${quote(v.literal)}@${v.lang}`;
  return v.datatype ? `${quote(v.literal)}^^<${v.datatype}>` : quote(v.literal);
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

/** The parameters an official query declares in its header line `# Parameters: ?a, ?b`, in order. */
export function declaredParameters(query: string): string[] {
  const line = /^#\s*Parameters?\s*:(.*)$/im.exec(query)?.[1];
  if (line === undefined) return [];
  return [...line.matchAll(/[?$]([\p{L}\p{N}_]+)/gu)].map((m) => m[1]!);
}

// A whole-line comment holding only BIND(<value> AS ?name), optionally followed by another comment.
const COMMENTED_BIND = /^([ \t]*)#[ \t#]*BIND\s*\((.*)\s+AS\s+\?([\p{L}\p{N}_]+)\s*\)\s*(#.*)?$/iu;

export interface BoundQuery {
  text: string;
  /** The parameters bound, with the SPARQL term used. */
  bound: Record<string, string>;
  /** How many BIND lines were activated or added. */
  binds: number;
}

/**
 * Binds an official query's declared parameters (see the module comment). Every declared parameter
 * needs a value; values for parameters the query does not declare are ignored, so one set of values
 * can serve a whole profile. Fails when the query declares parameters but has no commented BIND line
 * to anchor them.
 */
export function bindOfficialQuery(query: string, values: ParameterValues): BoundQuery {
  const declared = declaredParameters(query);
  const missing = declared.filter((p) => values[p] === undefined);
  if (missing.length > 0) throw new Error(`the query needs a value for ${missing.map((m) => `?${m}`).join(', ')}`);
  const terms = Object.fromEntries(declared.map((p) => [p, sparqlTerm(values[p]!)]));
  if (declared.length === 0) return { text: query, bound: {}, binds: 0 };

  const eol = query.includes('\r\n') ? '\r\n' : '\n';
  const lines = query.split(/\r?\n/);
  // Clusters: runs of commented BIND lines, with only blank lines between them.
  const clusters: number[][] = [];
  let current: number[] | undefined;
  lines.forEach((line, i) => {
    if (COMMENTED_BIND.test(line)) {
      if (!current) clusters.push((current = []));
      current.push(i);
    } else if (line.trim() !== '') current = undefined;
  });
  if (clusters.length === 0) throw new Error(`the query declares ${declared.map((d) => `?${d}`).join(', ')} but has no commented BIND line to bind them at`);

  const insertAfter = new Map<number, string[]>();
  let binds = 0;
  for (const cluster of clusters) {
    const done = new Set<string>();
    let indent = '';
    for (const i of cluster) {
      const m = COMMENTED_BIND.exec(lines[i]!)!;
      indent = m[1]!;
      const name = m[3]!;
      if (!(name in terms) || done.has(name)) continue;
      done.add(name);
      lines[i] = `${m[1]}BIND(${terms[name]} AS ?${name}) # parameter (official example: ${m[2]!.trim()})`;
      binds++;
    }
    const extra = declared.filter((p) => !done.has(p)).map((p) => `${indent}BIND(${terms[p]} AS ?${p}) # parameter`);
    if (extra.length > 0) {
      insertAfter.set(cluster.at(-1)!, extra);
      binds += extra.length;
    }
  }
  const out: string[] = [];
  lines.forEach((line, i) => out.push(line, ...(insertAfter.get(i) ?? [])));
  return { text: out.join(eol), bound: terms, binds };
}
