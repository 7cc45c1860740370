// The access tokens the token service signs (RFC 9068 profile): `typ` at+jwt, one audience, minutes of
// life, the owner and their revocation epoch. The claim names are the contract with token-verifier.ts.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKey } from './signing-keys.ts';
import { ACCESS_TOKEN_TYPE, type CurrentEpoch } from './token-verifier.ts';
import { OAuthError } from './oauth-endpoint.ts';

export interface AccessTokenSigner {
  /** `iss` of every token. */
  issuer: string;
  currentSigningKey(): Promise<SigningKey>;
}

export interface AccessTokenClaims {
  /** The assistant (`sub`, and `client_id` as RFC 9068 asks). */
  subject: string;
  /** The person who owns the assistant. */
  owner: string;
  audience: string;
  /** The owner's revocation epoch now (`sv`). */
  epoch: number;
  scope?: string;
  ttlSeconds: number;
  /** The token never lives past this (seconds since the epoch), e.g. the subject token's own expiry. */
  notAfter?: number;
}

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresIn: number;
}

export async function signAccessToken(signer: AccessTokenSigner, claims: AccessTokenClaims, nowMs: number): Promise<IssuedAccessToken> {
  const iat = Math.floor(nowMs / 1000);
  const exp = Math.min(iat + claims.ttlSeconds, claims.notAfter ?? Number.POSITIVE_INFINITY);
  if (exp <= iat) throw new OAuthError('invalid_grant', 'the subject token expires too soon to exchange');
  const key = await signer.currentSigningKey();
  const jti = randomUUID();
  const payload: Record<string, unknown> = { owner: claims.owner, sv: claims.epoch, client_id: claims.subject };
  if (claims.scope !== undefined) payload.scope = claims.scope;
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(signer.issuer)
    .setSubject(claims.subject)
    .setAudience(claims.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key.privateKey);
  return { token, jti, expiresIn: exp - iat };
}

const UPSTREAM_SUBJECT_TTL_SECONDS = 60;

export type UpstreamSubjectTokenMinter = (caller: { assistantId: string; personId: string }, audience: string) => Promise<string>;

/**
 * Mints 60-second tokens naming a person and their assistant for an upstream authorization server that
 * trusts OpenCrane's keys: the MCP gateway presents one as the RFC 8693 subject token when a tool's
 * credential is a token exchange, never the assistant's own token.
 */
export function createUpstreamSubjectTokenMinter(deps: { signer: AccessTokenSigner; currentEpoch: CurrentEpoch }): UpstreamSubjectTokenMinter {
  return async (caller, audience) => {
    const epoch = deps.currentEpoch(caller.personId);
    if (typeof epoch !== 'number') throw new Error('the person\'s revocation epoch is not known here now');
    const issued = await signAccessToken(deps.signer, {
      subject: caller.assistantId, owner: caller.personId, audience, epoch, ttlSeconds: UPSTREAM_SUBJECT_TTL_SECONDS,
    }, Date.now());
    return issued.token;
  };
}
