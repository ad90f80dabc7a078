import type * as RDF from '@rdfjs/types';
import { DataFactory, Parser, Store, type Quad } from 'n3';
import { Validator } from 'shacl-engine';
import type { ParameterValue } from '../indicators/bind.js';
import { IndexedDataset } from '../validation/dataset.js';
import { ExchangeError } from './types.js';

/**
 * `param_values` of a validated-query request, checked against the credential's `paramsSHACL`.
 * The protocol leaves the format open, so three forms are read: a JSON object `{name: value}`
 * (value a string, number, boolean, `{value, datatype}` or `{iri}`), that object as a JSON string,
 * or a Turtle graph whose predicates are the shape's parameter paths.
 */

const SH = 'http://www.w3.org/ns/shacl#';
const XSD = 'http://www.w3.org/2001/XMLSchema#';
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';
const { namedNode, literal, blankNode, quad } = DataFactory;
const factory = { ...DataFactory, dataset: (quads?: RDF.Quad[]) => new Store(quads as Quad[] | undefined) };
const PATH = '$.body.param_values';

interface ParamShape {
  name: string;
  path: string;
  datatype?: string;
  iri: boolean;
}

/** The parameter values as given, before any shape: name -> value. Empty when none were sent. */
export function readParamValues(raw: unknown): Record<string, ParameterValue> {
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw === 'string') {
    const t = raw.trim();
    if (t.startsWith('{')) {
      try {
        return fromObject(JSON.parse(t) as unknown);
      } catch (e) {
        if (e instanceof ExchangeError) throw e;
        throw bad(`${PATH} starts like JSON but does not parse: ${(e as Error).message}. Send a JSON object {"name": "value"} or Turtle`);
      }
    }
    return fromTurtle(t);
  }
  return fromObject(raw);
}

function fromObject(o: unknown): Record<string, ParameterValue> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad(`${PATH} must be an object of parameter name to value (or Turtle text)`);
  const out: Record<string, ParameterValue> = {};
  for (const [name, v] of Object.entries(o as Record<string, unknown>)) {
    const at = `${PATH}.${name}`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw bad(`${at}: "${name}" is not a SPARQL variable name (letters, digits, _)`, at);
    if (typeof v === 'string') out[name] = { value: v };
    else if (typeof v === 'number' && Number.isFinite(v)) out[name] = { value: String(v), datatype: Number.isInteger(v) ? `${XSD}integer` : `${XSD}decimal` };
    else if (typeof v === 'boolean') out[name] = { value: String(v), datatype: `${XSD}boolean` };
    else if (isObj(v) && typeof v.iri === 'string') out[name] = { iri: v.iri };
    else if (isObj(v) && typeof v.value === 'string') out[name] = { value: v.value, ...(typeof v.datatype === 'string' ? { datatype: v.datatype } : {}) };
    else throw bad(`${at} must be a string, number, boolean, {"value", "datatype"} or {"iri"}`, at);
  }
  return out;
}

/** Turtle: every triple's predicate local name is the parameter name, its object the value. */
function fromTurtle(text: string): Record<string, ParameterValue> {
  let quads: Quad[];
  try {
    quads = new Parser().parse(text);
  } catch (e) {
    throw bad(`${PATH} is neither a JSON object nor Turtle: ${(e as Error).message}`);
  }
  const out: Record<string, ParameterValue> = {};
  for (const q of quads) {
    if (q.predicate.value === RDF_TYPE) continue;
    const name = localName(q.predicate.value);
    out[name] = q.object.termType === 'NamedNode' ? { iri: q.object.value } : { value: q.object.value, datatype: (q.object as RDF.Literal).datatype?.value };
  }
  return out;
}

/**
 * Checks the values against the credential's paramsSHACL (sh:targetClass or sh:targetNode; one
 * property shape per parameter, named by sh:name or its path's local name) with shacl-engine, and
 * returns them typed as the shape says. Without a shape, no parameter may be sent.
 */
