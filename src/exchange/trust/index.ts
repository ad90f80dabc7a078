import type { AgentConfig } from '../../config/schema.js';
import type { PresentationVerifier, Trust } from '../types.js';
import { NutsTrust } from './nuts.js';
import { peerOf } from './peers.js';
import { revocationListOf } from './revocation.js';
import { StandaloneTrust } from './standalone.js';

export { NutsTrust, type NutsTrustOptions } from './nuts.js';
export { StandaloneTrust, type StandaloneTrustOptions } from './standalone.js';
export { OAuthError, type TokenIssuer, type TokenResponse, type IntrospectionResponse } from './oauth.js';

/** Path of our token endpoint under the server's public URL (src/server/token.ts). */
export const TOKEN_PATH = '/oauth2/token';

/**
 * The trust adapter the configuration asks for. Peer key files are read now, so a bad one is a
 * ConfigError at start, not a refusal later.
 */
export function createTrust(cfg: AgentConfig, deps: { verifyPresentation: PresentationVerifier }): Trust {
  const t = cfg.trust;
  if (t.mode === 'nuts') {
    return new NutsTrust({ did: cfg.agent.did, url: t.nuts!.url, trustedIssuers: t.trustedIssuers, isRevoked: revocationListOf(t.revokedCredentials), signingKeyId: t.nuts!.signingKeyId, endpointType: t.nuts!.endpointType, timeoutMs: t.nuts!.timeoutMs });
  }
  return new StandaloneTrust({
    did: cfg.agent.did,
    keysDir: t.keysDir,
    tokenEndpoint: `${cfg.server.publicUrl.replace(/\/+$/, '')}${TOKEN_PATH}`,
    peers: t.peers.map(peerOf),
    trustedIssuers: t.trustedIssuers,
    isRevoked: revocationListOf(t.revokedCredentials),
    verifyPresentation: deps.verifyPresentation,
    tokenLifetimeSeconds: t.tokenLifetimeSeconds,
    timeoutMs: cfg.delivery.timeoutMs,
  });
}
