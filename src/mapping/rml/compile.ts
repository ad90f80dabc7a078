/**
 * Mapping document -> model (model.ts). Every structural rule of RML-Core that can be checked without
 * data is checked here, with a message that names the triples map and term map and says what to fix.
 */

import type { Term } from '@rdfjs/types';
import { RmlError } from './errors.js';
import { MappingGraph, termKey } from './graph.js';
import { isValidLanguageTag } from './language.js';
import type {
  Expression,
  GraphMapDef,
  JoinDef,
  LogicalSourceDef,
  PredicateObjectMapDef,
  RefObjectMapDef,
  TermMapDef,
  TermType,
  TriplesMapDef,
} from './model.js';
import { parseTemplate } from './template.js';
import { CSVW, D2RQ, r, RDF_TYPE, RML, shortIri } from './vocab.js';

const TERM_TYPES: Record<string, TermType> = {
  [r('IRI')]: 'IRI',
  [r('UnsafeIRI')]: 'UnsafeIRI',
  [r('URI')]: 'URI',
  [r('BlankNode')]: 'BlankNode',
  [r('Literal')]: 'Literal',
};

type Role = 'subject' | 'predicate' | 'object' | 'graph' | 'datatype' | 'language' | 'join';

function describe(t: Term): string {
  if (t.termType === 'NamedNode') return `<${t.value}>`;
  if (t.termType === 'BlankNode') return `[ ] (_:${t.value})`;
  return JSON.stringify(t.value);
}

export function compileGraph(g: MappingGraph, file: string): TriplesMapDef[] {
  // Triples maps: typed rml:TriplesMap, or anything with a logical source, or a parent of a join.
  const tmTerms = new Map<string, Term>();
  for (const t of g.subjectsWith(RDF_TYPE, r('TriplesMap'))) tmTerms.set(termKey(t), t);
  for (const t of g.subjectsWith(r('logicalSource'))) tmTerms.set(termKey(t), t);
  for (const t of g.subjectsWith(r('logicalTable'))) tmTerms.set(termKey(t), t);
  for (const s of g.subjectsWith(r('parentTriplesMap'))) {
    for (const p of g.objects(s, r('parentTriplesMap'))) {
      if (p.termType === 'Literal') throw new RmlError(`${file}: rml:parentTriplesMap ${describe(p)} must be the IRI of a triples map`);
      tmTerms.set(termKey(p), p);
    }
  }
  if (tmTerms.size === 0) {
    throw new RmlError(`${file}: no triples maps found; a mapping needs at least one "a rml:TriplesMap" with rml:logicalSource and rml:subjectMap`);
  }
  let anon = 0;
  const names = new Map<string, string>();
  for (const [k, t] of tmTerms) names.set(k, t.termType === 'NamedNode' ? `triples map <${t.value}>` : `triples map #${++anon} (a blank node)`);

  const out: TriplesMapDef[] = [];
  for (const [id, t] of tmTerms) out.push(compileTriplesMap(g, t, id, names.get(id)!, tmTerms, names));
  return out;
}

