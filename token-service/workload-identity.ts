// Workload identity: who is presenting a Kubernetes projected ServiceAccount token. Two ways to check
// one, chosen by configuration:
// - `jwks`: the cluster's ServiceAccount issuer publishes OIDC discovery and a JWKS; the token is
//   verified in-process (no call per exchange). Discovery is fetched lazily and retried, so a cluster
//   issuer that is briefly unreachable fails exchanges closed instead of stopping the service.
// - `tokenreview`: the Kubernetes API server checks the token (TokenReview), which also notices a
//   deleted pod or ServiceAccount at once, at the price of one API call per exchange.
// Either way the token must be for the token service's audience and name a ServiceAccount.
import {
  createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey,
} from 'jose';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseServiceAccountUser } from '../core/index.ts';
import { classifyJoseFailure, COMPACT_JWS, FORBIDDEN_HEADERS } from './jose-failures.ts';

export interface WorkloadIdentity {
  namespace: string;
  serviceAccount: string;
  /** When the presented token expires, if known: an exchanged token never outlives it. */
  expiresAt?: number;
}

export type WorkloadIdentityErrorCode = 'invalid' | 'unavailable';

export class WorkloadIdentityError extends Error {
  override readonly name = 'WorkloadIdentityError';

  constructor(readonly code: WorkloadIdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface WorkloadIdentityValidator {
  validate(token: string): Promise<WorkloadIdentity>;
}

const invalid = (message: string, cause?: unknown) => new WorkloadIdentityError('invalid', message, cause === undefined ? undefined : { cause });
const unavailable = (message: string, cause?: unknown) => new WorkloadIdentityError('unavailable', message, cause === undefined ? undefined : { cause });

/** Kubernetes signs ServiceAccount tokens with RSA or ECDSA keys; nothing symmetric, never `none`. */
const WORKLOAD_ALGORITHMS = ['RS256', 'ES256'];
export const MAX_WORKLOAD_TOKEN_LENGTH = 8192;

function checkShape(token: string): void {
  if (token.length > MAX_WORKLOAD_TOKEN_LENGTH) throw invalid(`the subject token is longer than ${MAX_WORKLOAD_TOKEN_LENGTH} characters`);
  if (!COMPACT_JWS.test(token)) throw invalid('the subject token is not a compact JWS');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalid('the subject token\'s header is not readable');
  }
  if (typeof header.alg !== 'string' || !WORKLOAD_ALGORITHMS.includes(header.alg)) {
    throw invalid(`the subject token uses algorithm ${String(header.alg)}; allowed: ${WORKLOAD_ALGORITHMS.join(', ')}`);
  }
  for (const name of FORBIDDEN_HEADERS) {
    if (name in header) throw invalid(`the subject token's header carries "${name}", which is not accepted`);
  }
}

/** The ServiceAccount a verified token's claims name; the `kubernetes.io` claim must agree with `sub`. */
export function serviceAccountOf(payload: JWTPayload): WorkloadIdentity {
  const user = typeof payload.sub === 'string' ? parseServiceAccountUser(payload.sub) : undefined;
  if (!user) throw invalid('the subject token does not name a Kubernetes ServiceAccount');
  const k8s = payload['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown } } | undefined;
  if (k8s !== undefined && (k8s.namespace !== user.namespace || k8s.serviceaccount?.name !== user.name)) {
    throw invalid('the subject token\'s kubernetes.io claim disagrees with its subject');
  }
  return { namespace: user.namespace, serviceAccount: user.name, ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp } : {}) };
}

export interface JwksWorkloadOptions {
  /** The cluster's ServiceAccount issuer, exactly as it signs `iss`. */
  issuer: string;
  /** The audience the token must carry, alone. */
  audience: string;
  clockToleranceSeconds?: number;
  /** How long an unknown `kid` waits before the JWKS is fetched again. */
  jwksCooldownSeconds?: number;
  now?: () => number;
}

interface Discovery { issuer: string; jwks_uri: string }

async function discover(issuer: string): Promise<JWTVerifyGetKey> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: Partial<Discovery>;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = await response.json() as Partial<Discovery>;
  } catch (err) {
    throw unavailable(`the cluster's ServiceAccount issuer cannot be reached at ${url}`, err);
  }
  if (document.issuer !== issuer) throw unavailable(`the discovery document at ${url} names issuer ${String(document.issuer)}, not ${issuer}`);
  if (typeof document.jwks_uri !== 'string' || !/^https?:\/\//.test(document.jwks_uri)) {
    throw unavailable(`the discovery document at ${url} has no usable jwks_uri`);
  }
  return createRemoteJWKSet(new URL(document.jwks_uri), { cooldownDuration: 1000 * 30, timeoutDuration: 5000 });
}

export function createJwksWorkloadValidator(options: JwksWorkloadOptions): WorkloadIdentityValidator {
  const now = options.now ?? Date.now;
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const resolver = (): Promise<JWTVerifyGetKey> => {
    // One discovery at a time; a failed one is forgotten so the next exchange tries again.
    keys ??= discover(options.issuer).catch((err: unknown) => {
      keys = undefined;
      throw err;
    });
    return keys;
  };
  return {
    async validate(token) {
      checkShape(token);
      const jwks = await resolver();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          algorithms: WORKLOAD_ALGORITHMS,
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: options.clockToleranceSeconds ?? 5,
          currentDate: new Date(now()),
          requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
        }));
      } catch (err) {
        const failure = classifyJoseFailure(err);
        if (failure.kind === 'unavailable') throw unavailable('the cluster\'s ServiceAccount keys cannot be fetched', err);
        if (failure.kind === 'expired') throw invalid('the subject token has expired', err);
        if (failure.kind === 'claim') throw invalid(`the subject token's ${failure.claim} is not acceptable (${failure.reason})`, err);
        if (failure.kind === 'missing-claim') throw invalid(`the subject token has no ${failure.claim}`, err);
        throw invalid('the subject token is not signed by the cluster\'s ServiceAccount issuer', err);
      }
      const audiences = typeof payload.aud === 'string' ? [payload.aud] : payload.aud ?? [];
      if (audiences.length !== 1) throw invalid('the subject token must name exactly one audience, the token service');
      return serviceAccountOf(payload);
    },
  };
}

export interface TokenReviewWorkloadOptions {
  kubeConfig: KubeConfig;
  audience: string;
}

/** Asks the Kubernetes API server (TokenReview) whether the token is a live ServiceAccount token for our audience. */
export async function createTokenReviewValidator(options: TokenReviewWorkloadOptions): Promise<WorkloadIdentityValidator> {
  const { AuthenticationV1Api } = await import('@kubernetes/client-node');
  const api = options.kubeConfig.makeApiClient(AuthenticationV1Api);
  return {
    async validate(token) {
      checkShape(token);
      let status;
      try {
        const review = await api.createTokenReview({
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [options.audience] } },
        });
        status = review.status;
      } catch (err) {
        throw unavailable('the Kubernetes API server cannot review the subject token now', err);
      }
      if (!status?.authenticated) throw invalid(`the Kubernetes API server does not accept the subject token${status?.error ? ` (${status.error.slice(0, 200)})` : ''}`);
      // An authenticator that ignored the requested audience returns none: refuse rather than trust it.
      if (!status.audiences?.includes(options.audience)) throw invalid('the subject token is not for the token service\'s audience');
      const user = parseServiceAccountUser(status.user?.username ?? '');
      if (!user) throw invalid('the subject token does not belong to a ServiceAccount');
      return { namespace: user.namespace, serviceAccount: user.name };
    },
  };
}
