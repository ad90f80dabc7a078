import type * as RDF from '@rdfjs/types';
import type { Quad, Store, Term } from 'n3';

/**
 * A read-only RDF/JS DatasetCore over an n3 Store whose match() returns a plain array view. n3's own
 * Store.match() builds a readable stream and registers an observer per call, which makes SHACL
 * validation (thousands of small matches) several times slower.
 */
class QuadArray implements RDF.DatasetCore<Quad, Quad> {
  constructor(private readonly quads: Quad[]) {}

  get size(): number {
    return this.quads.length;
  }

  [Symbol.iterator](): Iterator<Quad> {
    return this.quads[Symbol.iterator]();
  }

  has(q: RDF.Quad): boolean {
    return this.quads.some((x) => x.equals(q));
  }

  match(s?: RDF.Term | null, p?: RDF.Term | null, o?: RDF.Term | null, g?: RDF.Term | null): QuadArray {
    return new QuadArray(this.quads.filter((q) => (!s || q.subject.equals(s)) && (!p || q.predicate.equals(p)) && (!o || q.object.equals(o)) && (!g || q.graph.equals(g))));
  }

  add(): this {
    throw new Error('read-only dataset');
  }

  delete(): this {
    throw new Error('read-only dataset');
  }
}

export class IndexedDataset implements RDF.DatasetCore<Quad, Quad> {
  constructor(readonly store: Store) {}

  get size(): number {
    return this.store.size;
  }

  [Symbol.iterator](): Iterator<Quad> {
    return this.store.getQuads(null, null, null, null)[Symbol.iterator]();
  }

  has(q: RDF.Quad): boolean {
    return this.store.countQuads(q.subject as Term, q.predicate as Term, q.object as Term, q.graph as Term) > 0;
  }

  match(s?: RDF.Term | null, p?: RDF.Term | null, o?: RDF.Term | null, g?: RDF.Term | null): QuadArray {
    return new QuadArray(this.store.getQuads((s ?? null) as Term | null, (p ?? null) as Term | null, (o ?? null) as Term | null, (g ?? null) as Term | null));
  }

  add(): this {
    throw new Error('read-only dataset');
  }

  delete(): this {
    throw new Error('read-only dataset');
  }
}
