/**
 * Term maps -> closures. Each closure takes a record's `values` and returns the N-Quads form of the
 * generated term(s): a string for one term (the common case, no allocation but the string), an array
 * when a reference yields several values (JSONPath), or null when a reference has no value. Data errors
 * (an invalid IRI from a value, an array where a value is expected, a bad language tag from the data)
 * throw RmlError; the runner decides whether that aborts the run or skips the term.
 */

import { naturalDatatype } from '../../sources/pg.js';
import { RmlError } from './errors.js';
import { iriSafe, isValidIri } from './iri.js';
import { compileJsonPath } from './jsonpath.js';
import { isValidLanguageTag } from './language.js';
import type { TermMapDef } from './model.js';
import type { TemplatePart } from './template.js';
import { blankTerm, escapeLiteral, iriTerm } from './nquads.js';
import { shortIri, XSD_BOOLEAN, XSD_DOUBLE, XSD_INTEGER } from './vocab.js';
import { lexicalCheck } from './datatypes.js';

/** A value read from a record: CSV gives strings, JSON and SQL keep numbers and booleans. */
export type Val = string | number | boolean | bigint;
/** One value, several values, or none. */
export type Vals = Val | Val[] | null;
export type ValueFn = (values: any) => Vals;
/** N-Quads term(s), or null for none. */
export type Terms = string | string[] | null;
export type TermFn = (values: any) => Terms;

export interface TermContext {
  /** Reference formulation of the logical source the term map is evaluated on. */
  formulation: string;
  nullValues: readonly string[];
  baseIri: string;
  /** Prefix of fresh blank-node labels, unique per run. */
  freshPrefix: string;
}

export function str(v: Val): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? numberLexical(v) : String(v);
}

function numberLexical(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return n > 0 ? 'INF' : n < 0 ? '-INF' : 'NaN';
  return String(n).replace('e+', 'E').replace('e', 'E');
}

// --- references -----------------------------------------------------------------------------------

export function isSqlFormulation(f: string): boolean {
  return f === 'SQL2008Table' || f === 'SQL2008Query';
}

/** Column name of a CSV/SQL reference: a delimited identifier "Name" loses its quotes. */
export function columnOf(reference: string, formulation: string): string {
  if (isSqlFormulation(formulation) && reference.length >= 2 && reference.startsWith('"') && reference.endsWith('"')) {
    return reference.slice(1, -1).replace(/""/g, '"');
  }
  return reference;
}

export function compileReference(reference: string, ctx: TermContext, where: string): ValueFn {
  const nulls = ctx.nullValues;
  if (ctx.formulation === 'JSONPath') {
    const path = compileJsonPath(reference, where);
    const keep = (x: unknown): boolean => {
      if (x === null || x === undefined) return false;
      if (typeof x === 'object') {
        throw new RmlError(`${where}: reference "${reference}" selects ${Array.isArray(x) ? 'an array' : 'an object'}, not a value; point it at the values (e.g. "${reference}[*]")`);
      }
      return nulls.length === 0 || !nulls.includes(str(x as Val));
    };
    return (values) => {
      const found = path(values);
      if (found.length === 1) {
        const x = found[0];
        return keep(x) ? (x as Val) : null;
      }
      if (found.length === 0) return null;
      const out: Val[] = [];
      for (const x of found) if (keep(x)) out.push(x as Val);
      return out.length === 0 ? null : out.length === 1 ? out[0]! : out;
    };
  }
  if (ctx.formulation === 'CSV' || isSqlFormulation(ctx.formulation) || ctx.formulation === '') {
    const col = columnOf(reference, ctx.formulation);
    if (nulls.length === 0) {
      return (values) => {
        const x = values[col];
        return x === undefined || x === null ? null : x;
      };
    }
    if (nulls.length === 1) {
      const n = nulls[0]!;
      return (values) => {
        const x = values[col];
        return x === undefined || x === null || x === n || (typeof x !== 'string' && str(x) === n) ? null : x;
      };
    }
    return (values) => {
      const x = values[col];
      return x === undefined || x === null || nulls.includes(typeof x === 'string' ? x : str(x)) ? null : x;
    };
  }
  throw new RmlError(`${where}: reference formulation ${ctx.formulation} is not supported by this engine; use rml:CSV, rml:JSONPath, rml:SQL2008Table or rml:SQL2008Query`);
}

