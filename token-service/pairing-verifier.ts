// The pairing-link verifier for the assistant side (the sidecar in the assistant's pod). It has no
// database: it trusts the control plane's published keys, checks every claim against the one
// assistant and owner it serves, and remembers each `jti` until the link expires, so a link opens
// the assistant at most once. Every refusal is a PairingLinkError with a stable code.
import {
  createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify,
  type JSONWebKeySet, type JWTPayload,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { classifyJoseFailure, COMPACT_JWS } from './jose-failures.ts';

// Kept free of database and server imports on purpose: an assistant-side component imports this file.
const PAIRING_TOKEN_TYPE = 'opencrane-pairing+jwt';
const PAIRING_MAX_TTL_SECONDS = 60;
const ALLOWED_ALGORITHMS = ['ES256'];
const audienceOf = (assistantId: string) => `opencrane:assistant:${assistantId}`;

export type PairingLinkErrorCode =
  | 'ERR_PAIRING_MALFORMED'
  | 'ERR_PAIRING_SIGNATURE'
  | 'ERR_PAIRING_WRONG_ISSUER'
  | 'ERR_PAIRING_WRONG_ASSISTANT'
  | 'ERR_PAIRING_WRONG_OWNER'
  | 'ERR_PAIRING_EXPIRED'
  | 'ERR_PAIRING_REVOKED'
  | 'ERR_PAIRING_REPLAYED'
  /** The verifier cannot decide now (keys unreachable, replay store full): answer 503 and fail closed. */
  | 'ERR_PAIRING_UNAVAILABLE';

export class PairingLinkError extends Error {
  override readonly name = 'PairingLinkError';
  readonly code: PairingLinkErrorCode;

  constructor(code: PairingLinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Remembers used link ids. `remember` returns false when the id was already seen. */
export interface SeenLinks {
  /** `expiresAt`: the instant after which the verifier refuses the link anyway, so it may be forgotten then. */
  remember(jti: string, expiresAt: Date): boolean | Promise<boolean>;
}

export interface PairingVerifierOptions {
  /** The control plane's issuer, exactly as it signs `iss`. */
  issuer: string;
  /** The assistant this component serves. */
  assistantId: string;
  /** The person who owns that assistant. */
  ownerId: string;
  /** The control plane's JWKS URL (`<issuer>/.well-known/jwks.json`), or a key set already at hand. */
  jwks: URL | JSONWebKeySet;
  seen: SeenLinks;
  /** Asks whether a link was revoked (for example, its person suspended) before it expired. */
  isRevoked?: (jti: string) => Promise<boolean>;
  clockToleranceSeconds?: number;
  maxTokenLength?: number;
}

export interface VerifiedPairing {
  personId: string;
  jti: string;
  expiresAt: Date;
}

export interface PairingVerifier {
  verify(token: string): Promise<VerifiedPairing>;
}

const MAX_JTI_LENGTH = 200;

const malformed = (message: string) => new PairingLinkError('ERR_PAIRING_MALFORMED', message);

/** Turns what jose throws into the verifier's codes; anything unexpected is "unavailable", never a pass. */
function fromJose(err: unknown): PairingLinkError {
  if (err instanceof PairingLinkError) return err;
  const failure = classifyJoseFailure(err);
  const refuse = (code: PairingLinkErrorCode, message: string) => new PairingLinkError(code, message, { cause: err });
  switch (failure.kind) {
    case 'expired': return refuse('ERR_PAIRING_EXPIRED', 'the pairing link has expired; open your assistant again from OpenCrane');
    case 'missing-claim': return refuse('ERR_PAIRING_MALFORMED', `the pairing link has no "${failure.claim}" claim`);
    case 'claim':
      switch (failure.claim) {
        case 'iss': return refuse('ERR_PAIRING_WRONG_ISSUER', 'the pairing link was not issued by this assistant\'s control plane');
        case 'aud': return refuse('ERR_PAIRING_WRONG_ASSISTANT', 'the pairing link is for another assistant');
        case 'sub': return refuse('ERR_PAIRING_WRONG_OWNER', 'the pairing link is for someone other than this assistant\'s owner');
        case 'nbf': return refuse('ERR_PAIRING_EXPIRED', 'the pairing link is not valid yet; check the clocks');
        default: return refuse('ERR_PAIRING_MALFORMED', `the pairing link's "${failure.claim}" is invalid (${failure.reason})`);
      }
    case 'algorithm':
    case 'signature': return refuse('ERR_PAIRING_SIGNATURE', 'the pairing link is not signed by a published OpenCrane key');
    case 'malformed': return refuse('ERR_PAIRING_MALFORMED', 'the pairing link is not a well-formed token');
    case 'unavailable': return refuse('ERR_PAIRING_UNAVAILABLE', 'the pairing link cannot be checked now (the signing keys are unreachable)');
  }
}

function checkHeader(token: string): void {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw malformed('the pairing link\'s header is not readable');
  }
  // Only ES256 is ever accepted: `none` and HMAC (with a public key as the secret) die here.
  if (typeof header.alg !== 'string' || !ALLOWED_ALGORITHMS.includes(header.alg)) {
    throw new PairingLinkError('ERR_PAIRING_SIGNATURE', `the pairing link uses algorithm ${String(header.alg)}; only ES256 is accepted`);
  }
  if (header.typ !== PAIRING_TOKEN_TYPE) throw malformed(`the token is not a pairing link (typ ${String(header.typ)})`);
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 200) throw malformed('the pairing link names no key (kid)');
}

/** The claims jwtVerify does not check by itself: lifetime, jti and owner. */
function checkClaims(payload: JWTPayload, ownerId: string): { jti: string; exp: number } {
  const { iat, exp, jti, sub } = payload;
  if (typeof iat !== 'number' || typeof exp !== 'number') throw malformed('the pairing link has no iat or exp');
  if (exp - iat > PAIRING_MAX_TTL_SECONDS) throw malformed(`the pairing link lives longer than ${PAIRING_MAX_TTL_SECONDS} seconds`);
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw malformed('the pairing link has no usable jti');
  if (sub !== ownerId) throw new PairingLinkError('ERR_PAIRING_WRONG_OWNER', 'the pairing link is for someone other than this assistant\'s owner');
  return { jti, exp };
}

export function createPairingVerifier(options: PairingVerifierOptions): PairingVerifier {
  const tolerance = options.clockToleranceSeconds ?? 5;
  const maxLength = options.maxTokenLength ?? 4096;
  const keys = options.jwks instanceof URL ? createRemoteJWKSet(options.jwks) : createLocalJWKSet(options.jwks);
  const audience = audienceOf(options.assistantId);

  return {
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0) throw malformed('no pairing link was given');
      if (token.length > maxLength) throw malformed(`the pairing link is longer than ${maxLength} characters`);
      if (!COMPACT_JWS.test(token)) throw malformed('the pairing link is not a compact JWS');
      checkHeader(token);

      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          algorithms: ALLOWED_ALGORITHMS,
          typ: PAIRING_TOKEN_TYPE,
          issuer: options.issuer,
          audience,
          clockTolerance: tolerance,
          maxTokenAge: PAIRING_MAX_TTL_SECONDS,
          requiredClaims: ['iss', 'aud', 'sub', 'iat', 'nbf', 'exp', 'jti'],
        }));
      } catch (err) {
        throw fromJose(err);
      }
      const { jti, exp } = checkClaims(payload, options.ownerId);

      if (options.isRevoked) {
        let revoked: boolean;
        try {
          revoked = await options.isRevoked(jti);
        } catch (err) {
          throw new PairingLinkError('ERR_PAIRING_UNAVAILABLE', 'cannot tell now whether the pairing link was revoked', { cause: err });
        }
        if (revoked) throw new PairingLinkError('ERR_PAIRING_REVOKED', 'the pairing link was revoked');
      }
      // Last, so a link refused for another reason is not used up; held until it would be refused anyway.
      const refusedAfter = new Date((exp + tolerance) * 1000);
      let fresh: boolean;
      try {
        fresh = await options.seen.remember(jti, refusedAfter);
      } catch (err) {
        throw new PairingLinkError('ERR_PAIRING_UNAVAILABLE', 'cannot record the pairing link as used', { cause: err });
      }
      if (!fresh) throw new PairingLinkError('ERR_PAIRING_REPLAYED', 'the pairing link was already used; open your assistant again from OpenCrane');
      return { personId: options.ownerId, jti, expiresAt: new Date(exp * 1000) };
    },
  };
}

export class SeenLinksFullError extends Error {
  override readonly name = 'SeenLinksFullError';
}

/**
 * An in-memory SeenLinks for one sidecar. Bounded: when it holds `max` live entries it refuses new
 * links (the caller answers 503) rather than forget a live one, which would let that link be replayed.
 */
export function createMemorySeenLinks(options: { max?: number; now?: () => number } = {}): SeenLinks & { readonly size: number } {
  const now = options.now ?? Date.now;
  const max = options.max ?? 10_000;
  const cache = new LRUCache<string, true>({ max, ttlAutopurge: false, ttlResolution: 0, perf: { now } });
  return {
    get size() {
      return cache.size;
    },
    remember(jti, expiresAt) {
      if (cache.has(jti)) return false;
      const ttl = expiresAt.getTime() - now();
      if (ttl <= 0) return true;
      if (cache.size >= max) {
        cache.purgeStale();
        if (cache.size >= max) throw new SeenLinksFullError(`more than ${max} pairing links are live at once`);
      }
      cache.set(jti, true, { ttl });
      return true;
    },
  };
}
