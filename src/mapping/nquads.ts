import { Writer, type Quad } from 'n3';

const writer = new Writer({ format: 'N-Quads' });

/** Serialises a quad as one N-Quads line (without the newline). */
export function nquad(q: Quad): string {
  return writer.quadToString(q.subject, q.predicate, q.object, q.graph).trimEnd();
}
