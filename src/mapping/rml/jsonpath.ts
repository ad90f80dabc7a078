/**
 * A small JSONPath compiler for iterators and references: $ / @, .name, ['name'], [*], .*, [n], [a,b],
 * [start:end:step] and .. (descendants). Paths with filter or script expressions ([?(...)], [(...)]) go
 * to jsonpath-plus. Compiling once per term map keeps evaluation a plain loop over segments.
 */

import { JSONPath } from 'jsonpath-plus';
import { RmlError } from './errors.js';

type Segment =
  | { kind: 'names'; names: string[] }
  | { kind: 'all' }
  | { kind: 'indexes'; indexes: number[] }
  | { kind: 'slice'; start?: number; end?: number; step: number }
  | { kind: 'descend'; inner: Segment };

/** Evaluates against a node; returns every match (possibly none). */
export type JsonPathFn = (node: unknown) => unknown[];

export function compileJsonPath(path: string, where: string): JsonPathFn {
  if (/\[\s*\??\(/.test(path)) return viaJsonPathPlus(path, where);
  const segments = parse(path, where);
  if (segments.length === 0) return (node) => [node];
  const first = segments[0]!;
  if (segments.length === 1 && first.kind === 'names' && first.names.length === 1) {
    const name = first.names[0]!;
    // The common case, `$.column`: no intermediate arrays.
    return (node) => {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
      const v = (node as Record<string, unknown>)[name];
      return v === undefined || !Object.prototype.hasOwnProperty.call(node, name) ? [] : [v];
    };
  }
  return (node) => {
    let current: unknown[] = [node];
    for (const seg of segments) {
      const next: unknown[] = [];
      for (const n of current) apply(seg, n, next);
      current = next;
      if (current.length === 0) break;
    }
    return current;
  };
}

function viaJsonPathPlus(path: string, where: string): JsonPathFn {
  const expr = path.startsWith('$') ? path : '$.' + path;
  return (node) => {
    try {
      return JSONPath({ path: expr, json: node as object, wrap: true, eval: 'safe' }) as unknown[];
    } catch (e) {
      throw new RmlError(`${where}: JSONPath "${path}" failed: ${(e as Error).message}. Check the expression.`);
    }
  };
}

function apply(seg: Segment, node: unknown, out: unknown[]): void {
  if (node === null || typeof node !== 'object') return;
  switch (seg.kind) {
    case 'names':
      if (Array.isArray(node)) return;
      for (const name of seg.names) {
        if (Object.prototype.hasOwnProperty.call(node, name)) out.push((node as Record<string, unknown>)[name]);
      }
      return;
    case 'all':
      if (Array.isArray(node)) for (const v of node) out.push(v);
      else for (const k of Object.keys(node)) out.push((node as Record<string, unknown>)[k]);
      return;
    case 'indexes':
      if (!Array.isArray(node)) return;
      for (const i of seg.indexes) {
        const j = i < 0 ? node.length + i : i;
        if (j >= 0 && j < node.length) out.push(node[j]);
      }
      return;
    case 'slice': {
      if (!Array.isArray(node)) return;
      const len = node.length;
      const norm = (v: number | undefined, dflt: number) => (v === undefined ? dflt : v < 0 ? Math.max(len + v, 0) : Math.min(v, len));
      if (seg.step > 0) for (let i = norm(seg.start, 0); i < norm(seg.end, len); i += seg.step) out.push(node[i]);
      else for (let i = seg.start === undefined ? len - 1 : norm(seg.start, len - 1); i > (seg.end === undefined ? -1 : norm(seg.end, -1)); i += seg.step) out.push(node[i]);
      return;
    }
    case 'descend': {
      // Breadth-first (document order per level), as a queue with a moving head.
      const stack: unknown[] = [node];
      for (let head = 0; head < stack.length; head++) {
        const n = stack[head];
        apply(seg.inner, n, out);
        if (n !== null && typeof n === 'object') {
          for (const v of Array.isArray(n) ? n : Object.values(n)) if (v !== null && typeof v === 'object') stack.push(v);
        }
      }
      return;
    }
  }
}

function parse(path: string, where: string): Segment[] {
  let i = 0;
  // References may omit the root ("name" means "$.name").
  let src = path.trim();
  const rooted = src.startsWith('$') || src.startsWith('@');
  if (rooted) i = 1;
  else src = '.' + src;
  const fail = (pos: number, why: string): never => {
    throw new RmlError(`${where}: invalid JSONPath "${path}" at position ${rooted ? pos : pos - 1}: ${why}. Example of a valid path: $.items[*].name`);
  };
  const segs: Segment[] = [];
  while (i < src.length) {
    const c = src[i]!;
    if (c === '.') {
      let descend = false;
      if (src[i + 1] === '.') {
        descend = true;
        i++;
      }
      i++;
      let seg: Segment;
      if (src[i] === '*') {
        seg = { kind: 'all' };
        i++;
      } else if (src[i] === '[' && descend) {
        const [s, end] = parseBracket(src, i, fail);
        seg = s;
        i = end;
      } else {
        const start = i;
        while (i < src.length && src[i] !== '.' && src[i] !== '[') {
          // RFC 9535 dot-notation names have no quotes, brackets or backslashes: use ['…'] for those.
          if (src[i] === ']' || src[i] === "'" || src[i] === '"' || src[i] === '\\') fail(i, `unexpected "${src[i]}" in a name (write such names as ['…'])`);
          i++;
        }
        if (i === start) fail(i, 'a name is missing after "."');
        seg = { kind: 'names', names: [src.slice(start, i)] };
      }
      segs.push(descend ? { kind: 'descend', inner: seg } : seg);
    } else if (c === '[') {
      const [s, end] = parseBracket(src, i, fail);
      segs.push(s);
      i = end;
    } else {
      fail(i, `unexpected "${c}"`);
    }
  }
  return segs;
}

function parseBracket(src: string, i: number, fail: (pos: number, why: string) => never): [Segment, number] {
  const close = findClose(src, i + 1, fail);
  const body = src.slice(i + 1, close).trim();
  const end = close + 1;
  if (body === '*') return [{ kind: 'all' }, end];
  if (body.startsWith("'") || body.startsWith('"')) {
    const names: string[] = [];
    const re = /\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*(,|$)/y;
    let pos = 0;
    while (pos < body.length) {
      re.lastIndex = pos;
      const m = re.exec(body);
      if (!m) fail(i + 1 + pos, 'expected a quoted name');
      names.push((m![1] ?? m![2]!).replace(/\\(.)/g, '$1'));
      pos = re.lastIndex;
    }
    return [{ kind: 'names', names }, end];
  }
  const slice = /^(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(-?\d+))?$/.exec(body);
  if (slice) {
    const step = slice[3] ? Number(slice[3]) : 1;
    if (step === 0) fail(i, 'slice step 0');
    return [{ kind: 'slice', start: slice[1] ? Number(slice[1]) : undefined, end: slice[2] ? Number(slice[2]) : undefined, step }, end];
  }
  if (/^-?\d+(\s*,\s*-?\d+)*$/.test(body)) return [{ kind: 'indexes', indexes: body.split(',').map((s) => Number(s.trim())) }, end];
  return fail(i, `unsupported bracket expression "[${body}]"`);
}

function findClose(src: string, i: number, fail: (pos: number, why: string) => never): number {
  let quote = '';
  for (; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ']') return i;
    else if (c === '[') fail(i, 'nested "["');
  }
  return fail(src.length, 'a "[" is never closed');
}
