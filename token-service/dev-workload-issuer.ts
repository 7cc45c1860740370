// DEVELOPMENT ONLY. The embedded default has no Kubernetes cluster, so nothing would hand assistants a
// projected ServiceAccount token. This issuer stands in for the cluster's: it serves real OIDC
// discovery and a JWKS on this process's origin (the token service verifies its tokens exactly as it
// verifies a cluster's), and an admin-only endpoint mints ServiceAccount-shaped tokens the way the
// kubelet would, for `npm run demo -- token <person>`. Its RSA key lives in memory only. It is never
// built when NODE_ENV=production (the configuration then requires OPENCRANE_WORKLOAD_ISSUER).
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { serviceAccountNameOf } from '../core/index.ts';

export const DEV_WORKLOAD_PATH = '/dev-workload';

export interface ServiceAccountTokenRequest {
  namespace: string;
  serviceAccount: string;
  audience: string;
  expirationSeconds: number;
}

export interface DevWorkloadIssuer {
  issuer: string;
  /** Signs a token shaped like a Kubernetes projected ServiceAccount token. */
  mint(request: ServiceAccountTokenRequest): Promise<{ token: string; expiresAt: Date }>;
  /** Discovery, JWKS and the admin-only minting endpoint, under /dev-workload. */
  register(app: FastifyInstance, options: { authorizeAdmin: onRequestHookHandler }): void;
}

export async function createDevWorkloadIssuer(options: {
  publicUrl: string; namespace: string; audience: string; production: boolean;
}): Promise<DevWorkloadIssuer> {
  if (options.production) throw new Error('the development workload issuer is refused when NODE_ENV=production');
  const issuer = `${options.publicUrl}${DEV_WORKLOAD_PATH}`;
  // Kubernetes signs ServiceAccount tokens with RS256 by default; so does this stand-in.
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const publicJwk: JWK = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' }] };

  async function mint(request: ServiceAccountTokenRequest) {
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + request.expirationSeconds;
    const token = await new SignJWT({
      'kubernetes.io': {
        namespace: request.namespace,
        serviceaccount: { name: request.serviceAccount, uid: randomUUID() },
      },
    })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer)
      .setSubject(`system:serviceaccount:${request.namespace}:${request.serviceAccount}`)
      .setAudience([request.audience])
      .setIssuedAt(iat).setNotBefore(iat).setExpirationTime(exp).setJti(randomUUID())
      .sign(privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  return {
    issuer,
    mint,
    register(app, { authorizeAdmin }) {
      const hide = { hide: true };
      app.get(`${DEV_WORKLOAD_PATH}/.well-known/openid-configuration`, { schema: hide }, () => ({
        issuer,
        jwks_uri: `${issuer}/openid/v1/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      }));
      app.get(`${DEV_WORKLOAD_PATH}/openid/v1/jwks`, { schema: hide }, () => jwks);
      app.post(`${DEV_WORKLOAD_PATH}/serviceaccount-token`, {
        onRequest: authorizeAdmin,
        schema: {
          hide: true,
          body: Type.Object({
            assistantId: Type.String({ pattern: '^ast_[0-9A-HJKMNP-TV-Z]{26}$' }),
            audience: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
            expirationSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 3600 })),
          }, { additionalProperties: false }),
        },
      }, async (request) => {
        const body = request.body as { assistantId: string; audience?: string; expirationSeconds?: number };
        const serviceAccount = serviceAccountNameOf(body.assistantId);
        const minted = await mint({
          namespace: options.namespace, serviceAccount,
          audience: body.audience ?? options.audience, expirationSeconds: body.expirationSeconds ?? 600,
        });
        return {
          token: minted.token, expiresAt: minted.expiresAt.toISOString(),
          serviceAccount: `system:serviceaccount:${options.namespace}:${serviceAccount}`,
        };
      });
    },
  };
}