function compileTriplesMap(g: MappingGraph, tm: Term, id: string, name: string, all: Map<string, Term>, names: Map<string, string>): TriplesMapDef {
  const source = compileLogicalSource(g, tm, name);

  const subjectMaps = g.objects(tm, r('subjectMap'));
  const subjectShortcuts = g.objects(tm, r('subject'));
  const count = subjectMaps.length + subjectShortcuts.length;
  if (count === 0) throw new RmlError(`${name} has no subject map; add rml:subjectMap [ rml:template "…" ] (or the rml:subject shortcut)`);
  if (count > 1) throw new RmlError(`${name} has ${count} subject maps; a triples map has exactly one rml:subjectMap or rml:subject`);
  const where = `${name}, subject map`;
  let subject: TermMapDef;
  let classes: string[] = [];
  let subjectGraphs: GraphMapDef[] = [];
  if (subjectShortcuts.length) {
    subject = constantTermMap(subjectShortcuts[0]!, 'subject', where);
  } else {
    const node = subjectMaps[0]!;
    subject = compileTermMap(g, node, 'subject', where);
    classes = g.objects(node, r('class')).map((c) => {
      if (c.termType !== 'NamedNode') throw new RmlError(`${where}: rml:class ${describe(c)} must be an IRI`);
      return c.value;
    });
    subjectGraphs = compileGraphMaps(g, node, where);
  }

  const poms: PredicateObjectMapDef[] = [];
  g.objects(tm, r('predicateObjectMap')).forEach((node, i) => {
    const pw = `${name}, predicate-object map ${i + 1}`;
    const predicates: TermMapDef[] = [];
    for (const p of g.objects(node, r('predicate'))) predicates.push(constantTermMap(p, 'predicate', `${pw}, rml:predicate`));
    for (const p of g.objects(node, r('predicateMap'))) predicates.push(compileTermMap(g, p, 'predicate', `${pw}, predicate map`));
    const objects: TermMapDef[] = [];
    const refObjects: RefObjectMapDef[] = [];
    for (const o of g.objects(node, r('object'))) objects.push(constantTermMap(o, 'object', `${pw}, rml:object`));
    for (const o of g.objects(node, r('objectMap'))) {
      if (g.has(o, r('parentTriplesMap'))) refObjects.push(compileRefObjectMap(g, o, `${pw}, referencing object map`, all, names));
      else objects.push(compileTermMap(g, o, 'object', `${pw}, object map`));
    }
    if (predicates.length === 0) throw new RmlError(`${pw} has no predicate; add rml:predicate <iri> or rml:predicateMap`);
    if (objects.length + refObjects.length === 0) throw new RmlError(`${pw} has no object; add rml:object, rml:objectMap or a referencing object map (rml:parentTriplesMap)`);
    poms.push({ where: pw, predicates, objects, refObjects, graphs: compileGraphMaps(g, node, pw) });
  });

  const bases = g.objects(tm, r('baseIRI'));
  if (bases.length > 1) throw new RmlError(`${name} has ${bases.length} rml:baseIRI values; give one`);
  const baseIri = bases[0]?.value;
  return { id, name, source, subject, classes, subjectGraphs, poms, ...(baseIri !== undefined ? { baseIri } : {}) };
}

function compileGraphMaps(g: MappingGraph, node: Term, where: string): GraphMapDef[] {
  const out: GraphMapDef[] = [];
  for (const c of g.objects(node, r('graph'))) out.push(graphDef(constantTermMap(c, 'graph', `${where}, rml:graph`)));
  for (const m of g.objects(node, r('graphMap'))) out.push(graphDef(compileTermMap(g, m, 'graph', `${where}, graph map`)));
  return out;
}

function graphDef(tm: TermMapDef): GraphMapDef {
  if (tm.expr.kind === 'constant' && tm.expr.constant.termType === 'NamedNode' && tm.expr.constant.value === r('defaultGraph')) {
    return { ...tm, defaultGraph: true };
  }
  return tm;
}

