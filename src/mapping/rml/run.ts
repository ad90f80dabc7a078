/**
 * Executes a compiled mapping. Triples maps are grouped by logical source so each distinct source is
 * read once; records stream through batch by batch and every triples map of the group is applied to
 * each record. Joins (referencing object maps with join conditions) index their parent triples map's
 * subjects by the parent values while the parent's source is read; a child record whose parent index is
 * not complete yet (a source joined with itself, or a cycle between sources) is parked and resolved as
 * soon as the index is. Only join data is held in memory.
 */

import { randomBytes } from 'node:crypto';
import { RmlError } from './errors.js';
import type { GraphMapDef, TermMapDef, TriplesMapDef } from './model.js';
import { iriTerm } from './nquads.js';
import { distinctSources, readSource, resolveSource, sourceKey, type Directories } from './sources.js';
import { columnOf, compileIriValues, compileLexicalValues, compileReference, compileTermMap, isSqlFormulation, str, type TermContext, type TermFn, type Terms, type ValueFn } from './terms.js';
import type { LogicalSourceSpec, OpenSource, RecordOrigin, SourceRecord } from './types.js';
import { RDF_TYPE } from './vocab.js';

export interface EngineRunOptions extends Directories {
  baseIri: string;
  openSource?: OpenSource;
  emit(statement: string, origin: RecordOrigin): void;
  onRecordError?(error: RmlError, origin: RecordOrigin): void;
}

export interface EngineStats {
  statements: number;
  sources: Array<{ label: string; records: number; statements: number }>;
}

/** String value(s) of a join side. */
type KeyFn = (values: any) => string | string[] | null;

interface Parked {
  keys: string[];
  subjects: string[];
  predicates: string[];
  graphs: string[];
  origin: RecordOrigin;
  group: Group;
}

interface JoinIndex {
  parent: Tm;
  parentKeys: KeyFn[];
  map: Map<string, string[]>;
  complete: boolean;
  parked: Parked[];
}

interface Ref {
  where: string;
  parent: Tm;
  /** Child join sides; empty for a referencing object map without join condition. */
  childKeys: KeyFn[];
  index?: JoinIndex;
}

interface Pom {
  where: string;
  predicates: TermFn[];
  objects: TermFn[];
  refs: Ref[];
  graphs: TermFn[];
}

interface Tm {
  def: TriplesMapDef;
  group: Group;
  /** Position in its group (index into the per-record subject array). */
  slot: number;
  subject: TermFn;
  classes: string[];
  subjectGraphs: TermFn[];
  poms: Pom[];
  /** Indexes this triples map is the parent of (filled while reading its source). */
  indexes: JoinIndex[];
  /** Columns referenced on this triples map's source (CSV/SQL), checked against the first record. */
  columns: Set<string>;
}

interface Group {
  spec: LogicalSourceSpec;
  tms: Tm[];
  records: number;
  statements: number;
}

const RDF_TYPE_TERM = iriTerm(RDF_TYPE);

