// The MCP gateway as its own process (production: its own Deployment, scaled out). It shares the
// control plane's PostgreSQL database: the directory, grants and tools through the change feed,
// revocations through the epoch feed; it verifies tokens against the token service's published keys.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  AccessIndex, createAccessService, createDirectorySync, createEpochFeed, createStore, readiness, stopStack, type Config, type Database, type Logger,
} from '../core/index.ts';
import { loadPolicyEngine } from '../policies/index.ts';
import {
  createLocalKeyEncryptor, createSigningKeyStore, createTokenVerifier, createUpstreamSubjectTokenMinter, loadKeyEncryptionKey,
} from '../token-service/index.ts';
import { createMcpGateway, type McpGateway } from './gateway.ts';

export interface RunningMcpGateway {
  app: FastifyInstance;
  gateway: McpGateway;
  close(): Promise<void>;
}

export async function startMcpGateway(options: {
  config: Config; logger: Logger; database: Database; jwksUrl?: URL;
}): Promise<RunningMcpGateway> {
  const { config, logger, database } = options;
  await database.migrate();
  const store = createStore(database);
  const index = new AccessIndex();
  const engine = await loadPolicyEngine(config.policyWasm ? { wasm: config.policyWasm } : {});
  if (!engine.available) logger.error({ reason: engine.unavailableReason }, 'policy engine unavailable: every decision will deny');
  const sync = createDirectorySync({ store, index, logger: logger.child({ component: 'directory-sync' }), resyncIntervalMs: config.resyncIntervalMs });
  const epochs = createEpochFeed({
    database, db: store.db, logger: logger.child({ component: 'revocation-epochs' }), stalenessMs: config.revocationStalenessMs, service: 'mcp-gateway',
  });
  const stopped = stopStack();
  try {
    await sync.start();
    stopped.push(() => sync.stop());
    await epochs.start();
    stopped.push(() => epochs.stop());
    const keyEncryptionKey = await loadKeyEncryptionKey(config);
    const encryptor = createLocalKeyEncryptor(keyEncryptionKey);
    // Only to sign subject tokens for upstream token exchanges; the token service creates and rotates keys.
    const keys = createSigningKeyStore({ db: store.db, encryptor });
    const verifier = createTokenVerifier({
      issuer: config.tokens.issuer,
      audience: (aud) => aud === config.tokens.audiences.mcpGateway || aud.startsWith(`${config.tokens.audiences.mcpGateway}/`),
      jwks: options.jwksUrl ?? new URL(`${config.tokens.issuer}/.well-known/jwks.json`),
      jwksCacheMaxAgeSeconds: config.tokens.jwksMaxAgeSeconds,
      currentEpoch: epochs.currentEpoch,
      maxLifetimeSeconds: config.tokens.maxTtlSeconds,
    });
    const gateway = createMcpGateway({
      config, database, db: store.db, access: createAccessService({ index, engine }), verifier, encryptor, keyEncryptionKey, logger,
      upstreamSubjectToken: createUpstreamSubjectTokenMinter({
        signer: { issuer: config.tokens.issuer, currentSigningKey: () => keys.currentSigningKey() }, currentEpoch: epochs.currentEpoch,
      }),
    });
    await gateway.start();
    stopped.push(() => gateway.stop());
    const loggerInstance: FastifyBaseLogger = logger;
    // Long-lived MCP streams would otherwise hold a shutdown open indefinitely.
    const app = Fastify({
      loggerInstance, genReqId: () => randomUUID(), requestIdHeader: false, routerOptions: { maxParamLength: 200 }, forceCloseConnections: true,
    });
    await gateway.register(app);
    app.get('/healthz', () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const { status, body } = await readiness(store.db, {
        policy: [engine.available, 'not loaded'], directory: [index.loaded, 'not loaded'], revocations: [epochs.fresh(), 'stale'],
      });
      return reply.status(status).send(body);
    });
    await app.ready();
    stopped.push(() => app.close());
    return {
      app, gateway,
      close: () => stopped.stopAll(),
    };
  } catch (err) {
    await stopped.stopAll();
    throw err;
  }
}
