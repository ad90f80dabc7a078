/**
 * Query normalisation before a query reaches an engine:
 *
 * 1. Parameters are substituted: every free variable named like a parameter becomes the constant,
 *    everywhere (subqueries, BIND and FILTER expressions included). A BIND that assigns a parameter
 *    (the official texts carry them as commented examples; an active one would conflict) is removed.
 * 2. Expressions over constants are folded with our own XSD arithmetic (./xsd.ts): date ± duration,
 *    date - date, integer/decimal arithmetic (left-associative, as the grammar says), comparisons,
 *    STR, CONCAT, IF, xsd:date() casts. A BIND that folds to a constant also makes its variable a
 *    constant for the later BINDs and all FILTERs of the same group, so the official quarter bounds
 *    (?start_periode, ?eind_periode) become constant dates.
 * 3. Engine-specific rewrites for measured defects (docs/research/engine-anchors.md):
 *    - comunica: typed xsd:duration literals become xsd:yearMonthDuration / xsd:dayTimeDuration;
 *    - oxigraph: nested binary arithmetic is serialised with explicit parentheses (Oxigraph parses
 *      `+ -` and `* /` chains right-associatively), and a SELECT reusing an aggregate alias in the
 *      same projection is wrapped in a subquery (Oxigraph rejects it);
 *    - jena: an inline VALUES block that shares no variable with the patterns before it in its group
 *      becomes a sub-select over that VALUES alone (Jena evaluates such a table first and re-runs
 *      everything before it once per table row; see isolateValuesTables).
 *
 * `applied` lists every rewrite, for the audit log.
 */
import { DataFactory } from 'rdf-data-factory';
import sparqljs from 'sparqljs';
import {
  XSD,
  compareDates,
  durationParts,
  formatDate,
  formatDayTimeDuration,
  parseDate,
  parseDuration,
  subtractDates,
  addDurationToDate,
  subtractDurationFromDate,
  type XsdDate,
  type XsdDuration,
} from './xsd.js';

const factory = new DataFactory();

export type Engine = 'comunica' | 'oxigraph' | 'jena' | 'generic';

/** A parameter value: a number (xsd:integer / xsd:decimal), a plain string, an IRI or a typed literal. */
export type ParamValue = number | string | boolean | { iri: string } | { literal: string; datatype?: string; lang?: string };

export interface NormalisedQuery {
  text: string;
  applied: string[];
}

/** Engines that reject a SELECT expression reusing an aggregate alias of the same SELECT. */
const REJECTS_ALIAS_REUSE: ReadonlySet<Engine> = new Set<Engine>(['oxigraph']);

// sparqljs' AST is a wide union; this module walks it structurally.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

export function normaliseQuery(query: string, params: Record<string, ParamValue>, engine: Engine): NormalisedQuery {
  const parser = new sparqljs.Parser({ factory, skipUngroupedVariableCheck: true });
  const parsed = parser.parse(query) as Node;
  if (parsed.type !== 'query') throw new Error('normaliseQuery: expected a query, got an update');
  const applied: string[] = [];
  const gen = new sparqljs.Generator().createGenerator() as { toExpression(e: Node): string };
  const show = (e: Node): string => {
    try {
      return gen.toExpression(e).replace(/\s+/g, ' ').trim();
    } catch {
      return '(expression)';
    }
  };

  let q = substituteParameters(parsed, params, applied, show);
  q = foldQuery(q, applied, show);
  if (engine === 'comunica') {
    q = rewriteDurations(q, applied);
    q = hoistOptionalBinds(q, applied, show);
  }
  if (REJECTS_ALIAS_REUSE.has(engine)) q = rewriteAliasReuse(q, true, applied);
  if (engine === 'jena') q = isolateValuesTables(q, applied);
  if (engine === 'oxigraph') {
    for (const w of oxigraphDateWarnings(q, show)) applied.push(w);
    const n = countNestedArithmetic(q);
    if (n > 0) applied.push(`oxigraph: ${n} nested arithmetic expression(s) serialised with explicit parentheses (Oxigraph parses + - and * / chains right-associatively)`);
  }
  q = joinHavingConditions(q, applied);
  const text = new sparqljs.Generator().stringify(q);
  return { text, applied };
}

/**
 * sparqljs writes `HAVING (a) (b)` as `HAVING (a b)`, which no engine parses (W3C agg-multiple-having).
 * HAVING conditions are conjunctive, so one `a && b` means the same and serialises correctly.
 */
