// `npm start`: the whole control plane in one process. With no DATABASE_URL it runs on the embedded
// PGlite database under OPENCRANE_HOME (default .opencrane/).
import { ConfigError, createLogger, loadConfig } from '../core/index.ts';
import { createControlPlane } from './control-plane.ts';

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
  const logger = createLogger(config.logLevel);
  const plane = await createControlPlane({ config, logger });
  let address: string;
  try {
    address = await plane.app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await plane.close();
    throw err;
  }
  logger.info({ address, database: plane.database.driver, home: config.home }, 'OpenCrane control plane listening');
  if (plane.adminTokenFile) {
    logger.info({ file: plane.adminTokenFile }, `first start: an admin API token was written to ${plane.adminTokenFile} (mode 0600)`);
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    plane.close().then(() => process.exit(0), (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`OpenCrane failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
