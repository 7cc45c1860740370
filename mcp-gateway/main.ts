// `npm run start:mcp-gateway`: the MCP gateway as its own process, on the control plane's
// PostgreSQL database (DATABASE_URL). `npm start` runs it inside the control plane instead.
import { ConfigError, createLogger, loadConfig, openDatabase } from '../core/index.ts';
import { startMcpGateway } from './app.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (!config.databaseUrl) {
    process.stderr.write('the MCP gateway on its own needs DATABASE_URL: it shares the control plane\'s PostgreSQL database\n');
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  const database = await openDatabase({ url: config.databaseUrl });
  let service;
  try {
    service = await startMcpGateway({ config, logger, database });
    const address = await service.app.listen({ host: config.host, port: config.port });
    logger.info({ address }, 'OpenCrane MCP gateway listening');
  } catch (err) {
    await service?.close();
    await database.close();
    throw err;
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    service.close().then(() => database.close()).then(() => process.exit(0), (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`the OpenCrane MCP gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
