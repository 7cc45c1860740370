// Authentication for the REST API. Each authenticator looks at the request and either names a
// principal or passes; the first that names one wins. Bearer API tokens come first; OIDC sessions
// plug in as another authenticator later without touching the routes.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { AppError, type Store } from '../../core/index.ts';
import { API_TOKEN_PATTERN, hashApiToken, isUsable, type ApiRole } from './api-tokens.ts';

export interface Principal {
  kind: 'api-token';
  id: string;
  name: string;
  role: ApiRole;
}

export type Authenticator = (request: FastifyRequest) => Promise<Principal | null>;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** An onRequest hook that admits only principals with one of these roles. */
    authorize(...roles: ApiRole[]): onRequestHookHandler;
  }
}

export const actorOf = (principal: Principal) => `${principal.kind}:${principal.id}`;

const LAST_USED_GRANULARITY_MS = 5 * 60_000;

export function bearerTokenAuthenticator(store: Pick<Store, 'apiTokens' | 'db'>): Authenticator {
  return async (request) => {
    const header = request.headers.authorization;
    if (!header) return null;
    const match = /^Bearer ([^\s]{1,512})$/i.exec(header);
    if (!match || !API_TOKEN_PATTERN.test(match[1]!)) {
      throw new AppError('ERR_UNAUTHENTICATED', 'the bearer token is malformed');
    }
    const record = await store.apiTokens.findBySecretHash(store.db, hashApiToken(match[1]!));
    const now = new Date();
    if (!record || !isUsable(record, now)) {
      throw new AppError('ERR_UNAUTHENTICATED', 'the bearer token is unknown, expired or revoked');
    }
    if (!record.lastUsedAt || now.getTime() - record.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
      await store.apiTokens.update(store.db, record.id, { lastUsedAt: now });
    }
    return { kind: 'api-token', id: record.id, name: record.name, role: record.role };
  };
}

export const authPlugin = fp((app: FastifyInstance, options: { authenticators: Authenticator[] }, done: (err?: Error) => void) => {
  app.decorateRequest('principal', null);
  app.decorate('authorize', (...roles: ApiRole[]): onRequestHookHandler => async function authorize(request) {
    for (const authenticate of options.authenticators) {
      const principal = await authenticate(request);
      if (principal) {
        request.principal = principal;
        break;
      }
    }
    if (!request.principal) throw new AppError('ERR_UNAUTHENTICATED', 'sign in or send a bearer API token');
    if (!roles.includes(request.principal.role)) {
      throw new AppError('ERR_FORBIDDEN', `this needs one of the roles: ${roles.join(', ')}`);
    }
  });
  done();
}, { name: 'opencrane-auth' });

export const ALL_ROLES: ApiRole[] = ['admin', 'security', 'auditor'];
