// The token service assembled: signing keys with scheduled rotation, pairing links, RFC 8693 token
// exchange, introspection, the JWKS and RFC 8414 metadata. It is built the same way for its own
// process (main.ts) and for the all-in-one control plane, which mounts its routes beside its own.
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { repositories, type Config, type Db, type Logger } from '../core/index.ts';
import { createAudienceRegistry, type AudienceRegistry } from './audiences.ts';
import { createUpstreamSubjectTokenMinter, type UpstreamSubjectTokenMinter } from './access-tokens.ts';
import { tokenExchangeGrant, type ExchangeDirectory } from './exchange.ts';
import { registerIntrospection } from './introspection.ts';
import type { KeyEncryptor } from './key-encryption.ts';
import { authorizationServerMetadata } from './metadata.ts';
import type { TokenGrant } from './oauth-endpoint.ts';
import { createPairingService, type PairingService } from './pairing.ts';
import { createSigningKeyStore, type SigningKeyStore } from './signing-keys.ts';
import { createTokenVerifier, type CurrentEpoch, type TokenVerifier } from './token-verifier.ts';
import type { WorkloadIdentityValidator } from './workload-identity.ts';

export interface TokenServiceDependencies {
  db: Db;
  encryptor: KeyEncryptor;
  config: Pick<Config, 'tokens' | 'workload'>;
  /** Assistants, people and grants in memory (the access index), kept current by the change feed. */
  directory: ExchangeDirectory;
  /** This replica's revocation epochs. */
  currentEpoch: CurrentEpoch;
  workload: WorkloadIdentityValidator;
  logger: Pick<Logger, 'warn' | 'error'>;
}

export interface TokenService {
  keys: SigningKeyStore;
  pairing: PairingService;
  audiences: AudienceRegistry;
  /** The grants this service adds to `/oauth2/token`. */
  grants: TokenGrant[];
  /** Verifies any token this service issued, for any of its audiences (introspection uses it). */
  verifier: TokenVerifier;
  /**
   * A 60-second token naming the person and their assistant, for an upstream authorization server that
   * trusts OpenCrane's keys: the MCP gateway presents it as the RFC 8693 subject token when a tool's
   * credential is a token exchange. Never the assistant's own token.
   */
  mintUpstreamSubjectToken: UpstreamSubjectTokenMinter;
  /** The JWKS and the authorization server metadata; `otherGrants` are those served beside ours. */
  registerRoutes(app: FastifyInstance, options?: { otherGrants?: string[]; deviceAuthorization?: boolean }): void;
  /** Routes that live inside the OAuth endpoint plugin's scope (form bodies, RFC 6749 errors). */
  registerOAuthRoutes(scope: FastifyInstance): void;
  /** Makes sure signing keys exist and open under this key-encryption key, then starts rotation. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Verification keys straight from the key store: no HTTP round trip to ourselves. */
function ownKeys(keys: SigningKeyStore): JWTVerifyGetKey {
  let last: { published: object; resolve: JWTVerifyGetKey } | undefined;
  return async (header, token) => {
    const published = await keys.publishedJwks();
    // The store hands back the same object until its cache turns over: build the key set once per object.
    if (last?.published !== published) last = { published, resolve: createLocalJWKSet(published) };
    return last.resolve(header, token);
  };
}

export const PublishedJwkSchema = Type.Object({
  kty: Type.String(), crv: Type.String(), x: Type.String(), y: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.Literal('sig'),
}, { $id: 'PublishedJwk' });

export function createTokenService(deps: TokenServiceDependencies): TokenService {
  const { tokens } = deps.config;
  const keys = createSigningKeyStore({
    db: deps.db, encryptor: deps.encryptor, logger: deps.logger,
    rotationMs: tokens.rotationMs,
    prepublishMs: tokens.jwksMaxAgeSeconds * 1000,
    // A retired key stays published for the longest token (pairing links live less) plus clock tolerance.
    retiredPublishMs: (tokens.maxTtlSeconds + 60) * 1000,
  });
  const audiences = createAudienceRegistry(tokens.audiences);
  const signer = { issuer: tokens.issuer, currentSigningKey: () => keys.currentSigningKey() };
  const verifyKeys = ownKeys(keys);
  const verifierFor = (audience: (aud: string) => boolean) => createTokenVerifier({
    issuer: tokens.issuer, audience, jwks: verifyKeys, currentEpoch: deps.currentEpoch, maxLifetimeSeconds: tokens.maxTtlSeconds,
  });
  const verifier = verifierFor((aud) => audiences.resolve(aud)?.uri === aud);
  const exchange = tokenExchangeGrant({
    audiences,
    workload: deps.workload,
    accessTokens: verifierFor((aud) => aud === tokens.audiences.mcpGateway),
    directory: deps.directory,
    toolIdByName: async (name) => (await repositories.tools.getByName(deps.db, name))?.id,
    currentEpoch: deps.currentEpoch,
    signer,
    namespace: deps.config.workload.namespace,
    maxTtlSeconds: tokens.maxTtlSeconds,
  });

  return {
    keys,
    pairing: createPairingService({ keys }),
    audiences,
    grants: [exchange],
    verifier,
    mintUpstreamSubjectToken: createUpstreamSubjectTokenMinter({ signer, currentEpoch: deps.currentEpoch }),
    registerRoutes(app, options = {}) {
      app.get('/.well-known/jwks.json', {
        schema: {
          operationId: 'getJwks', tags: ['Keys'], security: [],
          summary: 'The public keys that verify every token OpenCrane issues: the current, the next and recently retired keys',
          response: { 200: Type.Object({ keys: Type.Array(Type.Ref('PublishedJwk')) }) },
        },
      }, async (_request, reply) => {
        const jwks = await keys.publishedJwks();
        return reply.header('cache-control', `public, max-age=${tokens.jwksMaxAgeSeconds}`).send(jwks);
      });
      const metadata = authorizationServerMetadata({
        issuer: tokens.issuer,
        grantTypes: [...(options.otherGrants ?? []), exchange.grantType],
        deviceAuthorization: options.deviceAuthorization ?? false,
        introspection: true,
      });
      app.get('/.well-known/oauth-authorization-server', { schema: { hide: true } }, (_request, reply) =>
        reply.header('cache-control', 'public, max-age=300').send(metadata));
    },
    registerOAuthRoutes(scope) {
      registerIntrospection(scope, { db: deps.db, issuer: tokens.issuer, verifier });
    },
    async start() {
      await keys.ensureSigningKey();
      await keys.currentSigningKey();
      keys.startRotation();
    },
    stop() {
      return keys.stopRotation();
    },
  };
}