function compileRefObjectMap(g: MappingGraph, node: Term, where: string, all: Map<string, Term>, names: Map<string, string>): RefObjectMapDef {
  const parents = g.objects(node, r('parentTriplesMap'));
  if (parents.length !== 1) throw new RmlError(`${where} has ${parents.length} rml:parentTriplesMap values; give exactly one`);
  const parent = termKey(parents[0]!);
  if (!all.has(parent)) throw new RmlError(`${where}: rml:parentTriplesMap ${describe(parents[0]!)} is not a triples map`);
  for (const p of ['reference', 'template', 'constant', 'termType', 'datatype', 'language']) {
    if (g.has(node, r(p))) throw new RmlError(`${where} has both rml:parentTriplesMap and rml:${p}; a referencing object map only takes rml:parentTriplesMap and rml:joinCondition`);
  }
  const joins: JoinDef[] = g.objects(node, r('joinCondition')).map((jc, i) => {
    const jw = `${where}, join condition ${i + 1}`;
    const side = (ref: string, map: string): TermMapDef => {
      const refs = g.objects(jc, r(ref));
      const maps = g.objects(jc, r(map));
      if (refs.length + maps.length !== 1) throw new RmlError(`${jw} needs exactly one rml:${ref} or rml:${map} (has ${refs.length + maps.length})`);
      if (refs.length) {
        const v = refs[0]!;
        if (v.termType !== 'Literal') throw new RmlError(`${jw}: rml:${ref} must be a string (a reference), not ${describe(v)}`);
        return { where: `${jw}, rml:${ref}`, expr: { kind: 'reference', reference: v.value }, termType: 'Literal' };
      }
      return compileTermMap(g, maps[0]!, 'join', `${jw}, rml:${map}`);
    };
    return { child: side('child', 'childMap'), parent: side('parent', 'parentMap') };
  });
  return { where: `${where} (parent ${names.get(parent)})`, parent, joins };
}

/** rml:subject/predicate/object/graph shortcuts: constant-valued term maps. */
function constantTermMap(c: Term, role: Role, where: string): TermMapDef {
  return finishTermMap({ where, expr: { kind: 'constant', constant: c }, termType: defaultTermType(role, { kind: 'constant', constant: c }, false) }, role);
}

function compileTermMap(g: MappingGraph, node: Term, role: Role, where: string): TermMapDef {
  if (node.termType === 'Literal') {
    throw new RmlError(`${where} is the literal ${describe(node)}; a term map is a node such as [ rml:reference "…" ] (or use the shortcut property with a constant)`);
  }
  const fail = (p: string) => (n: number): never => {
    throw new RmlError(`${where} has ${n} rml:${p} values; give one`);
  };
  const constant = g.one(node, r('constant'), fail('constant'));
  const reference = g.one(node, r('reference'), fail('reference'));
  const template = g.one(node, r('template'), fail('template'));
  const given = [constant && 'rml:constant', reference && 'rml:reference', template && 'rml:template'].filter(Boolean);
  if (given.length > 1) throw new RmlError(`${where} has ${given.join(' and ')}; a term map takes exactly one of rml:constant, rml:reference, rml:template`);
  if (g.has(node, 'http://semweb.mmlab.be/ns/fnml#functionValue') || g.has(node, r('functionExecution'))) throw new RmlError(`${where} uses a function (RML-FNML / FnO, e.g. a YARRRML function or condition), which this engine does not support; use a template or reference`);

  let expr: Expression;
  if (constant) expr = { kind: 'constant', constant };
  else if (reference) {
    if (reference.termType !== 'Literal') throw new RmlError(`${where}: rml:reference must be a string, not ${describe(reference)}`);
    expr = { kind: 'reference', reference: reference.value };
  } else if (template) {
    if (template.termType !== 'Literal') throw new RmlError(`${where}: rml:template must be a string, not ${describe(template)}`);
    expr = { kind: 'template', template: template.value, parts: parseTemplate(template.value, where) };
  } else expr = { kind: 'none' };

  const tts = g.objects(node, r('termType'));
  if (tts.length > 1) throw new RmlError(`${where} has ${tts.length} rml:termType values; give one`);
  let termType: TermType;
  if (tts.length) {
    const tt = TERM_TYPES[tts[0]!.value];
    if (!tt || tts[0]!.termType !== 'NamedNode') {
      throw new RmlError(`${where}: rml:termType ${describe(tts[0]!)} is not a term type; use rml:IRI, rml:URI, rml:UnsafeIRI, rml:BlankNode or rml:Literal`);
    }
    termType = tt;
  } else {
    const literalish = ['language', 'languageMap', 'datatype', 'datatypeMap'].some((p) => g.has(node, r(p)));
    termType = defaultTermType(role, expr, literalish);
  }

  const def: TermMapDef = { where, expr, termType };
  const lang = g.one(node, r('language'), fail('language'));
  const langMaps = g.objects(node, r('languageMap'));
  const dt = g.one(node, r('datatype'), fail('datatype'));
  const dtMaps = g.objects(node, r('datatypeMap'));
  if (langMaps.length > 1) fail('languageMap')(langMaps.length);
  if (dtMaps.length > 1) fail('datatypeMap')(dtMaps.length);
  const hasLang = !!lang || langMaps.length > 0;
  const hasDt = !!dt || dtMaps.length > 0;
  if (hasLang && hasDt) throw new RmlError(`${where} has both a language and a datatype; a literal has one or the other`);
  if ((hasLang || hasDt) && termType !== 'Literal') {
    throw new RmlError(`${where} has a ${hasLang ? 'language' : 'datatype'} but term type ${termType}; only literal term maps take rml:language/rml:datatype`);
  }
  if (lang && langMaps.length) throw new RmlError(`${where} has both rml:language and rml:languageMap; give one`);
  if (dt && dtMaps.length) throw new RmlError(`${where} has both rml:datatype and rml:datatypeMap; give one`);
  if (lang) {
    if (lang.termType !== 'Literal' || !isValidLanguageTag(lang.value)) {
      throw new RmlError(`${where}: rml:language ${describe(lang)} is not a valid BCP 47 language tag (e.g. "en", "nl-BE")`);
    }
    def.language = lang.value;
  }
  if (dt) {
    if (dt.termType !== 'NamedNode') throw new RmlError(`${where}: rml:datatype ${describe(dt)} must be an IRI such as xsd:integer`);
    def.datatype = dt.value;
  }
  if (langMaps.length) def.languageMap = compileTermMap(g, langMaps[0]!, 'language', `${where}, language map`);
  if (dtMaps.length) def.datatypeMap = compileTermMap(g, dtMaps[0]!, 'datatype', `${where}, datatype map`);
  return finishTermMap(def, role);
}

