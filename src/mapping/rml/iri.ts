/**
 * IRI helpers for generated terms: percent-encoding of template values, absolute/valid checks, and the
 * base-IRI rule. RML-Core resolves relative IRIs by plain string concatenation with the base IRI (not
 * RFC 3986 resolution) so the source value can be read back from the IRI.
 */

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** Characters that can never appear in an IRI (RFC 3987) nor in an N-Quads IRIREF. */
const FORBIDDEN = /[\x00-\x20<>"{}|^`\\]/;

function isUcschar(cp: number): boolean {
  if (cp >= 0xa0 && cp <= 0xd7ff) return true;
  if (cp >= 0xf900 && cp <= 0xfdcf) return true;
  if (cp >= 0xfdf0 && cp <= 0xffef) return true;
  if (cp >= 0x10000 && cp <= 0xeffff) {
    if ((cp & 0xffff) > 0xfffd) return false;
    return cp < 0xe0000 || cp >= 0xe1000;
  }
  return false;
}

const encoder = new TextEncoder();
function pct(ch: string): string {
  let out = '';
  for (const b of encoder.encode(ch)) out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  return out;
}

/**
 * The IRI-safe form of a template value: every character outside iunreserved is percent-encoded
 * (UTF-8). With `asciiOnly` (term type rml:URI) non-ASCII letters are encoded too.
 */
export function iriSafe(value: string, asciiOnly = false): string {
  if (UNRESERVED.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      out += UNRESERVED.test(ch) ? ch : pct(ch);
    } else {
      out += !asciiOnly && isUcschar(cp) ? ch : pct(ch);
    }
  }
  return out;
}

export function isAbsoluteIri(s: string): boolean {
  return SCHEME.test(s);
}

const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

/** A usable absolute IRI: a scheme, no character that IRIs forbid (spaces, quotes, braces...), and every % starting an escape. */
export function isValidIri(s: string): boolean {
  return SCHEME.test(s) && !FORBIDDEN.test(s) && !BAD_PERCENT.test(s);
}

/** Relative IRIs get the base IRI prepended (RML-Core: concatenation, not RFC 3986 resolution). */
export function withBase(value: string, base: string): string {
  return SCHEME.test(value) ? value : base + value;
}