function joinHavingConditions(node: Node, applied: string[]): Node {
  if (Array.isArray(node)) return node.map((n) => joinHavingConditions(n, applied));
  if (typeof node !== 'object' || node === null || typeof node.termType === 'string') return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node)) out[k] = joinHavingConditions(v, applied);
  if (out.type === 'query' && Array.isArray(out.having) && out.having.length > 1) {
    applied.push(`${out.having.length} HAVING conditions joined with && (the serialiser would write them as one invalid group)`);
    out.having = [out.having.reduce((a: Node, b: Node) => ({ type: 'operation', operator: '&&', args: [a, b] }))];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. Parameter substitution

export function paramTerm(v: ParamValue): Node {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`parameter value ${v} is not a finite number`);
    return Number.isInteger(v) ? factory.literal(String(v), factory.namedNode(`${XSD}integer`)) : factory.literal(decimalString(v), factory.namedNode(`${XSD}decimal`));
  }
  if (typeof v === 'boolean') return factory.literal(String(v), factory.namedNode(`${XSD}boolean`));
  if (typeof v === 'string') return factory.literal(v);
  if ('iri' in v) return factory.namedNode(v.iri);
  if (v.lang) return factory.literal(v.literal, v.lang);
  return factory.literal(v.literal, factory.namedNode(v.datatype ?? `${XSD}string`));
}

function decimalString(v: number): string {
  const s = String(v);
  if (!/e/i.test(s)) return s;
  return v.toFixed(20).replace(/0+$/, '').replace(/\.$/, '.0');
}

function isVar(t: Node, names?: ReadonlySet<string>): boolean {
  return t !== null && typeof t === 'object' && t.termType === 'Variable' && (names === undefined || names.has(t.value));
}

function substituteParameters(q: Node, params: Record<string, ParamValue>, applied: string[], show: (e: Node) => string): Node {
  const names = new Set(Object.keys(params));
  const terms = new Map(Object.entries(params).map(([k, v]) => [k, paramTerm(v)]));
  const counts = new Map<string, number>();

  const walk = (node: Node, topLevel: boolean): Node => {
    if (Array.isArray(node)) {
      const out: Node[] = [];
      for (const n of node) {
        if (n && typeof n === 'object' && n.type === 'bind' && isVar(n.variable, names)) {
          applied.push(`parameter: removed BIND(${show(n.expression)} AS ?${n.variable.value}), the parameter is supplied`);
          continue;
        }
        out.push(walk(n, topLevel));
      }
      return out;
    }
    if (node === null || typeof node !== 'object') return node;
    if (node.termType === 'Variable' && names.has(node.value)) {
      counts.set(node.value, (counts.get(node.value) ?? 0) + 1);
      return terms.get(node.value);
    }
    if (node.termType) return node;
    if (node.type === 'query') return walkQuery(node, false);
    const out: Node = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v, topLevel);
    return out;
  };

  const walkQuery = (query: Node, topLevel: boolean): Node => {
    const out: Node = { ...query };
    if (query.queryType === 'SELECT' && Array.isArray(query.variables)) {
      const vars: Node[] = [];
      for (const v of query.variables) {
        if (isVar(v, names)) {
          // A projected parameter: the outer query substitutes it too, so a subquery need not project it.
          if (topLevel) vars.push({ expression: terms.get(v.value), variable: v });
          applied.push(`parameter: ?${v.value} ${topLevel ? 'projected as its constant' : 'dropped from a subquery projection'}`);
          continue;
        }
        if (v && v.variable && isVar(v.variable, names)) throw new Error(`parameter ?${v.variable.value} is assigned by a SELECT expression; it cannot be supplied`);
        vars.push(walk(v, topLevel));
      }
      out.variables = vars.length > 0 ? vars : [new sparqljs.Wildcard()];
    }
    if (Array.isArray(query.group)) {
      out.group = query.group.filter((g: Node) => !(isVar(g.expression, names) && !g.variable)).map((g: Node) => walk(g, topLevel));
      if (out.group.length === 0) delete out.group;
    }
    for (const k of ['where', 'having', 'order', 'values']) if (query[k] !== undefined) out[k] = walk(query[k], topLevel);
    return out;
  };

  const result = walkQuery(q, true);
  for (const [name, n] of counts) applied.push(`parameter: ?${name} := ${show(terms.get(name))} (${n} occurrence(s))`);
  for (const name of names) if (!counts.has(name)) applied.push(`parameter: ?${name} not used by the query`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// 2. Constant folding

type Num = { t: 'num'; kind: 'integer' | 'decimal'; n: bigint; scale: number };
type Const =
  | Num
  | { t: 'str'; value: string }
  | { t: 'bool'; value: boolean }
  | { t: 'date'; value: XsdDate }
  | { t: 'dur'; kind: string; lexical: string; value: XsdDuration }
  | { t: 'iri'; value: string }
  /** Only built by a cast (xsd:dateTime("…"), xsd:dateTime(date)); never compared or computed with here. */
  | { t: 'dateTime'; value: string };

const INTEGER_TYPES = new Set(
  ['integer', 'int', 'long', 'short', 'byte', 'nonNegativeInteger', 'positiveInteger', 'nonPositiveInteger', 'negativeInteger', 'unsignedLong', 'unsignedInt', 'unsignedShort', 'unsignedByte'].map(
    (t) => XSD + t,
  ),
);

function parseDecimal(lex: string): { n: bigint; scale: number } | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(lex.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  const n = BigInt(`${m[1] === '-' ? '-' : ''}${m[2] || '0'}${frac}`);
  return { n, scale: frac.length };
}

function toConst(t: Node): Const | undefined {
  if (!t || typeof t !== 'object') return undefined;
  if (t.termType === 'NamedNode') return { t: 'iri', value: t.value };
  if (t.termType !== 'Literal' || t.language) return undefined;
  const dt: string = t.datatype?.value ?? `${XSD}string`;
  if (dt === `${XSD}string`) return { t: 'str', value: t.value };
  if (dt === `${XSD}boolean`) return t.value === 'true' || t.value === '1' ? { t: 'bool', value: true } : t.value === 'false' || t.value === '0' ? { t: 'bool', value: false } : undefined;
  if (INTEGER_TYPES.has(dt)) {
    if (!/^[+-]?\d+$/.test(t.value.trim())) return undefined;
    return { t: 'num', kind: 'integer', n: BigInt(t.value.trim()), scale: 0 };
  }
  if (dt === `${XSD}decimal`) {
    const d = parseDecimal(t.value);
    return d ? { t: 'num', kind: 'decimal', ...d } : undefined;
  }
  if (dt === `${XSD}date`) {
    const d = parseDate(t.value);
    return d ? { t: 'date', value: d } : undefined;
  }
  if (dt === `${XSD}dateTime`) return dateTimeConst(t.value);
  if (dt === `${XSD}duration` || dt === `${XSD}yearMonthDuration` || dt === `${XSD}dayTimeDuration`) {
    const d = parseDuration(t.value);
    if (!d) return undefined;
    const parts = durationParts(t.value);
    if (dt.endsWith('#yearMonthDuration') && parts === 'dayTime') return undefined;
    if (dt.endsWith('#dayTimeDuration') && parts === 'yearMonth') return undefined;
    return { t: 'dur', kind: dt, lexical: t.value, value: d };
  }
  return undefined;
}

function fromConst(c: Const): Node {
  switch (c.t) {
    case 'iri':
      return factory.namedNode(c.value);
    case 'str':
      return factory.literal(c.value);
    case 'bool':
      return factory.literal(String(c.value), factory.namedNode(`${XSD}boolean`));
    case 'date':
      return factory.literal(formatDate(c.value), factory.namedNode(`${XSD}date`));
    case 'dateTime':
      return factory.literal(c.value, factory.namedNode(`${XSD}dateTime`));
    case 'dur':
      return factory.literal(c.lexical, factory.namedNode(c.kind));
    case 'num':
      return factory.literal(formatNum(c), factory.namedNode(`${XSD}${c.kind}`));
  }
}

function formatNum(c: Num): string {
  if (c.kind === 'integer') return c.n.toString();
  const neg = c.n < 0n;
  const digits = (neg ? -c.n : c.n).toString().padStart(c.scale + 1, '0');
  const int = digits.slice(0, digits.length - c.scale).replace(/^0+(?=\d)/, '');
  const frac = digits.slice(digits.length - c.scale).replace(/0+$/, '') || '0';
  return `${neg ? '-' : ''}${int}.${frac}`;
}

function align(a: Num, b: Num): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.n * 10n ** BigInt(scale - a.scale), b.n * 10n ** BigInt(scale - b.scale), scale];
}

