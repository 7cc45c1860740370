// The token service's public face: signing keys with rotation, pairing links, RFC 8693 token exchange,
// introspection, the JWKS and metadata, the OAuth endpoint plugin that `/oauth2/token` runs on, the
// workload identity validators and the development workload issuer. The verifiers are exported here
// too; their files need only jose, lru-cache and jose-failures.ts, so an assistant-side component or
// another resource server can use them without a database.
export {
  createLocalKeyEncryptor, loadKeyEncryptionKey, KeyEncryptionError, type KeyEncryptor,
} from './key-encryption.ts';
export {
  createSigningKeyStore, toPublishedJwk, SigningKeyUnavailableError, SIGNING_ALG,
  type SigningKey, type SigningKeyStore, type SigningKeyStoreOptions, type PublishedJwk,
} from './signing-keys.ts';
export {
  createPairingService, recordPairingLink, revokePairingLinksOf, isPairingLinkRevoked, pairingRefusal, pairingUrl,
  assistantAudience, PAIRING_TOKEN_TYPE, PAIRING_MAX_TTL_SECONDS, PAIRING_PATH,
  type PairingService, type PairingRequest, type PairingLink,
} from './pairing.ts';
export {
  createPairingVerifier, createMemorySeenLinks, PairingLinkError, SeenLinksFullError,
  type PairingVerifier, type PairingVerifierOptions, type VerifiedPairing, type SeenLinks, type PairingLinkErrorCode,
} from './pairing-verifier.ts';
export {
  createTokenVerifier, TokenVerificationError, ACCESS_TOKEN_TYPE,
  type TokenVerifier, type TokenVerifierOptions, type VerifiedToken, type TokenVerificationErrorCode, type CurrentEpoch,
} from './token-verifier.ts';
export {
  oauthEndpoints, OAuthError, readForm, optional, required, sendOAuthError, SCOPE_PATTERN,
  type OAuthErrorCode, type OAuthForm, type FormFields, type TokenGrant, type OAuthEndpointOptions,
} from './oauth-endpoint.ts';
export {
  tokenExchangeGrant, TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE_JWT, TOKEN_TYPE_ACCESS_TOKEN,
  type TokenExchangeDependencies, type ExchangeDirectory,
} from './exchange.ts';
export { createAudienceRegistry, type Audience, type AudienceRegistry, type AudienceUris } from './audiences.ts';
export {
  createJwksWorkloadValidator, createTokenReviewValidator, WorkloadIdentityError,
  type WorkloadIdentity, type WorkloadIdentityValidator,
} from './workload-identity.ts';
export { createDevWorkloadIssuer, DEV_WORKLOAD_PATH, type DevWorkloadIssuer } from './dev-workload-issuer.ts';
export { authenticateClient, generateClientSecret, hashClientSecret, type AuthenticatedClient } from './client-authentication.ts';
export { createUpstreamSubjectTokenMinter, type UpstreamSubjectTokenMinter } from './access-tokens.ts';
export { createTokenService, PublishedJwkSchema, type TokenService, type TokenServiceDependencies } from './token-service.ts';
export { createWorkloadValidator } from './workload-validator.ts';
