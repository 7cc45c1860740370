// `npm run start:mcp-gateway`: the MCP gateway as its own process, on the control plane's PostgreSQL
// database (DATABASE_URL). `npm start` runs it inside the control plane instead.
import { openDatabase, requireDatabaseUrl, runService } from '../core/index.ts';
import { startMcpGateway } from './app.ts';

await runService('OpenCrane MCP gateway', async ({ config, logger }) => {
  const database = await openDatabase({ url: requireDatabaseUrl(config, 'the MCP gateway') });
  const service = await startMcpGateway({ config, logger, database }).catch(async (err: unknown) => {
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
