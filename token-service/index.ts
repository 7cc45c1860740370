// The token service's public face. For now it holds the signing keys and pairing links; the token
// exchange (RFC 8693), introspection and key rotation join it in the token-service issue. The pairing
// verifier is exported here too, and its file needs only jose, lru-cache and jose-failures.ts, so an
// assistant-side component can use it without a database.
import type { Db } from '../core/index.ts';
import type { KeyEncryptor } from './key-encryption.ts';
import { createSigningKeyStore, type SigningKeyStore } from './signing-keys.ts';
import { createPairingService, type PairingService } from './pairing.ts';

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
  createTokenVerifier, TokenVerificationError,
  type TokenVerifier, type TokenVerifierOptions, type VerifiedToken, type TokenVerificationErrorCode, type CurrentEpoch,
} from './token-verifier.ts';

export interface TokenService {
  keys: SigningKeyStore;
  pairing: PairingService;
  /** Makes sure a signing key exists and opens under this key-encryption key, so a wrong KEK stops the start. */
  start(): Promise<void>;
}

/** The token service as the control plane runs it today: its key store and the pairing links it signs. */
export function createTokenService(deps: { db: Db; encryptor: KeyEncryptor }): TokenService {
  const keys = createSigningKeyStore(deps);
  return {
    keys,
    pairing: createPairingService({ keys }),
    async start() {
      await keys.ensureSigningKey();
      await keys.currentSigningKey();
    },
  };
}
