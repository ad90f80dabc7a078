import { DataFactory } from 'rdf-data-factory';
import sparqljs from 'sparqljs';

const factory = new DataFactory();
const XSD = 'http://www.w3.org/2001/XMLSchema#';

/** A parameter value: an IRI, or a literal with its datatype (xsd:string when absent). */
export type ParameterValue = { iri: string } | { value: string; datatype?: string };

/**
 * Binds parameters by replacing the free variables of that name everywhere in the query,
 * subqueries included (a VALUES block or BIND at the top would not reach into subqueries).
 * A parameter may not be a projected or BIND-assigned variable: that would change the query's shape.
 */
export function bindParameters(sparql: string, params: Record<string, ParameterValue>): string {
  const parsed = new sparqljs.Parser({ factory }).parse(sparql);
  const names = new Set(Object.keys(params));
  const used = new Set<string>();
  const replace = (node: unknown, path: string): unknown => {
    if (Array.isArray(node)) return node.map((n, i) => replace(n, `${path}[${i}]`));
    if (node === null || typeof node !== 'object') return node;
    const obj = node as Record<string, unknown> & { termType?: string; value?: string; type?: string };
    if (obj.termType === 'Variable' && names.has(obj.value!)) {
      used.add(obj.value!);
      return toTerm(params[obj.value!]!);
    }
    if (obj.type === 'bind' && isVariableNamed(obj.variable, names)) {
      throw new Error(`parameter ?${(obj.variable as { value: string }).value} is assigned by a BIND in the query; remove that BIND so the parameter can be supplied`);
    }
    if (obj.termType) return node; // other RDF/JS terms are immutable leaves
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'variables' && obj.queryType === 'SELECT' && Array.isArray(v)) {
        for (const p of v) if (isVariableNamed(p, names) || isVariableNamed((p as { variable?: unknown }).variable, names)) throw new Error(`parameter is projected by the query; parameters must be free variables of the WHERE clause`);
      }
      out[k] = replace(v, `${path}.${k}`);
    }
    return out;
  };
  const bound = replace(parsed, '') as typeof parsed;
  const missing = [...names].filter((n) => !used.has(n));
  if (missing.length > 0) throw new Error(`parameter ${missing.map((n) => `?${n}`).join(', ')} does not occur in the query`);
  return new sparqljs.Generator().stringify(bound);
}

function isVariableNamed(v: unknown, names: Set<string>): boolean {
  return typeof v === 'object' && v !== null && (v as { termType?: string }).termType === 'Variable' && names.has((v as { value: string }).value);
}

function toTerm(v: ParameterValue) {
  if ('iri' in v) return factory.namedNode(v.iri);
  return factory.literal(v.value, factory.namedNode(v.datatype ?? `${XSD}string`));
}

/** The free variables a query expects as parameters, from its "# Parameters: ?a, ?b" header line. */
export function declaredParameters(sparql: string): string[] {
  const line = /^#\s*Parameters:\s*(.*)$/m.exec(sparql)?.[1] ?? '';
  return [...line.matchAll(/\?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}
