// What jose throws, sorted into the few kinds of failure a verifier reports. Each verifier turns a
// kind into its own error codes and words; anything unrecognised is "unavailable", never a pass.
import { errors } from 'jose';

/** Headers that would let a token choose its own key or add rules we do not implement; every verifier refuses them. */
export const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

/** Three base64url parts: the only serialisation our verifiers read. */
export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export type JoseFailure =
  | { kind: 'expired'; claim: string }
  | { kind: 'missing-claim'; claim: string }
  | { kind: 'claim'; claim: string; reason: string }
  | { kind: 'algorithm' }
  | { kind: 'signature' }
  | { kind: 'malformed' }
  | { kind: 'unavailable' };

export function classifyJoseFailure(err: unknown): JoseFailure {
  if (err instanceof errors.JWTExpired) return { kind: 'expired', claim: err.claim };
  if (err instanceof errors.JWTClaimValidationFailed) {
    return err.reason === 'missing' ? { kind: 'missing-claim', claim: err.claim } : { kind: 'claim', claim: err.claim, reason: err.reason };
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return { kind: 'algorithm' };
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey
    || err instanceof errors.JWKSMultipleMatchingKeys) {
    return { kind: 'signature' };
  }
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid || err instanceof errors.JOSENotSupported) {
    return { kind: 'malformed' };
  }
  return { kind: 'unavailable' };
}
