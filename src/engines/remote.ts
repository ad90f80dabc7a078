import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { QueryEngine, SparqlJsonResults, SparqlJsonTerm } from './types.js';

const XSD_STRING = 'http://www.w3.org/2001/XMLSchema#string';

/** Config `engines.remote` (see config/schema.ts). */
export interface RemoteEngineConfig {
  /** SPARQL 1.1 query endpoint, e.g. http://localhost:3030/kikv/sparql or Virtuoso's http://host:8890/sparql. */
  endpoint: string;
  /**
   * SPARQL 1.1 Graph Store HTTP Protocol endpoint the snapshot is uploaded to, e.g. Fuseki's
   * http://localhost:3030/kikv/data or Virtuoso's http://host:8890/sparql-graph-crud-auth.
   * Default: the query endpoint.
   */
  graphStore?: string;
  /** Named graph holding the snapshot; queries use it as their default graph. Default urn:kikv:snapshot. */
  graph?: string;
  user?: string;
  /** Environment variable holding the password (never the password itself in the configuration). */
  passwordEnv?: string;
  /** The endpoint already holds the data (loaded by its operator): loads only check that the graph is not empty. */
  readOnly?: boolean;
  /**
   * How queries are POSTed (both SPARQL 1.1 Protocol): 'form' (application/x-www-form-urlencoded,
   * the default) or 'direct' (application/sparql-query). Default 'form' because Virtuoso 7.2
   * (Debian's) never answers a direct POST; Fuseki and GraphDB take both.
   */
  queryMethod?: 'form' | 'direct';
  /** Per query (default 5 minutes). */
  timeoutMs?: number;
  /** Per upload (default 30 minutes). */
  loadTimeoutMs?: number;
}

export const DEFAULT_GRAPH = 'urn:kikv:snapshot';

/** An HTTP or network failure, naming the status, the endpoint's own message and what to check. */
export class RemoteEngineError extends Error {
  override readonly name = 'RemoteEngineError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

type Body = string | (() => Readable);

/**
 * A remote SPARQL 1.1 endpoint (Fuseki, GraphDB, Virtuoso …). Queries go over the SPARQL 1.1
 * Protocol (POST application/sparql-query) with the snapshot's graph as default-graph-uri, so other
 * data on the endpoint does not leak into answers. Loads replace that graph with a Graph Store
 * Protocol PUT. Basic and digest authentication are chosen from the server's challenge.
 */
export class RemoteQueryEngine implements QueryEngine {
  readonly name = 'remote';
  private readonly graph: string;
  private readonly auth: HttpAuth;

  constructor(private readonly cfg: RemoteEngineConfig) {
    if (!/^https?:\/\//.test(cfg.endpoint)) throw new RemoteEngineError(`remote engine: endpoint "${cfg.endpoint}" is not an http(s) URL; check engines.remote.endpoint`);
    this.graph = cfg.graph ?? DEFAULT_GRAPH;
    let password: string | undefined;
    if (cfg.passwordEnv) {
      password = process.env[cfg.passwordEnv];
      if (password === undefined) throw new RemoteEngineError(`remote engine: environment variable ${cfg.passwordEnv} (engines.remote.passwordEnv) is not set; export it with the endpoint's password`);
    }
    this.auth = new HttpAuth(cfg.user, password);
  }

  async load(nquads: string): Promise<void> {
    if (this.cfg.readOnly) return this.checkHoldsData();
    await this.put(nquads, Buffer.byteLength(nquads));
  }

  async loadFile(path: string): Promise<void> {
    if (this.cfg.readOnly) return this.checkHoldsData();
    let size: number;
    try {
      size = statSync(path).size;
    } catch (e) {
      throw new RemoteEngineError(`remote engine: cannot read ${path}: ${(e as Error).message}; check that the snapshot file exists`);
    }
    await this.put(() => createReadStream(path), size);
  }

  async select(sparql: string): Promise<SparqlJsonResults> {
    const url = new URL(this.cfg.endpoint);
    const accept = 'application/sparql-results+json';
    const timeout = this.cfg.timeoutMs ?? 300_000;
    let res: Response;
    if (this.cfg.queryMethod === 'direct') {
      url.searchParams.append('default-graph-uri', this.graph);
      res = await this.request('POST', url, { 'content-type': 'application/sparql-query', accept }, sparql, timeout, 'query');
    } else {
      const form = new URLSearchParams({ query: sparql, 'default-graph-uri': this.graph }).toString();
      res = await this.request('POST', url, { 'content-type': 'application/x-www-form-urlencoded', accept }, form, timeout, 'query');
    }
    const text = await res.text();
    let parsed: { head?: { vars?: string[] }; results?: { bindings?: Array<Record<string, RawTerm>> }; boolean?: boolean };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new RemoteEngineError(`remote engine: ${this.cfg.endpoint} answered with something that is not SPARQL JSON (${res.headers.get('content-type') ?? 'no content type'}: ${snippet(text)}); check that engines.remote.endpoint is the SPARQL query endpoint`);
    }
    if (typeof parsed.boolean === 'boolean' || !parsed.results) throw new RemoteEngineError('remote engine: expected a SELECT query, got an ASK query');
    const bindings = (parsed.results.bindings ?? []).map((row) => {
      const out: Record<string, SparqlJsonTerm> = {};
      for (const [k, term] of Object.entries(row)) out[k] = normaliseTerm(term);
      return out;
    });
    return { head: { vars: parsed.head?.vars ?? [] }, results: { bindings } };
  }

