// Browser sign-in with the organisation's OpenID Connect provider: authorization code flow with PKCE
// (S256), state and nonce, through @fastify/oauth2; the ID token is validated with jose. A refused
// sign-in shows a clear page, writes an audit event, and creates nothing.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import oauth2, { type OAuth2Namespace } from '@fastify/oauth2';
import formbody from '@fastify/formbody';
import { createRemoteJWKSet } from 'jose';
import { newId, type Config, type Store } from '../../core/index.ts';
import type { RunMutation } from '../services/mutations.ts';
import { html, sendPage } from '../pages/layout.ts';
import { ClaimsError, identityFromClaims } from './claims.ts';
import { sessionCookieName, sessionCookieOptions } from './cookies.ts';
import { IdTokenError, newNonce, verifyIdToken } from './id-token.ts';
import type { ProviderMetadata } from './provider-metadata.ts';
import { provisionPerson, SignInRefused } from './provisioning.ts';
import { safeReturnTo } from './return-to.ts';
import { createSession, csrfTokenFor, findSession, revokeSession } from './sessions.ts';

declare module 'fastify' {
  interface FastifyInstance {
    oidc: OAuth2Namespace;
  }
}

export interface OidcLoginDependencies {
  config: Pick<Config, 'publicUrl' | 'secureCookies' | 'oidc' | 'session'>;
  store: Pick<Store, 'db' | 'audit'>;
  runMutation: RunMutation;
  provider: ProviderMetadata;
  client: { id: string; secret: string };
  developmentIdentityProvider: boolean;
}

const RETURN_TO_COOKIE = 'oc_return_to';
/** The sign-in's nonce travels in the browser, so any replica can finish a sign-in another began. */
const NONCE_COOKIE = 'oc_oidc_nonce';

