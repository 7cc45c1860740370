// `npm start`: the whole control plane in one process. With no DATABASE_URL it runs on the embedded
// PGlite database under OPENCRANE_HOME (default .opencrane/).
import { runService } from '../core/index.ts';
import { createControlPlane } from './control-plane.ts';

let adminTokenFile: string | null = null;
await runService('OpenCrane control plane', async ({ config, logger }) => {
  const plane = await createControlPlane({ config, logger });
  adminTokenFile = plane.adminTokenFile;
  logger.info({ database: plane.database.driver, home: config.home }, 'OpenCrane control plane started');
  return { listen: (options) => plane.app.listen(options), close: () => plane.close() };
}, ({ logger }) => {
  if (adminTokenFile) logger.info({ file: adminTokenFile }, `first start: an admin API token was written to ${adminTokenFile} (mode 0600)`);
});
