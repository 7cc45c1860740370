// The access-token verifier for resource servers (the MCP gateway first). It trusts the token
// service's published keys, checks every claim the exchange puts in a token, and asks the local
// revocation feed for the owner's epoch on every call, cached or not, so a revoke reaches tokens
// that were already verified. Every refusal is a TokenVerificationError with a stable code.
// Like the pairing verifier, it needs nothing but jose, lru-cache, node:crypto and jose-failures.ts.
import { createHash } from 'node:crypto';
import {
  createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify,
  type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, type ProtectedHeaderParameters,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { classifyJoseFailure, COMPACT_JWS, FORBIDDEN_HEADERS } from './jose-failures.ts';

export type TokenVerificationErrorCode =
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_TOKEN_ALGORITHM'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_ISSUER'
  | 'ERR_TOKEN_AUDIENCE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_LIFETIME'
  | 'ERR_TOKEN_REVOKED'
  /** The verifier cannot decide now (keys unreachable, revocation feed stale): answer 503 and fail closed. */
  | 'ERR_TOKEN_UNAVAILABLE';

export class TokenVerificationError extends Error {
  override readonly name = 'TokenVerificationError';
  readonly code: TokenVerificationErrorCode;

  constructor(code: TokenVerificationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The owner's current revocation epoch; `undefined` for an unknown person, `'stale'` when the feed is behind. */
export type CurrentEpoch = (personId: string) => number | undefined | 'stale';

export interface TokenVerifierOptions {
  /** The token service's issuer, exactly as it signs `iss`. */
  issuer: string;
  /**
   * The audiences this resource server accepts; a token must name exactly one of them. A function
   * accepts a family of audiences, such as every tool's resource URI behind the MCP gateway.
   */
  audience: string | string[] | ((audience: string) => boolean);
  /**
   * The token service's JWKS URL, a key set at hand, or a jose key resolver. A URL is fetched and
   * cached for `jwksCacheMaxAgeSeconds`; an unknown `kid` refetches at most once per `jwksCooldownSeconds`.
   */
  jwks: URL | JSONWebKeySet | JWTVerifyGetKey;
  jwksCacheMaxAgeSeconds?: number;
  jwksCooldownSeconds?: number;
  /** Asymmetric algorithms only; default ES256. */
  algorithms?: string[];
  clockToleranceSeconds?: number;
  maxTokenLength?: number;
  /** A token whose `exp - iat` is larger is refused, whatever its signature. */
  maxLifetimeSeconds?: number;
  currentEpoch: CurrentEpoch;
  cache?: { max?: number };
  /** The clock, in milliseconds since the epoch; Date.now unless told. */
  now?: () => number;
}

export interface VerifiedToken {
  /** The assistant the token was issued to (`sub`). */
  subject: string;
  /** The person who owns that assistant (`owner`). */
  owner: string;
  audience: string;
  scope?: string;
  jti: string;
  issuedAt: Date;
  expiresAt: Date;
  /** The owner's revocation epoch when the token was issued (`sv`). */
  epoch: number;
}

export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

// Our kids are JWK thumbprints (base64url); anything else (paths, URLs, injection) is refused unread.
const SAFE_KID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_CLAIM_LENGTH = 512;
/** The JOSE `typ` of every access token the token service signs (RFC 9068). */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
const SYMMETRIC_OR_NONE = /^(HS\d+|none)$/i;

const refuse = (code: TokenVerificationErrorCode, message: string, cause?: unknown) =>
  new TokenVerificationError(code, message, cause === undefined ? undefined : { cause });
const malformed = (message: string) => refuse('ERR_TOKEN_MALFORMED', message);

/** Turns what jose (or a key resolver) throws into the verifier's codes; anything unexpected is "unavailable", never a pass. */
function fromJose(err: unknown): TokenVerificationError {
  if (err instanceof TokenVerificationError) return err;
  const failure = classifyJoseFailure(err);
  switch (failure.kind) {
    case 'expired': return refuse('ERR_TOKEN_EXPIRED', failure.claim === 'iat' ? 'the token was issued too long ago' : 'the token has expired', err);
    case 'missing-claim': return refuse('ERR_TOKEN_MALFORMED', `the token has no "${failure.claim}" claim`, err);
    case 'claim':
      switch (failure.claim) {
        case 'iss': return refuse('ERR_TOKEN_ISSUER', 'the token was not issued by the trusted token service', err);
        case 'aud': return refuse('ERR_TOKEN_AUDIENCE', 'the token is for another audience', err);
        case 'nbf': return refuse('ERR_TOKEN_NOT_YET_VALID', 'the token is not valid yet; check the clocks', err);
        case 'iat': return refuse('ERR_TOKEN_NOT_YET_VALID', 'the token claims to be issued in the future; check the clocks', err);
        default: return refuse('ERR_TOKEN_MALFORMED', `the token's "${failure.claim}" is invalid (${failure.reason})`, err);
      }
    case 'algorithm': return refuse('ERR_TOKEN_ALGORITHM', 'the token uses an algorithm that is not allowed', err);
    case 'signature': return refuse('ERR_TOKEN_SIGNATURE', 'the token is not signed by a published key of the token service', err);
    case 'malformed': return refuse('ERR_TOKEN_MALFORMED', 'the token is not a well-formed JWT', err);
    case 'unavailable': return refuse('ERR_TOKEN_UNAVAILABLE', 'the token cannot be checked now (the signing keys are unreachable)', err);
  }
}

/** The header rules jose does not enforce by itself, checked before any key is looked up. */
function checkHeader(header: ProtectedHeaderParameters, algorithms: readonly string[]): void {
  if (typeof header.alg !== 'string') throw malformed('the token\'s header names no algorithm');
  // `none`, HMAC with a public key as the secret, and RS/ES confusion all end here.
  if (!algorithms.includes(header.alg)) {
    throw refuse('ERR_TOKEN_ALGORITHM', `the token uses algorithm ${header.alg}; allowed: ${algorithms.join(', ')}`);
  }
  for (const name of FORBIDDEN_HEADERS) {
    if (name in header) throw malformed(`the token's header carries "${name}", which is not accepted`);
  }
  if (typeof header.kid !== 'string' || !SAFE_KID.test(header.kid)) throw malformed('the token names no usable key (kid)');
  // RFC 9068: access tokens are typed, so a pairing link or an ID token signed elsewhere never passes for one.
  if (typeof header.typ !== 'string' || header.typ.toLowerCase().replace(/^application\//, '') !== ACCESS_TOKEN_TYPE) {
    throw malformed(`the token is not an access token (typ ${ACCESS_TOKEN_TYPE})`);
  }
}

const usableString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_CLAIM_LENGTH;

/** The claims jwtVerify does not check by itself: one accepted audience, lifetime, identities and epoch. */
function checkClaims(payload: JWTPayload, maxLifetimeSeconds: number, accepts: (audience: string) => boolean): VerifiedToken {
  const { aud, iat, exp, jti, sub } = payload;
  const audiences = typeof aud === 'string' ? [aud] : aud ?? [];
  const [audience] = audiences;
  if (audiences.length !== 1 || audience === undefined) throw refuse('ERR_TOKEN_AUDIENCE', 'the token must name exactly one audience');
  if (!accepts(audience)) throw refuse('ERR_TOKEN_AUDIENCE', 'the token is for another audience');
  if (typeof iat !== 'number' || typeof exp !== 'number') throw malformed('the token has no iat or exp');
  if (exp - iat > maxLifetimeSeconds) throw refuse('ERR_TOKEN_LIFETIME', `the token lives longer than ${maxLifetimeSeconds} seconds`);
  if (!usableString(jti)) throw malformed('the token has no usable jti');
  if (!usableString(sub)) throw malformed('the token has no usable sub (assistant)');
  const { owner, sv, scope } = payload;
  if (!usableString(owner)) throw malformed('the token has no usable owner (person)');
  if (typeof sv !== 'number' || !Number.isSafeInteger(sv) || sv < 0) throw malformed('the token has no usable sv (revocation epoch)');
  if (scope !== undefined && typeof scope !== 'string') throw malformed('the token\'s scope is not a string');
  return { subject: sub, owner, audience, ...(scope === undefined ? {} : { scope }), jti, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000), epoch: sv };
}

/** Refuses a token whose owner is unknown, whose epoch has moved past it, or when the feed cannot say. */
function checkEpoch(verified: VerifiedToken, currentEpoch: CurrentEpoch): void {
  let current: ReturnType<CurrentEpoch>;
  try {
    current = currentEpoch(verified.owner);
  } catch (err) {
    throw refuse('ERR_TOKEN_UNAVAILABLE', 'cannot tell now whether the token was revoked', err);
  }
  if (current === 'stale') throw refuse('ERR_TOKEN_UNAVAILABLE', 'the revocation feed is stale; refusing until it resynchronises');
  if (current === undefined) throw refuse('ERR_TOKEN_REVOKED', 'the token\'s owner is not known here');
  if (!Number.isSafeInteger(current)) throw refuse('ERR_TOKEN_UNAVAILABLE', 'the revocation feed gave no usable epoch');
  if (current > verified.epoch) throw refuse('ERR_TOKEN_REVOKED', 'the token was revoked');
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`token verifier: ${name} must be a positive number, got ${value}`);
  return value;
}

function keyResolver(options: TokenVerifierOptions): JWTVerifyGetKey {
  const { jwks } = options;
  if (typeof jwks === 'function') return jwks;
  if (jwks instanceof URL) {
    return createRemoteJWKSet(jwks, {
      cacheMaxAge: positive('jwksCacheMaxAgeSeconds', options.jwksCacheMaxAgeSeconds ?? 600) * 1000,
      cooldownDuration: positive('jwksCooldownSeconds', options.jwksCooldownSeconds ?? 30) * 1000,
    });
  }
  return createLocalJWKSet(jwks);
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const algorithms = options.algorithms ?? ['ES256'];
  if (algorithms.length === 0 || algorithms.some((alg) => SYMMETRIC_OR_NONE.test(alg))) {
    throw new TypeError(`token verifier: algorithms must be asymmetric signature algorithms, got ${algorithms.join(', ') || 'none'}`);
  }
  const { audience } = options;
  const audiences = typeof audience === 'function' ? undefined : typeof audience === 'string' ? [audience] : audience;
  if (audiences?.length === 0) throw new TypeError('token verifier: at least one audience is required');
  const accepts = typeof audience === 'function' ? audience : (value: string) => audiences!.includes(value);
  const tolerance = options.clockToleranceSeconds ?? 5;
  const maxLength = positive('maxTokenLength', options.maxTokenLength ?? 4096);
  const maxLifetime = positive('maxLifetimeSeconds', options.maxLifetimeSeconds ?? 300);
  const now = options.now ?? Date.now;
  const keys = keyResolver(options);
  const cache = new LRUCache<string, VerifiedToken>({
    max: positive('cache.max', options.cache?.max ?? 10_000),
    ttlAutopurge: false,
    ttlResolution: 0,
    perf: { now },
  });

  async function verifySignatureAndClaims(token: string): Promise<VerifiedToken> {
    if (!COMPACT_JWS.test(token)) throw malformed('the token is not a compact JWS');
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw malformed('the token\'s header is not readable');
    }
    checkHeader(header, algorithms);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms,
        issuer: options.issuer,
        ...(audiences ? { audience: audiences } : {}),
        clockTolerance: tolerance,
        // Also refuses an `iat` in the future, which would otherwise stretch the lifetime bound.
        maxTokenAge: maxLifetime,
        currentDate: new Date(now()),
        requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti'],
      }));
    } catch (err) {
      throw fromJose(err);
    }
    return checkClaims(payload, maxLifetime, accepts);
  }

  return {
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0) throw malformed('no token was given');
      if (token.length > maxLength) throw refuse('ERR_TOKEN_TOO_LARGE', `the token is longer than ${maxLength} characters`);
      const key = createHash('sha256').update(token).digest('base64url');
      let verified = cache.get(key);
      if (verified === undefined) {
        verified = await verifySignatureAndClaims(token);
        // Held no longer than the token lives (tolerance not included), so the cache never outlives exp.
        const ttl = verified.expiresAt.getTime() - now();
        if (ttl > 0) cache.set(key, verified, { ttl });
      }
      checkEpoch(verified, options.currentEpoch);
      return { ...verified, issuedAt: new Date(verified.issuedAt.getTime()), expiresAt: new Date(verified.expiresAt.getTime()) };
    },
  };
}
