// The control plane's HTTP application: plugins, shared schemas, and every route, wired to the
// services it is given. The composition root (main.ts) builds those services.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { registerAjvFormats, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { newId, readiness, type AccessService, type AccessIndex, type Config, type Logger, type Store } from '../core/index.ts';
import { authPlugin, bearerTokenAuthenticator, sessionCookieAuthenticator } from './auth/auth-plugin.ts';
import cookie from '@fastify/cookie';
import { sessionCookieName } from './identity/cookies.ts';
import { registerProblemHandlers, sendProblem, toAppError } from './problem.ts';
import { validatorCompiler } from './validation.ts';
import { Problem, StrictObject } from './schemas/common.ts';
import { AssistantView, assistantSpecFor, type AssistantResourceLocator } from './routes/assistants.ts';
import { registerApiTokenRoutes, ApiTokenView } from './routes/api-tokens.ts';
import { registerOAuthClientRoutes, OAuthClientView } from './routes/oauth-clients.ts';
import { registerRevocationRoutes, RevocationView } from './routes/revocations.ts';
import { AuditEventView, registerAuditRoutes } from './routes/audit.ts';
import { AccessWhoView, DecisionView, ExplanationView, registerDecisionRoutes } from './routes/decisions.ts';
import { DepartmentView, PersonView, TeamView, departmentSpec, personSpec, teamSpec } from './routes/directory.ts';
import { registerEntityRoutes } from './routes/entity-routes.ts';
import { GrantView, registerGrantRoutes } from './routes/grants.ts';
import { MembershipView, registerMembershipRoutes } from './routes/memberships.ts';
import { KnowledgeView, SkillView, ToolView, knowledgeSpec, skillSpec, toolSpec } from './routes/resources.ts';
import { registerMeRoutes } from './routes/me.ts';
import { registerToolCredentialRoutes } from './routes/tool-credentials.ts';
import type { McpGateway } from '../mcp-gateway/index.ts';
import { oauthEndpoints, PublishedJwkSchema, type DevWorkloadIssuer, type KeyEncryptor, type TokenService } from '../token-service/index.ts';
import { createMutationRunner } from './services/mutations.ts';
import type { DevIdentityProvider } from './identity/dev-identity-provider.ts';
import type { ProviderMetadata } from './identity/provider-metadata.ts';
import { registerOidcLogin } from './identity/oidc-login.ts';
import { registerHomePages } from './pages/home.ts';
import { deviceCodeGrant, refreshTokenGrant, registerDeviceAuthorization } from './routes/oauth-device.ts';
import { registerDevicePageRoutes } from './routes/device-page.ts';
import type { DirectorySync, EpochFeed } from '../core/index.ts';

export interface AppDependencies {
  /** The process's logger (redacting secrets): requests log through it too. */
  logger: Logger;
  config: Pick<Config, 'bodyLimit' | 'logLevel' | 'publicUrl' | 'secureCookies' | 'session' | 'oidc'>;
  store: Store;
  access: AccessService;
  index: Pick<AccessIndex, 'loaded'>;
  sync: Pick<DirectorySync, 'apply'>;
  epochs: Pick<EpochFeed, 'propagated' | 'apply' | 'applyChanges'>;
  tokens: Pick<TokenService, 'pairing' | 'grants' | 'registerRoutes' | 'registerOAuthRoutes'>;
  /** Seals tool credentials under the key-encryption key. */
  encryptor: Pick<KeyEncryptor, 'encrypt'>;
  /** The development workload issuer, when no cluster issuer is configured. */
  devWorkload: DevWorkloadIssuer | null;
  /** The MCP gateway, mounted under /mcp in the all-in-one process. */
  gateway: Pick<McpGateway, 'register'>;
  identity: {
    provider: ProviderMetadata;
    client: { id: string; secret: string };
    /** The in-process development provider, when no organisation provider is configured. */
    developmentProvider: DevIdentityProvider | null;
  };
  /** Whether the policy engine loaded its WASM; when false every decision denies and /readyz fails. */
  policyLoaded: () => boolean;
  /** Where each assistant's `Assistant` resource lives, or null when no cluster is configured. */
  assistantResources: AssistantResourceLocator;
  version?: string;
}

