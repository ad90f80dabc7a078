/**
 * Just enough SPARQL lexing to work on official query texts without rewriting them: find the
 * prologue (PREFIX/BASE), the query form and the projected variables, skipping comments,
 * strings and IRIs. It is no parser: Jena remains the judge of whether a query is valid.
 */

export interface Token {
  kind: 'iri' | 'string' | 'var' | 'word' | 'punct';
  text: string;
  start: number;
  end: number;
}

// Characters an IRIREF may not contain (SPARQL 1.1 grammar, production 139).
const IRIREF = /<[^<>"{}|^`\\\u0000-\u0020]*>/y;
const VAR = /[?$][\p{L}\p{N}_\u00B7\u0300-\u036F\u203F\u2040]+/uy;
const WORD = /[\p{L}\p{N}_:%\\\-.]+/uy;

/** Tokens of a SPARQL text; comments and whitespace are skipped. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const at = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    return re.exec(text)?.[0];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const long = text.startsWith(c.repeat(3), i);
      const close = long ? c.repeat(3) : c;
      let j = i + close.length;
      while (j < text.length && !text.startsWith(close, j)) {
        if (text[j] === '\\') j++;
        else if (!long && (text[j] === '\n' || text[j] === '\r')) break;
        j++;
      }
      const end = Math.min(text.length, j + close.length);
      out.push({ kind: 'string', text: text.slice(i, end), start: i, end });
      i = end;
      continue;
    }
    if (c === '<') {
      const iri = at(IRIREF);
      if (iri !== undefined) {
        out.push({ kind: 'iri', text: iri, start: i, end: i + iri.length });
        i += iri.length;
        continue;
      }
    }
    if (c === '?' || c === '$') {
      const v = at(VAR);
      if (v !== undefined) {
        out.push({ kind: 'var', text: v, start: i, end: i + v.length });
        i += v.length;
        continue;
      }
    }
    let w = at(WORD);
    // A prefixed name or number never ends in '.': that is the triple terminator.
    if (w !== undefined) w = w.replace(/\.+$/, '');
    if (w) {
      out.push({ kind: 'word', text: w, start: i, end: i + w.length });
      i += w.length;
      continue;
    }
    out.push({ kind: 'punct', text: c, start: i, end: i + 1 });
    i++;
  }
  return out;
}

export interface QueryShape {
  /** PREFIX declarations in order: [prefix label including ':', IRI without angle brackets]. */
  prefixes: Array<[string, string]>;
  /** BASE IRI, if declared. */
  base?: string;
  /** Offset where the query proper (after the prologue) starts. */
  bodyStart: number;
  /** SELECT, ASK, CONSTRUCT or DESCRIBE (upper case); undefined for an update or unknown text. */
  form?: 'SELECT' | 'ASK' | 'CONSTRUCT' | 'DESCRIBE';
  /** For SELECT: the projected variable names (without '?'), or '*' for SELECT *. */
  projection?: string[] | '*';
  /** A FROM / FROM NAMED clause (the query picks its own dataset). */
  hasDatasetClause: boolean;
  /** Every variable name the text mentions (without '?'). */
  variables: Set<string>;
}

/** The prologue, form and projection of a query text (see {@link QueryShape}). */
export function queryShape(text: string): QueryShape {
  const tokens = tokenize(text);
  const prefixes: Array<[string, string]> = [];
  let base: string | undefined;
  let i = 0;
  let bodyStart = 0;
  for (;;) {
    const t = tokens[i];
    const kw = t?.kind === 'word' ? t.text.toUpperCase() : undefined;
    if (kw === 'PREFIX' && tokens[i + 1]?.kind === 'word' && tokens[i + 2]?.kind === 'iri') {
      prefixes.push([tokens[i + 1]!.text, tokens[i + 2]!.text.slice(1, -1)]);
      bodyStart = tokens[i + 2]!.end;
      i += 3;
    } else if (kw === 'BASE' && tokens[i + 1]?.kind === 'iri') {
      base = tokens[i + 1]!.text.slice(1, -1);
      bodyStart = tokens[i + 1]!.end;
      i += 2;
    } else break;
  }
  const variables = new Set(tokens.filter((t) => t.kind === 'var').map((t) => t.text.slice(1)));
  const first = tokens[i];
  const formWord = first?.kind === 'word' ? first.text.toUpperCase() : '';
  const form = (['SELECT', 'ASK', 'CONSTRUCT', 'DESCRIBE'] as const).find((f) => f === formWord);
  if (first) bodyStart = first.start;
  let hasDatasetClause = false;
  let projection: string[] | '*' | undefined;
  if (form === 'SELECT') {
    projection = [];
    let depth = 0;
    for (let j = i + 1; j < tokens.length; j++) {
      const t = tokens[j]!;
      const upper = t.kind === 'word' ? t.text.toUpperCase() : '';
      if (depth === 0 && (t.text === '{' || upper === 'WHERE')) break;
      if (depth === 0 && upper === 'FROM') {
        hasDatasetClause = true;
        break;
      }
      if (t.text === '(') depth++;
      else if (t.text === ')') depth--;
      else if (depth === 0 && t.text === '*') projection = '*';
      else if (t.kind === 'var' && projection !== '*') {
        const prev = tokens[j - 1]!;
        if (depth === 0 || (depth === 1 && prev.kind === 'word' && prev.text.toUpperCase() === 'AS')) projection.push(t.text.slice(1));
      }
    }
    // FROM after the WHERE clause is not SPARQL; a dataset clause sits between projection and WHERE.
  } else if (form) {
    for (let j = i + 1; j < tokens.length && tokens[j]!.text !== '{'; j++) {
      if (tokens[j]!.kind === 'word' && tokens[j]!.text.toUpperCase() === 'FROM') hasDatasetClause = true;
    }
  }
  return { prefixes, base, bodyStart, form, projection, hasDatasetClause, variables };
}