function numArith(op: string, a: Num, b: Num): Num | undefined {
  const kind = a.kind === 'integer' && b.kind === 'integer' && op !== '/' ? 'integer' : 'decimal';
  if (op === '+' || op === '-') {
    const [x, y, scale] = align(a, b);
    return { t: 'num', kind, n: op === '+' ? x + y : x - y, scale };
  }
  if (op === '*') return { t: 'num', kind, n: a.n * b.n, scale: a.scale + b.scale };
  if (op === '/') {
    if (b.n === 0n) return undefined; // a runtime error: leave it to the engine
    const [x, y] = align(a, b);
    // Exact decimal quotient only (at most 24 fractional digits); otherwise leave unfolded.
    for (let scale = 0; scale <= 24; scale++) {
      const num = x * 10n ** BigInt(scale);
      if (num % y === 0n) return { t: 'num', kind: 'decimal', n: num / y, scale };
    }
    return undefined;
  }
  return undefined;
}

function compare(a: Const, b: Const): number | undefined {
  if (a.t === 'num' && b.t === 'num') {
    const [x, y] = align(a, b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.t === 'str' && b.t === 'str') return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  if (a.t === 'date' && b.t === 'date') return Math.sign(compareDates(a.value, b.value));
  if (a.t === 'bool' && b.t === 'bool') return Number(a.value) - Number(b.value);
  return undefined;
}

function ebv(c: Const): boolean | undefined {
  if (c.t === 'bool') return c.value;
  if (c.t === 'num') return c.n !== 0n;
  if (c.t === 'str') return c.value !== '';
  return undefined;
}

function evalOperation(op: string, args: Const[]): Const | undefined {
  const [a, b] = args;
  switch (op) {
    case '+':
    case '-':
      if (!a || !b) return undefined;
      if (a.t === 'num' && b.t === 'num') return numArith(op, a, b);
      if (a.t === 'date' && b.t === 'dur') return { t: 'date', value: op === '+' ? addDurationToDate(a.value, b.value) : subtractDurationFromDate(a.value, b.value) };
      if (op === '-' && a.t === 'date' && b.t === 'date') {
        const seconds = subtractDates(a.value, b.value);
        return { t: 'dur', kind: `${XSD}dayTimeDuration`, lexical: formatDayTimeDuration(seconds), value: { months: 0, seconds } };
      }
      return undefined;
    case '*':
    case '/':
      return a?.t === 'num' && b?.t === 'num' ? numArith(op, a, b) : undefined;
    case '=':
    case '!=': {
      if (!a || !b) return undefined;
      if (a.t === 'iri' && b.t === 'iri') return { t: 'bool', value: (a.value === b.value) === (op === '=') };
      const c = compare(a, b);
      return c === undefined ? undefined : { t: 'bool', value: (c === 0) === (op === '=') };
    }
    case '<':
    case '>':
    case '<=':
    case '>=': {
      if (!a || !b) return undefined;
      const c = compare(a, b);
      if (c === undefined) return undefined;
      return { t: 'bool', value: op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0 };
    }
    case '!': {
      const v = a && ebv(a);
      return v === undefined ? undefined : { t: 'bool', value: !v };
    }
    case '&&':
    case '||': {
      const x = a && ebv(a);
      const y = b && ebv(b);
      if (x === undefined || y === undefined) return undefined;
      return { t: 'bool', value: op === '&&' ? x && y : x || y };
    }
    case 'str':
      if (a?.t === 'iri' || a?.t === 'str') return { t: 'str', value: a.value };
      if (a) return { t: 'str', value: fromConst(a).value };
      return undefined;
    case 'concat':
      return args.every((x) => x.t === 'str') ? { t: 'str', value: args.map((x) => (x as { value: string }).value).join('') } : undefined;
    case 'uminus':
      return a?.t === 'num' ? { ...a, n: -a.n } : undefined;
    case 'uplus':
      return a?.t === 'num' ? a : undefined;
    default:
      return undefined;
  }
}

function evalCast(fn: string, a: Const | undefined): Const | undefined {
  if (!a) return undefined;
  if (fn === `${XSD}date`) {
    if (a.t === 'date') return a;
    if (a.t === 'str') {
      const d = parseDate(a.value);
      return d ? { t: 'date', value: d } : undefined;
    }
    return undefined;
  }
  // A constant bound as a typed literal lets an engine compare stored timestamps directly instead of
  // casting per row (Oxigraph: 3× faster on the worked-hours filters at 1,000 staff).
  if (fn === `${XSD}dateTime`) {
    if (a.t === 'dateTime') return a;
    if (a.t === 'str') return dateTimeConst(a.value.trim());
    // XPath casting: a date becomes midnight of that day (dates here carry no time zone).
    if (a.t === 'date') return { t: 'dateTime', value: `${formatDate(a.value)}T00:00:00` };
    return undefined;
  }
  if (fn === `${XSD}string`) return a.t === 'str' || a.t === 'iri' ? { t: 'str', value: a.value } : { t: 'str', value: fromConst(a).value };
  if (fn === `${XSD}integer`) {
    if (a.t === 'num' && a.kind === 'integer') return a;
    if (a.t === 'str' && /^\s*[+-]?\d+\s*$/.test(a.value)) return { t: 'num', kind: 'integer', n: BigInt(a.value.trim()), scale: 0 };
    return undefined;
  }
  if (fn === `${XSD}decimal`) {
    if (a.t === 'num') return { ...a, kind: 'decimal' };
    if (a.t === 'str') {
      const d = parseDecimal(a.value);
      return d ? { t: 'num', kind: 'decimal', ...d } : undefined;
    }
    return undefined;
  }
  return undefined;
}

const DATE_TIME = /^(-?\d{4,}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2})?$/;

