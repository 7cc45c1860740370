// The MCP gateway assembled from its parts. The same assembly runs in its own process (app.ts) and
// inside the all-in-one control plane, which mounts its routes beside the others.
import { hkdfSync } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AccessService, Config, Database, Db, Logger } from '../core/index.ts';
import type { KeyEncryptor, TokenVerifier, UpstreamSubjectTokenMinter } from '../token-service/index.ts';
import { createAuditWriter, type AuditWriter } from './audit-writer.ts';
import { createCredentialInjector } from './credentials/index.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { createRateLimiter } from './rate-limit.ts';
import { registerGatewayRoutes } from './routes.ts';
import { createSessionSealer } from './sessions.ts';
import { createToolRegistry, type ToolRegistry } from './tool-registry.ts';
import { createUpstream } from './upstream.ts';

export interface McpGatewayDependencies {
  config: Pick<Config, 'gateway' | 'tokens' | 'resyncIntervalMs'>;
  database: Pick<Database, 'listen'>;
  db: Db;
  access: Pick<AccessService, 'decide'>;
  /** Verifies OpenCrane access tokens (with this replica's revocation epochs). */
  verifier: TokenVerifier;
  encryptor: Pick<KeyEncryptor, 'decrypt'>;
  /** Mints the subject token for tools whose credential is an RFC 8693 exchange at their own authorization server. */
  upstreamSubjectToken: UpstreamSubjectTokenMinter;
  /** The key-encryption key; the session-sealing key is derived from it, so every replica agrees. */
  keyEncryptionKey: Uint8Array;
  logger: Logger;
}

export interface McpGateway {
  tools: ToolRegistry;
  audit: AuditWriter;
  metrics: GatewayMetrics;
  register(app: FastifyInstance): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createMcpGateway(deps: McpGatewayDependencies): McpGateway {
  const { gateway } = deps.config;
  const logger = deps.logger.child({ component: 'mcp-gateway' });
  const tools = createToolRegistry({ database: deps.database, db: deps.db, logger, resyncIntervalMs: deps.config.resyncIntervalMs });
  const metrics = createGatewayMetrics();
  const audit = createAuditWriter({ db: deps.db, logger, onDrop: (n) => metrics.auditDropped.inc(n) });
  const upstream = createUpstream({ connectTimeoutMs: gateway.connectTimeoutMs });
  const sessionKey = Buffer.from(hkdfSync('sha256', deps.keyEncryptionKey, 'opencrane', 'mcp-gateway session ids', 32));
  return {
    tools, audit, metrics,
    async register(app) {
      await registerGatewayRoutes(app, {
        settings: {
          baseUri: deps.config.tokens.audiences.mcpGateway,
          authorizationServer: deps.config.tokens.issuer,
          ...gateway,
        },
        tools, verifier: deps.verifier, access: deps.access,
        credentials: createCredentialInjector({ db: deps.db, encryptor: deps.encryptor, logger }),
        sessions: createSessionSealer(sessionKey),
        upstream, rateLimiter: createRateLimiter(), audit, metrics, upstreamSubjectToken: deps.upstreamSubjectToken,
      });
      app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
        reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
    },
    start: () => tools.start(),
    async stop() {
      await tools.stop();
      await audit.stop();
      await upstream.close();
    },
  };
}
