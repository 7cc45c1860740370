// The token service as its own process (production: its own Deployment beside the control plane). It
// shares the control plane's PostgreSQL database: the directory and grants come through the same change
// feed, revocations through the same epoch feed. The all-in-one process (`npm start`) mounts the same
// routes into the control plane instead (server/app.ts).
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  AccessIndex, createDirectorySync, createEpochFeed, createStore, readiness, stopStack, type Config, type Database, type Logger,
} from '../core/index.ts';
import { createLocalKeyEncryptor, loadKeyEncryptionKey } from './key-encryption.ts';
import { oauthEndpoints } from './oauth-endpoint.ts';
import { createTokenService, PublishedJwkSchema, type TokenService } from './token-service.ts';
import { createWorkloadValidator } from './workload-validator.ts';

export interface RunningTokenService {
  app: FastifyInstance;
  tokens: TokenService;
  close(): Promise<void>;
}

export async function startTokenService(options: { config: Config; logger: Logger; database: Database }): Promise<RunningTokenService> {
  const { config, logger, database } = options;
  if (!config.workload.issuer && config.workload.validation === 'jwks') {
    throw new Error('the token service on its own needs OPENCRANE_WORKLOAD_ISSUER (or OPENCRANE_WORKLOAD_VALIDATION=tokenreview); the development workload issuer runs only inside npm start');
  }
  await database.migrate();
  const store = createStore(database);
  const index = new AccessIndex();
  const sync = createDirectorySync({
    store, index, logger: logger.child({ component: 'directory-sync' }), resyncIntervalMs: config.resyncIntervalMs,
  });
  const epochs = createEpochFeed({
    database, db: store.db, logger: logger.child({ component: 'revocation-epochs' }),
    stalenessMs: config.revocationStalenessMs, service: 'token-service',
  });
  const stopped = stopStack();
  try {
    await sync.start();
    stopped.push(() => sync.stop());
    await epochs.start();
    stopped.push(() => epochs.stop());
    const tokens = createTokenService({
      db: store.db, encryptor: createLocalKeyEncryptor(await loadKeyEncryptionKey(config)), config,
      directory: index, currentEpoch: epochs.currentEpoch,
      workload: await createWorkloadValidator(config.workload, config.cluster),
      logger: logger.child({ component: 'token-service' }),
    });
    await tokens.start();
    stopped.push(() => tokens.stop());

    const loggerInstance: FastifyBaseLogger = logger;
    const app = Fastify({ loggerInstance, bodyLimit: 32 * 1024, genReqId: () => randomUUID(), requestIdHeader: false });
    app.addSchema(PublishedJwkSchema);
    await app.register(oauthEndpoints, { grants: tokens.grants, routes: (scope) => tokens.registerOAuthRoutes(scope) });
    tokens.registerRoutes(app);
    app.get('/healthz', () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const { status, body } = await readiness(store.db, { directory: [index.loaded, 'not loaded'], revocations: [epochs.fresh(), 'stale'] });
      return reply.status(status).send(body);
    });
    await app.ready();
    stopped.push(() => app.close());
    return {
      app, tokens,
      close: () => stopped.stopAll(),
    };
  } catch (err) {
    await stopped.stopAll();
    throw err;
  }
}
