// The CLI's API types must be what the control plane serves: regenerated from the live OpenAPI document
// and compared with the checked-in file, so the CLI cannot drift from the API unnoticed.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../../test/support/control-plane.ts';
import { testDatabases } from '../../test/support/databases.ts';
import { generateApiTypes, SCHEMA_FILE } from './generate.ts';

let control: TestControlPlane;
beforeAll(async () => {
  control = await startTestControlPlane(testDatabases[0]!);
});
afterAll(async () => {
  await control?.close();
});

it('cli/api/schema.ts matches the OpenAPI document the control plane serves (run `npm run cli:generate` if not)', async () => {
  const document = (await control.plane.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<unknown>();
  expect(await readFile(SCHEMA_FILE, 'utf8')).toBe(await generateApiTypes(document));
});
