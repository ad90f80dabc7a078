import { jsonLdLibrary } from '../jsonld.js';
import { documentLoader, shippedContexts, unknownContext } from './contexts.js';
import { ExchangeError } from '../types.js';

interface JsonLd {
  canonize(input: unknown, options: Record<string, unknown>): Promise<string>;
}
let jsonld: JsonLd | undefined;

/**
 * URDNA2015 N-Quads of a JSON-LD document, as Nuts' LDUtil.Canonicalize produces them (json-gold
 * Normalize, URDNA2015, application/n-quads). Stricter than Nuts in two ways, so that the JSON we read
 * afterwards means what was signed: every @context must be a URL we ship (no inline contexts, which
 * could remap a term after signing), and a property the contexts do not define is refused instead of
 * being silently dropped from the canonical form (and so from the signature).
 */
export async function canonicalNQuads(document: Record<string, unknown>, path: string): Promise<string> {
  assertSignable(document, path);
  jsonld ??= jsonLdLibrary() as unknown as JsonLd;
  try {
    return await jsonld.canonize(document, {
      algorithm: 'URDNA2015',
      format: 'application/n-quads',
      documentLoader,
      expansionMap: (info: { unmappedProperty?: string }) => {
        if (info.unmappedProperty !== undefined) {
          throw new ExchangeError(
            'e.p.req.credential-context',
            400,
            `property "${info.unmappedProperty}" is not defined by the document's JSON-LD contexts, so a signature would not cover it; remove it or use a context that defines it`,
            path,
          );
        }
        return undefined;
      },
    });
  } catch (e) {
    const cause = exchangeErrorIn(e);
    if (cause) throw cause;
    throw new ExchangeError('e.p.req.credential-context', 400, `the JSON-LD at ${path} cannot be canonicalised: ${(e as Error).message}`, path);
  }
}

/**
 * Every @context anywhere in the document is a string URL among the shipped contexts, and every
 * `id` is an absolute IRI: a relative one (a bare UUID, say) is dropped from the RDF without notice,
 * so a signature would not cover it.
 */
function assertSignable(node: unknown, path: string): void {
  if (Array.isArray(node)) return node.forEach((v, i) => assertSignable(v, `${path}[${i}]`));
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'id' || key === '@id') && typeof value === 'string' && !ABSOLUTE_IRI.test(value)) {
      throw new ExchangeError('e.p.req.credential-context', 400, `${key} "${value}" is not an absolute IRI, so a JSON-LD signature does not cover it; use an absolute IRI such as urn:uuid:${value}`, `${path}.${key}`);
    }
    if (key === '@context') {
      for (const ctx of Array.isArray(value) ? value : [value]) {
        if (typeof ctx !== 'string') {
          throw new ExchangeError('e.p.req.credential-context', 400, `inline JSON-LD contexts are not accepted (they could redefine signed terms); name a context by URL`, `${path}.@context`);
        }
        if (!shippedContexts().has(ctx)) throw unknownContext(ctx, path);
      }
    } else {
      assertSignable(value, `${path}.${key}`);
    }
  }
}

const ABSOLUTE_IRI = /^[A-Za-z][A-Za-z0-9+.-]*:\S*$/;

/** jsonld wraps loader and expansion-map errors in its own; find ours in the cause chain. */
function exchangeErrorIn(e: unknown): ExchangeError | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 6; depth++) {
    if (c instanceof ExchangeError) return c;
    const o = c as { cause?: unknown; details?: { cause?: unknown } };
    c = o.details?.cause ?? o.cause;
  }
  return undefined;
}
