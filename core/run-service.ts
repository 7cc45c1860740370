// How every OpenCrane process starts and stops: read the configuration (a bad setting stops it with a
// message naming the variable, exit 2), build the service, listen, and close cleanly on SIGINT/SIGTERM.
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { openDatabase, type Database } from './db/database.ts';

export interface RunningService {
  listen(options: { host: string; port: number }): Promise<string>;
  close(): Promise<void>;
}

export async function runService(
  name: string, start: (context: { config: Config; logger: Logger }) => Promise<RunningService>,
  afterListen?: (context: { address: string; logger: Logger }) => void,
): Promise<void> {
  let config: Config;
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
  let service: RunningService | undefined;
  try {
    service = await start({ config, logger });
    const address = await service.listen({ host: config.host, port: config.port });
    logger.info({ address }, `${name} listening`);
    afterListen?.({ address, logger });
  } catch (err) {
    await service?.close();
    process.stderr.write(`${name} failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    service.close().then(() => process.exit(0), (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/**
 * A service that shares the control plane's PostgreSQL database (the token service, the MCP gateway on
 * their own): without DATABASE_URL it cannot run; its connection closes after the service does.
 */
export async function runDatabaseService(
  name: string,
  start: (context: { config: Config; logger: Logger; database: Database }) => Promise<{ app: Pick<RunningService, 'listen'>; close(): Promise<void> }>,
): Promise<void> {
  await runService(name, async ({ config, logger }) => {
    if (!config.databaseUrl) throw new ConfigError(`${name} on its own needs DATABASE_URL: it shares the control plane's PostgreSQL database`);
    const database = await openDatabase({ url: config.databaseUrl });
    const service = await start({ config, logger, database }).catch(async (err: unknown) => {
      await database.close();
      throw err;
    });
    return {
      listen: (options) => service.app.listen(options),
      async close() {
        await service.close();
        await database.close();
      },
    };
  });
}

/** Things to stop, in the reverse order they were started; stopping all of them is safe to call twice. */
export function stopStack(): { push(stop: () => Promise<void>): void; stopAll(): Promise<void> } {
  const stops: (() => Promise<void>)[] = [];
  return {
    push: (stop) => { stops.unshift(stop); },
    async stopAll() {
      while (stops.length > 0) await stops.shift()!();
    },
  };
}