/** A valid xsd:dateTime lexical form as a constant (a real calendar day, hours 0–24), else undefined. */
function dateTimeConst(lexical: string): Const | undefined {
  const m = DATE_TIME.exec(lexical);
  if (!m || !parseDate(m[1]!)) return undefined;
  const [h, min, sec] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (h > 24 || min > 59 || sec >= 60 || (h === 24 && (min > 0 || sec > 0))) return undefined;
  return { t: 'dateTime', value: lexical };
}

const isTerm = (e: Node): boolean => e !== null && typeof e === 'object' && typeof e.termType === 'string';
const isConstTerm = (e: Node): boolean => isTerm(e) && e.termType !== 'Variable' && toConst(e) !== undefined;

function foldExpr(e: Node, env: ReadonlyMap<string, Node>, ctx: FoldContext): Node {
  if (Array.isArray(e)) return e.map((x) => foldExpr(x, env, ctx));
  if (e === null || typeof e !== 'object') return e;
  if (isTerm(e)) return e.termType === 'Variable' && env.has(e.value) ? env.get(e.value) : e;
  if (e.type === 'operation') {
    const op: string = e.operator;
    if (op === 'exists' || op === 'notexists') return { ...e, args: e.args.map((g: Node) => foldPattern(g, ctx)) };
    if (op === 'bound') return e; // BOUND takes a variable, never a constant
    const args = e.args.map((a: Node) => foldExpr(a, env, ctx));
    if (op === 'if' && args.length === 3) {
      const c = isConstTerm(args[0]) ? ebv(toConst(args[0])!) : undefined;
      if (c !== undefined) return c ? args[1] : args[2];
      return { ...e, args };
    }
    if ((op === '&&' || op === '||') && args.length === 2) {
      // false && error = false, true || error = true
      for (const a of args) {
        const v = isConstTerm(a) ? ebv(toConst(a)!) : undefined;
        if (v === (op === '||')) return fromConst({ t: 'bool', value: v });
      }
    }
    // STR keeps the lexical form as written ("1.50"^^xsd:decimal gives "1.50").
    if (op === 'str' && args.length === 1 && isTerm(args[0]) && (args[0].termType === 'NamedNode' || (args[0].termType === 'Literal' && !args[0].language)))
      return factory.literal(args[0].value);
    if (args.every((a: Node) => !Array.isArray(a) && isConstTerm(a))) {
      const r = evalOperation(op, args.map((a: Node) => toConst(a)!));
      if (r) return fromConst(r);
    }
    return { ...e, args };
  }
  if (e.type === 'functionCall') {
    const args = e.args.map((a: Node) => foldExpr(a, env, ctx));
    const fn: string = e.function?.value ?? '';
    if (args.length === 1 && isConstTerm(args[0])) {
      const r = evalCast(fn, toConst(args[0]));
      if (r) return fromConst(r);
    }
    return { ...e, args };
  }
  if (e.type === 'aggregate') return { ...e, expression: foldExpr(e.expression, env, ctx) };
  return e;
}

