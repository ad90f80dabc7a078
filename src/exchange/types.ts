/**
 * The exchange's boundaries (ARCHITECTURE.md, "Key interfaces"): what the inbox, the outbox, the
 * pull route and the simulator need from credentials and from a trust adapter. Plain data in and out,
 * so the standalone adapter and the Nuts v5 adapter are interchangeable behind `Trust`.
 */
import type { JWK } from 'jose';

/** The validated query a ValidatedQueryCredential carries (credentialSubject.validatedQuery), decoded. */
export interface ValidatedQuery {
  /** As the credential gave it (`identifier` or `id`; `urn:uuid:…` or a bare UUID). */
  identifier: string;
  /** The bare lower-case UUID: the query id in result ids `<requestId>#<queryId>`. */
  uuid: string;
  name?: string;
  description?: string;
  /** Ontology IRIs, optionally with a version fragment (`…#3.0.0`); a single string becomes a list. */
  ontology: string[];
  /** The exchange profile (URL) that defines the query. */
  profile: string;
  /** The SPARQL text, decoded from standard Base64 or URL encoding. */
  sparql: string;
  /** SHACL (Turtle) for the parameters that may be filled in. */
  paramsSHACL?: string;
}

/** One credential that passed every check: signature, subject, issuer trust, validity, revocation. */
export interface VerifiedCredential {
  id?: string;
  format: 'ldp' | 'jwt';
  types: string[];
  issuer: string;
  subject: string;
  issuanceDate: string;
  expirationDate?: string;
  query: ValidatedQuery;
}

/** A public key found for a verification method or JWS `kid`, with the DID that controls it. */
export interface ResolvedKey {
  did: string;
  /** The verification method id (`did:…#key`), or the kid as given. */
  kid: string;
  jwk: JWK;
}

/** Finds the public key a signature names (a DID URL or a kid); rejects with ExchangeError when unknown. */
export type KeyResolver = (kidOrVerificationMethod: string) => Promise<ResolvedKey>;

/** What decides whether a credential's issuer and status are acceptable. */
export interface CredentialPolicy {
  /** DIDs of the issuers (the beheerorganisatie) trusted for ValidatedQueryCredential. */
  trustedIssuers: string[];
  /** True when the credential (by id) has been revoked. */
  isRevoked(credentialId: string): Promise<boolean>;
}

/**
 * Verifies a presentation (a JSON-LD object, its Base64 text, or a VP-JWT) signed by `holder` and every
 * ValidatedQueryCredential in it (proof, subject = holder, issuer trusted, valid at `at`, not revoked).
 * The standalone adapter delegates to it; src/exchange/credentials implements it.
 */
export type PresentationVerifier = (vp: unknown, opts: { holder: string; at: Date; resolveKey: KeyResolver; policy: CredentialPolicy }) => Promise<VerifiedCredential[]>;

/** The claims of an access token that verified: issued by us (or our Nuts node) for `service`. */
export interface AccessTokenClaims {
  /** The peer the token was issued to (the requester's DID). */
  subject: string;
  service: string;
  issuer: string;
  expiresAt: number;
}

/**
 * A trust adapter: the standalone one (our own keys, peers from configuration, our own token
 * endpoint) or the Nuts v5 one (the node's internal API). Every failure is an ExchangeError.
 */
export interface Trust {
  readonly mode: 'standalone' | 'nuts';
  /** This datastation's DID. */
  readonly did: string;
  /** Checks a bearer token presented to us: valid, issued for us, for `service`, to `from`. */
  verifyAccessToken(token: string, expect: { from: string; service: string }): Promise<AccessTokenClaims>;
  /** Verifies a presentation (JSON-LD object, its Base64 text, or a VP-JWT) and every credential in it. */
  verifyPresentation(vp: unknown, expect: { holder: string; at: Date }): Promise<VerifiedCredential[]>;
  /** Resolves a key by DID URL or kid (for JWS and proofs). */
  resolveKey: KeyResolver;
  /** Signs a payload as a compact JWS (ES256) with our current key. */
  signJws(payload: Uint8Array, headers?: Record<string, unknown>): Promise<string>;
  /** Our public keys, current and those still needed to check answers not yet expired. */
  jwks(): Promise<{ keys: JWK[] }>;
  /**
   * An access token from `peer` to call its `service` endpoint (e.g. to POST a response). `refresh`
   * asks for a new one instead of a cached one (after the peer answered 401 to the cached token).
   */
  accessTokenFor(peer: string, service: string, opts?: { refresh?: boolean }): Promise<string>;
  /** The endpoint of `peer` for `service` (e.g. its DIDComm endpoint). */
  endpointOf(peer: string, service: string): Promise<URL>;
}

/** The service our DIDComm inbox is protected as (KIK-V, Nuts RFC003). */
export const KIKV_SERVICE = 'didcomm-service-kikv';

/**
 * A refused message, request or check. `code` is a DIDComm problem code (`e.p.<scope>.<descriptor>`),
 * `status` the HTTP status to answer with, `path` the JSON path of the offending field when there is one.
 * The message names what was wrong and what the sender should change.
 */
export class ExchangeError extends Error {
  override readonly name = 'ExchangeError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}
