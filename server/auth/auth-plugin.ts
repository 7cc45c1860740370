// Authentication for the REST API. Each authenticator looks at the request and either names a
// principal or passes; the first that names one wins. Bearer API tokens (`ocat_…`), CLI access tokens
// (`ocs_…`, from the device flow) and browser session cookies are all accepted; a request with a
// session cookie must also prove it came from our own pages (CSRF) before it may change anything.
import { timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { AppError, type Store } from '../../core/index.ts';
import { API_TOKEN_PATTERN, hashApiToken, isUsable, type ApiRole } from './api-tokens.ts';
import { csrfTokenFor, findSession, SESSION_TOKEN_PREFIX, type SessionPolicy, type SessionRole } from '../identity/sessions.ts';

export type Role = SessionRole;

export type Principal =
  | { kind: 'api-token'; id: string; name: string; role: ApiRole }
  | { kind: 'session'; id: string; personId: string; role: Role; sessionKind: 'browser' | 'cli' };

export type Authenticator = (request: FastifyRequest) => Promise<Principal | null>;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** An onRequest hook that admits only principals with one of these roles. */
    authorize(...roles: Role[]): onRequestHookHandler;
  }
}

/** Who did it, for audit events: the API token, or the person behind a session. */
export const actorOf = (principal: Principal) =>
  principal.kind === 'api-token' ? `api-token:${principal.id}` : `person:${principal.personId}`;

const LAST_USED_GRANULARITY_MS = 5 * 60_000;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function bearerOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer ([^\s]{1,512})$/i.exec(header);
  if (!match) throw new AppError('ERR_UNAUTHENTICATED', 'the Authorization header is malformed');
  return match[1]!;
}

export function bearerTokenAuthenticator(store: Pick<Store, 'apiTokens' | 'db'>, sessionPolicy: SessionPolicy): Authenticator {
  return async (request) => {
    const token = bearerOf(request);
    if (token === null) return null;
    if (token.startsWith(SESSION_TOKEN_PREFIX)) {
      const found = await findSession(store.db, token, sessionPolicy);
      if (!found.ok || found.session.kind !== 'cli') {
        throw new AppError('ERR_UNAUTHENTICATED', 'the access token is unknown, expired or revoked; sign in again with oc login');
      }
      return { kind: 'session', id: found.session.id, personId: found.session.personId, role: found.session.role, sessionKind: 'cli' };
    }
    if (!API_TOKEN_PATTERN.test(token)) throw new AppError('ERR_UNAUTHENTICATED', 'the bearer token is malformed');
    const record = await store.apiTokens.findBySecretHash(store.db, hashApiToken(token));
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

export interface SessionCookieOptions {
  cookieName: string;
  publicOrigin: string;
  policy: SessionPolicy;
  /** Called when a request with a live session cookie fails the CSRF check (for the audit trail). */
  onCsrfRefused?: (request: FastifyRequest, personId: string) => Promise<void>;
}

const sameText = (a: string, b: string) => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

export function sessionCookieAuthenticator(store: Pick<Store, 'db'>, options: SessionCookieOptions): Authenticator {
  return async (request) => {
    const secret = request.cookies[options.cookieName];
    if (!secret) return null;
    const found = await findSession(store.db, secret, options.policy);
    if (!found.ok || found.session.kind !== 'browser') {
      throw new AppError('ERR_UNAUTHENTICATED', 'your session has ended; sign in again');
    }
    if (UNSAFE_METHODS.has(request.method)) {
      const header = request.headers['x-csrf-token'];
      const origin = request.headers.origin;
      const fromOurPages = typeof header === 'string' && sameText(header, csrfTokenFor(secret))
        && (origin === undefined || origin === options.publicOrigin);
      if (!fromOurPages) {
        await options.onCsrfRefused?.(request, found.session.personId);
        throw new AppError('ERR_FORBIDDEN', 'the request did not come from an OpenCrane page (CSRF check failed)');
      }
    }
    return { kind: 'session', id: found.session.id, personId: found.session.personId, role: found.session.role, sessionKind: 'browser' };
  };
}

export const authPlugin = fp((app: FastifyInstance, options: { authenticators: Authenticator[] }, done: (err?: Error) => void) => {
  app.decorateRequest('principal', null);
  app.decorate('authorize', (...roles: Role[]): onRequestHookHandler => async function authorize(request) {
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

/** Roles that may read the organisation's records; people with the member role see only their own. */
export const ALL_ROLES: Role[] = ['admin', 'security', 'auditor'];
export const EVERYONE: Role[] = ['admin', 'security', 'auditor', 'member'];
