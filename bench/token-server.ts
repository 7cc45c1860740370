// The server side of `npm run bench:tokens`, in a child process of its own so the load generator does
// not share its CPU. Configured through the environment like the real service (DATABASE_URL absent means
// an in-memory PGlite). It seeds a small organisation through a control plane's REST API, closes that
// control plane, then serves the token service as its own app (`startTokenService`, as in production)
// and reports to the parent over IPC (bench/child-process.ts): `ready` with the assistants, `usage` when
// asked, and it stops when told to or when the parent goes away.
import { mkdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { createLogger, loadConfig, openDatabase } from '../core/index.ts';
import { createControlPlane } from '../server/control-plane.ts';
import { startTokenService } from '../token-service/app.ts';
import { serveParent } from './child-process.ts';
import { seedTokenOrganisation, type SeededAssistant } from './token-org.ts';

export interface TokenServerReady {
  assistants: SeededAssistant[];
  seedMs: number;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const people = Number(process.env.BENCH_PEOPLE ?? '200');
  await mkdir(config.home, { recursive: true });
  const database = await openDatabase({ url: config.databaseUrl });
  await database.migrate();

  const started = performance.now();
  const plane = await createControlPlane({ config, logger: pino({ level: 'silent' }), database });
  let assistants: SeededAssistant[];
  try {
    const adminToken = (await readFile(config.adminTokenFile, 'utf8')).trim();
    assistants = await seedTokenOrganisation(plane.app, adminToken, people);
  } finally {
    await plane.close();
  }
  const seedMs = performance.now() - started;

  const service = await startTokenService({ config, logger: createLogger(config.logLevel), database });
  await service.app.listen({ host: '127.0.0.1', port: config.port });

  serveParent<TokenServerReady>(service.app.server, { assistants, seedMs }, async () => {
    await service.close();
    await database.close();
  }, { self: 'bench/token-server.ts', parent: 'bench/tokens.ts', stopping: 'token server' });
}

main().catch((err: unknown) => {
  process.stderr.write(`token server failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