/** The raw value(s) of an expression, before term construction. `encode` transforms template slot values. */
function compileValues(def: TermMapDef, ctx: TermContext, encode: ((s: string) => string) | undefined): ValueFn {
  const e = def.expr;
  switch (e.kind) {
    case 'constant': {
      const v = e.constant.value;
      return () => v;
    }
    case 'reference':
      return compileReference(e.reference, ctx, def.where);
    case 'template':
      return compileTemplate(e.parts, ctx, def.where, encode);
    case 'none':
      return () => null;
  }
}

function compileTemplate(parts: ReadonlyArray<{ text: string } | { reference: string }>, ctx: TermContext, where: string, encode: ((s: string) => string) | undefined): ValueFn {
  const texts: string[] = [];
  const refs: ValueFn[] = [];
  let buf = '';
  for (const p of parts) {
    if ('text' in p) buf += p.text;
    else {
      texts.push(buf);
      buf = '';
      refs.push(compileReference(p.reference, ctx, where));
    }
  }
  const tail = buf;
  const enc = encode ?? ((s: string) => s);
  if (refs.length === 0) {
    return () => tail;
  }
  if (refs.length === 1) {
    const [t0] = texts as [string];
    const [r0] = refs as [ValueFn];
    return (values) => {
      const v = r0(values);
      if (v === null) return null;
      if (typeof v !== 'object') return t0 + enc(str(v)) + tail;
      return v.map((x) => t0 + enc(str(x)) + tail);
    };
  }
  if (refs.length === 2) {
    const [t0, t1] = texts as [string, string];
    const [r0, r1] = refs as [ValueFn, ValueFn];
    return (values) => {
      const a = r0(values);
      if (a === null) return null;
      const b = r1(values);
      if (b === null) return null;
      if (typeof a !== 'object' && typeof b !== 'object') return t0 + enc(str(a)) + t1 + enc(str(b)) + tail;
      return product([a, b], [t0, t1], tail, enc);
    };
  }
  return (values) => {
    const vals: Array<Val | Val[]> = [];
    let multi = false;
    for (const r of refs) {
      const v = r(values);
      if (v === null) return null;
      if (typeof v === 'object') multi = true;
      vals.push(v);
    }
    if (!multi) {
      let s = '';
      for (let i = 0; i < vals.length; i++) s += texts[i]! + enc(str(vals[i] as Val));
      return s + tail;
    }
    return product(vals, texts, tail, enc);
  };
}

/** Every combination of multi-valued template slots (cartesian product). */
function product(vals: Array<Val | Val[]>, texts: string[], tail: string, enc: (s: string) => string): string[] {
  let acc = [''];
  vals.forEach((v, i) => {
    const list = typeof v === 'object' ? v : [v];
    const next: string[] = [];
    for (const prefix of acc) for (const x of list) next.push(prefix + texts[i]! + enc(str(x)));
    acc = next;
  });
  return acc.map((s) => s + tail);
}

// --- terms ----------------------------------------------------------------------------------------

function mapTerms(v: Vals, f: (x: Val) => string | null): Terms {
  if (v === null) return null;
  if (typeof v !== 'object') return f(v);
  const out: string[] = [];
  for (const x of v) {
    const t = f(x);
    if (t !== null) out.push(t);
  }
  return out.length === 0 ? null : out.length === 1 ? out[0]! : out;
}

const asciiSafe = (s: string) => iriSafe(s, true);

