/**
 * N-Quads term serialisation for the hot path: the engine builds statement strings directly rather than
 * RDF/JS terms, so escaping lives here and is cheap when nothing needs escaping.
 */

const LITERAL_SPECIAL = /["\\\n\r]/;
const LITERAL_SPECIAL_G = /["\\\n\r]/g;
const LITERAL_ESC: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r' };

export function escapeLiteral(s: string): string {
  return LITERAL_SPECIAL.test(s) ? s.replace(LITERAL_SPECIAL_G, (c) => LITERAL_ESC[c]!) : s;
}

const IRI_SPECIAL = /[\x00-\x20<>"{}|^`\\]/;
const IRI_SPECIAL_G = /[\x00-\x20<>"{}|^`\\]/g;

/**
 * `<iri>`. Characters N-Quads forbids inside IRIREF are written as \uXXXX escapes; only rml:UnsafeIRI
 * terms can contain them (other IRIs are validated first).
 */
export function iriTerm(iri: string): string {
  if (!IRI_SPECIAL.test(iri)) return '<' + iri + '>';
  return '<' + iri.replace(IRI_SPECIAL_G, (c) => '\\u' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')) + '>';
}

const LABEL_SAFE = /^[A-Za-z0-9]*$/;

/**
 * `_:b…` for a blank node named by a value. The label is an injective encoding of the value (every
 * non-alphanumeric character becomes _hex_) so equal values give the same node across triples maps and
 * different values never collide. Fresh blank nodes use the `_:n` prefix, so the two never clash.
 */
export function blankTerm(value: string): string {
  if (LABEL_SAFE.test(value)) return '_:b' + value;
  let out = '_:b';
  for (const ch of value) {
    out += LABEL_SAFE.test(ch) ? ch : '_' + ch.codePointAt(0)!.toString(16) + '_';
  }
  return out;
}

export function literalTerm(value: string, language?: string, datatype?: string): string {
  const lex = '"' + escapeLiteral(value) + '"';
  if (language) return lex + '@' + language;
  if (datatype) return lex + '^^' + iriTerm(datatype);
  return lex;
}
