/**
 * The mapping document as a small read-only graph: subject -> predicate -> objects. Only used while
 * compiling (never on the hot path), so it keeps RDF/JS terms. Legacy vocabularies (RML 1.x
 * http://semweb.mmlab.be/ns/rml#, R2RML http://www.w3.org/ns/r2rml#, ql:, the old CSVW-less source
 * literal) are rewritten to http://w3id.org/rml/ on the way in, so the compiler reads one vocabulary.
 */

import type { Quad, Term } from '@rdfjs/types';
import { DataFactory } from 'n3';
import { RML } from './vocab.js';

const LEGACY_NAMESPACES = ['http://semweb.mmlab.be/ns/rml#', 'http://www.w3.org/ns/r2rml#', 'http://semweb.mmlab.be/ns/ql#'];

/** Local names that changed between the legacy vocabularies and RML-Core/IO. */
const LEGACY_RENAMES: Record<string, string> = {
  column: 'reference',
  JSONPath: 'JSONPath',
};

function rewriteIri(iri: string): string {
  for (const ns of LEGACY_NAMESPACES) {
    if (iri.startsWith(ns)) {
      const local = iri.slice(ns.length);
      return RML + (LEGACY_RENAMES[local] ?? local);
    }
  }
  return iri;
}

function rewriteTerm(t: Term): Term {
  if (t.termType === 'NamedNode') {
    const v = rewriteIri(t.value);
    return v === t.value ? t : DataFactory.namedNode(v);
  }
  return t;
}

/** A term's identity within the mapping graph: IRIs as is, blank nodes as _:label. */
export function termKey(t: Term): string {
  return t.termType === 'BlankNode' ? '_:' + t.value : t.termType === 'NamedNode' ? t.value : JSON.stringify(t);
}

export class MappingGraph {
  private readonly bySubject = new Map<string, Map<string, Term[]>>();
  private readonly byObject = new Map<string, Array<{ subject: Term; predicate: string }>>();
  readonly subjects = new Map<string, Term>();

  constructor(quads: Iterable<Quad>) {
    for (const q of quads) {
      const s = rewriteTerm(q.subject);
      const p = rewriteIri(q.predicate.value);
      const o = rewriteTerm(q.object);
      const sk = termKey(s);
      this.subjects.set(sk, s);
      let preds = this.bySubject.get(sk);
      if (!preds) this.bySubject.set(sk, (preds = new Map()));
      const list = preds.get(p);
      if (!list) preds.set(p, [o]);
      else if (!list.some((x) => x.equals(o))) list.push(o);
      if (o.termType !== 'Literal') {
        const ok = termKey(o);
        const back = this.byObject.get(ok);
        if (back) back.push({ subject: s, predicate: p });
        else this.byObject.set(ok, [{ subject: s, predicate: p }]);
      }
    }
  }

  objects(subject: Term, predicate: string): Term[] {
    return this.bySubject.get(termKey(subject))?.get(predicate) ?? [];
  }

  /** The single object of (subject, predicate), or undefined; more than one is an error the caller words. */
  one(subject: Term, predicate: string, fail: (count: number) => never): Term | undefined {
    const os = this.objects(subject, predicate);
    if (os.length > 1) fail(os.length);
    return os[0];
  }

  has(subject: Term, predicate: string): boolean {
    return this.objects(subject, predicate).length > 0;
  }

  predicates(subject: Term): string[] {
    return [...(this.bySubject.get(termKey(subject))?.keys() ?? [])];
  }

  /** Subjects that point at `object` with `predicate`. */
  referrers(object: Term, predicate: string): Term[] {
    return (this.byObject.get(termKey(object)) ?? []).filter((r) => r.predicate === predicate).map((r) => r.subject);
  }

  subjectsWith(predicate: string, object?: string): Term[] {
    const out: Term[] = [];
    for (const [k, preds] of this.bySubject) {
      const os = preds.get(predicate);
      if (os && (object === undefined || os.some((o) => o.termType === 'NamedNode' && o.value === object))) out.push(this.subjects.get(k)!);
    }
    return out;
  }
}
