import { resolve } from 'node:path';
import type * as RDF from '@rdfjs/types';
import { DataFactory, Store, type Quad, type Term } from 'n3';
import { Validator, type PathStep, type ValidationResult } from 'shacl-engine';
import { NS } from '../ontology/namespaces.js';
import type { ShaclViolation } from '../report/types.js';
import { IndexedDataset } from './dataset.js';
import { ONTOLOGY_DIR, ontologyFiles, ontologyFolder, parseTurtleFiles, shapeFiles } from './ontology.js';

/**
 * SHACL validation of mapped data against the shapes of an ontology version
 * (ontology/shapes/<version>/*.ttl). The shapes graph also holds the version's declarations and the
 * extension (ontology/<version>/, ontology/ext/), so class targets and sh:class follow the ontology's
 * subclass axioms. Shapes are compiled once per version and kept for the life of the process.
 */

const SH = 'http://www.w3.org/ns/shacl#';

/** The shapes of one version, parsed and compiled. */
export interface CompiledShapes {
  version: string;
  files: string[];
  validator: Validator;
  /** The shapes graph, to read constraint parameters when writing messages. */
  graph: Store;
}

const cache = new Map<string, CompiledShapes>();
let compilations = 0;

/** How many times shapes were compiled in this process (the cache makes it once per version). */
export function shapeCompilations(): number {
  return compilations;
}

/** Forgets the compiled shapes (tests, or after the ontology folder changed on disk). */
export function clearShapesCache(): void {
  cache.clear();
}

const factory = { ...DataFactory, dataset: (quads?: RDF.Quad[]) => new Store(quads as Quad[] | undefined) };

/**
 * The compiled shapes of a version ("onz-3.0.0", or "3.0.0" for ONZ). Throws an error naming the fix
 * when the version has no declarations or no shapes folder.
 */