  private async put(body: Body, size: number): Promise<void> {
    const url = new URL(this.cfg.graphStore ?? this.cfg.endpoint);
    url.searchParams.append('graph', this.graph);
    // N-Triples is a subset of Turtle, and every Graph Store implementation accepts Turtle.
    await this.request('PUT', url, { 'content-type': 'text/turtle', 'content-length': String(size) }, body, this.cfg.loadTimeoutMs ?? 1_800_000, 'upload');
  }

  private async checkHoldsData(): Promise<void> {
    const r = await this.select('SELECT ?s WHERE { ?s ?p ?o } LIMIT 1');
    if (r.results.bindings.length === 0) {
      throw new RemoteEngineError(`remote engine: graph <${this.graph}> on ${this.cfg.endpoint} is empty, and engines.remote.readOnly is set so the agent does not upload; load the snapshot there, or check engines.remote.graph`);
    }
  }

  private async request(method: string, url: URL, headers: Record<string, string>, body: Body, timeoutMs: number, what: 'query' | 'upload'): Promise<Response> {
    // A streamed body cannot be sent twice, so learn the authentication challenge first.
    if (typeof body !== 'string' && this.auth.configured && !this.auth.ready) await this.probe(url, timeoutMs);
    let res = await this.send(method, url, headers, body, timeoutMs, what);
    if (res.status === 401 && this.auth.configured && this.auth.learn(res.headers.get('www-authenticate'))) {
      await res.body?.cancel();
      res = await this.send(method, url, headers, body, timeoutMs, what);
    }
    if (!res.ok) throw await this.httpError(res, url, what);
    return res;
  }

  private async probe(url: URL, timeoutMs: number): Promise<void> {
    const res = await this.send('GET', url, {}, '', timeoutMs, 'upload', false);
    await res.body?.cancel();
    if (res.status === 401) this.auth.learn(res.headers.get('www-authenticate'));
  }

  private async send(method: string, url: URL, headers: Record<string, string>, body: Body, timeoutMs: number, what: 'query' | 'upload', withBody = true): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    const authorization = this.auth.header(method, url);
    if (authorization) h.authorization = authorization;
    const init: RequestInit & { duplex?: 'half' } = { method, headers: h, signal: AbortSignal.timeout(timeoutMs) };
    if (withBody && method !== 'GET') {
      if (typeof body === 'string') init.body = body;
      else {
        init.body = Readable.toWeb(body()) as unknown as ReadableStream;
        init.duplex = 'half';
      }
    }
    try {
      return await fetch(url, init);
    } catch (e) {
      throw networkError(e, url, timeoutMs, what);
    }
  }

  private async httpError(res: Response, url: URL, what: 'query' | 'upload'): Promise<RemoteEngineError> {
    const text = await res.text().catch(() => '');
    const check =
      res.status === 401 || res.status === 403
        ? `check engines.remote.user and the password in ${this.cfg.passwordEnv ? `$${this.cfg.passwordEnv}` : 'the variable named by engines.remote.passwordEnv'}, and that the account may ${what === 'upload' ? 'write graphs' : 'query'}`
        : res.status === 404 || res.status === 405
          ? `check ${what === 'upload' ? 'engines.remote.graphStore (the Graph Store Protocol URL' : 'engines.remote.endpoint (the SPARQL query URL'}, e.g. Fuseki's /<dataset>/${what === 'upload' ? 'data' : 'sparql'}${what === 'upload' ? ", Virtuoso's /sparql-graph-crud-auth" : ''})`
          : res.status === 400
            ? what === 'query'
              ? 'the endpoint rejected the query text; see its message'
              : 'the endpoint rejected the data; the snapshot must be plain triples (N-Triples)'
            : 'see the endpoint\'s log';
    return new RemoteEngineError(`remote engine: ${what} to ${url.origin}${url.pathname} failed with HTTP ${res.status} ${res.statusText}: ${snippet(text) || '(no message)'}; ${check}`, res.status);
  }
}

