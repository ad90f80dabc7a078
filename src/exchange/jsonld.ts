import Module, { createRequire } from 'node:module';
import type * as JsonLdLibrary from 'jsonld';

/**
 * The jsonld library, loaded so that it cannot reach the network. jsonld 5.x loads
 * @digitalbazaar/http-client through the `esm` loader, which fails on current Node; we never fetch
 * (contexts ship in contexts/), so an empty module stands in for the client before jsonld is loaded.
 */
export function jsonLdLibrary(): typeof JsonLdLibrary {
  const require = createRequire(import.meta.url);
  const client = require.resolve('@digitalbazaar/http-client', { paths: [require.resolve('jsonld')] });
  if (!require.cache[client]) {
    const stub = new Module(client);
    stub.filename = client;
    stub.loaded = true;
    stub.exports = { httpClient: undefined };
    require.cache[client] = stub;
  }
  return require('jsonld') as typeof JsonLdLibrary;
}
