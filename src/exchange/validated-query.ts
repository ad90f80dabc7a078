import { ExchangeError, type ValidatedQuery } from './types.js';

/**
 * Reads `validatedQuery` from a ValidatedQueryCredential's credentialSubject (or from the legacy
 * `credentialSubject` request body) as the protocol's generations wrote it: `identifier` or `id`,
 * as `urn:uuid:…` or a bare UUID; `sparql` as standard Base64 (the spec) or URL-encoded text (G1);
 * `ontology` as one string or a list. `path` is the JSON path of `subject`, for error messages.
 */
export function decodeValidatedQuery(subject: unknown, path: string): ValidatedQuery {
  const vq = isObject(subject) && isObject(subject.validatedQuery) ? subject.validatedQuery : undefined;
  const at = `${path}.validatedQuery`;
  if (!vq) throw invalid(`${at} is missing: a ValidatedQueryCredential's subject carries the query under "validatedQuery"`, at);
  const identifier = vq.identifier ?? vq.id;
  if (typeof identifier !== 'string' || identifier === '') throw invalid(`${at}.identifier is missing (the query's UUID, as "identifier" or "id")`, `${at}.identifier`);
  const uuid = identifier.replace(/^urn:uuid:/i, '').toLowerCase();
  if (!UUID.test(uuid)) throw invalid(`${at}.identifier "${identifier}" is not a UUID (expected urn:uuid:<uuid> or a bare UUID)`, `${at}.identifier`);
  if (typeof vq.profile !== 'string' || vq.profile === '') throw invalid(`${at}.profile is missing: the exchange profile (URL) that defines the query`, `${at}.profile`);
  const ontology = typeof vq.ontology === 'string' ? [vq.ontology] : vq.ontology;
  if (!Array.isArray(ontology) || ontology.length === 0 || !ontology.every((o) => typeof o === 'string' && o !== '')) {
    throw invalid(`${at}.ontology must be an ontology IRI or a non-empty list of them (e.g. "http://purl.org/ozo/onz-g#3.0.0")`, `${at}.ontology`);
  }
  if (typeof vq.sparql !== 'string' || vq.sparql.trim() === '') throw invalid(`${at}.sparql is missing: the agreed SPARQL query, Base64-encoded`, `${at}.sparql`);
  const sparql = decodeSparql(vq.sparql, `${at}.sparql`);
  const optional = (k: string) => (typeof vq[k] === 'string' ? { [k]: vq[k] as string } : {});
  return { identifier, uuid, ...optional('name'), ...optional('description'), ontology: ontology as string[], profile: vq.profile, sparql, ...optional('paramsSHACL') };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A query keyword, so decoded text can be told from a Base64 string that happens to decode. */
const SPARQL_FORM = /\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i;
const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}$/;

/** The SPARQL text: standard Base64 first (the spec), then URL encoding (G1), then the text as it is. */
function decodeSparql(text: string, path: string): string {
  const t = text.trim();
  // Plain SPARQL always has spaces; Base64 never does (line breaks at most).
  if (BASE64.test(t) && !t.includes(' ')) {
    const decoded = Buffer.from(t, 'base64').toString('utf8');
    if (SPARQL_FORM.test(decoded) && !decoded.includes('\uFFFD')) return decoded;
  }
  if (/%[0-9A-Fa-f]{2}/.test(t)) {
    try {
      const decoded = decodeURIComponent(t.replace(/\+/g, ' '));
      if (SPARQL_FORM.test(decoded)) return decoded;
    } catch {
      // not URL-encoded after all; fall through
    }
  }
  if (SPARQL_FORM.test(t)) return t;
  throw invalid(`${path} is neither Base64 nor URL-encoded SPARQL (no SELECT, ASK, CONSTRUCT or DESCRIBE after decoding)`, path);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string, path: string): ExchangeError {
  return new ExchangeError('e.p.req.invalid-credential-subject', 400, message, path);
}
