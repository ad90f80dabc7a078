/**
 * Benchmark only: rewrites an RML-Core mapping (namespace http://w3id.org/rml/) into the legacy RML
 * vocabulary that older processors such as RocketRML understand:
 *
 *   rr:   http://www.w3.org/ns/r2rml#      triples maps, term maps, joins, term types
 *   rml:  http://semweb.mmlab.be/ns/rml#   logicalSource, source, reference, iterator
 *   ql:   http://semweb.mmlab.be/ns/ql#    reference formulations (ql:CSV, ql:JSONPath, ql:XPath)
 *
 * Differences the rewrite cannot express are returned as notes:
 * - An rml:RelativePathSource with its rml:root (MappingDirectory / CurrentWorkingDirectory) becomes a
 *   plain rml:source string holding the resolved absolute path.
 * - rml:null has no legacy equivalent and is dropped. For CSV, RocketRML skips empty cells anyway (the
 *   same as rml:null ""), but other null values (e.g. "none") are mapped as ordinary values.
 * - Relative IRI templates ("persoon/{employee_id}") resolve against the base IRI in RML-Core;
 *   RocketRML only applies `@base` to subject templates with an explicit rr:termType rr:IRI, so the
 *   base IRI is written into every relative IRI template instead (and `@base` is set as well).
 * - A subject map with several classes: the classes become rdf:type predicate-object maps (the same
 *   triples), as RocketRML takes several rr:class values for a function call and fails.
 * - A constant IRI object (rml:object <iri>) becomes rr:objectMap [ rr:constant <iri> ; rr:termType rr:IRI ]:
 *   RocketRML writes a constant without a term type as a string literal (except for rdf:type).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { DataFactory, Parser, Writer, type Quad, type Term } from 'n3';

const { namedNode, literal, quad, blankNode } = DataFactory;

export const RML_CORE = 'http://w3id.org/rml/';
export const RR = 'http://www.w3.org/ns/r2rml#';
export const RML_LEGACY = 'http://semweb.mmlab.be/ns/rml#';
export const QL = 'http://semweb.mmlab.be/ns/ql#';
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';

/** RML-Core terms that keep their local name in the legacy rml: namespace. */
const TO_RML_LEGACY = new Set(['logicalSource', 'LogicalSource', 'source', 'reference', 'iterator', 'referenceFormulation', 'languageMap']);
/** RML-Core terms that become R2RML terms with the same local name. */
const TO_RR = new Set([
  'TriplesMap', 'subjectMap', 'subject', 'predicateObjectMap', 'predicateMap', 'predicate', 'objectMap', 'object',
  'graphMap', 'graph', 'template', 'constant', 'termType', 'datatype', 'language', 'class', 'parentTriplesMap',
  'joinCondition', 'child', 'parent', 'IRI', 'Literal', 'BlankNode', 'defaultGraph', 'SubjectMap', 'PredicateObjectMap',
  'ObjectMap', 'PredicateMap', 'GraphMap', 'RefObjectMap', 'Join', 'TermMap',
]);
/** Reference formulations. */
const TO_QL: Record<string, string> = { CSV: 'CSV', JSONPath: 'JSONPath', XPath: 'XPath' };
/** Source description terms handled when the source is rewritten. */
const SOURCE_TERMS = new Set(['RelativePathSource', 'root', 'path', 'null', 'MappingDirectory', 'CurrentWorkingDirectory']);

export interface LegacyOptions {
  /** Base IRI for relative IRI templates. */
  baseIri: string;
  /** What rml:MappingDirectory (and relative paths without rml:root) resolve against. */
  mappingDirectory: string;
  /** What rml:CurrentWorkingDirectory resolves against. */
  currentWorkingDirectory: string;
}

export interface LegacyMapping {
  /** The mapping in legacy namespaces, Turtle, starting with an @base line. */
  turtle: string;
  /** Absolute path of every file the mapping reads (each once). */
  sources: string[];
  /** What could not be carried over and how the result may differ. */
  notes: string[];
}