function defaultTermType(role: Role, expr: Expression, literalish: boolean): TermType {
  if (expr.kind === 'constant') {
    const c = expr.constant;
    return c.termType === 'Literal' ? 'Literal' : c.termType === 'BlankNode' ? 'BlankNode' : 'IRI';
  }
  if (role === 'language' || role === 'join') return 'Literal';
  if (role === 'object' && (expr.kind === 'reference' || literalish)) return 'Literal';
  return 'IRI';
}

const IRI_TYPES = new Set<TermType>(['IRI', 'UnsafeIRI', 'URI']);

/** Role-specific term type rules and constant checks. */
function finishTermMap(def: TermMapDef, role: Role): TermMapDef {
  const { where, termType, expr } = def;
  const allowed: Record<Role, TermType[]> = {
    subject: ['IRI', 'UnsafeIRI', 'URI', 'BlankNode'],
    predicate: ['IRI', 'UnsafeIRI', 'URI'],
    object: ['IRI', 'UnsafeIRI', 'URI', 'BlankNode', 'Literal'],
    graph: ['IRI', 'UnsafeIRI', 'URI', 'BlankNode'],
    datatype: ['IRI', 'UnsafeIRI', 'URI'],
    language: ['Literal'],
    join: ['IRI', 'UnsafeIRI', 'URI', 'BlankNode', 'Literal'],
  };
  if (!allowed[role].includes(termType)) {
    const what = role === 'datatype' ? 'a datatype map' : role === 'language' ? 'a language map' : `a ${role} map`;
    throw new RmlError(`${where}: ${what} cannot have term type rml:${termType}; use ${allowed[role].map((t) => 'rml:' + t).join(', ')}`);
  }
  if (expr.kind === 'constant') {
    const c = expr.constant;
    if (c.termType === 'Literal' && termType !== 'Literal') {
      throw new RmlError(`${where}: the constant ${describe(c)} is a literal, but the term map has term type rml:${termType}${role === 'subject' || role === 'predicate' || role === 'graph' ? ` and a ${role} must be an IRI` : ''}; use an IRI constant or remove rml:termType`);
    }
    if (c.termType === 'NamedNode' && !IRI_TYPES.has(termType) && role !== 'language' && role !== 'join') {
      throw new RmlError(`${where}: the constant ${describe(c)} is an IRI, but the term map has term type rml:${termType}; remove rml:termType or use a literal constant`);
    }
    if (c.termType === 'BlankNode') throw new RmlError(`${where}: a constant cannot be a blank node (${describe(c)}); use an IRI or a literal`);
  }
  if (expr.kind === 'none' && !(termType === 'BlankNode' && (role === 'subject' || role === 'graph' || role === 'object'))) {
    throw new RmlError(`${where} has no rml:constant, rml:reference or rml:template; give one (only blank-node term maps may omit it)`);
  }
  return def;
}

