// Starts a whole control plane for a test file on one of the test databases, in a temporary
// OPENCRANE_HOME, and hands back its fastify app (for inject) and the bootstrap admin token.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig, type Logger } from '../../core/index.ts';
import { createControlPlane, type ControlPlane } from '../../server/control-plane.ts';
import type { OpenTestDatabase, TestDatabase } from './databases.ts';

export interface TestControlPlane {
  plane: ControlPlane;
  /** The test database the plane runs on; `connectAgain()` opens another replica's connection. */
  database: OpenTestDatabase;
  adminToken: string;
  home: string;
  close(): Promise<void>;
}

export async function startTestControlPlane(
  target: TestDatabase, env: NodeJS.ProcessEnv = {}, options: { logger?: Logger } = {},
): Promise<TestControlPlane> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'opencrane-test-'));
  const database = await target.open();
  const config = loadConfig({ OPENCRANE_HOME: home, LOG_LEVEL: 'silent', ...env });
  const plane = await createControlPlane({ config, logger: options.logger ?? pino({ level: 'silent' }), database });
  const adminToken = (await readFile(path.join(home, 'admin-token'), 'utf8')).trim();
  return {
    plane, database, adminToken, home,
    async close() {
      await plane.close();
      await database.dispose();
      await rm(home, { recursive: true, force: true });
    },
  };
}

export interface ListeningControlPlane extends TestControlPlane {
  url: string;
}

/** A control plane listening on a loopback port, for flows that involve another server or a browser. */
export async function startListeningControlPlane(
  target: TestDatabase, port: number, env: NodeJS.ProcessEnv = {}, options: { logger?: Logger } = {},
): Promise<ListeningControlPlane> {
  const url = `http://127.0.0.1:${port}`;
  const started = await startTestControlPlane(target, { PORT: String(port), PUBLIC_URL: url, ...env }, options);
  await started.plane.app.listen({ host: '127.0.0.1', port });
  return { ...started, url };
}