export async function execute(defs: TriplesMapDef[], opts: EngineRunOptions): Promise<EngineStats> {
  const resolved = defs.map((d) => resolveSource(d.source, opts));
  const { specs } = distinctSources(resolved);
  const groups = new Map<string, Group>();
  for (const spec of specs) groups.set(sourceKey(spec), { spec, tms: [], records: 0, statements: 0 });

  const freshPrefix = 'n' + randomBytes(4).toString('hex') + 'x';
  const tms: Tm[] = defs.map((def, i) => {
    const group = groups.get(sourceKey(resolved[i]!))!;
    const ctx: TermContext = {
      formulation: group.spec.referenceFormulation,
      nullValues: group.spec.nullValues,
      baseIri: def.baseIri ?? opts.baseIri,
      freshPrefix: freshPrefix + i + 'x',
    };
    const columns = new Set<string>();
    const term = (m: TermMapDef): TermFn => {
      collectColumns(m, ctx.formulation, columns);
      return compileTermMap(m, ctx);
    };
    const graph = (g: GraphMapDef): TermFn => {
      if (g.defaultGraph) return () => '';
      const f = term(g);
      return (v) => {
        const t = f(v);
        return t === null ? null : typeof t === 'string' ? ' ' + t : t.map((x) => ' ' + x);
      };
    };
    const tm: Tm = {
      def,
      group,
      slot: group.tms.length,
      subject: term(def.subject),
      classes: def.classes.map(iriTerm),
      subjectGraphs: def.subjectGraphs.map(graph),
      poms: [],
      indexes: [],
      columns,
    };
    group.tms.push(tm);
    return tm;
  });
  const byId = new Map(tms.map((t) => [t.def.id, t]));

  // Second pass: predicate-object maps (referencing object maps need every triples map compiled).
  const indexes = new Map<string, JoinIndex>();
  tms.forEach((tm, i) => {
    const def = tm.def;
    const ctx: TermContext = {
      formulation: tm.group.spec.referenceFormulation,
      nullValues: tm.group.spec.nullValues,
      baseIri: def.baseIri ?? opts.baseIri,
      freshPrefix: freshPrefix + i + 'y',
    };
    const term = (m: TermMapDef): TermFn => {
      collectColumns(m, ctx.formulation, tm.columns);
      return compileTermMap(m, ctx);
    };
    tm.poms = def.poms.map((p) => ({
      where: p.where,
      predicates: p.predicates.map(term),
      objects: p.objects.map(term),
      graphs: p.graphs.map((g): TermFn => {
        if (g.defaultGraph) return () => '';
        const f = term(g);
        return (v) => {
          const t = f(v);
          return t === null ? null : typeof t === 'string' ? ' ' + t : t.map((x) => ' ' + x);
        };
      }),
      refs: p.refObjects.map((r): Ref => {
        const parent = byId.get(r.parent)!;
        if (r.joins.length === 0) {
          if (parent.group !== tm.group) {
            throw new RmlError(
              `${r.where}: the parent triples map reads logical source ${parent.group.spec.label} and this one reads ${tm.group.spec.label}; without rml:joinCondition both must use the identical logical source. Add rml:joinCondition [ rml:child "…" ; rml:parent "…" ]`,
            );
          }
          return { where: r.where, parent, childKeys: [] };
        }
        const childKeys = r.joins.map((j) => {
          collectColumns(j.child, ctx.formulation, tm.columns);
          return keyFn(j.child, ctx);
        });
        const sig = parent.def.id + '\u0000' + JSON.stringify(r.joins.map((j) => ({ ...j.parent, where: undefined })));
        let index = indexes.get(sig);
        if (!index) {
          const pctx: TermContext = {
            formulation: parent.group.spec.referenceFormulation,
            nullValues: parent.group.spec.nullValues,
            baseIri: parent.def.baseIri ?? opts.baseIri,
            freshPrefix: freshPrefix + 'j',
          };
          const parentKeys = r.joins.map((j) => {
            collectColumns(j.parent, pctx.formulation, parent.columns);
            return keyFn(j.parent, pctx);
          });
          index = { parent, parentKeys, map: new Map(), complete: false, parked: [] };
          indexes.set(sig, index);
          parent.indexes.push(index);
        }
        return { where: r.where, parent, childKeys, index };
      }),
    }));
  });

  const order = orderGroups([...groups.values()]);
  let total = 0;
  const emit = opts.emit;
  const onRecordError = opts.onRecordError;

  for (const group of order) {
    const custom = opts.openSource?.(group.spec);
    const stream = custom ?? readSource(group.spec);
    const label = group.spec.label;
    const gtms = group.tms;
    const n = gtms.length;
    const subjects: Terms[] = new Array(n).fill(null);
    const checkColumns =
      custom === undefined && (group.spec.referenceFormulation === 'CSV' || isSqlFormulation(group.spec.referenceFormulation));
    let first = true;
    let statements = 0;

    // Statement output for one record; counts per group.
    const out = (s: string, origin: RecordOrigin) => {
      statements++;
      emit(flat(s), origin);
    };

    for await (const batch of stream as AsyncIterable<readonly SourceRecord[]>) {
      if (first && batch.length > 0) {
        first = false;
        if (checkColumns) checkReferences(group, batch[0]!.values);
      }
      for (const record of batch) {
        const values = record.values;
        const origin: RecordOrigin = { source: label, row: record.row };
        const shapeError = (record as { shapeError?: string }).shapeError;
        if (shapeError !== undefined) {
          // A CSV row that does not fit the header: its values cannot be trusted.
          fail(new RmlError(`line ${(record as { line?: number }).line ?? '?'}: the row ${shapeError}`), origin, onRecordError);
          continue;
        }
        // Subjects first: referencing object maps without join read their parent's subject of this record.
        for (let i = 0; i < n; i++) {
          try {
            subjects[i] = gtms[i]!.subject(values);
          } catch (e) {
            subjects[i] = null;
            fail(e, origin, onRecordError);
          }
        }
        for (let i = 0; i < n; i++) {
          const s = subjects[i]!;
          if (s === null) continue;
          const tm = gtms[i]!;
          const sList = typeof s === 'string' ? undefined : s;
          try {
            // Parent side of joins.
            for (const index of tm.indexes) addToIndex(index, values, s);
            // Subject graphs and classes.
            let sGraphs: string[] | undefined;
            if (tm.subjectGraphs.length) sGraphs = evalGraphs(tm.subjectGraphs, values, undefined);
            if (tm.classes.length) {
              const gs = sGraphs && sGraphs.length ? sGraphs : DEFAULT_GRAPH;
              for (const c of tm.classes) {
                for (const g of gs) {
                  if (sList) for (const x of sList) out(x + ' ' + RDF_TYPE_TERM + ' ' + c + g + ' .', origin);
                  else out(s + ' ' + RDF_TYPE_TERM + ' ' + c + g + ' .', origin);
                }
              }
            }
            for (const pom of tm.poms) {
              try {
                const graphs = pom.graphs.length ? evalGraphs(pom.graphs, values, sGraphs) : sGraphs && sGraphs.length ? sGraphs : DEFAULT_GRAPH;
                const gs = graphs.length ? graphs : DEFAULT_GRAPH;
                // Fast path: one predicate, one graph, single-valued terms.
                if (pom.predicates.length === 1 && gs.length === 1 && !sList) {
                  const p = pom.predicates[0]!(values);
                  if (p === null) continue;
                  if (typeof p === 'string') {
                    const prefix = s + ' ' + p + ' ';
                    const suffix = gs[0] + ' .';
                    for (const of of pom.objects) {
                      const o = of(values);
                      if (o === null) continue;
                      if (typeof o === 'string') out(prefix + o + suffix, origin);
                      else for (const x of o) out(prefix + x + suffix, origin);
                    }
                    if (pom.refs.length) emitRefs(pom, values, [s as string], [p], gs, subjects, origin, out, group);
                    continue;
                  }
                }
                const subs = sList ?? [s as string];
                const preds = collect(pom.predicates, values);
                if (preds.length === 0) continue;
                for (const of of pom.objects) {
                  const o = of(values);
                  if (o === null) continue;
                  const objs = typeof o === 'string' ? [o] : o;
                  for (const x of subs) for (const p of preds) for (const y of objs) for (const g of gs) out(x + ' ' + p + ' ' + y + g + ' .', origin);
                }
                if (pom.refs.length) emitRefs(pom, values, subs, preds, gs, subjects, origin, out, group);
              } catch (e) {
                fail(e, origin, onRecordError);
              }
            }
          } catch (e) {
            fail(e, origin, onRecordError);
          }
        }
      }
      group.records += batch.length;
    }
    group.statements += statements;
    total += statements;
    // This source is read: its triples maps' indexes are complete.
    for (const tm of gtms) {
      for (const index of tm.indexes) {
        index.complete = true;
      }
    }
    for (const tm of gtms) for (const index of tm.indexes) total += resolveParked(index, emit);
  }
  return { statements: total, sources: order.map((g) => ({ label: g.spec.label, records: g.records, statements: g.statements })) };

  function emitRefs(
    pom: Pom,
    values: unknown,
    subs: string[],
    preds: string[],
    gs: string[],
    subjects: Terms[],
    origin: RecordOrigin,
    out: (s: string, o: RecordOrigin) => void,
    group: Group,
  ): void {
    for (const ref of pom.refs) {
      if (!ref.index) {
        const ps = subjects[ref.parent.slot];
        if (ps === null || ps === undefined) continue;
        const objs = typeof ps === 'string' ? [ps] : ps;
        for (const x of subs) for (const p of preds) for (const y of objs) for (const g of gs) out(x + ' ' + p + ' ' + y + g + ' .', origin);
        continue;
      }
      const keys = joinKeys(ref.childKeys, values);
      if (keys === null) continue;
      const index = ref.index;
      if (!index.complete) {
        index.parked.push({ keys, subjects: subs, predicates: preds, graphs: gs, origin, group });
        continue;
      }
      for (const key of keys) {
        const parents = index.map.get(key);
        if (!parents) continue;
        for (const x of subs) for (const p of preds) for (const y of parents) for (const g of gs) out(x + ' ' + p + ' ' + y + g + ' .', origin);
      }
    }
  }
}