const SHARED_SCHEMAS = [
  Problem, DepartmentView, TeamView, PersonView, MembershipView, ToolView, SkillView, KnowledgeView, AssistantView,
  GrantView, DecisionView, ExplanationView, AccessWhoView, AuditEventView, ApiTokenView, RevocationView, OAuthClientView,
  PublishedJwkSchema,
];

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  registerAjvFormats();
  // Typed as fastify's logger interface so the app's type does not depend on pino's.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: deps.config.bodyLimit,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    routerOptions: { maxParamLength: 200 },
    // Long-lived MCP streams through the gateway would otherwise hold a shutdown open indefinitely.
    forceCloseConnections: true,
    // Errors raised before routing (an over-long path parameter, a bad URL) get problem+json too.
    frameworkErrors: (error, request, reply) => {
      void sendProblem(reply, request, toAppError(error));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // Only JSON bodies are accepted: anything else is a 415, including text/plain.
  app.removeContentTypeParser('text/plain');
  registerProblemHandlers(app);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    void reply.header('x-content-type-options', 'nosniff');
    if (request.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'OpenCrane control plane API', version: deps.version ?? '0.1.0',
        description: 'Directory, grants, deny-by-default decisions and audit. Errors are RFC 9457 problem+json.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An OpenCrane API token (ocat_…)' } } },
      security: [{ bearerAuth: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  await app.register(cookie);
  await app.register(authPlugin, {
    authenticators: [
      bearerTokenAuthenticator(deps.store, deps.config.session),
      sessionCookieAuthenticator(deps.store, {
        cookieName: sessionCookieName(deps.config.secureCookies),
        publicOrigin: new URL(deps.config.publicUrl).origin,
        policy: deps.config.session,
        onCsrfRefused: async (request, personId) => {
          await deps.store.audit.insert(deps.store.db, {
            id: newId('audit'), actor: `person:${personId}`, action: 'auth.csrf-refused', targetKind: 'route',
            targetId: `${request.method} ${request.routeOptions.url ?? request.url}`, requestId: request.id,
          });
        },
      }),
    ],
  });

  const runMutation = createMutationRunner({ store: deps.store, sync: deps.sync, epochs: deps.epochs });
  const routeDeps = { runMutation, db: deps.store.db };
  registerEntityRoutes(app, departmentSpec, routeDeps);
  registerEntityRoutes(app, teamSpec, routeDeps);
  registerEntityRoutes(app, personSpec, routeDeps);
  registerMembershipRoutes(app, routeDeps);
  registerEntityRoutes(app, toolSpec, routeDeps);
  registerEntityRoutes(app, skillSpec, routeDeps);
  registerEntityRoutes(app, knowledgeSpec, routeDeps);
  registerEntityRoutes(app, assistantSpecFor(deps.assistantResources), routeDeps);
  registerGrantRoutes(app, routeDeps);
  registerDecisionRoutes(app, { access: deps.access, db: deps.store.db });
  registerAuditRoutes(app, { db: deps.store.db });
  registerApiTokenRoutes(app, routeDeps);
  registerOAuthClientRoutes(app, routeDeps);
  registerRevocationRoutes(app, { runMutation, epochs: deps.epochs });
  registerMeRoutes(app, { ...routeDeps, tokens: deps.tokens, issuer: deps.config.publicUrl });
  registerToolCredentialRoutes(app, { ...routeDeps, encryptor: deps.encryptor, access: deps.access });

  // Identity: the development provider (when no organisation provider is configured), browser sign-in,
  // the people's pages and the CLI's device flow.
  const developmentProvider = deps.identity.developmentProvider;
  const developmentIdentityProvider = developmentProvider !== null;
  if (developmentProvider) {
    // The development provider reads its own bodies: nothing here may parse them first.
    await app.register((scope, _options, done) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, parsed) => parsed(null));
      const handler = (request: FastifyRequest, reply: FastifyReply) => {
        reply.hijack();
        developmentProvider.handle(request.raw, reply.raw);
      };
      scope.all('/dev-idp', { schema: { hide: true } }, handler);
      scope.all('/dev-idp/*', { schema: { hide: true } }, handler);
      done();
    });
  }
  await registerOidcLogin(app, {
    config: deps.config, store: deps.store, runMutation, provider: deps.identity.provider, client: deps.identity.client,
    developmentIdentityProvider,
  });
  registerHomePages(app, { config: deps.config, store: deps.store, developmentIdentityProvider });
  // One /oauth2/token for the CLI's grants and the token service's exchange; in production the token
  // service serves its own (token-service/main.ts).
  const deviceGrants = [deviceCodeGrant({ store: deps.store }), refreshTokenGrant({ store: deps.store })];
  await app.register(oauthEndpoints, {
    grants: [...deviceGrants, ...deps.tokens.grants],
    routes: (scope) => {
      registerDeviceAuthorization(scope, { store: deps.store, publicUrl: deps.config.publicUrl });
      deps.tokens.registerOAuthRoutes(scope);
    },
  });
  deps.tokens.registerRoutes(app, { otherGrants: deviceGrants.map((g) => g.grantType), deviceAuthorization: true });
  deps.devWorkload?.register(app, { authorizeAdmin: app.authorize('admin') });
  await deps.gateway.register(app);
  registerDevicePageRoutes(app, {
    store: deps.store, cookieName: sessionCookieName(deps.config.secureCookies), sessionPolicy: deps.config.session,
    developmentIdentityProvider,
  });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, () => app.swagger());

  const Health = StrictObject({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.String())) });
  app.get('/healthz', { schema: { tags: ['Health'], operationId: 'healthz', security: [], response: { 200: Health } } },
    () => ({ status: 'ok' }));
  app.get('/readyz', {
    schema: { tags: ['Health'], operationId: 'readyz', security: [], response: { 200: Health, 503: Health } },
  }, async (_request, reply) => {
    const { status, body } = await readiness(deps.store.db, {
      policy: [deps.policyLoaded(), 'not loaded'], directory: [deps.index.loaded, 'not loaded'],
    });
    return reply.status(status).send(body);
  });

  return app;
}