interface FoldContext {
  applied: string[];
  show: (e: Node) => string;
}

function foldPatterns(patterns: Node[], ctx: FoldContext): Node[] {
  const env = new Map<string, Node>();
  const out: Node[] = patterns.map((p) => {
    if (p.type === 'bind') {
      const expression = foldExpr(p.expression, env, ctx);
      const before = ctx.show(p.expression);
      const after = ctx.show(expression);
      if (isConstTerm(expression)) env.set(p.variable.value, expression);
      if (before !== after) ctx.applied.push(`fold: BIND(${before} AS ?${p.variable.value}) -> BIND(${after} AS ?${p.variable.value})`);
      return { ...p, expression };
    }
    if (p.type === 'filter') return p;
    return foldPattern(p, ctx);
  });
  return out.map((p) => {
    if (p.type !== 'filter') return p;
    const expression = foldExpr(p.expression, env, ctx);
    const before = ctx.show(p.expression);
    const after = ctx.show(expression);
    if (before !== after) ctx.applied.push(`fold: FILTER(${before}) -> FILTER(${after})`);
    return { ...p, expression };
  });
}

function foldPattern(p: Node, ctx: FoldContext): Node {
  switch (p.type) {
    case 'group':
    case 'optional':
    case 'minus':
    case 'graph':
    case 'service':
      return { ...p, patterns: foldPatterns(p.patterns, ctx) };
    case 'union':
      return { ...p, patterns: p.patterns.map((g: Node) => foldPattern(g, ctx)) };
    case 'query':
      return foldSubquery(p, ctx);
    case 'filter':
    case 'bind':
      return foldPatterns([p], ctx)[0];
    default:
      return p;
  }
}

function foldSubquery(q: Node, ctx: FoldContext): Node {
  const env = new Map<string, Node>();
  const out: Node = { ...q };
  if (Array.isArray(q.where)) out.where = foldPatterns(q.where, ctx);
  if (Array.isArray(q.variables))
    out.variables = q.variables.map((v: Node) => {
      if (!v || isTerm(v) || !v.expression) return v;
      const expression = foldExpr(v.expression, env, ctx);
      const before = ctx.show(v.expression);
      const after = ctx.show(expression);
      if (before !== after) ctx.applied.push(`fold: SELECT (${before} AS ?${v.variable.value}) -> (${after} AS ?${v.variable.value})`);
      return { ...v, expression };
    });
  for (const k of ['having', 'group', 'order']) {
    if (!Array.isArray(q[k])) continue;
    out[k] = q[k].map((x: Node) => (k === 'having' ? foldExpr(x, env, ctx) : { ...x, expression: foldExpr(x.expression, env, ctx) }));
  }
  return out;
}