/** Rewrites RML-Core Turtle text (read from `file`, used for messages and relative IRIs) to legacy RML. */
export function toLegacyRml(text: string, file: string, opts: LegacyOptions): LegacyMapping {
  const quads = new Parser({ format: 'text/turtle', baseIRI: 'file://' + encodeURI(file) }).parse(text);
  const bySubject = new Map<string, Quad[]>();
  for (const q of quads) {
    const k = key(q.subject);
    const list = bySubject.get(k);
    if (list) list.push(q);
    else bySubject.set(k, [q]);
  }
  const value = (s: Term, p: string): Term | undefined => bySubject.get(key(s))?.find((q) => q.predicate.value === RML_CORE + p)?.object;

  const notes: string[] = [];
  const sources = new Set<string>();
  const dropped = new Set<string>(); // source description nodes, replaced by a path string
  const sourceFor = new Map<string, string>(); // key of a source node -> absolute path
  const nullNotes = new Map<string, string[]>();

  for (const q of quads) {
    if (q.predicate.value !== RML_CORE + 'source') continue;
    const src = q.object;
    let path: string;
    if (src.termType === 'Literal') {
      path = isAbsolute(src.value) ? src.value : resolve(opts.mappingDirectory, src.value);
    } else {
      const types = (bySubject.get(key(src)) ?? []).filter((x) => x.predicate.value === RDF_TYPE).map((x) => x.object.value);
      const relPath = value(src, 'path');
      if (!types.includes(RML_CORE + 'RelativePathSource') && !relPath)
        throw new Error(`${file}: logical source ${label(q.subject)} reads a ${types.map(label).join(', ') || 'source'} the legacy namespaces cannot describe; only files are supported`);
      if (!relPath) throw new Error(`${file}: source of ${label(q.subject)} has no rml:path`);
      const root = value(src, 'root')?.value;
      const base = root === RML_CORE + 'CurrentWorkingDirectory' ? opts.currentWorkingDirectory : opts.mappingDirectory;
      path = isAbsolute(relPath.value) ? relPath.value : resolve(base, relPath.value);
      const nulls = (bySubject.get(key(src)) ?? []).filter((x) => x.predicate.value === RML_CORE + 'null').map((x) => x.object.value);
      if (nulls.length > 0) nullNotes.set(label(q.subject), nulls);
      dropped.add(key(src));
    }
    sources.add(path);
    sourceFor.set(key(src), path);
  }

  // Extra classes of a subject map -> rdf:type predicate-object maps of its triples map.
  const extraClasses: Quad[] = [];
  const moved = new Set<Quad>();
  let splitMaps = 0;
  for (const q of quads) {
    if (q.predicate.value !== RML_CORE + 'subjectMap') continue;
    const classes = (bySubject.get(key(q.object)) ?? []).filter((x) => x.predicate.value === RML_CORE + 'class');
    if (classes.length < 2) continue;
    splitMaps++;
    for (const c of classes) {
      moved.add(c);
      const pom = blankNode();
      extraClasses.push(quad(q.subject as never, namedNode(RR + 'predicateObjectMap'), pom));
      extraClasses.push(quad(pom, namedNode(RR + 'predicate'), namedNode(RDF_TYPE)));
      extraClasses.push(quad(pom, namedNode(RR + 'object'), c.object as never));
    }
  }
  if (splitMaps > 0) notes.push(`${splitMaps} subject map(s) with several classes: the classes are written as rdf:type predicate-object maps (RocketRML reads several rr:class values as a function call)`);

  // Relative IRI templates -> absolute (term maps whose term type is not Literal or BlankNode).
  let absolutised = 0;
  let constantObjects = 0;
  const isIriMap = (m: Term): boolean => {
    const tt = value(m, 'termType')?.value;
    return tt === undefined || tt === RML_CORE + 'IRI';
  };

  const out: Quad[] = [...extraClasses];
  for (const q of quads) {
    if (dropped.has(key(q.subject)) || moved.has(q)) continue;
    let object: Term = q.object;
    if (q.predicate.value === RML_CORE + 'source') object = literal(sourceFor.get(key(q.object))!);
    else if (q.predicate.value === RML_CORE + 'object' && q.object.termType === 'NamedNode') {
      const om = blankNode();
      out.push(quad(q.subject as never, namedNode(RR + 'objectMap'), om));
      out.push(quad(om, namedNode(RR + 'constant'), q.object));
      out.push(quad(om, namedNode(RR + 'termType'), namedNode(RR + 'IRI')));
      constantObjects++;
      continue;
    }
    else if (q.predicate.value === RML_CORE + 'template' && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(q.object.value) && isIriMap(q.subject)) {
      object = literal(opts.baseIri + q.object.value);
      absolutised++;
    }
    else object = rewrite(object, file);
    const predicate = rewrite(q.predicate, file);
    out.push(quad(q.subject as never, predicate as never, object as never, q.graph as never));
  }

  const empty = [...nullNotes].filter(([, v]) => v.length === 1 && v[0] === '').map(([k]) => k);
  const other = [...nullNotes].filter(([, v]) => v.some((x) => x !== ''));
  if (empty.length > 0)
    notes.push(`rml:null "" dropped on ${empty.length} logical source(s): no legacy equivalent, but RocketRML skips empty CSV cells, which has the same effect`);
  for (const [ls, v] of other)
    notes.push(`rml:null ${v.map((x) => JSON.stringify(x)).join(', ')} on ${ls} dropped: no legacy equivalent, so ${v.filter((x) => x !== '').map((x) => JSON.stringify(x)).join(', ')} is mapped as an ordinary value there`);
  notes.push('rml:RelativePathSource + rml:root rewritten to rml:source with an absolute path');
  if (constantObjects > 0) notes.push(`${constantObjects} constant IRI object(s) written as an object map with rr:termType rr:IRI (RocketRML makes an untyped constant a literal)`);
  if (absolutised > 0) notes.push(`${absolutised} relative IRI template(s) prefixed with the base IRI (RocketRML leaves them relative, and relative IRIs are dropped from its output)`);

  const writer = new Writer({ prefixes: { rr: RR, rml: RML_LEGACY, ql: QL, xsd: 'http://www.w3.org/2001/XMLSchema#', rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#' } });
  writer.addQuads(out);
  let turtle = '';
  writer.end((error, result) => {
    if (error) throw error;
    turtle = result;
  });
  return { turtle: `@base <${opts.baseIri}> .\n${turtle}`, sources: [...sources], notes };
}

/** Reads an RML-Core mapping file and writes its legacy copy to `target`. */
export async function writeLegacyRml(file: string, target: string, opts: LegacyOptions): Promise<LegacyMapping> {
  const legacy = toLegacyRml(await readFile(file, 'utf8'), file, opts);
  await writeFile(target, legacy.turtle, 'utf8');
  return legacy;
}

function rewrite(t: Term, file: string): Term {
  if (t.termType !== 'NamedNode' || !t.value.startsWith(RML_CORE)) return t;
  const local = t.value.slice(RML_CORE.length);
  if (TO_RR.has(local)) return namedNode(RR + local);
  if (TO_RML_LEGACY.has(local)) return namedNode(RML_LEGACY + local);
  const ql = TO_QL[local];
  if (ql) return namedNode(QL + ql);
  if (SOURCE_TERMS.has(local)) return t;
  throw new Error(`${file}: rml:${local} has no legacy RML equivalent this benchmark knows`);
}

function key(t: Term): string {
  return t.termType === 'BlankNode' ? '_:' + t.value : t.value;
}

function label(t: Term | string): string {
  const v = typeof t === 'string' ? t : t.value;
  const i = Math.max(v.lastIndexOf('#'), v.lastIndexOf('/'));
  return i >= 0 ? v.slice(i + 1) : v;
}
