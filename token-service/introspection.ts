// Token introspection (RFC 7662) for resource servers that would rather ask than verify in-process.
// The caller authenticates as a registered OAuth client (client_secret_basic or client_secret_post)
// and learns about tokens for its own audiences only; for anything else, and for any token that does
// not verify (revoked, expired, unknown key, feed stale), the answer is `{"active": false}`.
import type { FastifyInstance } from 'fastify';
import type { Db } from '../core/index.ts';
import { authenticateClient } from './client-authentication.ts';
import { OAuthError, optional, readForm, required } from './oauth-endpoint.ts';
import type { TokenVerifier } from './token-verifier.ts';

const FIELDS = {
  token: { max: 8192 }, token_type_hint: { max: 100 }, client_id: { max: 100 }, client_secret: { max: 300 },
};

export interface IntrospectionDependencies {
  db: Db;
  issuer: string;
  /** Accepts every audience the token service issues for. */
  verifier: TokenVerifier;
}

export function registerIntrospection(app: FastifyInstance, deps: IntrospectionDependencies): void {
  app.post('/oauth2/introspect', { schema: { hide: true } }, async (request) => {
    const form = readForm(request.body, FIELDS);
    const client = await authenticateClient(deps.db, {
      authorization: request.headers.authorization,
      form: { client_id: optional(form, 'client_id'), client_secret: optional(form, 'client_secret') },
    });
    if (!client) throw new OAuthError('invalid_client', 'client authentication failed');
    const token = required(form, 'token');
    let verified;
    try {
      verified = await deps.verifier.verify(token);
    } catch (err) {
      request.log.info({ client: client.id, reason: (err as { code?: string }).code }, 'introspected token is not active');
      return { active: false };
    }
    if (!client.audiences.includes(verified.audience)) return { active: false };
    const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
    return {
      active: true,
      iss: deps.issuer,
      sub: verified.subject,
      client_id: verified.subject,
      owner: verified.owner,
      aud: verified.audience,
      ...(verified.scope === undefined ? {} : { scope: verified.scope }),
      token_type: 'Bearer',
      iat: seconds(verified.issuedAt),
      nbf: seconds(verified.issuedAt),
      exp: seconds(verified.expiresAt),
      jti: verified.jti,
      sv: verified.epoch,
    };
  });
}
