import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ExchangeError } from '../types.js';

/**
 * The JSON-LD contexts the agent ships (contexts/ at the package root, listed in contexts/index.json).
 * Canonicalisation must never depend on the network: a context fetched at run time could change
 * what a signature covers, and the datastation may have no internet access at all.
 */
export const CONTEXTS_DIR = fileURLToPath(new URL('../../../contexts/', import.meta.url));

export interface LoadedDocument {
  contextUrl: null;
  documentUrl: string;
  document: unknown;
}

let shipped: Map<string, unknown> | undefined;

/** The shipped contexts by URL, read once. */
export function shippedContexts(): Map<string, unknown> {
  if (!shipped) {
    const index = JSON.parse(readFileSync(`${CONTEXTS_DIR}index.json`, 'utf8')) as Record<string, string>;
    shipped = new Map(Object.entries(index).map(([url, file]) => [url, JSON.parse(readFileSync(`${CONTEXTS_DIR}${file}`, 'utf8'))]));
  }
  return shipped;
}

/** A jsonld.js document loader over the shipped contexts; an unknown URL is refused, never fetched. */
export async function documentLoader(url: string): Promise<LoadedDocument> {
  const document = shippedContexts().get(url);
  if (document === undefined) throw unknownContext(url);
  return { contextUrl: null, documentUrl: url, document };
}

export function unknownContext(url: string, path = '$.body.vp'): ExchangeError {
  return new ExchangeError(
    'e.p.req.credential-context',
    400,
    `JSON-LD context "${url}" is not shipped with this agent (contexts/ holds ${[...shippedContexts().keys()].join(', ')}); use one of those, or add the context document to contexts/ and contexts/index.json`,
    `${path}.@context`,
  );
}
