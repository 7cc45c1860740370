// The development identity provider: a real OpenID provider (oidc-provider) with a few demo people,
// run in-process by `npm start` when no OIDC_ISSUER is configured, and by the tests as "the
// organisation's provider". It is refused in production (see core/config.ts) and labelled wherever it
// shows. Its login form is oidc-provider's development interaction: type one of the demo emails.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

export interface DevAccount {
  email: string;
  name: string;
  groups: string[];
  department?: string;
  roles: string[];
}

/** Matches the demo organisation of `npm run demo`: groups are team names, department a department name. */
export const DEMO_ACCOUNTS: DevAccount[] = [
  { email: 'ada@example.com', name: 'Ada Lovelace', groups: ['Platform'], department: 'Engineering', roles: ['opencrane-admin'] },
  { email: 'grace@example.com', name: 'Grace Hopper', groups: ['Data'], department: 'Engineering', roles: ['opencrane-security'] },
  { email: 'linus@example.com', name: 'Linus Torvalds', groups: ['Platform', 'Data'], department: 'Engineering', roles: [] },
  { email: 'sam@example.com', name: 'Sam Seller', groups: ['Field Sales'], department: 'Sales', roles: [] },
];

export interface DevClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface DevIdentityProvider {
  issuer: string;
  /** Serves a request whose URL still carries the issuer's path prefix. */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

const FIRST_PARTY_SCOPES = 'openid email profile';

export async function createDevIdentityProvider(options: {
  issuer: string;
  clients: DevClient[];
  accounts: DevAccount[];
}): Promise<DevIdentityProvider> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
  const configuration: Configuration = {
    clients: options.clients.map((c) => ({
      client_id: c.clientId, client_secret: c.clientSecret, redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris, grant_types: ['authorization_code'], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups', 'department', 'roles'] },
    // The relying party reads everything from the ID token: put the granted claims in it.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    findAccount: (_ctx: KoaContextWithOIDC, id: string) => {
      // Looked up on every sign-in, so a test can change a person's groups between sign-ins.
      const account = options.accounts.find((a) => a.email.toLowerCase() === id.toLowerCase());
      if (!account) return undefined;
      return {
        accountId: id.toLowerCase(),
        claims: () => ({
          sub: id.toLowerCase(), email: account.email, email_verified: true, name: account.name,
          groups: account.groups, ...(account.department ? { department: account.department } : {}), roles: account.roles,
        }),
      };
    },
    // First-party clients get their scopes without a consent screen.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const existing = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope(FIRST_PARTY_SCOPES);
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(options.issuer, configuration);
  provider.proxy = false;
  const prefix = new URL(options.issuer).pathname.replace(/\/$/, '');
  const callback = provider.callback();
  return {
    issuer: options.issuer,
    handle(req, res) {
      // oidc-provider routes on the path below its mount point and rebuilds its URLs from originalUrl.
      const original = req.url ?? '/';
      Object.assign(req, { originalUrl: original });
      req.url = original.startsWith(prefix) ? original.slice(prefix.length) || '/' : original;
      void callback(req, res);
    },
  };
}