function foldQuery(q: Node, applied: string[], show: (e: Node) => string): Node {
  return foldSubquery(q, { applied, show });
}

// ---------------------------------------------------------------------------------------------
// 3. Engine rewrites

/** Generic structural map over the AST: f may return a replacement, or undefined to descend. */
function mapTree(node: Node, f: (n: Node) => Node | undefined): Node {
  const r = f(node);
  if (r !== undefined) return r;
  if (Array.isArray(node)) return node.map((n) => mapTree(n, f));
  if (node === null || typeof node !== 'object' || isTerm(node) || node instanceof sparqljs.Wildcard) return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node)) out[k] = mapTree(v, f);
  return out;
}

function rewriteDurations(q: Node, applied: string[]): Node {
  return mapTree(q, (n) => {
    if (!isTerm(n) || n.termType !== 'Literal' || n.datatype?.value !== `${XSD}duration`) return undefined;
    const parts = durationParts(n.value);
    if (parts === 'yearMonth' || parts === 'dayTime') {
      const type = parts === 'yearMonth' ? 'yearMonthDuration' : 'dayTimeDuration';
      applied.push(`comunica: "${n.value}"^^xsd:duration -> "${n.value}"^^xsd:${type} (Comunica cannot add xsd:duration to a date)`);
      return factory.literal(n.value, factory.namedNode(XSD + type));
    }
    if (parts === 'mixed') applied.push(`comunica: "${n.value}"^^xsd:duration mixes year-month and day-time parts; left as is (Comunica will fail on it)`);
    return n;
  });
}

const ARITH = new Set(['+', '-', '*', '/']);
/** Operators that give an error (so BIND leaves its variable unbound) when an argument is unbound. */
const STRICT_OPERATORS = new Set(['+', '-', '*', '/', '=', '!=', '<', '>', '<=', '>=', 'uminus', 'uplus', 'str', 'concat', 'strlen', 'substr', 'ucase', 'lcase', 'year', 'month', 'day']);

function isStrict(e: Node): boolean {
  if (isTerm(e)) return true;
  if (!e || typeof e !== 'object') return false;
  if (e.type === 'operation') return STRICT_OPERATORS.has(e.operator) && e.args.every((a: Node) => isStrict(a));
  if (e.type === 'functionCall') return typeof e.function?.value === 'string' && e.function.value.startsWith(XSD) && e.args.every((a: Node) => isStrict(a));
  return false;
}

/**
 * Comunica 5.4 fails ("none of the configured actors were able to handle the join type optional") on an
 * OPTIONAL whose group has both a FILTER (a left join with a condition) and a BIND. When every BIND of
 * that group is strict (an unbound argument makes it unbound too) and uses only variables the group's
 * triple patterns bind, at least one of them not bound before the OPTIONAL,
 * `OPTIONAL { P FILTER(f) BIND(e AS ?v) }` equals `OPTIONAL { P FILTER(f) } BIND(e AS ?v)`: if the
 * OPTIONAL does not match, that variable is unbound, e is an error and ?v stays unbound, as before.
 * Only applied when ?v occurs nowhere else in or before the OPTIONAL.
 */
function hoistOptionalBinds(q: Node, applied: string[], show: (e: Node) => string): Node {
  return rewriteEveryGroup(q, true, (rewritten) => {
    const out: Node[] = [];
    rewritten.forEach((r, i) => {
      if (r.type !== 'optional') return void out.push(r);
      const inner: Node[] = r.patterns;
      const binds = inner.filter((x) => x.type === 'bind');
      const filters = inner.filter((x) => x.type === 'filter');
      if (binds.length === 0 || filters.length === 0) return void out.push(r);
      const bound = new Set<string>();
      for (const x of inner) if (x.type === 'bgp') variablesIn(x.triples, bound);
      const targets = new Set(binds.map((b) => b.variable.value));
      const others = inner.filter((x) => x.type !== 'bind');
      const before = variablesIn(rewritten.slice(0, i));
      const movable =
        binds.every((b) => {
          const used = [...variablesIn(b.expression)];
          // Every variable comes from the OPTIONAL, and at least one is unbound when it does not match.
          return isStrict(b.expression) && used.every((v) => bound.has(v) || (targets.has(v) && v !== b.variable.value)) && used.some((v) => !before.has(v));
        }) &&
        [...variablesIn(others)].every((v) => !targets.has(v)) &&
        [...targets].every((v) => !before.has(v) && !bound.has(v));
      if (!movable) return void out.push(r);
      out.push({ ...r, patterns: others });
      out.push(...binds);
      applied.push(`comunica: ${binds.map((b) => `BIND(${show(b.expression)} AS ?${b.variable.value})`).join(', ')} moved out of an OPTIONAL with a FILTER (Comunica cannot join that OPTIONAL)`);
    });
    return out;
  });
}