export async function registerOidcLogin(app: FastifyInstance, deps: OidcLoginDependencies): Promise<void> {
  const { config, store, provider } = deps;
  const secure = config.secureCookies;
  const cookieName = sessionCookieName(secure);
  const jwks = createRemoteJWKSet(new URL(provider.jwksUri), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
  const authorize = new URL(provider.authorizationEndpoint);
  const token = new URL(provider.tokenEndpoint);
  const pageOptions = { developmentIdentityProvider: deps.developmentIdentityProvider };

  const refuse = async (request: FastifyRequest, reply: FastifyReply, reason: string, who?: { email?: string; subject?: string }) => {
    await store.audit.insert(store.db, {
      id: newId('audit'), actor: who?.subject ? `oidc:${who.subject}` : 'anonymous', action: 'auth.sign-in-refused',
      targetKind: 'sign-in', targetId: who?.email ?? 'unknown', after: { reason }, requestId: request.id,
    });
    request.log.info({ reason }, 'sign-in refused');
    return sendPage(reply, {
      ...pageOptions, title: 'Sign-in refused',
      body: html`<div class="card"><h1>Sign-in refused</h1><p class="error">${reason}</p>
        <p><a class="button" href="/auth/login">Try again</a></p></div>`,
    }, 403);
  };

  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 4096 });
    await scope.register(oauth2, {
      name: 'oidc',
      scope: config.oidc.scopes,
      credentials: {
        client: { id: deps.client.id, secret: deps.client.secret },
        auth: {
          authorizeHost: authorize.origin, authorizePath: authorize.pathname,
          tokenHost: token.origin, tokenPath: token.pathname,
        },
      },
      callbackUri: `${config.publicUrl}/auth/callback`,
      pkce: 'S256',
      cookie: { secure, sameSite: 'lax', path: '/' },
      hostPrefixedCookies: secure,
    });

    scope.get('/auth/login', { schema: { hide: true } }, async (request, reply) => {
      const returnTo = safeReturnTo((request.query as { returnTo?: unknown }).returnTo, config.publicUrl);
      void reply.setCookie(RETURN_TO_COOKIE, returnTo, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: 600 });
      const uri = new URL(await scope.oidc.generateAuthorizationUri(request, reply));
      const nonce = newNonce();
      void reply.setCookie(NONCE_COOKIE, nonce, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: 600 });
      uri.searchParams.set('nonce', nonce);
      return reply.redirect(uri.toString());
    });

    scope.get('/auth/callback', { schema: { hide: true } }, async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      if (typeof query.error === 'string') {
        return refuse(request, reply, `the identity provider did not sign you in (${query.error.slice(0, 100)})`);
      }
      const nonce = request.cookies[NONCE_COOKIE] ?? '';
      void reply.clearCookie(NONCE_COOKIE, { path: '/' });
      let idToken: unknown;
      try {
        ({ token: { id_token: idToken } } = await scope.oidc.getAccessTokenFromAuthorizationCodeFlow(request, reply));
      } catch (err) {
        const invalidState = err instanceof Error && /state/i.test(err.message);
        return refuse(request, reply, invalidState
          ? 'this sign-in was not started from this browser, or it was already used; start again'
          : 'the identity provider refused the authorization code (it may have been used already)');
      }
      if (typeof idToken !== 'string') return refuse(request, reply, 'the identity provider sent no ID token');
      let identity;
      try {
        const claims = await verifyIdToken(idToken, { jwks, issuer: provider.issuer, clientId: deps.client.id, nonce });
        identity = identityFromClaims(claims, provider.issuer, config.oidc);
      } catch (err) {
        if (err instanceof IdTokenError || err instanceof ClaimsError) return refuse(request, reply, err.message);
        throw err;
      }
      let personId: string;
      try {
        const person = await deps.runMutation({ actor: 'system:sign-in', requestId: request.id }, (ctx) => provisionPerson(ctx, identity));
        personId = person.id;
      } catch (err) {
        if (err instanceof SignInRefused) return refuse(request, reply, err.message, identity);
        throw err;
      }
      const { secret, session } = await createSession(store.db, {
        personId, role: identity.role, kind: 'browser', absoluteMs: config.session.absoluteMs,
      });
      await store.audit.insert(store.db, {
        id: newId('audit'), actor: `person:${personId}`, action: 'auth.sign-in', targetKind: 'session', targetId: session.id,
        after: { role: identity.role }, requestId: request.id,
      });
      const returnTo = safeReturnTo(request.cookies[RETURN_TO_COOKIE], config.publicUrl);
      void reply.clearCookie(RETURN_TO_COOKIE, { path: '/' });
      void reply.setCookie(cookieName, secret, sessionCookieOptions(secure, Math.floor(config.session.absoluteMs / 1000)));
      return reply.redirect(returnTo);
    });

    scope.get('/auth/logout', { schema: { hide: true } }, async (request, reply) => {
      const secret = request.cookies[cookieName];
      const found = secret ? await findSession(store.db, secret, config.session) : null;
      if (!secret || !found?.ok) return reply.redirect('/auth/signed-out');
      return sendPage(reply, {
        ...pageOptions, title: 'Sign out',
        body: html`<div class="card"><h1>Sign out of OpenCrane?</h1>
          <form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="${csrfTokenFor(secret)}">
          <button class="button" type="submit">Sign out</button></form></div>`,
      });
    });

    scope.post('/auth/logout', { schema: { hide: true } }, async (request, reply) => {
      const secret = request.cookies[cookieName];
      const csrf = (request.body as { csrf?: unknown } | undefined)?.csrf;
      const found = secret ? await findSession(store.db, secret, config.session) : null;
      if (secret && found?.ok) {
        if (csrf !== csrfTokenFor(secret)) {
          return sendPage(reply, { ...pageOptions, title: 'Sign out', body: html`<div class="card"><p class="error">That sign-out did not come from an OpenCrane page.</p></div>` }, 403);
        }
        await revokeSession(store.db, found.session.id);
        await store.audit.insert(store.db, {
          id: newId('audit'), actor: `person:${found.session.personId}`, action: 'auth.sign-out', targetKind: 'session',
          targetId: found.session.id, requestId: request.id,
        });
      }
      void reply.clearCookie(cookieName, { path: '/', secure, httpOnly: true, sameSite: 'lax' });
      if (!provider.endSessionEndpoint) return reply.redirect('/auth/signed-out');
      const endSession = new URL(provider.endSessionEndpoint);
      endSession.searchParams.set('client_id', deps.client.id);
      endSession.searchParams.set('post_logout_redirect_uri', `${config.publicUrl}/auth/signed-out`);
      return reply.redirect(endSession.toString());
    });
  });
}