export function compiledShapes(ontologyVersion: string, ontologyDir: string = ONTOLOGY_DIR): CompiledShapes {
  const version = ontologyFolder(ontologyVersion);
  const key = `${resolve(ontologyDir)}\n${version}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const files = [...shapeFiles(version, ontologyDir), ...ontologyFiles(version, ontologyDir)];
  const graph = new Store(parseTurtleFiles(files));
  const validator = new Validator(new IndexedDataset(graph), { factory });
  // Compile every shape now, so a broken shape fails here and validation only runs.
  for (const shape of validator.shapes.values()) {
    void shape.shapeValidator;
    void shape.targetResolver;
  }
  compilations++;
  const compiled = { version, files, validator, graph };
  cache.set(key, compiled);
  return compiled;
}

/**
 * Validates quads (an array, any iterable, or an n3 Store used as it is) against the shapes of the
 * ontology version. Returns one entry per SHACL result, with a readable message, the focus node, the
 * path and the offending value. `origin` is left unset: the caller knows which source row produced
 * which node.
 */
export async function validateQuads(
  quads: Quad[] | Iterable<Quad> | Store,
  ontologyVersion: string,
  options: { ontologyDir?: string } = {},
): Promise<ShaclViolation[]> {
  const shapes = compiledShapes(ontologyVersion, options.ontologyDir);
  const dataset = quads instanceof Store ? quads : new Store([...quads]);
  const report = await shapes.validator.validate({ dataset: new IndexedDataset(dataset) });
  const out = report.results.map((r) => toViolation(r, shapes.graph));
  const rank = { Violation: 0, Warning: 1, Info: 2 } as const;
  return out.sort((a, b) => rank[a.severity] - rank[b.severity] || a.shape.localeCompare(b.shape) || a.focusNode.localeCompare(b.focusNode));
}

// ---------------------------------------------------------------- results -> report entries

const PREFIXES: Array<[string, string]> = Object.entries({ ...NS, sh: SH }).sort((a, b) => b[1].length - a[1].length);

/** Shortens an IRI to a CURIE when a known namespace fits. */
export function curie(iri: string): string {
  for (const [p, ns] of PREFIXES) if (iri.startsWith(ns) && iri.length > ns.length && !iri.slice(ns.length).includes('/')) return `${p}:${iri.slice(ns.length)}`;
  return `<${iri}>`;
}

function termText(t: Term | undefined): string {
  if (!t) return '';
  if (t.termType === 'NamedNode') return t.value;
  if (t.termType === 'BlankNode') return `_:${t.value}`;
  return t.value;
}

function shownTerm(t: Term): string {
  if (t.termType === 'NamedNode') return curie(t.value);
  if (t.termType === 'BlankNode') return `_:${t.value}`;
  return JSON.stringify(t.value);
}

/** A SHACL path in SPARQL property-path notation with CURIEs: "onz-g:hasQuality/onz-g:hasQualityValue". */
export function pathText(path: PathStep[] | null | undefined): string | undefined {
  if (!path || path.length === 0) return undefined;
  return path
    .map((s) => {
      const preds = s.predicates.map((p) => curie(p.value));
      let t = preds.length > 1 ? `(${preds.join('|')})` : preds[0]!;
      if (s.start === 'object') t = `^${t}`;
      return t + ({ one: '', zeroOrMore: '*', oneOrMore: '+', zeroOrOne: '?' } as const)[s.quantifier];
    })
    .join('/');
}

function severityOf(r: ValidationResult): ShaclViolation['severity'] {
  const local = r.severity.value.slice(SH.length);
  return local === 'Warning' || local === 'Info' ? local : 'Violation';
}

/** The message: the shape's own sh:message when it has one, else a sentence written from the constraint. */
function messageOf(r: ValidationResult, graph: Store, path: string | undefined, value: Term | undefined): string {
  if (r.shape.message.length > 0) {
    const en = r.shape.message.find((m) => m.language === 'en') ?? r.shape.message[0]!;
    return en.value;
  }
  const shape = r.shape.ptr.term;
  const param = (p: string): Term[] => (shape ? graph.getObjects(shape as Term, SH + p, null) : []);
  const one = (p: string): string => {
    const t = param(p)[0];
    return t ? shownTerm(t) : '?';
  };
  const of = path ? ` of ${path}` : '';
  const v = value ? `${shownTerm(value)}` : 'the value';
  const component = r.constraintComponent.value.slice(SH.length).replace(/ConstraintComponent$/, '');
  switch (component) {
    case 'MinCount': {
      const n = Number(param('minCount')[0]?.value ?? 1);
      return n <= 1 ? `No value for ${path ?? 'the property'} (one is required).` : `Fewer than ${n} values for ${path ?? 'the property'}.`;
    }
    case 'MaxCount': {
      const n = Number(param('maxCount')[0]?.value ?? 1);
      return `More than ${n} value${n === 1 ? '' : 's'} for ${path ?? 'the property'} (at most ${n} allowed).`;
    }
    case 'Datatype':
      return `Value ${v}${of} is not a valid ${one('datatype')}.`;
    case 'NodeKind':
      return `Value ${v}${of} is not of node kind ${one('nodeKind')}.`;
    case 'Class':
      return `Value ${v}${of} is not an instance of ${one('class')}.`;
    case 'In': {
      const list = shape ? listItems(graph, param('in')[0]) : [];
      return `Value ${v}${of} is not one of ${list.map(shownTerm).join(', ')}.`;
    }
    case 'HasValue':
      return `${path ?? 'The node'} does not have the value ${one('hasValue')}.`;
    case 'Pattern':
      return `Value ${v}${of} does not match the pattern ${one('pattern')}.`;
    case 'MinLength':
      return `Value ${v}${of} is shorter than ${one('minLength')} characters.`;
    case 'MaxLength':
      return `Value ${v}${of} is longer than ${one('maxLength')} characters.`;
    case 'MinInclusive':
      return `Value ${v}${of} is less than the minimum ${one('minInclusive')}.`;
    case 'MaxInclusive':
      return `Value ${v}${of} is greater than the maximum ${one('maxInclusive')}.`;
    case 'MinExclusive':
      return `Value ${v}${of} must be greater than ${one('minExclusive')}.`;
    case 'MaxExclusive':
      return `Value ${v}${of} must be less than ${one('maxExclusive')}.`;
    case 'LessThan':
      return `Value ${v}${of} is not before the value of ${one('lessThan')}.`;
    case 'LessThanOrEquals':
      return `Value ${v}${of} is after the value of ${one('lessThanOrEquals')}.`;
    case 'QualifiedMinCount':
      return `Fewer than ${param('qualifiedMinCount')[0]?.value ?? '?'} values${of} conform to the required shape.`;
    case 'QualifiedMaxCount':
      return `More than ${param('qualifiedMaxCount')[0]?.value ?? '?'} values${of} conform to the shape.`;
    default:
      return r.message[0]?.value ?? `${component} constraint not met${of}.`;
  }
}

function listItems(graph: Store, head: Term | undefined): Term[] {
  const out: Term[] = [];
  let node = head;
  while (node && node.value !== `${NS.rdf}nil` && out.length < 1000) {
    const first = graph.getObjects(node, `${NS.rdf}first`, null)[0];
    if (first) out.push(first);
    node = graph.getObjects(node, `${NS.rdf}rest`, null)[0];
  }
  return out;
}

function toViolation(r: ValidationResult, graph: Store): ShaclViolation {
  const path = pathText(r.path ?? r.shape.path);
  const value = r.value?.term as Term | undefined;
  const v: ShaclViolation = {
    severity: severityOf(r),
    focusNode: termText(r.focusNode.term as Term | undefined),
    message: messageOf(r, graph, path, value),
    shape: termText(r.shape.ptr.term as Term | undefined),
  };
  if (path) v.path = path;
  if (value) v.value = termText(value);
  return v;
}