/**
 * The query with `rewrite` applied to the elements of every group, innermost first: the WHERE of the
 * query and of each sub-query, OPTIONAL, MINUS, GRAPH and UNION branches, and SERVICE bodies when
 * `intoService` (a rewrite for another engine's defect does not belong in a remote engine's body).
 */
function rewriteEveryGroup(q: Node, intoService: boolean, rewrite: (elements: Node[]) => Node[]): Node {
  const group = (patterns: Node[]): Node[] => rewrite(patterns.map(node));
  const node = (p: Node): Node => {
    if (p.type === 'group' || p.type === 'optional' || p.type === 'minus' || p.type === 'graph' || (p.type === 'service' && intoService)) return { ...p, patterns: group(p.patterns) };
    if (p.type === 'union') return { ...p, patterns: p.patterns.map(node) };
    if (p.type === 'query') return query(p);
    return p;
  };
  const query = (x: Node): Node => (Array.isArray(x.where) ? { ...x, where: group(x.where) } : x);
  return query(q);
}

/** Group elements that read data (a FILTER, BIND or VALUES alone never does). */
const READS_DATA = new Set(['bgp', 'path', 'optional', 'union', 'group', 'query', 'minus', 'graph', 'service']);

/**
 * Jena (ARQ 4.x) turns `join(P, table)` into `sequence(table, P)`: it evaluates an inline VALUES
 * table first and then P once per table row, with that row substituted into P. That pays off when
 * P uses the table's variables (each run is a narrower lookup), but when P shares no variable with
 * the table every run of P is the same full evaluation. Measured at 1,000 staff: the official query
 * 1.1 spells the days of a quarter as `VALUES ?tiendetal {0..9} VALUES ?eental {0..9}` after its
 * whole contract pattern, so Jena computed that pattern 100 times (over 75 s; 27 s rewritten);
 * official 12.2 and our ps-3.1 (a two-row VALUES after a UNION) ran theirs twice (46 s to 17 s,
 * 105 s to 58 s, under load), with the same answers.
 *
 * Rewrite: such a VALUES block (after at least one pattern that reads data, sharing no variable
 * with the patterns, BINDs and sub-queries before it in the group) becomes
 * `{ SELECT ?v1 … WHERE { VALUES … } }`. Jena does not hoist a sub-select ahead of the pattern
 * before it, so it evaluates P once and extends each of its rows with the table's rows. SERVICE
 * bodies are left alone: another engine evaluates them.
 *
 * Why the meaning is unchanged: in the algebra a group is built left to right, and an inline VALUES
 * at position i contributes Join(G_i, T) where G_i is the group so far (BINDs are Extend over G_i,
 * FILTERs apply to the whole group wherever they are written). The sub-select contributes
 * Join(G_i, Project(T, vars(T))), and projecting a table onto all of its own variables is the
 * table itself (same rows, same multiplicities, UNDEF stays unbound). Nothing else in the group
 * moves. Variables inside the sub-select are exactly the projected ones, so no scoping changes.
 */
function isolateValuesTables(q: Node, applied: string[]): Node {
  return rewriteEveryGroup(q, false, (rewritten) => {
    const out: Node[] = [];
    let readsData = false;
    for (const r of rewritten) {
      if (r.type === 'values' && readsData && Array.isArray(r.values) && r.values.length > 0) {
        const names = [...new Set(r.values.flatMap((row: Node) => Object.keys(row)))] as string[];
        // FILTERs apply to the whole group wherever they are written, so they do not count as before.
        const before = variablesIn(out.filter((x) => x.type !== 'filter'));
        if (names.length > 0 && names.every((n) => /^[?$]/.test(n) && !before.has(n.slice(1)))) {
          const variables = names.map((n) => factory.variable(n.slice(1)));
          out.push({ type: 'group', patterns: [{ type: 'query', queryType: 'SELECT', prefixes: {}, variables, where: [r] }] });
          applied.push(
            `jena: VALUES ${names.join(' ')} (${r.values.length} row(s)) shares no variable with the patterns before it; evaluated as a sub-select so Jena does not re-run those patterns once per row`,
          );
          continue;
        }
      }
      if (READS_DATA.has(r.type)) readsData = true;
      out.push(r);
    }
    return out;
  });
}

function countNestedArithmetic(q: Node): number {
  let n = 0;
  mapTree(q, (x) => {
    if (x && typeof x === 'object' && x.type === 'operation' && ARITH.has(x.operator) && Array.isArray(x.args)) {
      for (const a of x.args) if (a && a.type === 'operation' && ARITH.has(a.operator)) n++;
    }
    return undefined;
  });
  return n;
}

/**
 * Oxigraph computes date - year/month duration wrongly on month-end dates (2023-12-31 - P1Y = 2023-02-28).
 * Constant cases are folded; the ones left depend on data and cannot be rewritten in SPARQL, so they
 * are reported.
 */
