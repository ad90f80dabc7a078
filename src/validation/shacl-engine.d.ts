// Types for the parts of shacl-engine (https://github.com/rdf-ext/shacl-engine, no bundled types) the
// agent uses: a validator built once from a shapes dataset, and the results of its validation report.
declare module 'shacl-engine' {
  import type * as RDF from '@rdfjs/types';

  /** One step of a parsed SHACL path. */
  export interface PathStep {
    quantifier: 'one' | 'zeroOrMore' | 'oneOrMore' | 'zeroOrOne';
    start: 'subject' | 'object';
    end: 'subject' | 'object';
    predicates: RDF.Term[];
  }

  /** A grapoi pointer: one or more terms in a dataset. */
  export interface Pointer {
    readonly term: RDF.Term | undefined;
    readonly terms: RDF.Term[];
  }

  export interface Shape {
    readonly ptr: Pointer;
    readonly message: RDF.Literal[];
    readonly path: PathStep[] | null;
    /** Compiles the shape's constraints (lazily, once). */
    readonly shapeValidator: unknown;
    readonly targetResolver: unknown;
  }

  export interface ValidationResult {
    readonly severity: RDF.NamedNode;
    readonly focusNode: Pointer;
    readonly path: PathStep[] | null | undefined;
    readonly value?: Pointer;
    readonly message: RDF.Literal[];
    readonly constraintComponent: RDF.NamedNode;
    readonly shape: Shape;
    readonly args: Record<string, unknown>;
    readonly results: ValidationResult[];
  }

  export interface ValidationReport {
    readonly conforms: boolean;
    readonly results: ValidationResult[];
  }

  export interface ValidatorOptions {
    factory: RDF.DataFactory & { dataset?: (quads?: RDF.Quad[]) => RDF.DatasetCore };
    debug?: boolean;
    details?: boolean;
    coverage?: boolean;
    trace?: boolean;
  }

  export class Validator {
    constructor(shapes: RDF.DatasetCore, options: ValidatorOptions);
    /** Every shape found in the shapes dataset, keyed by its term. */
    readonly shapes: { values(): IterableIterator<Shape>; readonly size: number };
    validate(data: { dataset: RDF.DatasetCore; terms?: Iterable<RDF.Term> }, shapes?: Array<{ terms: RDF.Term[] }>): Promise<ValidationReport>;
  }
}
