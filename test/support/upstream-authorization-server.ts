// A tool's upstream authorization server for tests: a real oidc-provider on a loopback port that
// issues client-credentials tokens, and RFC 8693 token-exchange tokens through a grant type
// registered on the same provider. The exchange trusts subject tokens signed by a test key that
// stands in for the OpenCrane token service, and issues a token that acts for that subject.
// It records every token request (without secrets) and can slow its token endpoint down.
import http from 'node:http';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWTVerifyGetKey } from 'jose';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const SUBJECT_TOKEN_ISSUER = 'https://opencrane.test';
const SCOPES = ['mcp:read', 'mcp:write'];

export interface RecordedTokenRequest {
  grantType: string;
  status: number;
  /** How the client authenticated: the Authorization scheme, or null. */
  authScheme: string | null;
  /** The grant's parameters as the provider kept them; subject_token is replaced by the subject it named. */
  params: Record<string, string | undefined>;
}

export interface IssuedToken {
  clientId: string;
  scope: string | undefined;
  /** For exchanged tokens: the person it acts for, and the audience or resource it was asked for. */
  sub: string | undefined;
  aud: string | undefined;
  exp: number;
}

export interface UpstreamAuthorizationServer {
  issuer: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  requests: RecordedTokenRequest[];
  /** A subject token the exchange accepts, as the OpenCrane token service would mint it for a person. */
  subjectToken(personId: string, options?: { issuer?: string }): Promise<string>;
  /** What an access token this server issued stands for, or undefined for one it never issued. */
  introspect(accessToken: string): Promise<IssuedToken | undefined>;
  /** The expires_in of tokens issued from now on. */
  setTokenLifetime(seconds: number): void;
  /** Makes each token request wait this long before it is answered. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/**
 * `trust`: accept subject tokens from a real OpenCrane token service (its issuer and published JWKS)
 * instead of the test key, as an organisation's upstream authorization server would be set up.
 */
export async function startUpstreamAuthorizationServer(
  options: { trust?: { issuer: string; jwks: URL } } = {},
): Promise<UpstreamAuthorizationServer> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'opencrane-gateway';
  const clientSecret = `upstream-client-secret-${randomBytes(12).toString('base64url')}`;
  const subjectKeys = await generateKeyPair('ES256');
  const subjectIssuer = options.trust?.issuer ?? SUBJECT_TOKEN_ISSUER;
  const subjectKey: JWTVerifyGetKey | CryptoKey = options.trust ? createRemoteJWKSet(options.trust.jwks) : subjectKeys.publicKey;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  let lifetimeSeconds = 300;
  let delayMs = 0;
  const requests: RecordedTokenRequest[] = [];

  const configuration: Configuration = {
    clients: [{
      client_id: clientId, client_secret: clientSecret, grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT_TYPE],
      response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', scope: SCOPES.join(' '),
    }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'upstream', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: SCOPES,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: () => ({ scope: SCOPES.join(' '), accessTokenFormat: 'opaque', accessTokenTTL: lifetimeSeconds }),
      },
    },
    ttl: { ClientCredentials: () => lifetimeSeconds },
    // Keeps what the exchange put on the token (its subject and audience) in the stored payload.
    extraTokenClaims: (_ctx, token) => (token as { extra?: Record<string, unknown> }).extra,
  };
  const provider = new Provider(issuer, configuration);

  // RFC 8693 on the same provider: a valid subject token in, an access token acting for its subject out.
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT_TYPE, async (ctx: KoaContextWithOIDC) => {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported subject_token_type');
    if (!params.audience && !params.resource) throw new errors.InvalidTarget('audience or resource is required');
    let subject: string | undefined;
    try {
      ({ payload: { sub: subject } } = await jwtVerify(params.subject_token ?? '', subjectKey as JWTVerifyGetKey, {
        issuer: subjectIssuer, audience: issuer, algorithms: ['ES256'],
      }));
    } catch {
      throw new errors.InvalidGrant('the subject token is invalid');
    }
    const token = new provider.ClientCredentials({
      client: ctx.oidc.client!, scope: params.scope, extra: { sub: subject, aud: params.audience ?? params.resource },
    });
    const value = await token.save();
    ctx.body = {
      access_token: value, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: token.expiration,
      ...(params.scope ? { scope: params.scope } : {}),
    };
  }, ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope']);

  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (ctx.path !== '/token') return next();
    if (delayMs > 0) await sleep(delayMs);
    await next();
    const params = { ...(ctx.oidc?.params ?? {}) } as Record<string, string | undefined>;
    if (params.subject_token) {
      const subjectToken = params.subject_token;
      params.subject_token = await jwtVerify(subjectToken, subjectKey as JWTVerifyGetKey).then((r) => `subject:${r.payload.sub}`, () => 'invalid');
    }
    requests.push({
      grantType: String(params.grant_type), status: ctx.status, authScheme: ctx.headers.authorization?.split(' ')[0] ?? null, params,
    });
  });
  const callback = provider.callback();
  server.on('request', (req, res) => void callback(req, res));

  return {
    issuer, tokenUrl: `${issuer}/token`, clientId, clientSecret, requests,
    subjectToken: (personId, options = {}) => new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' }).setIssuer(options.issuer ?? SUBJECT_TOKEN_ISSUER).setAudience(issuer)
      .setSubject(personId).setIssuedAt().setExpirationTime('2m').sign(subjectKeys.privateKey),
    async introspect(accessToken) {
      const token = await provider.ClientCredentials.find(accessToken);
      if (!token) return undefined;
      const extra = (token.extra ?? {}) as { sub?: string; aud?: string };
      return { clientId: token.clientId!, scope: token.scope, sub: extra.sub, aud: extra.aud, exp: token.exp! };
    },
    setTokenLifetime: (seconds) => {
      lifetimeSeconds = seconds;
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
