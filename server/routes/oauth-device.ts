// The OAuth endpoints `oc login` uses: device authorization (RFC 8628 §3.1) and the token endpoint
// (RFC 6749 §5, RFC 8628 §3.4) for the device-code and refresh-token grants. They take form-encoded
// bodies only and answer with RFC 6749 §5.2 errors, never problem+json, so this plugin is
// encapsulated: its own body parser, error handler and no-store headers stay inside it.
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Store } from '../../core/index.ts';
import { createDeviceAuthorization, formatUserCode, redeemDeviceCode } from '../identity/device-flow.ts';
import { rotateRefreshToken, type CliTokens } from '../identity/refresh-tokens.ts';

/** The public clients (no secret) allowed to use these endpoints. */
export const PUBLIC_CLIENTS: ReadonlyMap<string, { name: string }> = new Map([
  ['oc', { name: 'OpenCrane CLI' }],
]);

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

type OAuthErrorCode =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'invalid_scope' | 'unsupported_grant_type'
  | 'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token';

export class OAuthError extends Error {
  constructor(readonly error: OAuthErrorCode, readonly description: string) {
    super(description);
    this.name = 'OAuthError';
  }
}

const DESCRIPTIONS: Record<Exclude<OAuthErrorCode, 'invalid_request' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type'>, string> = {
  authorization_pending: 'the person has not approved the code yet; keep polling',
  slow_down: 'polling too fast; wait 5 seconds longer between polls from now on',
  access_denied: 'the person denied this sign-in',
  expired_token: 'the device code has expired; start again',
  invalid_grant: 'the grant is unknown, expired, revoked or already used; sign in again',
};

/** Longest accepted value of each parameter; anything longer is an invalid request. */
const FIELD_LIMITS = { grant_type: 100, client_id: 64, scope: 200, device_code: 100, refresh_token: 100 } as const;
type Field = keyof typeof FIELD_LIMITS;
type Form = Partial<Record<Field, string>>;

/**
 * Reads the known parameters of a parsed form body. RFC 6749 §3.1: empty parameters count as absent,
 * none may be repeated, and unknown ones are ignored.
 */
export function readForm(body: unknown): Form {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new OAuthError('invalid_request', 'send the parameters form-encoded');
  const form: Form = {};
  for (const field of Object.keys(FIELD_LIMITS) as Field[]) {
    if (!Object.hasOwn(body, field)) continue;
    const value: unknown = (body as Record<string, unknown>)[field];
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `the ${field} parameter is repeated`);
    if (value.length > FIELD_LIMITS[field]) throw new OAuthError('invalid_request', `the ${field} parameter is too long`);
    if (value !== '') form[field] = value;
  }
  return form;
}

function requireClient(form: Form): string {
  if (form.client_id === undefined) throw new OAuthError('invalid_request', 'the client_id parameter is required');
  if (!PUBLIC_CLIENTS.has(form.client_id)) throw new OAuthError('invalid_client', 'unknown client');
  return form.client_id;
}

function requireParam(form: Form, field: Field): string {
  const value = form[field];
  if (value === undefined) throw new OAuthError('invalid_request', `the ${field} parameter is required`);
  return value;
}

/** RFC 6749 §3.3: space-separated tokens of printable ASCII without `"` and `\`. */
const SCOPE_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;

const tokenResponse = (tokens: CliTokens, scope: string | null) => ({
  access_token: tokens.accessToken, token_type: 'Bearer', expires_in: tokens.expiresIn, refresh_token: tokens.refreshToken,
  ...(scope ? { scope } : {}),
});

const sendError = (reply: FastifyReply, error: OAuthErrorCode, description: string) =>
  reply.status(400).send({ error, error_description: description });

export interface OAuthDeviceDependencies {
  store: Pick<Store, 'db' | 'transaction' | 'audit'>;
  /** The control plane's public origin, where people open the verification page. */
  publicUrl: string;
}

export async function oauthDeviceRoutes(app: FastifyInstance, deps: OAuthDeviceDependencies): Promise<void> {
  app.removeAllContentTypeParsers();
  await app.register(formbody);

  app.addHook('onSend', async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
    void reply.header('pragma', 'no-cache');
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof OAuthError) return sendError(reply, error.error, error.description);
    const status = (error as FastifyError).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      request.log.info({ code: (error as FastifyError).code }, 'malformed OAuth request');
      return sendError(reply, 'invalid_request', 'send a form-encoded body (application/x-www-form-urlencoded) within the size limit');
    }
    request.log.error({ err: error }, 'OAuth request failed');
    return reply.status(500).send({ error: 'server_error', error_description: 'an internal error occurred; it has been logged' });
  });

  app.post('/oauth2/device_authorization', { schema: { hide: true } }, async (request) => {
    const form = readForm(request.body);
    const clientId = requireClient(form);
    const scope = form.scope ?? null;
    if (scope !== null && !SCOPE_PATTERN.test(scope)) throw new OAuthError('invalid_scope', 'the scope is malformed');
    const created = await createDeviceAuthorization(deps.store.db, { clientId, scope });
    const verificationUri = `${deps.publicUrl}/auth/device`;
    const userCode = formatUserCode(created.userCode);
    return {
      device_code: created.deviceCode,
      user_code: userCode,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${userCode}`,
      expires_in: created.expiresIn,
      interval: created.interval,
    };
  });

  app.post('/oauth2/token', { schema: { hide: true } }, async (request, reply) => {
    const form = readForm(request.body);
    const grantType = requireParam(form, 'grant_type');
    if (grantType !== DEVICE_CODE_GRANT_TYPE && grantType !== 'refresh_token') {
      throw new OAuthError('unsupported_grant_type', `supported grant types: ${DEVICE_CODE_GRANT_TYPE}, refresh_token`);
    }
    const clientId = requireClient(form);
    if (grantType === DEVICE_CODE_GRANT_TYPE) {
      const result = await redeemDeviceCode(deps.store, { deviceCode: requireParam(form, 'device_code'), clientId });
      if (!result.ok) return sendError(reply, result.error, DESCRIPTIONS[result.error]);
      return tokenResponse(result.tokens, result.scope);
    }
    const refreshToken = requireParam(form, 'refresh_token');
    // Scopes are fixed at sign-in; refresh tokens do not record them, so a refresh cannot change them.
    if (form.scope !== undefined) throw new OAuthError('invalid_scope', 'omit scope when refreshing; it is fixed at sign-in');
    const result = await rotateRefreshToken(deps.store, refreshToken, { requestId: request.id });
    if (!result.ok) return sendError(reply, 'invalid_grant', DESCRIPTIONS.invalid_grant);
    return tokenResponse(result.tokens, null);
  });
}