function oxigraphDateWarnings(q: Node, show: (e: Node) => string): string[] {
  const out: string[] = [];
  mapTree(q, (x) => {
    if (x && typeof x === 'object' && x.type === 'operation' && (x.operator === '-' || x.operator === '+') && Array.isArray(x.args)) {
      const d = x.args[1];
      const months = isTerm(d) && d.termType === 'Literal' && /#(duration|yearMonthDuration)$/.test(d.datatype?.value ?? '') ? parseDuration(d.value)?.months : undefined;
      if (months) out.push(`oxigraph: warning: ${show(x)} is not constant; Oxigraph gets date ± year/month durations wrong on month-end dates`);
    }
    return undefined;
  });
  return out;
}

function variablesIn(e: Node, acc = new Set<string>()): Set<string> {
  mapTree(e, (x) => {
    if (isTerm(x)) {
      if (x.termType === 'Variable') acc.add(x.value);
      return x;
    }
    return undefined;
  });
  return acc;
}

function hasAggregate(e: Node): boolean {
  let found = false;
  mapTree(e, (x) => {
    if (x && typeof x === 'object' && x.type === 'aggregate') found = true;
    if (x && typeof x === 'object' && x.type === 'query') return x; // do not look into subqueries
    return undefined;
  });
  return found;
}

/** Wraps SELECTs that reuse an aggregate alias of their own projection (recursively, subqueries too). */
function rewriteAliasReuse(q: Node, topLevel: boolean, applied: string[]): Node {
  const inner: Node = { ...q };
  if (Array.isArray(q.where)) inner.where = mapTree(q.where, (n) => (n && n.type === 'query' ? rewriteAliasReuse(n, false, applied) : undefined));
  if (q.queryType !== 'SELECT' || !Array.isArray(q.variables)) return inner;
  const items: Node[] = q.variables;
  const aggregated = Array.isArray(q.group) || items.some((v) => v && v.expression && hasAggregate(v.expression));
  if (!aggregated) return inner;

  const aliases = new Map<string, Node>();
  const dependent: boolean[] = [];
  for (const v of items) {
    if (v && v.expression && v.variable) {
      const used = [...variablesIn(v.expression)];
      const dep = used.some((u) => aliases.has(u));
      dependent.push(dep);
      aliases.set(v.variable.value, v.expression);
    } else dependent.push(false);
  }
  if (!dependent.some(Boolean)) return inner;

  const depItems = items.filter((_, i) => dependent[i]);
  const names = depItems.map((v) => `?${v.variable.value}`).join(', ');
  const innerItems = items.filter((_, i) => !dependent[i]);
  const innerNames = new Set(innerItems.map((v) => (isTerm(v) ? v.value : v.variable.value)));
  const depAliases = new Set(depItems.map((v) => v.variable.value));
  const outerNames = new Set([...innerNames, ...depAliases]);
  const usable =
    depItems.every((v) => !hasAggregate(v.expression) && [...variablesIn(v.expression)].every((u) => innerNames.has(u) || depAliases.has(u))) &&
    // HAVING stays inside, so it may not use the moved aliases; ORDER BY moves out, so it may use only projected variables.
    (!Array.isArray(q.having) || [...variablesIn(q.having)].every((u) => !depAliases.has(u))) &&
    (!Array.isArray(q.order) || (!hasAggregate(q.order) && [...variablesIn(q.order)].every((u) => outerNames.has(u))));

  if (!usable) {
    // Inline the alias definitions instead (repeat the aggregate expressions).
    const defs = new Map<string, Node>();
    const vars = items.map((v) => {
      if (!v || !v.expression) return v;
      const expression = mapTree(v.expression, (x) => (isTerm(x) && x.termType === 'Variable' && defs.has(x.value) ? defs.get(x.value) : undefined));
      defs.set(v.variable.value, expression);
      return { ...v, expression };
    });
    applied.push(`alias reuse: aggregate aliases inlined in ${names} (the engine rejects reusing an aggregate alias in the same SELECT)`);
    return { ...inner, variables: vars };
  }

  const sub: Node = { ...inner, variables: innerItems };
  delete sub.prefixes;
  delete sub.order;
  delete sub.limit;
  delete sub.offset;
  delete sub.distinct;
  delete sub.reduced;
  delete sub.values;
  const outer: Node = {
    type: 'query',
    queryType: 'SELECT',
    variables: items.map((v, i) => (dependent[i] ? v : isTerm(v) ? v : v.variable)),
    where: [{ type: 'group', patterns: [sub] }],
  };
  if (topLevel) {
    outer.prefixes = q.prefixes ?? {};
    if (q.base) outer.base = q.base;
  }
  for (const k of ['order', 'limit', 'offset', 'distinct', 'reduced', 'values']) if (q[k] !== undefined) outer[k] = q[k];
  applied.push(`alias reuse: SELECT projecting ${names} from aggregate aliases of the same SELECT wrapped in a subquery (the engine rejects the reuse)`);
  return outer;
}