// --- logical sources ------------------------------------------------------------------------------

function compileLogicalSource(g: MappingGraph, tm: Term, name: string): LogicalSourceDef {
  const where = `${name}, logical source`;
  const lss = g.objects(tm, r('logicalSource'));
  const tables = g.objects(tm, r('logicalTable'));
  if (lss.length + tables.length === 0) throw new RmlError(`${name} has no rml:logicalSource; add one with rml:source and rml:referenceFormulation`);
  if (lss.length + tables.length > 1) throw new RmlError(`${name} has ${lss.length + tables.length} logical sources; give exactly one`);
  const ls = (lss[0] ?? tables[0])!;
  if (ls.termType === 'Literal') throw new RmlError(`${where} is the literal ${describe(ls)}; it must be a node with rml:source`);
  const str = (t: Term | undefined, what: string): string | undefined => {
    if (t === undefined) return undefined;
    if (t.termType !== 'Literal') throw new RmlError(`${where}: ${what} must be a string, not ${describe(t)}`);
    return t.value;
  };
  const one = (node: Term, p: string) => g.one(node, p, (n) => {
    throw new RmlError(`${where} has ${n} ${shortIri(p)} values; give one`);
  });

  const iterator = str(one(ls, r('iterator')), 'rml:iterator');
  const rfTerm = one(ls, r('referenceFormulation'));
  let referenceFormulation = rfTerm ? (rfTerm.value.startsWith(RML) ? rfTerm.value.slice(RML.length) : rfTerm.value) : '';
  if (referenceFormulation === 'XPathReferenceFormulation') referenceFormulation = 'XPath';
  const nullValues: string[] = g.objects(ls, r('null')).map((t) => t.value);

  const table = str(one(ls, r('tableName')), 'rml:tableName');
  const query = str(one(ls, r('sqlQuery')) ?? one(ls, r('query')), 'rml:query');
  const src = one(ls, r('source'));

  let source: LogicalSourceDef['source'];
  if (!src) {
    if (table === undefined && query === undefined) throw new RmlError(`${where} has no rml:source; add rml:source [ a rml:RelativePathSource ; rml:path "file.csv" ]`);
    source = { kind: 'database', dsn: '', ...(table !== undefined ? { table } : {}), ...(query !== undefined ? { query } : {}) };
    if (!referenceFormulation) referenceFormulation = query !== undefined ? 'SQL2008Query' : 'SQL2008Table';
  } else if (src.termType === 'Literal') {
    // Legacy RML: rml:source "path/relative/to/the/mapping.csv".
    source = { kind: 'file', path: src.value, root: 'MappingDirectory', encoding: 'utf-8' };
  } else {
    for (const t of g.objects(src, r('null'))) nullValues.push(t.value);
    const dsn = one(src, D2RQ + 'jdbcDSN');
    const path = one(src, r('path')) ?? one(src, CSVW + 'url') ?? one(src, r('url'));
    if (dsn) {
      const user = one(src, D2RQ + 'username');
      const password = one(src, D2RQ + 'password');
      source = {
        kind: 'database',
        dsn: dsn.value,
        ...(user ? { username: user.value } : {}),
        ...(password ? { password: password.value } : {}),
        ...(table !== undefined ? { table } : {}),
        ...(query !== undefined ? { query } : {}),
      };
      if (!referenceFormulation) referenceFormulation = query !== undefined ? 'SQL2008Query' : 'SQL2008Table';
    } else if (path) {
      const rootTerm = one(src, r('root'));
      let root: 'MappingDirectory' | 'CurrentWorkingDirectory' | undefined;
      if (rootTerm) {
        if (rootTerm.value === r('MappingDirectory')) root = 'MappingDirectory';
        else if (rootTerm.value === r('CurrentWorkingDirectory')) root = 'CurrentWorkingDirectory';
        else throw new RmlError(`${where}: rml:root ${describe(rootTerm)} is not rml:MappingDirectory or rml:CurrentWorkingDirectory`);
      }
      const encTerm = one(src, r('encoding')) ?? one(src, CSVW + 'encoding');
      const encoding = encTerm ? encodingLabel(encTerm, where) : 'utf-8';
      const dialect = one(src, CSVW + 'dialect') ?? one(src, r('dialect'));
      const delimTerm = one(src, CSVW + 'delimiter') ?? one(src, r('delimiter')) ?? (dialect ? one(dialect, CSVW + 'delimiter') : undefined);
      const delimiter = str(delimTerm, 'csvw:delimiter');
      if (delimiter !== undefined && delimiter.length !== 1) {
        throw new RmlError(`${where}: csvw:delimiter ${JSON.stringify(delimiter)} must be exactly one character (for a tab write "\\t")`);
      }
      const dialectEnc = dialect ? one(dialect, CSVW + 'encoding') : undefined;
      const compTerm = one(src, r('compression'));
      const compression = compTerm && compTerm.value !== r('none') ? compTerm.value.replace(RML, '') : undefined;
      source = {
        kind: 'file',
        path: path.value,
        ...(root ? { root } : {}),
        encoding: dialectEnc && !encTerm ? encodingLabel(dialectEnc, where) : encoding,
        ...(delimiter !== undefined ? { delimiter } : {}),
        ...(compression ? { compression } : {}),
      };
    } else {
      const types = g.objects(src, RDF_TYPE).map(describe).join(', ');
      throw new RmlError(`${where}: the rml:source ${describe(src)}${types ? ` (${types})` : ''} is neither a file (rml:path) nor a database (d2rq:jdbcDSN); this engine reads files and PostgreSQL`);
    }
  }
  if (!referenceFormulation && source.kind === 'file') {
    if (/\.csv$/i.test(source.path)) referenceFormulation = 'CSV';
    else if (/\.json$/i.test(source.path)) referenceFormulation = 'JSONPath';
    else throw new RmlError(`${where} has no rml:referenceFormulation; add rml:referenceFormulation rml:CSV (or rml:JSONPath)`);
  }
  return { where, referenceFormulation, ...(iterator !== undefined ? { iterator } : {}), nullValues, source };
}

/** rml:encoding rml:UTF-8 / csvw:encoding "windows-1252" -> a TextDecoder label. */
function encodingLabel(t: Term, where: string): string {
  const raw = t.termType === 'NamedNode' ? (t.value.startsWith(RML) ? t.value.slice(RML.length) : t.value) : t.value;
  const label = raw.trim().toLowerCase();
  const known: Record<string, string> = { 'utf-8': 'utf-8', utf8: 'utf-8', 'utf-16': 'utf-16le', utf16: 'utf-16le', 'utf-16le': 'utf-16le', 'utf-16be': 'utf-16be' };
  const out = known[label] ?? label;
  try {
    new TextDecoder(out);
  } catch {
    throw new RmlError(`${where}: encoding ${describe(t)} is not known; use utf-8, utf-16, windows-1252 or latin1`);
  }
  return out;
}
