/**
 * One error type for everything the RML engine refuses, so callers can tell a mapping or data problem
 * (which the vendor fixes) from a bug (which we fix). Messages always say where (triples map, term map,
 * source, row) and what to change.
 */
export class RmlError extends Error {
  override readonly name = 'RmlError';
  constructor(message: string) {
    super(message);
  }
}

/** Thrown for features the engine deliberately does not implement (XML, compression, ...). */
export class RmlNotSupportedError extends RmlError {
  constructor(message: string) {
    super(message);
  }
}
