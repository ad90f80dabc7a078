import { Parser } from 'n3';
import { ConfigError, readYamlFile } from '../config/load.js';
import { nquad } from './nquads.js';
import { expand } from '../ontology/namespaces.js';

/** An object (or class) specification as written in config/mappings/*.yaml. */
type ObjectSpec =
  | { iri: string }
  | { literal: string; datatype?: string; lang?: string }
  | { constant: string }
  | { lookup: string; key: string; datatype?: string };

interface BlockSpec {
  subject: string;
  when?: { column: string; in: string[] };
  a?: string[] | ObjectSpec;
  properties?: Record<string, ObjectSpec | ObjectSpec[]>;
}

interface RulesFile {
  version: number;
  ontology: { name: string; version: string };
  prefixes: Record<string, string>;
  lookups?: Record<string, Record<string, string | string[]>>;
  tables: Record<string, BlockSpec[]>;
  static?: string;
}

/** A term to produce from a row: the kind of term and a function of the row giving its lexical forms. */
export interface TermRule {
  kind: 'iri' | 'literal';
  datatype?: string;
  lang?: string;
  /** Lexical values for this row; empty when a referenced column is empty (=> no triple). */
  values(row: Record<string, string>): string[];
}

export interface BlockRule {
  subject: TermRule;
  when?: { column: string; in: Set<string> };
  pairs: Array<{ predicate: string; object: TermRule }>;
}

/** Compiled mapping rules: per staging table, the blocks to execute for each accepted row. */
export interface MappingRules {
  file: string;
  ontology: { name: string; version: string };
  prefixes: Record<string, string>;
  tables: Map<string, BlockRule[]>;
  /** The reference statements every snapshot carries, as N-Quads lines. */
  staticLines: string[];
}

const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';

/** Loads and compiles a mapping file once; rule errors name the table, block and key to fix. */
export function loadMappingRules(file: string, baseIri: string): MappingRules {
  const raw = readYamlFile(file, 'mapping rules file') as RulesFile;
  const where = (table: string, i: number) => `${file}: tables.${table}[${i}]`;
  const term = (spec: ObjectSpec, at: string): TermRule => {
    if ('iri' in spec) return iriTemplate(expand(spec.iri, raw.prefixes), baseIri);
    if ('constant' in spec) {
      const iri = expand(spec.constant, raw.prefixes);
      return { kind: 'iri', values: () => [iri] };
    }
    if ('literal' in spec) {
      const fill = template(spec.literal, false);
      return { kind: 'literal', datatype: spec.datatype && expand(spec.datatype, raw.prefixes), lang: spec.lang, values: (r) => nonNull(fill(r)) };
    }
    if ('lookup' in spec) {
      const table = raw.lookups?.[spec.lookup];
      if (!table) throw new Error(`${at}: lookup "${spec.lookup}" is not defined under lookups`);
      const key = template(spec.key, false);
      const datatype = spec.datatype && expand(spec.datatype, raw.prefixes);
      const resolved = new Map(Object.entries(table).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map((x) => (datatype ? x : expand(x, raw.prefixes)))]));
      return {
        kind: datatype ? 'literal' : 'iri',
        datatype,
        values: (r) => {
          const k = key(r);
          return k === null ? [] : (resolved.get(k) ?? []);
        },
      };
    }
    throw new Error(`${at}: an object needs one of iri, literal, constant or lookup`);
  };

  const tables = new Map<string, BlockRule[]>();
  for (const [table, blocks] of Object.entries(raw.tables)) {
    tables.set(
      table,
      blocks.map((b, i) => {
        const at = where(table, i);
        if (!b.subject) throw new Error(`${at}: a block needs a subject template`);
        const pairs: BlockRule['pairs'] = [];
        const classes = b.a === undefined ? [] : Array.isArray(b.a) ? b.a.map((c) => ({ constant: c })) : [b.a];
        for (const c of classes) pairs.push({ predicate: RDF_TYPE, object: term(c, `${at}.a`) });
        for (const [p, objs] of Object.entries(b.properties ?? {})) {
          for (const o of Array.isArray(objs) ? objs : [objs]) pairs.push({ predicate: expand(p, raw.prefixes), object: term(o, `${at}.properties.${p}`) });
        }
        return {
          subject: iriTemplate(expand(b.subject, raw.prefixes), baseIri),
          when: b.when && { column: b.when.column, in: new Set(b.when.in.map(String)) },
          pairs,
        };
      }),
    );
  }
  const prefixLines = Object.entries(raw.prefixes).map(([p, ns]) => `@prefix ${p}: <${ns}> .`);
  let staticLines: string[];
  try {
    staticLines = new Parser({ format: 'Turtle' }).parse(`${prefixLines.join('\n')}\n${raw.static ?? ''}`).map(nquad);
  } catch (e) {
    throw new ConfigError(file, [{ path: 'static', found: `invalid Turtle: ${(e as Error).message}`, expected: 'Turtle statements (prefixed names cannot contain "/"; declare a prefix for such IRIs)' }]);
  }
  return { file, ontology: raw.ontology, prefixes: raw.prefixes, tables, staticLines };
}

function nonNull(v: string | null): string[] {
  return v === null ? [] : [v];
}

/** Compiles "a/{x}/b" into a function of the row; null when a referenced column is empty. */
function template(text: string, encode: boolean): (row: Record<string, string>) => string | null {
  const parts = text.split(/(\{[^}]+\})/).filter((p) => p !== '');
  return (row) => {
    let out = '';
    for (const p of parts) {
      if (p.startsWith('{') && p.endsWith('}')) {
        const v = row[p.slice(1, -1)];
        if (v === undefined || v === '') return null;
        out += encode ? encodeIriValue(v) : v;
      } else out += p;
    }
    return out;
  };
}

function iriTemplate(text: string, baseIri: string): TermRule {
  const fill = template(text, true);
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(text);
  return { kind: 'iri', values: (r) => nonNull(fill(r)).map((v) => (absolute ? v : baseIri + v)) };
}

/** Percent-encodes everything outside RFC 3987 iunreserved, as R2RML/RML IRI-safe templates do. */
function encodeIriValue(v: string): string {
  return Array.from(v)
    .map((ch) => (/[A-Za-z0-9\-._~]/.test(ch) || ch.codePointAt(0)! > 0x7f ? ch : Array.from(new TextEncoder().encode(ch), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')))
    .join('');
}