type RawTerm = SparqlJsonTerm | { type: 'typed-literal'; value: string; datatype: string };

/** Same shape as the in-process engines: Virtuoso's older "typed-literal" is a literal, and xsd:string carries no datatype. */
function normaliseTerm(term: RawTerm): SparqlJsonTerm {
  if (term.type === 'literal' || term.type === 'typed-literal') {
    const t = term as { value: string; datatype?: string; 'xml:lang'?: string };
    if (t['xml:lang']) return { type: 'literal', value: t.value, 'xml:lang': t['xml:lang'] };
    if (t.datatype && t.datatype !== XSD_STRING) return { type: 'literal', value: t.value, datatype: t.datatype };
    return { type: 'literal', value: t.value };
  }
  if (term.type === 'uri' || term.type === 'bnode') return { type: term.type, value: term.value };
  throw new RemoteEngineError(`remote engine: unexpected term type "${(term as { type: string }).type}" in the results`);
}

function networkError(e: unknown, url: URL, timeoutMs: number, what: string): RemoteEngineError {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') {
    const direct = what === 'query' ? ' (Virtuoso 7.2 never answers engines.remote.queryMethod "direct"; use "form")' : '';
    return new RemoteEngineError(`remote engine: ${what} to ${url.origin}${url.pathname} timed out after ${timeoutMs} ms; check the endpoint's load, or raise engines.remote.${what === 'upload' ? 'loadTimeoutMs' : 'timeoutMs'}${direct}`);
  }
  const cause = err.cause?.code ?? err.cause?.message ?? err.message;
  return new RemoteEngineError(`remote engine: cannot reach ${url.origin} (${cause}); check that the endpoint is running and that engines.remote.endpoint${what === 'upload' ? '/graphStore' : ''} is right`);
}

function snippet(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}

/** Basic or digest (RFC 7616, MD5 with qop=auth) authentication, whichever the server asks for. */
class HttpAuth {
  private scheme: 'basic' | 'digest' | undefined;
  private digest: { realm: string; nonce: string; opaque?: string; qop?: string; algorithm: string } | undefined;
  private nc = 0;

  constructor(
    private readonly user?: string,
    private readonly password?: string,
  ) {}

  get configured(): boolean {
    return this.user !== undefined;
  }

  get ready(): boolean {
    return this.scheme !== undefined;
  }

  /** Takes the server's challenge; false when there is nothing new to try. */
  learn(challenge: string | null): boolean {
    if (!challenge) return false;
    if (/^\s*digest\b/i.test(challenge)) {
      const p = (name: string) => new RegExp(`${name}="?([^",]*)"?`, 'i').exec(challenge)?.[1];
      const nonce = p('nonce');
      if (!nonce) return false;
      const stale = this.scheme === 'digest' && /stale="?true/i.test(challenge);
      if (this.scheme === 'digest' && this.digest?.nonce === nonce && !stale) return false;
      this.scheme = 'digest';
      this.digest = { realm: p('realm') ?? '', nonce, opaque: p('opaque'), qop: p('qop'), algorithm: p('algorithm') ?? 'MD5' };
      this.nc = 0;
      return true;
    }
    if (/^\s*basic\b/i.test(challenge) && this.scheme !== 'basic') {
      this.scheme = 'basic';
      return true;
    }
    return false;
  }

  header(method: string, url: URL): string | undefined {
    if (this.user === undefined || !this.scheme) return undefined;
    const password = this.password ?? '';
    if (this.scheme === 'basic') return `Basic ${Buffer.from(`${this.user}:${password}`).toString('base64')}`;
    const d = this.digest!;
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const uri = `${url.pathname}${url.search}`;
    const ha1 = md5(`${this.user}:${d.realm}:${password}`);
    const ha2 = md5(`${method}:${uri}`);
    const parts = [`username="${this.user}"`, `realm="${d.realm}"`, `nonce="${d.nonce}"`, `uri="${uri}"`, `algorithm=${d.algorithm}`];
    if (d.qop && /\bauth\b/.test(d.qop)) {
      const nc = (++this.nc).toString(16).padStart(8, '0');
      const cnonce = randomBytes(8).toString('hex');
      parts.push(`qop=auth`, `nc=${nc}`, `cnonce="${cnonce}"`, `response="${md5(`${ha1}:${d.nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`);
    } else {
      parts.push(`response="${md5(`${ha1}:${d.nonce}:${ha2}`)}"`);
    }
    if (d.opaque) parts.push(`opaque="${d.opaque}"`);
    return `Digest ${parts.join(', ')}`;
  }
}