/**
 * Raw IRI strings (not N-Quads terms) of an IRI-valued term map: used for datatype maps and, wrapped,
 * for IRI terms. Relative IRIs get the base IRI prepended; IRI and URI term types are validated.
 */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const IRI_FORBIDDEN = /[\x00-\x20<>"{}|^`\\]/;

/**
 * Whether a template's generated IRIs are absolute, decided from its fixed start: slot values are
 * percent-encoded (no ":"), so only the text before the first slot can make a scheme.
 */
function staticScheme(first: string): 'absolute' | 'relative' | 'unknown' {
  if (SCHEME.test(first)) return 'absolute';
  if (first.length > 0 && (!/^[A-Za-z]/.test(first) || /[^A-Za-z0-9+.-]/.test(first))) return 'relative';
  return 'unknown';
}

/**
 * For an IRI template with encoded slots whose absoluteness is known up front: the parts with the base
 * IRI already prepended, and whether the output needs no validation at all.
 */
function resolveIriTemplate(def: TermMapDef, ctx: TermContext): { parts: TemplatePart[]; safe: boolean } | undefined {
  const e = def.expr;
  if (e.kind !== 'template' || def.termType === 'UnsafeIRI') return undefined;
  const first = e.parts.length > 0 && 'text' in e.parts[0]! ? e.parts[0].text : '';
  const scheme = staticScheme(first);
  if (scheme === 'unknown') return undefined;
  const rest = first === '' ? e.parts : e.parts.slice(1);
  const prefix = scheme === 'relative' ? ctx.baseIri + first : first;
  const parts: TemplatePart[] = [{ text: prefix }, ...rest];
  const texts = parts.filter((p): p is { text: string } => 'text' in p).map((p) => p.text);
  const safe = SCHEME.test(prefix) && texts.every((t) => !IRI_FORBIDDEN.test(t) && !/%(?![0-9A-Fa-f]{2})/.test(t) && (def.termType !== 'URI' || !/[^\x00-\x7f]/.test(t)));
  return { parts, safe };
}

/**
 * Raw IRI strings (not N-Quads terms) of an IRI-valued term map: used for datatype maps and join keys.
 * Relative IRIs get the base IRI prepended; IRI and URI term types are validated.
 */
export function compileIriValues(def: TermMapDef, ctx: TermContext): ValueFn {
  return compileIri(def, ctx, false);
}

function compileIri(def: TermMapDef, ctx: TermContext, asTerms: boolean): ValueFn {
  const tt = def.termType;
  const e = def.expr;
  if (e.kind === 'constant') {
    const v = asTerms ? iriTerm(e.constant.value) : e.constant.value;
    return () => v;
  }
  const encode = e.kind === 'template' ? (tt === 'UnsafeIRI' ? undefined : tt === 'URI' ? asciiSafe : iriSafe) : undefined;
  const resolved = resolveIriTemplate(def, ctx);
  if (resolved?.safe) {
    // Nothing to check: build the N-Quads term in the template itself.
    if (!asTerms) return compileTemplate(resolved.parts, ctx, def.where, encode);
    const parts = resolved.parts.map((p) => ({ ...p }));
    (parts[0] as { text: string }).text = '<' + (parts[0] as { text: string }).text;
    const last = parts[parts.length - 1]!;
    if ('text' in last) last.text += '>';
    else parts.push({ text: '>' });
    return compileTemplate(parts, ctx, def.where, encode);
  }
  const values = resolved ? compileTemplate(resolved.parts, ctx, def.where, encode) : compileValues(def, ctx, encode);
  const base = ctx.baseIri;
  const where = def.where;
  const validate = tt !== 'UnsafeIRI';
  const fix = (x: Val): string => {
    let s = str(x);
    if (!resolved && !SCHEME.test(s)) s = base + s;
    if (validate && (!isValidIri(s) || (tt === 'URI' && /[^\x00-\x7f]/.test(s)))) {
      throw new RmlError(`${where}: the generated ${tt === 'URI' ? 'URI' : 'IRI'} <${s}> is not valid (it has a character IRIs do not allow, or no scheme); fix the source value, or use a template (values are percent-encoded) or rml:termType rml:UnsafeIRI`);
    }
    return asTerms ? iriTerm(s) : s;
  };
  return (v) => {
    const x = values(v);
    if (x === null) return null;
    if (typeof x !== 'object') return fix(x);
    return x.map(fix);
  };
}

export function compileLexicalValues(def: TermMapDef, ctx: TermContext): (values: any) => string | string[] | null {
  const values = compileValues(def, ctx, undefined);
  return (v) => {
    const x = values(v);
    if (x === null) return null;
    if (typeof x !== 'object') return str(x);
    return x.map(str);
  };
}

export function compileTermMap(def: TermMapDef, ctx: TermContext): TermFn {
  switch (def.termType) {
    case 'IRI':
    case 'URI':
    case 'UnsafeIRI': {
      return compileIri(def, ctx, true) as TermFn;
    }
    case 'BlankNode': {
      if (def.expr.kind === 'none') {
        let n = 0;
        const prefix = '_:' + ctx.freshPrefix;
        return () => prefix + ++n;
      }
      const values = compileValues(def, ctx, undefined);
      return (v) => mapTerms(values(v), (x) => blankTerm(str(x)));
    }
    case 'Literal':
      return compileLiteral(def, ctx);
  }
}

const XSD_STRING_DT = 'http://www.w3.org/2001/XMLSchema#string';

function compileLiteral(def: TermMapDef, ctx: TermContext): TermFn {
  const e = def.expr;
  if (e.kind === 'constant' && e.constant.termType === 'Literal' && !def.datatype && !def.language && !def.datatypeMap && !def.languageMap) {
    const c = e.constant;
    const lex = '"' + escapeLiteral(c.value) + '"';
    const t = c.language ? lex + '@' + c.language : c.datatype && c.datatype.value !== XSD_STRING_DT ? lex + '^^' + iriTerm(c.datatype.value) : lex;
    return () => t;
  }
  const values = compileValues(def, ctx, undefined);
  // Static suffix: a fixed language or datatype.
  if (def.language) {
    const suffix = '"@' + def.language;
    return (v) => mapTerms(values(v), (x) => '"' + escapeLiteral(str(x)) + suffix);
  }
  if (def.datatype) {
    const suffix = def.datatype === XSD_STRING_DT ? '"' : '"^^' + iriTerm(def.datatype);
    const check = lexicalCheck(def.datatype);
    if (!check) return (v) => mapTerms(values(v), (x) => '"' + escapeLiteral(str(x)) + suffix);
    const dt = def.datatype;
    const where = def.where;
    return (v) =>
      mapTerms(values(v), (x) => {
        const lex = str(x);
        if (!check(lex)) illTyped(where, lex, dt);
        return '"' + escapeLiteral(lex) + suffix;
      });
  }
  if (def.languageMap) {
    const langs = compileLexicalValues(def.languageMap, ctx);
    const where = def.languageMap.where;
    return (v) => {
      const ls = langs(v);
      if (ls === null) return null;
      const tags = typeof ls === 'string' ? [ls] : ls;
      for (const l of tags) {
        if (!isValidLanguageTag(l)) throw new RmlError(`${where}: "${l}" is not a valid BCP 47 language tag (e.g. "en", "nl-BE"); fix the source value`);
      }
      const lits = values(v);
      if (lits === null) return null;
      const out: string[] = [];
      for (const x of typeof lits === 'object' ? lits : [lits]) for (const l of tags) out.push('"' + escapeLiteral(str(x)) + '"@' + l);
      return out.length === 1 ? out[0]! : out;
    };
  }
  if (def.datatypeMap) {
    const dts = compileIriValues(def.datatypeMap, ctx);
    return (v) => {
      const ds = dts(v);
      if (ds === null) return null;
      const types = (typeof ds === 'object' ? ds : [ds]) as string[];
      const lits = values(v);
      if (lits === null) return null;
      const out: string[] = [];
      for (const x of typeof lits === 'object' ? lits : [lits]) {
        const lex = str(x);
        for (const d of types) {
          if (lexicalCheck(d)?.(lex) === false) illTyped(def.where, lex, d);
          out.push('"' + escapeLiteral(lex) + (d === XSD_STRING_DT ? '"' : '"^^' + iriTerm(d)));
        }
      }
      return out.length === 1 ? out[0]! : out;
    };
  }
  // No datatype given: a reference gets the natural datatype of its value (JSON numbers and
  // booleans, typed SQL columns); everything else is a plain string.
  if (e.kind === 'reference' && ctx.formulation === 'JSONPath') {
    return (v) => mapTerms(values(v), jsonLiteral);
  }
  if (e.kind === 'reference' && isSqlFormulation(ctx.formulation)) {
    const col = columnOf(e.reference, ctx.formulation);
    return (v) => {
      const dt = naturalDatatype(v, col);
      const suffix = dt ? '"^^<' + dt + '>' : '"';
      return mapTerms(values(v), (x) => '"' + escapeLiteral(sqlLexical(x, dt)) + suffix);
    };
  }
  return (v) => mapTerms(values(v), (x) => '"' + escapeLiteral(str(x)) + '"');
}

function illTyped(where: string, lex: string, datatype: string): never {
  throw new RmlError(`${where}: ${JSON.stringify(lex)} is not a valid ${shortIri(datatype)} value; fix the source value or the datatype`);
}

function jsonLiteral(x: Val): string {
  if (typeof x === 'string') return '"' + escapeLiteral(x) + '"';
  if (typeof x === 'number') return '"' + numberLexical(x) + (Number.isInteger(x) ? '"^^<' + XSD_INTEGER + '>' : '"^^<' + XSD_DOUBLE + '>');
  if (typeof x === 'boolean') return '"' + x + '"^^<' + XSD_BOOLEAN + '>';
  return '"' + String(x) + '"^^<' + XSD_INTEGER + '>';
}

/** Canonical lexical forms for SQL values with a natural datatype (R2RML natural mapping). */
function sqlLexical(x: Val, dt: string | undefined): string {
  if (dt === XSD_DOUBLE && typeof x === 'number') {
    if (!Number.isFinite(x)) return x > 0 ? 'INF' : x < 0 ? '-INF' : 'NaN';
    const [m, ex] = x.toExponential().split('e') as [string, string];
    return (m.includes('.') ? m : m + '.0') + 'E' + Number(ex);
  }
  return str(x);
}
