/** The OAuth2 side of a trust adapter that runs its own authorisation server (standalone mode). */

/** An RFC 6749 §5.2 error: `error` code, HTTP status, and a description saying what to fix. */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope',
    readonly status: 400 | 401,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }
}

/** RFC 6749 §5.1 access token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** RFC 7662 §2.2 introspection response; only `active` when the token is not ours or not valid. */
export interface IntrospectionResponse {
  active: boolean;
  iss?: string;
  sub?: string;
  aud?: string;
  service?: string;
  scope?: string;
  client_id?: string;
  token_type?: string;
  exp?: number;
  iat?: number;
  jti?: string;
}

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** What the token endpoint (src/server/token.ts) needs: redeem an RFC 7523 assertion, introspect a token. */
export interface TokenIssuer {
  /** Checks the assertion (RFC 7523 §3) and issues an access token for `scope`; throws OAuthError. */
  tokenForAssertion(assertion: string, scope: string | undefined): Promise<TokenResponse>;
  introspect(token: string): Promise<IntrospectionResponse>;
}