export async function checkParamValues(paramsSHACL: string | undefined, values: Record<string, ParameterValue>, where: string): Promise<Record<string, ParameterValue>> {
  if (!paramsSHACL || paramsSHACL.trim() === '') {
    const names = Object.keys(values);
    if (names.length > 0) throw new ExchangeError('e.p.req.invalid-parameters', 422, `${where} has no paramsSHACL, so it takes no parameters; remove ${names.map((n) => `"${n}"`).join(', ')} from param_values`, PATH);
    return {};
  }
  let shapes: Store;
  try {
    shapes = new Store(new Parser().parse(paramsSHACL));
  } catch (e) {
    throw new ExchangeError('e.p.req.invalid-params-shacl', 422, `${where}: paramsSHACL is not valid Turtle (${(e as Error).message}); the issuer must correct the credential`, '$.credentialSubject.validatedQuery.paramsSHACL');
  }
  const props = paramShapes(shapes);
  const typed: Record<string, ParameterValue> = {};
  for (const [name, v] of Object.entries(values)) {
    const p = props.find((s) => s.name === name);
    if (!p) throw new ExchangeError('e.p.req.invalid-parameters', 422, `${PATH}.${name} is not a parameter of ${where}; its paramsSHACL defines ${props.map((s) => `"${s.name}"`).join(', ') || 'none'}`, `${PATH}.${name}`);
    typed[name] = 'iri' in v ? v : p.iri ? { iri: v.value } : { value: v.value, datatype: v.datatype ?? p.datatype ?? `${XSD}string` };
  }

  const data = new Store();
  const focus = focusOf(shapes, data);
  for (const [name, v] of Object.entries(typed)) {
    const p = props.find((s) => s.name === name)!;
    data.addQuad(quad(focus, namedNode(p.path), 'iri' in v ? namedNode(v.iri) : literal(v.value, namedNode(v.datatype ?? `${XSD}string`))));
  }
  const report = await new Validator(new IndexedDataset(shapes), { factory }).validate({ dataset: new IndexedDataset(data) });
  const problems = report.results.map((r) => {
    const path = r.path?.[0]?.predicates[0]?.value;
    const name = props.find((s) => s.path === path)?.name ?? (path ? localName(path) : '?');
    const component = r.constraintComponent.value.slice(SH.length).replace(/ConstraintComponent$/, '');
    const value = r.value?.term?.value;
    return `"${name}"${value !== undefined ? ` = "${value}"` : ''} violates sh:${component[0]!.toLowerCase()}${component.slice(1)}${component === 'MinCount' ? ' (a value is required)' : ''}`;
  });
  if (problems.length > 0) throw new ExchangeError('e.p.req.invalid-parameters', 422, `param_values for ${where} do not conform to its paramsSHACL: ${problems.join('; ')}. Send values that fit the shape`, PATH);
  return typed;
}

function paramShapes(shapes: Store): ParamShape[] {
  const out: ParamShape[] = [];
  for (const q of shapes.getQuads(null, namedNode(`${SH}path`), null, null)) {
    if (q.object.termType !== 'NamedNode') continue;
    const s = q.subject;
    const name = shapes.getQuads(s, namedNode(`${SH}name`), null, null)[0]?.object.value ?? localName(q.object.value);
    const datatype = shapes.getQuads(s, namedNode(`${SH}datatype`), null, null)[0]?.object.value;
    const iri = shapes.getQuads(s, namedNode(`${SH}nodeKind`), namedNode(`${SH}IRI`), null).length > 0 || shapes.getQuads(s, namedNode(`${SH}class`), null, null).length > 0;
    out.push({ name, path: q.object.value, ...(datatype ? { datatype } : {}), iri });
  }
  return out;
}

/** The node the values hang off: typed with the shape's target class, or the shape's target node. */
function focusOf(shapes: Store, data: Store): RDF.Quad_Subject {
  const cls = shapes.getQuads(null, namedNode(`${SH}targetClass`), null, null)[0]?.object;
  if (cls) {
    const f = blankNode('parameters');
    data.addQuad(quad(f, namedNode(RDF_TYPE), cls as RDF.Quad_Object));
    return f;
  }
  const node = shapes.getQuads(null, namedNode(`${SH}targetNode`), null, null)[0]?.object;
  if (node && node.termType === 'NamedNode') return node;
  throw new ExchangeError('e.p.req.invalid-params-shacl', 422, 'paramsSHACL names no sh:targetClass or sh:targetNode, so no parameter can be checked against it; the issuer must add a target', '$.credentialSubject.validatedQuery.paramsSHACL');
}

function localName(iri: string): string {
  return iri.slice(Math.max(iri.lastIndexOf('#'), iri.lastIndexOf('/')) + 1);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(message: string, path = PATH): ExchangeError {
  return new ExchangeError('e.p.req.invalid-parameters', 422, message, path);
}
