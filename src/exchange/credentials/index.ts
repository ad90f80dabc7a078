/** Verifiable credentials for the KIK-V exchange: JSON-LD (JsonWebSignature2020, as Nuts v5 makes them) and VC-JWT. */
export { verifyPresentation } from './verify.js';
export { issueValidatedQueryCredential, presentCredentials, encodePresentation, VC_CONTEXT, KIKV_CONTEXT } from './issue.js';
export type { CredentialFormat, Issued, IssueOptions, PresentOptions, QueryToIssue, JsonLdDocument } from './issue.js';
export type { Signer, ProofOptions } from './ld-proof.js';
export { withJws2020Proof, verifiedJws2020Signer, NUTS_JWS2020_CONTEXT } from './ld-proof.js';
export { CONTEXTS_DIR, shippedContexts } from './contexts.js';