const DEFAULT_GRAPH: string[] = [''];

/**
 * Statements are built by concatenation, which V8 keeps as a tree of string pieces. Reading a character
 * flattens it into one string: a little copying now, but a caller that keeps millions of statements
 * holds one object each instead of five, which makes garbage collection several times cheaper.
 */
function flat(s: string): string {
  s.charCodeAt(s.length - 1);
  return s;
}

function resolveParked(index: JoinIndex, emit: (s: string, o: RecordOrigin) => void): number {
  let count = 0;
  for (const p of index.parked) {
    let here = 0;
    for (const key of p.keys) {
      const parents = index.map.get(key);
      if (!parents) continue;
      for (const x of p.subjects) for (const pr of p.predicates) for (const y of parents) for (const g of p.graphs) {
        emit(flat(x + ' ' + pr + ' ' + y + g + ' .'), p.origin);
        here++;
      }
    }
    p.group.statements += here;
    count += here;
  }
  index.parked = [];
  return count;
}

/** A data error already attributed to its record (thrown on when there is no onRecordError). */
class RecordError extends RmlError {}

function fail(e: unknown, origin: RecordOrigin, onRecordError: ((error: RmlError, origin: RecordOrigin) => void) | undefined): void {
  if (e instanceof RecordError) throw e;
  if (e instanceof RmlError) {
    const err = new RecordError(`${origin.source}, record ${origin.row}: ${e.message}`);
    if (onRecordError) {
      onRecordError(err, origin);
      return;
    }
    throw err;
  }
  throw e;
}

