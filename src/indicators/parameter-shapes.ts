import type * as RDF from '@rdfjs/types';
import { DataFactory, Parser, Store, type Quad } from 'n3';
import { Validator } from 'shacl-engine';
import { expand } from '../ontology/namespaces.js';
import { parseDate, XSD } from '../sparql/xsd.js';
import { IndexedDataset } from '../validation/dataset.js';
import type { ParameterValue } from './bind.js';
import { yearTemplate, type IndicatorDef, type ParameterDef } from './pack.js';

/**
 * The SHACL parameter shape of a pack item, in the form the official KIK-V packs publish
 * (`N.params.ttl`): one sh:NodeShape per item targeting a class of its own, one property shape per
 * parameter (datatype or IRI, exactly one value, optional sh:in, bounds and an ordering between
 * parameters). Written from the manifest so the query header, the manifest and the shape cannot
 * drift apart; the parameters of a run are validated against it before any query runs.
 */

const SH = 'http://www.w3.org/ns/shacl#';
const RDFS = 'http://www.w3.org/2000/01/rdf-schema#';
export const PARAMS_NS = 'https://w3id.org/kikv-agent/params#';

const { namedNode, literal, blankNode, quad } = DataFactory;
const factory = { ...DataFactory, dataset: (quads?: RDF.Quad[]) => new Store(quads as Quad[] | undefined) };

const shapeClass = (ind: IndicatorDef) => `${PARAMS_NS}${ind.id}`;
const paramPath = (name: string) => `${PARAMS_NS}${name}`;

function term(def: ParameterDef, text: string): string {
  if (def.datatype === 'iri') return `<${expand(text)}>`;
  return `${JSON.stringify(text)}^^<${expand(def.datatype)}>`;
}

/** The item's parameter shape as Turtle, for the year (bounds may use {year}). */
export function parameterShapeTurtle(ind: IndicatorDef, year: number): string {
  const props = Object.entries(ind.parameters).map(([name, def]) => {
    const lines = [`sh:path <${paramPath(name)}>`, `sh:name ${JSON.stringify(name)}`, 'sh:minCount 1', 'sh:maxCount 1'];
    if (def.description) lines.push(`sh:description ${JSON.stringify(def.description)}@en`);
    lines.push(def.datatype === 'iri' ? 'sh:nodeKind sh:IRI' : `sh:datatype <${expand(def.datatype)}>`);
    if (def.in) lines.push(`sh:in (${def.in.map((v) => term(def, yearTemplate(v, year))).join(' ')})`);
    if (def.minInclusive) lines.push(`sh:minInclusive ${term(def, yearTemplate(def.minInclusive, year))}`);
    if (def.maxInclusive) lines.push(`sh:maxInclusive ${term(def, yearTemplate(def.maxInclusive, year))}`);
    if (def.notAfter) lines.push(`sh:lessThanOrEquals <${paramPath(def.notAfter)}>`);
    return `  sh:property [\n    ${lines.join(' ;\n    ')}\n  ]`;
  });
  return [
    `@prefix sh: <${SH}> .`,
    `@prefix rdfs: <${RDFS}> .`,
    '',
    `<${shapeClass(ind)}> a sh:NodeShape ;`,
    `  sh:targetClass <${shapeClass(ind)}> ;`,
    `  rdfs:label ${JSON.stringify(`Parameters of ${ind.number} ${ind.name}`)}${props.length ? ' ;' : ' .'}`,
    ...props.map((p, i) => `${p}${i === props.length - 1 ? ' .' : ' ;'}`),
    '',
  ].join('\n');
}

/** Raised when a parameter does not fit its shape; the message names the item, parameter and fix. */
export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

/**
 * Checks the parameter values of a run against the item's shape (and, for dates, that the lexical
 * form is a real calendar date, which SHACL's datatype check alone does not guarantee everywhere).
 * Throws a ParameterError listing every problem.
 */
export async function checkParameters(ind: IndicatorDef, params: Record<string, ParameterValue>, year: number): Promise<void> {
  const problems: string[] = [];
  for (const [name, def] of Object.entries(ind.parameters)) {
    const v = params[name];
    if (!v) continue; // minCount reports it
    if (!('iri' in v) && expand(def.datatype) === `${XSD}date` && !parseDate(v.value)) problems.push(`?${name} = "${v.value}" is not a calendar date (YYYY-MM-DD)`);
  }
  for (const name of Object.keys(params)) if (!(name in ind.parameters)) problems.push(`?${name} is not a parameter of this item (it has ${Object.keys(ind.parameters).map((n) => `?${n}`).join(', ') || 'none'})`);
  const shapes = new Store(new Parser().parse(parameterShapeTurtle(ind, year)));
  const focus = blankNode('parameters');
  const data = new Store([quad(focus, namedNode(`http://www.w3.org/1999/02/22-rdf-syntax-ns#type`), namedNode(shapeClass(ind)))]);
  for (const [name, v] of Object.entries(params)) {
    data.addQuad(quad(focus, namedNode(paramPath(name)), 'iri' in v ? namedNode(v.iri) : literal(v.value, namedNode(v.datatype ?? `${XSD}string`))));
  }
  const validator = new Validator(new IndexedDataset(shapes), { factory });
  const report = await validator.validate({ dataset: new IndexedDataset(data) });
  for (const r of report.results) {
    const path = r.path?.[0]?.predicates[0]?.value.slice(PARAMS_NS.length) ?? '?';
    const component = r.constraintComponent.value.slice(SH.length).replace(/ConstraintComponent$/, '');
    const value = r.value?.term?.value;
    problems.push(`?${path}${value !== undefined ? ` = "${value}"` : ''} violates sh:${component[0]!.toLowerCase()}${component.slice(1)}${constraintText(ind.parameters[path], component, year)}`);
  }
  if (problems.length > 0) {
    throw new ParameterError(`parameters of ${ind.id} (${ind.number} ${ind.name}) for ${year}: ${problems.join('; ')}. Fix the value (a --year the pack covers) or the item's parameters in the pack manifest.`);
  }
}

function constraintText(def: ParameterDef | undefined, component: string, year: number): string {
  if (!def) return '';
  switch (component) {
    case 'Datatype':
      return ` (expected ${def.datatype})`;
    case 'In':
      return ` (allowed: ${(def.in ?? []).map((v) => yearTemplate(v, year)).join(', ')})`;
    case 'MinInclusive':
      return ` (at least ${yearTemplate(def.minInclusive ?? '', year)})`;
    case 'MaxInclusive':
      return ` (at most ${yearTemplate(def.maxInclusive ?? '', year)})`;
    case 'LessThanOrEquals':
      return ` (may not be after ?${def.notAfter})`;
    case 'MinCount':
      return ' (a value is required)';
    default:
      return '';
  }
}
