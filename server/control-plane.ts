// The composition root: builds every service from the configuration and wires them together. `npm
// start` (main.ts), the integration tests and the benchmarks all start the control plane through here.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createDevIdentityProvider, DEMO_ACCOUNTS } from './identity/dev-identity-provider.ts';
import { developmentProviderMetadata, discoverProvider } from './identity/provider-metadata.ts';
import {
  AccessIndex, loadKubeConfig, createAccessService, createDirectorySync, createEpochFeed, createStore, openDatabase,
  type AccessService, type Config, type Database, type DirectorySync, type EpochFeed, type Logger, type Store,
} from '../core/index.ts';
import { loadPolicyEngine, type PolicyEngine } from '../policies/index.ts';
import {
  createDevWorkloadIssuer, createLocalKeyEncryptor, createTokenService, createWorkloadValidator, loadKeyEncryptionKey,
  type DevWorkloadIssuer, type TokenService,
} from '../token-service/index.ts';
import { buildApp } from './app.ts';
import { createMcpGateway, type McpGateway } from '../mcp-gateway/index.ts';
import { bootstrapAdminToken } from './auth/api-tokens.ts';
import { acquireDataLock } from './data-lock.ts';
import { createAssistantResources, type AssistantResources, type ClusterTarget } from './cluster/assistant-resources.ts';
import { createMutationRunner } from './services/mutations.ts';

/** The cluster assistants are provisioned in, from the configuration; null when there is none. */
function clusterTarget(config: Config): ClusterTarget | null {
  if (config.cluster.mode === 'none') return null;
  return { kubeConfig: loadKubeConfig(config.cluster), namespace: config.cluster.namespace, instance: config.cluster.instance, retention: config.cluster.retention };
}

export interface ControlPlane {
  app: FastifyInstance;
  store: Store;
  database: Database;
  index: AccessIndex;
  sync: DirectorySync;
  /** This replica's map of revocation epochs: the `currentEpoch` for its token verifiers. */
  epochs: EpochFeed;
  access: AccessService;
  engine: PolicyEngine;
  tokens: TokenService;
  /** The development workload issuer, when no cluster issuer is configured. */
  devWorkload: DevWorkloadIssuer | null;
  gateway: McpGateway;
  /** Keeps each assistant's `Assistant` resource in the cluster; null when no cluster is configured. */
  assistantResources: AssistantResources | null;
  /** Path of the admin token file written on first start, or null when tokens already existed. */
  adminTokenFile: string | null;
  close(): Promise<void>;
}

/**
 * The organisation's OpenID provider from its discovery document, or, when none is configured, the
 * development provider served in-process under /dev-idp.
 */
async function identityProvider(config: Config, logger: Logger) {
  if (config.oidc.issuer && config.oidc.clientId && config.oidc.clientSecret) {
    return {
      provider: await discoverProvider(config.oidc.issuer),
      client: { id: config.oidc.clientId, secret: config.oidc.clientSecret },
      developmentProvider: null,
    };
  }
  const issuer = `${config.publicUrl}/dev-idp`;
  const client = { id: 'opencrane-dev', secret: randomBytes(24).toString('base64url') };
  const developmentProvider = await createDevIdentityProvider({
    issuer, accounts: DEMO_ACCOUNTS,
    clients: [{
      clientId: client.id, clientSecret: client.secret, redirectUris: [`${config.publicUrl}/auth/callback`],
      postLogoutRedirectUris: [`${config.publicUrl}/auth/signed-out`],
    }],
  });
  logger.warn({ issuer, people: DEMO_ACCOUNTS.map((a) => a.email) },
    'DEVELOPMENT ONLY: no OIDC_ISSUER is configured, so a development identity provider with demo people is serving sign-in');
  return { provider: developmentProviderMetadata(issuer), client, developmentProvider };
}

export interface ControlPlaneOptions {
  config: Config;
  logger: Logger;
  /** An already-open database (tests share one); otherwise opened from the configuration. */
  database?: Database;
}

