// The MCP gateway as its own process beside the control plane (the production layout): it shares the
// database, learns tools and grants from the change feed, verifies tokens against the token service's
// published JWKS over HTTP, and serves the SDK client.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig, type Database } from '../core/index.ts';
import { startListeningControlPlane, type ListeningControlPlane } from '../test/support/control-plane.ts';
import { apiClient } from '../test/support/api.ts';
import { apiFixtures } from '../test/support/api-fixtures.ts';
import { testDatabases } from '../test/support/databases.ts';
import { freePort } from '../test/support/ports.ts';
import { waitUntil } from '../test/support/wait.ts';
import { startWorkloadIssuer, type TestWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { startTestUpstream, type TestUpstream } from '../test/support/mcp-upstream.ts';
import { startMcpGateway, type RunningMcpGateway } from './app.ts';

const target = testDatabases.find((d) => d.name === 'postgres') ?? testDatabases[0]!;

describe(`the MCP gateway as its own process on ${target.name}`, () => {
  let control: ListeningControlPlane;
  let issuer: TestWorkloadIssuer;
  let upstream: TestUpstream;
  let gateway: RunningMcpGateway;
  let database: Database;
  let gatewayUrl: string;
  let token: string;

  beforeAll(async () => {
    const [controlPort, gatewayPort] = [await freePort(), await freePort()];
    gatewayUrl = `http://127.0.0.1:${gatewayPort}/mcp`;
    issuer = await startWorkloadIssuer({ audience: `http://127.0.0.1:${controlPort}` });
    upstream = await startTestUpstream();
    const env = { OPENCRANE_WORKLOAD_ISSUER: issuer.url, OPENCRANE_MCP_GATEWAY_URL: gatewayUrl };
    control = await startListeningControlPlane(target, controlPort, env);
    database = await control.database.connectAgain();
    const config = loadConfig({
      OPENCRANE_HOME: control.home, LOG_LEVEL: 'silent', PORT: String(gatewayPort), PUBLIC_URL: control.url, ...env,
    });
    gateway = await startMcpGateway({ config, logger: pino({ level: 'silent' }), database });
    await gateway.app.listen({ host: '127.0.0.1', port: gatewayPort });

    const f = apiFixtures(apiClient(control));
    const tool = await f.tool({ name: `standalone-${Date.now().toString(36)}`, url: upstream.url });
    const person = await f.person();
    await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tool.id, toolPattern: 'echo' }, effect: 'allow' });
    const assistants = await apiClient(control)({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` });
    const assistantId = assistants.json<{ items: { id: string }[] }>().items[0]!.id;
    const exchanged = await waitUntil(async () => fetch(`${control.url}/oauth2/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: await issuer.tokenFor(assistantId),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', resource: `${gatewayUrl}/${tool.name as string}`,
      }),
    }), (r) => r.status === 200, 5000, 'a token for the tool');
    token = ((await exchanged.json()) as { access_token: string }).access_token;
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${gatewayPort}/.well-known/oauth-protected-resource/mcp/${tool.name as string}`)).status,
      (s) => s === 200, 5000, 'the gateway to learn of the tool');
    gatewayUrl = `${gatewayUrl}/${tool.name as string}`;
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.close();
    await control?.close();
    await upstream?.close();
    await issuer?.close();
  });

  it('serves a tool-scoped token through its own process: filtered listing, granted call, readiness', async () => {
    const client = new Client({ name: 'standalone', version: '1.0.0' }, { supportedProtocolVersions: ['2025-11-25'] });
    await client.connect(new StreamableHTTPClientTransport(new URL(gatewayUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
      const result = await client.callTool({ name: 'echo', arguments: { text: 'from afar' } });
      expect((result as { content: { text: string }[] }).content[0]!.text).toBe('from afar');
      const refused = await client.callTool({ name: 'list_repos', arguments: {} });
      expect(refused.isError).toBe(true);
    } finally {
      await client.close();
    }
    const ready = await gateway.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', policy: 'ok', directory: 'ok', revocations: 'ok' } });
  });
});
