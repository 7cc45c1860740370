// The composition root: builds every service from the configuration and wires them together. `npm
// start` (main.ts), the integration tests and the benchmarks all start the control plane through here.
import type { FastifyInstance } from 'fastify';
import {
  AccessIndex, createAccessService, createDirectorySync, createStore, openDatabase,
  type AccessService, type Config, type Database, type DirectorySync, type Logger, type Store,
} from '../core/index.ts';
import { loadPolicyEngine, type PolicyEngine } from '../policies/index.ts';
import { buildApp } from './app.ts';
import { bootstrapAdminToken } from './auth/api-tokens.ts';
import { acquireDataLock } from './data-lock.ts';

export interface ControlPlane {
  app: FastifyInstance;
  store: Store;
  database: Database;
  index: AccessIndex;
  sync: DirectorySync;
  access: AccessService;
  engine: PolicyEngine;
  /** Path of the admin token file written on first start, or null when tokens already existed. */
  adminTokenFile: string | null;
  close(): Promise<void>;
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
    const engine = await loadPolicyEngine();
    if (!engine.available) logger.error({ reason: engine.unavailableReason }, 'policy engine unavailable: every decision will deny');
    const index = new AccessIndex();
    const sync = createDirectorySync({
      store, index, logger: logger.child({ component: 'directory-sync' }), resyncIntervalMs: config.resyncIntervalMs,
    });
    await sync.start();
    const access = createAccessService({ index, engine });
    const app = await buildApp({
      config, store, access, index, sync, policyLoaded: () => engine.available,
    });
    await app.ready();
    const adminTokenFile = await bootstrapAdminToken(store, config.adminTokenFile);
    return {
      app, store, database, index, sync, access, engine, adminTokenFile,
      async close() {
        await app.close();
        await sync.stop();
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
