// Validating the provider's ID token: signature against the provider's JWKS, an algorithm allowlist
// (never `none`, never a symmetric algorithm), issuer, audience, expiry with a small tolerance, and the
// nonce bound to this login.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export const ID_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export class IdTokenError extends Error {
  constructor(readonly reason: string) {
    super(`the identity provider's ID token was refused: ${reason}`);
    this.name = 'IdTokenError';
  }
}

/** A fresh nonce for one sign-in; the browser keeps it in an HttpOnly cookie until the callback. */
export const newNonce = () => randomBytes(32).toString('base64url');

export async function verifyIdToken(idToken: string, expected: {
  jwks: JWTVerifyGetKey; issuer: string; clientId: string; nonce: string; clockToleranceSeconds?: number;
}): Promise<JWTPayload> {
  if (idToken.length > 16_384) throw new IdTokenError('it is too large');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, expected.jwks, {
      issuer: expected.issuer, audience: expected.clientId, algorithms: ID_TOKEN_ALGORITHMS,
      clockTolerance: expected.clockToleranceSeconds ?? 30, requiredClaims: ['sub', 'iat', 'exp'],
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new IdTokenError('it has expired');
    if (err instanceof errors.JWTClaimValidationFailed) throw new IdTokenError(`its ${err.claim} claim is wrong`);
    if (err instanceof errors.JOSEAlgNotAllowed) throw new IdTokenError('its algorithm is not allowed');
    if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) {
      throw new IdTokenError('its signature does not verify');
    }
    throw new IdTokenError('it is malformed');
  }
  // With several audiences, the authorized party must be us (OpenID Connect Core 3.1.3.7).
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== expected.clientId) {
    throw new IdTokenError('its azp claim is wrong');
  }
  const nonce = typeof payload.nonce === 'string' ? Buffer.from(payload.nonce) : Buffer.alloc(0);
  const wanted = Buffer.from(expected.nonce);
  if (wanted.length === 0) throw new IdTokenError('this browser holds no nonce for a sign-in; start again');
  if (nonce.length !== wanted.length || !timingSafeEqual(nonce, wanted)) throw new IdTokenError('its nonce does not match this sign-in');
  return payload;
}