export async function createControlPlane({ config, logger, database: given }: ControlPlaneOptions): Promise<ControlPlane> {
  const releaseLock = !given && !config.databaseUrl ? await acquireDataLock(config.embeddedDatabaseDir) : undefined;
  const database = given ?? await openDatabase(
    config.databaseUrl ? { url: config.databaseUrl } : { dataDir: config.embeddedDatabaseDir },
  );
  try {
    await database.migrate();
    const store = createStore(database);
    const keyEncryptionKey = await loadKeyEncryptionKey(config);
    const encryptor = createLocalKeyEncryptor(keyEncryptionKey);
    const engine = await loadPolicyEngine(config.policyWasm ? { wasm: config.policyWasm } : {});
    if (!engine.available) logger.error({ reason: engine.unavailableReason }, 'policy engine unavailable: every decision will deny');
    const index = new AccessIndex();
    const sync = createDirectorySync({
      store, index, logger: logger.child({ component: 'directory-sync' }), resyncIntervalMs: config.resyncIntervalMs,
    });
    await sync.start();
    const epochs = createEpochFeed({
      database, db: store.db, logger: logger.child({ component: 'revocation-epochs' }), stalenessMs: config.revocationStalenessMs,
      service: 'control-plane',
    });
    await epochs.start();
    const access = createAccessService({ index, engine });
    const devWorkload = config.workload.issuer ? null : await createDevWorkloadIssuer({
      publicUrl: config.publicUrl, namespace: config.workload.namespace, audience: config.workload.audience, production: config.production,
    });
    if (devWorkload) {
      logger.warn({ issuer: devWorkload.issuer },
        'DEVELOPMENT ONLY: no OPENCRANE_WORKLOAD_ISSUER is configured, so a development workload issuer signs ServiceAccount tokens for the demo assistants');
    }
    const tokens = createTokenService({
      db: store.db, encryptor, config, directory: index, currentEpoch: epochs.currentEpoch,
      workload: await createWorkloadValidator(config.workload, config.cluster, devWorkload?.issuer),
      logger: logger.child({ component: 'token-service' }),
    });
    await tokens.start();
    const gateway = createMcpGateway({
      config, database, db: store.db, access, verifier: tokens.verifier, encryptor, keyEncryptionKey, logger,
      upstreamSubjectToken: (caller, audience) => tokens.mintUpstreamSubjectToken(caller, audience),
    });
    await gateway.start();
    const identity = await identityProvider(config, logger);
    const target = clusterTarget(config);
    const assistantResources = target === null ? null : createAssistantResources({
      target, database, db: store.db, logger: logger.child({ component: 'assistant-resources' }),
      runMutation: createMutationRunner({ store, sync, epochs }), resyncIntervalMs: config.resyncIntervalMs,
    });
    if (!assistantResources) logger.info('no Kubernetes cluster is configured (OPENCRANE_KUBERNETES=none): assistants are recorded but not provisioned');
    await assistantResources?.start();
    const app = await buildApp({
      config, logger, store, access, index, sync, epochs, tokens, encryptor, devWorkload, gateway, identity, policyLoaded: () => engine.available,
      assistantResources: assistantResources ? (id) => assistantResources.resourceOf(id) : null,
    });
    await app.ready();
    const adminTokenFile = await bootstrapAdminToken(store, config.adminTokenFile);
    return {
      app, store, database, index, sync, epochs, access, engine, tokens, devWorkload, gateway, adminTokenFile, assistantResources,
      async close() {
        await app.close();
        await assistantResources?.stop();
        await tokens.stop();
        await gateway.stop();
        await sync.stop();
        await epochs.stop();
        if (!given) await database.close();
        await releaseLock?.();
      },
    };
  } catch (err) {
    if (!given) await database.close();
    await releaseLock?.();
    throw err;
  }
}
