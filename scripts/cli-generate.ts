// `npm run cli:generate`: starts a throwaway control plane (embedded database, temporary home), reads
// the OpenAPI document it serves, and writes the CLI's API types (cli/api/schema.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig, openDatabase } from '../core/index.ts';
import { createControlPlane } from '../server/control-plane.ts';
import { generateApiTypes, SCHEMA_FILE } from '../cli/api/generate.ts';

const home = await mkdtemp(path.join(os.tmpdir(), 'opencrane-openapi-'));
const database = await openDatabase({});
try {
  const plane = await createControlPlane({ config: loadConfig({ OPENCRANE_HOME: home, LOG_LEVEL: 'silent' }), logger: pino({ level: 'silent' }), database });
  try {
    const response = await plane.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    await writeFile(SCHEMA_FILE, await generateApiTypes(response.json()));
    console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE.pathname)}`);
  } finally {
    await plane.close();
  }
} finally {
  await database.close();
  await rm(home, { recursive: true, force: true });
}