function collect(fns: TermFn[], values: unknown, out: string[] = []): string[] {
  for (const f of fns) {
    const t = f(values);
    if (t === null) continue;
    if (typeof t === 'string') {
      if (!out.includes(t)) out.push(t);
    } else for (const x of t) if (!out.includes(x)) out.push(x);
  }
  return out;
}

/** Graph suffixes (' <g>' or '' for the default graph), union with the subject's. */
function evalGraphs(fns: TermFn[], values: unknown, inherited: string[] | undefined): string[] {
  return collect(fns, values, inherited ? [...inherited] : []);
}

function keyFn(def: TermMapDef, ctx: TermContext): KeyFn {
  if (def.expr.kind === 'constant') {
    const v = def.expr.constant.value;
    return () => v;
  }
  if (def.termType === 'IRI' || def.termType === 'URI' || def.termType === 'UnsafeIRI') {
    const f = compileIriValues(def, ctx);
    return f as KeyFn;
  }
  if (def.expr.kind === 'reference') {
    const f: ValueFn = compileReference(def.expr.reference, ctx, def.where);
    return (v) => {
      const x = f(v);
      return x === null ? null : typeof x === 'object' ? x.map(str) : str(x);
    };
  }
  // Templates (and the rest): the generated lexical value(s).
  return compileLexicalValues(def, ctx);
}

/** The join keys of a record: one string per combination of the join sides' values. */
function joinKeys(fns: KeyFn[], values: unknown): string[] | null {
  if (fns.length === 1) {
    const k = fns[0]!(values);
    return k === null ? null : typeof k === 'string' ? [k] : k;
  }
  let acc: string[] = [''];
  for (let i = 0; i < fns.length; i++) {
    const k = fns[i]!(values);
    if (k === null) return null;
    const list = typeof k === 'string' ? [k] : k;
    const next: string[] = [];
    for (const a of acc) for (const b of list) next.push(i === 0 ? b : a + '\u0001' + b);
    acc = next;
  }
  return acc;
}

function addToIndex(index: JoinIndex, values: unknown, subject: string | string[]): void {
  const keys = joinKeys(index.parentKeys, values);
  if (keys === null) return;
  const subs = typeof subject === 'string' ? [subject] : subject;
  for (const key of keys) {
    const list = index.map.get(key);
    if (!list) index.map.set(key, [...subs]);
    else for (const s of subs) if (list.length > 64 || !list.includes(s)) list.push(s);
  }
}

/** Parents before children where possible; cycles and self-joins are handled by parking. */
function orderGroups(groups: Group[]): Group[] {
  const deps = new Map<Group, Set<Group>>();
  for (const g of groups) {
    const d = new Set<Group>();
    for (const tm of g.tms) for (const pom of tm.poms) for (const ref of pom.refs) if (ref.index && ref.parent.group !== g) d.add(ref.parent.group);
    deps.set(g, d);
  }
  const done = new Set<Group>();
  const out: Group[] = [];
  while (out.length < groups.length) {
    const next = groups.find((g) => !done.has(g) && [...deps.get(g)!].every((d) => done.has(d))) ?? groups.find((g) => !done.has(g))!;
    done.add(next);
    out.push(next);
  }
  return out;
}

function collectColumns(def: TermMapDef, formulation: string, into: Set<string>): void {
  if (formulation !== 'CSV' && !isSqlFormulation(formulation)) return;
  const e = def.expr;
  if (e.kind === 'reference') into.add(columnOf(e.reference, formulation));
  else if (e.kind === 'template') for (const p of e.parts) if ('reference' in p) into.add(columnOf(p.reference, formulation));
  if (def.datatypeMap) collectColumns(def.datatypeMap, formulation, into);
  if (def.languageMap) collectColumns(def.languageMap, formulation, into);
}

/** A reference to a column the source does not have is a mapping error, not "no value". */
function checkReferences(group: Group, values: unknown): void {
  if (values === null || typeof values !== 'object') return;
  const have = values as Record<string, unknown>;
  for (const tm of group.tms) {
    for (const col of tm.columns) {
      if (!(col in have)) {
        const known = Object.keys(have);
        throw new RmlError(
          `${tm.def.name} references column "${col}", which logical source ${group.spec.label} does not have; its columns are ${known.map((k) => JSON.stringify(k)).join(', ')}. Fix the reference (names are case-sensitive)`,
        );
      }
    }
  }
}
