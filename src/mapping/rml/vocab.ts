/** Vocabulary IRIs the engine reads. Legacy namespaces are rewritten to these before compiling (graph.ts). */
export const RML = 'http://w3id.org/rml/';
export const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';
export const XSD = 'http://www.w3.org/2001/XMLSchema#';
export const XSD_STRING = XSD + 'string';
export const XSD_INTEGER = XSD + 'integer';
export const XSD_DOUBLE = XSD + 'double';
export const XSD_BOOLEAN = XSD + 'boolean';
export const XSD_DATETIME = XSD + 'dateTime';
export const XSD_HEXBINARY = XSD + 'hexBinary';
export const D2RQ = 'http://www.wiwiss.fu-berlin.de/suhl/bizer/D2RQ/0.1#';
export const CSVW = 'http://www.w3.org/ns/csvw#';

/** rml: local name → full IRI, e.g. r('subjectMap'). */
export function r(local: string): string {
  return RML + local;
}

/** Shortens an IRI for messages: rml:subjectMap instead of the full IRI. */
export function shortIri(iri: string): string {
  if (iri.startsWith(RML)) return 'rml:' + iri.slice(RML.length);
  if (iri.startsWith(XSD)) return 'xsd:' + iri.slice(XSD.length);
  return `<${iri}>`;
}
