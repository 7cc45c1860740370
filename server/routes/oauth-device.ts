// The OAuth grants `oc login` uses: device authorization (RFC 8628 §3.1) and the token endpoint's
// device-code and refresh-token grants (RFC 6749 §5, RFC 8628 §3.4). They are served through the
// token service's OAuth endpoint plugin, which owns `/oauth2/token` and the RFC 6749 §5.2 error format.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../core/index.ts';
import { OAuthError, optional, readForm, required, SCOPE_PATTERN, type OAuthForm, type TokenGrant } from '../../token-service/index.ts';
import { createDeviceAuthorization, formatUserCode, redeemDeviceCode } from '../identity/device-flow.ts';
import { rotateRefreshToken, type CliTokens } from '../identity/refresh-tokens.ts';

/** The public clients (no secret) allowed to use these endpoints. */
export const PUBLIC_CLIENTS: ReadonlyMap<string, { name: string }> = new Map([
  ['oc', { name: 'OpenCrane CLI' }],
]);

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

const DESCRIPTIONS = {
  authorization_pending: 'the person has not approved the code yet; keep polling',
  slow_down: 'polling too fast; wait 5 seconds longer between polls from now on',
  access_denied: 'the person denied this sign-in',
  expired_token: 'the device code has expired; start again',
  invalid_grant: 'the grant is unknown, expired, revoked or already used; sign in again',
} as const;

/** Longest accepted value of each parameter; anything longer is an invalid request. */
const FIELDS = {
  client_id: { max: 64 }, scope: { max: 200 }, device_code: { max: 100 }, refresh_token: { max: 100 },
};

function requireClient(form: OAuthForm): string {
  const clientId = required(form, 'client_id');
  // A public client sends no credentials, so an unknown one is a 400 (RFC 6749 §5.2), not a 401.
  if (!PUBLIC_CLIENTS.has(clientId)) throw new OAuthError('invalid_client', 'unknown client', 400);
  return clientId;
}

const tokenResponse = (tokens: CliTokens, scope: string | null) => ({
  access_token: tokens.accessToken, token_type: 'Bearer', expires_in: tokens.expiresIn, refresh_token: tokens.refreshToken,
  ...(scope ? { scope } : {}),
});

export interface DeviceGrantDependencies {
  store: Pick<Store, 'db' | 'transaction' | 'audit'>;
}

export function deviceCodeGrant(deps: DeviceGrantDependencies): TokenGrant {
  return {
    grantType: DEVICE_CODE_GRANT_TYPE,
    fields: FIELDS,
    async handle(form) {
      const clientId = requireClient(form);
      const result = await redeemDeviceCode(deps.store, { deviceCode: required(form, 'device_code'), clientId });
      if (!result.ok) throw new OAuthError(result.error, DESCRIPTIONS[result.error]);
      return tokenResponse(result.tokens, result.scope);
    },
  };
}

export function refreshTokenGrant(deps: DeviceGrantDependencies): TokenGrant {
  return {
    grantType: 'refresh_token',
    fields: FIELDS,
    async handle(form, request) {
      requireClient(form);
      const refreshToken = required(form, 'refresh_token');
      // Scopes are fixed at sign-in; refresh tokens do not record them, so a refresh cannot change them.
      if (optional(form, 'scope') !== undefined) throw new OAuthError('invalid_scope', 'omit scope when refreshing; it is fixed at sign-in');
      const result = await rotateRefreshToken(deps.store, refreshToken, { requestId: request.id });
      if (!result.ok) throw new OAuthError('invalid_grant', DESCRIPTIONS.invalid_grant);
      return tokenResponse(result.tokens, null);
    },
  };
}

/** `POST /oauth2/device_authorization`, registered inside the OAuth endpoint plugin's scope. */
export function registerDeviceAuthorization(app: FastifyInstance, deps: DeviceGrantDependencies & { publicUrl: string }): void {
  app.post('/oauth2/device_authorization', { schema: { hide: true } }, async (request) => {
    const form = readForm(request.body, FIELDS);
    const clientId = requireClient(form);
    const scope = optional(form, 'scope') ?? null;
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
}
