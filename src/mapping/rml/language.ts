/**
 * BCP 47 (RFC 5646) language-tag syntax check for rml:language and language maps. Syntax only: the
 * subtags are not looked up in the IANA registry, so "xx-YY" passes and "english" or "en_US" do not.
 */

const LANGTAG =
  '[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8}' + // language (with extlang)
  '';
const TAG = new RegExp(
  '^(?:' +
    '(?:' + LANGTAG + ')' +
    '(?:-[A-Za-z]{4})?' + // script
    '(?:-(?:[A-Za-z]{2}|[0-9]{3}))?' + // region
    '(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*' + // variants
    '(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*' + // extensions
    '(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?' + // private use
    '|[Xx](?:-[A-Za-z0-9]{1,8})+' + // private use only
    '|i-(?:ami|bnn|default|enochian|hak|klingon|lux|mingo|navajo|pwn|tao|tay|tsu)|en-GB-oed|sgn-(?:BE-FR|BE-NL|CH-DE)' + // grandfathered
  ')$',
);

export function isValidLanguageTag(tag: string): boolean {
  return TAG.test(tag);
}
