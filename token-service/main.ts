// `npm run start:token-service`: the token service as its own process, on the control plane's
// PostgreSQL database (DATABASE_URL). `npm start` runs it inside the control plane instead.
import { openDatabase, requireDatabaseUrl, runService } from '../core/index.ts';
import { startTokenService } from './app.ts';

await runService('OpenCrane token service', async ({ config, logger }) => {
  const database = await openDatabase({ url: requireDatabaseUrl(config, 'the token service') });
  const service = await startTokenService({ config, logger, database }).catch(async (err: unknown) => {
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
