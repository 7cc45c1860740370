// A tool whose credential is an RFC 8693 exchange at its own authorization server (a real
// oidc-provider that trusts OpenCrane's published keys): the gateway presents a short-lived token
// naming the person's assistant, gets an upstream token acting for it, and injects that upstream only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startListeningControlPlane, type ListeningControlPlane } from '../test/support/control-plane.ts';
import { apiClient } from '../test/support/api.ts';
import { apiFixtures } from '../test/support/api-fixtures.ts';
import { testDatabases } from '../test/support/databases.ts';
import { freePort } from '../test/support/ports.ts';
import { waitUntil } from '../test/support/wait.ts';
import { startWorkloadIssuer, type TestWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { startTestUpstream, type TestUpstream } from '../test/support/mcp-upstream.ts';
import { startUpstreamAuthorizationServer, type UpstreamAuthorizationServer } from '../test/support/upstream-authorization-server.ts';

const target = testDatabases.find((d) => d.name === 'postgres') ?? testDatabases[0]!;
const UPSTREAM_AUDIENCE = 'https://tools.example.com/mcp';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'exchange-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

describe(`a token-exchange credential through the gateway on ${target.name}`, () => {
  let control: ListeningControlPlane;
  let issuer: TestWorkloadIssuer;
  let upstream: TestUpstream;
  let authorizationServer: UpstreamAuthorizationServer;
  let assistantId: string;
  let token: string;
  let toolName: string;

  beforeAll(async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    issuer = await startWorkloadIssuer({ audience: url });
    upstream = await startTestUpstream();
    authorizationServer = await startUpstreamAuthorizationServer({ trust: { issuer: url, jwks: new URL(`${url}/.well-known/jwks.json`) } });
    control = await startListeningControlPlane(target, port, { OPENCRANE_WORKLOAD_ISSUER: issuer.url });
    const api = apiClient(control);
    const f = apiFixtures(api);
    const tool = await f.tool({
      name: `exchanged-${Date.now().toString(36)}`, url: upstream.url,
      auth: { kind: 'token_exchange', tokenUrl: authorizationServer.tokenUrl, clientId: authorizationServer.clientId, audience: UPSTREAM_AUDIENCE },
    });
    toolName = tool.name as string;
    expect((await api({ method: 'PUT', url: `/api/v1/tools/${tool.id}/credentials`, body: { secret: authorizationServer.clientSecret } })).statusCode).toBe(204);
    const person = await f.person();
    await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
    assistantId = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<{ items: { id: string }[] }>().items[0]!.id;
    const exchanged = await fetch(`${url}/oauth2/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: await issuer.tokenFor(assistantId),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', audience: 'mcp-gateway',
      }),
    });
    token = ((await exchanged.json()) as { access_token: string }).access_token;
    await waitUntil(async () => (await fetch(`${url}/.well-known/oauth-protected-resource/mcp/${toolName}`)).status, (s) => s === 200, 5000, 'the tool');
  });
  afterAll(async () => {
    await control?.close();
    await authorizationServer?.close();
    await upstream?.close();
    await issuer?.close();
  });

  const call = (name: string) => fetch(`${control.url}/mcp/${toolName}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {}, _meta: ENVELOPE } }),
  });

  it('the upstream receives a token from its own authorization server acting for the assistant, fetched once', async () => {
    const first = await (await call('whoami')).json() as { result: { content: { text: string }[] } };
    expect(first.result.content[0]!.text).toBe('you sent: [redacted]');
    await call('whoami');
    const sent = upstream.received.map((h) => h.authorization).filter((a): a is string => a !== undefined);
    expect(sent.length).toBe(2);
    expect(new Set(sent).size).toBe(1);
    const upstreamToken = sent[0]!.replace(/^Bearer /, '');
    expect(upstreamToken).not.toBe(token);
    expect(await authorizationServer.introspect(upstreamToken)).toMatchObject({ sub: assistantId, aud: UPSTREAM_AUDIENCE });
    const exchanges = authorizationServer.requests.filter((r) => r.grantType === 'urn:ietf:params:oauth:grant-type:token-exchange');
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]).toMatchObject({ status: 200, authScheme: 'Basic', params: { subject_token: `subject:${assistantId}` } });
    expect(decodeJwt(token).aud).not.toBe(authorizationServer.issuer);
  });
});
