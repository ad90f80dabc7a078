/**
 * The compiled form of a mapping document: plain data describing triples maps, term maps and logical
 * sources, with every structural check of RML-Core already done. terms.ts turns term maps into
 * closures; run.ts executes triples maps grouped by logical source.
 */

import type { Term } from '@rdfjs/types';
import type { TemplatePart } from './template.js';

export type TermType = 'IRI' | 'UnsafeIRI' | 'URI' | 'BlankNode' | 'Literal';

/** How a term map (or an expression map such as rml:childMap) gets its value. */
export type Expression =
  | { kind: 'constant'; constant: Term }
  | { kind: 'reference'; reference: string }
  | { kind: 'template'; template: string; parts: TemplatePart[] }
  /** A blank-node subject or graph map without expression: a fresh blank node per record. */
  | { kind: 'none' };

export interface TermMapDef {
  /** For messages: "triples map <…>, predicate-object map 2, object map". */
  where: string;
  expr: Expression;
  termType: TermType;
  /** Literal term maps only. */
  datatype?: string;
  datatypeMap?: TermMapDef;
  language?: string;
  languageMap?: TermMapDef;
}

/** A graph map; rml:defaultGraph is `{ defaultGraph: true }`. */
export type GraphMapDef = TermMapDef & { defaultGraph?: boolean };

export interface JoinDef {
  child: TermMapDef;
  parent: TermMapDef;
}

export interface RefObjectMapDef {
  where: string;
  /** Id of the parent triples map. */
  parent: string;
  joins: JoinDef[];
}

export interface PredicateObjectMapDef {
  where: string;
  predicates: TermMapDef[];
  objects: TermMapDef[];
  refObjects: RefObjectMapDef[];
  graphs: GraphMapDef[];
}

/** A logical source before path resolution (which depends on the run's directories). */
export interface LogicalSourceDef {
  where: string;
  referenceFormulation: string;
  iterator?: string;
  nullValues: string[];
  source:
    | {
        kind: 'file';
        path: string;
        root?: 'MappingDirectory' | 'CurrentWorkingDirectory';
        encoding: string;
        delimiter?: string;
        compression?: string;
      }
    | { kind: 'database'; dsn: string; username?: string; password?: string; table?: string; query?: string };
}

export interface TriplesMapDef {
  /** The triples map's IRI or blank node label (_:…), unique in the document. */
  id: string;
  /** For messages: "triples map <http://…/TriplesMap1>". */
  name: string;
  source: LogicalSourceDef;
  subject: TermMapDef;
  classes: string[];
  subjectGraphs: GraphMapDef[];
  poms: PredicateObjectMapDef[];
  /** rml:baseIRI of this triples map, overriding the run's base IRI. */
  baseIri?: string;
}
