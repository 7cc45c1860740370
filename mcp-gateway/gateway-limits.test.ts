// The gateway's edges: malformed input of every kind gets the right error before anything is forwarded;
// an upstream that is down, slow or too talkative gives a clean error without taking other tools down;
// rate limits, audit rows and metrics; and a canary credential that never shows up anywhere it must not.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startListeningControlPlane, type ListeningControlPlane } from '../test/support/control-plane.ts';
import { apiClient, type ApiClient } from '../test/support/api.ts';
import { apiFixtures, type ApiFixtures } from '../test/support/api-fixtures.ts';
import { testDatabases } from '../test/support/databases.ts';
import { freePort } from '../test/support/ports.ts';
import { waitUntil } from '../test/support/wait.ts';
import { startWorkloadIssuer, type TestWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { startTestUpstream, type TestUpstream } from '../test/support/mcp-upstream.ts';

const target = testDatabases.find((d) => d.name === 'postgres') ?? testDatabases[0]!;
const CANARY = `canary-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}-credential`;
const MODERN = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'raw-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

describe(`MCP gateway limits and failures on ${target.name}`, () => {
  let control: ListeningControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;
  let issuer: TestWorkloadIssuer;
  let upstream: TestUpstream;
  let vault: TestUpstream;
  const logLines: string[] = [];
  let personId: string;
  let token: string;
  const tools: Record<string, { id: string; name: string }> = {};

  const exchange = async (assistantId: string, audience: string) => {
    const response = await fetch(`${control.url}/oauth2/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: await issuer.tokenFor(assistantId),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', audience,
      }),
    });
    if (response.status !== 200) throw new Error(`token exchange failed: ${await response.text()}`);
    return ((await response.json()) as { access_token: string }).access_token;
  };

  beforeAll(async () => {
    const port = await freePort();
    issuer = await startWorkloadIssuer({ audience: `http://127.0.0.1:${port}` });
    upstream = await startTestUpstream();
    vault = await startTestUpstream({ requiredAuthorization: `Bearer ${CANARY}` });
    const sink = new Writable({ write(chunk: Buffer, _encoding, done) { logLines.push(chunk.toString()); done(); } });
    control = await startListeningControlPlane(target, port, {
      OPENCRANE_WORKLOAD_ISSUER: issuer.url, OPENCRANE_MCP_RESPONSE_TIMEOUT_MS: '1500', OPENCRANE_MCP_MAX_RESPONSE_BYTES: '65536',
      OPENCRANE_MCP_MAX_REQUEST_BYTES: '8192', OPENCRANE_MCP_ALLOWED_ORIGINS: 'https://assistant.example.com',
    }, { logger: pino({ level: 'trace' }, sink) });
    api = apiClient(control);
    f = apiFixtures(api);
    const down = await freePort();
    for (const [name, body] of [
      ['github', { url: upstream.url }],
      ['other', { url: upstream.url }],
      ['limited', { url: upstream.url, rateLimitPerMinute: 3 }],
      ['offline', { url: `http://127.0.0.1:${down}/mcp` }],
      ['vault', { url: vault.url, auth: { kind: 'bearer' } }],
    ] as const) {
      tools[name] = await f.tool({ name: `${name}-${Date.now().toString(36)}`, ...body }) as unknown as { id: string; name: string };
    }
    const put = await api({ method: 'PUT', url: `/api/v1/tools/${tools.vault!.id}/credentials`, body: { secret: CANARY } });
    expect(put.statusCode, put.body).toBe(204);
    const person = await f.person();
    personId = person.id;
    for (const tool of Object.values(tools)) {
      await f.grant({ subject: { kind: 'person', id: personId }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
      await waitUntil(async () => (await fetch(`${control.url}/.well-known/oauth-protected-resource/mcp/${tool.name}`)).status,
        (status) => status === 200, 5000, `the gateway to learn of ${tool.name}`);
    }
    const assistants = await api({ method: 'GET', url: `/api/v1/assistants?personId=${personId}` });
    token = await exchange(assistants.json<{ items: { id: string }[] }>().items[0]!.id, 'mcp-gateway');
  });
  afterAll(async () => {
    await control?.close();
    await upstream?.close();
    await vault?.close();
    await issuer?.close();
  });

  /** One raw stateless (2026-07-28) request, with any header or body changed. */
  const raw = (tool: string, options: {
    method?: string; name?: string; body?: string; headers?: Record<string, string | null>; params?: Record<string, unknown>; id?: number;
  } = {}) => {
    const method = options.method ?? 'tools/call';
    const params = options.params ?? { name: options.name ?? 'echo', arguments: { text: 'hi' } };
    const headers: Record<string, string | null> = {
      authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN, 'mcp-method': method,
      ...(typeof params.name === 'string' ? { 'mcp-name': params.name } : {}), ...options.headers,
    };
    return fetch(`${control.url}/mcp/${tool}`, {
      method: 'POST',
      headers: Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== null)),
      body: options.body ?? JSON.stringify({ jsonrpc: '2.0', id: options.id ?? 1, method, params: { ...params, _meta: ENVELOPE } }),
    });
  };
  const rpcError = async (response: Response, status: number, code: number) => {
    expect(response.status).toBe(status);
    const body = await response.json() as { jsonrpc: string; error: { code: number; message: string } };
    expect(body.jsonrpc).toBe('2.0');
    expect(body.error.code, body.error.message).toBe(code);
    return body.error.message;
  };
  const textOf = async (response: Response) => {
    expect(response.status).toBe(200);
    const body = await response.json() as { result?: { content: { text: string }[]; isError?: boolean }; error?: unknown };
    return body;
  };

  it('a well-formed stateless call goes through (the baseline for the malformed ones)', async () => {
    const body = await textOf(await raw(tools.github!.name));
    expect(body.result?.content[0]?.text).toBe('hi');
  });

  it('malformed JSON, batches, bad JSON-RPC shapes, oversized bodies and wrong content types get their errors', async () => {
    const tool = tools.github!.name;
    await rpcError(await raw(tool, { body: '{"jsonrpc": "2.0", "id": 1, "method": ' }), 400, -32700);
    await rpcError(await raw(tool, { body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: ENVELOPE } }]) }), 400, -32600);
    await rpcError(await raw(tool, { body: JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'tools/list' }) }), 400, -32600);
    await rpcError(await raw(tool, { body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: [1] }) }), 400, -32600);
    await rpcError(await raw(tool, { body: JSON.stringify({ jsonrpc: '2.0', id: { x: 1 }, method: 'tools/list' }) }), 400, -32600);
    await rpcError(await raw(tool, { params: { name: 'echo', arguments: { text: 'x'.repeat(9000) } } }), 413, -32000);
    await rpcError(await raw(tool, { headers: { 'content-type': 'text/plain' } }), 415, -32000);
    await rpcError(await raw(tool, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, -32000);
  });

  it('headers that disagree with the body (2026-07-28) are refused with -32020 before any policy is asked', async () => {
    const tool = tools.github!.name;
    const before = upstream.received.length;
    await rpcError(await raw(tool, { headers: { 'mcp-method': 'tools/list' } }), 400, -32020);
    await rpcError(await raw(tool, { headers: { 'mcp-name': 'delete_repository' } }), 400, -32020);
    await rpcError(await raw(tool, { headers: { 'mcp-name': null } }), 400, -32020);
    await rpcError(await raw(tool, { headers: { 'mcp-method': null } }), 400, -32020);
    await rpcError(await raw(tool, { headers: { 'mcp-protocol-version': '2025-11-25' } }), 400, -32020);
    await rpcError(await raw(tool, { headers: { 'mcp-protocol-version': null } }), 400, -32020);
    // The base64 form of a name is the same name.
    const encoded = `=?base64?${Buffer.from('echo').toString('base64')}?=`;
    expect((await textOf(await raw(tool, { headers: { 'mcp-name': encoded } }))).result?.content[0]?.text).toBe('hi');
    expect(upstream.received.length).toBe(before + 1);
  });

  it('no token, a bad token and a token for another tool get 401 naming the resource metadata', async () => {
    const tool = tools.github!.name;
    for (const authorization of [null, 'Bearer garbage', 'Basic dXNlcjpwYXNz', `Bearer ${token}x`]) {
      const response = await raw(tool, { headers: { authorization } });
      await rpcError(response, 401, -32000);
      expect(response.headers.get('www-authenticate')).toContain(`resource_metadata="${control.url}/.well-known/oauth-protected-resource/mcp/${tool}"`);
    }
    const down = await fetch(`${control.url}/oauth2/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', resource: `${control.url}/mcp/${tools.other!.name}`,
      }),
    });
    const otherToken = ((await down.json()) as { access_token: string }).access_token;
    await rpcError(await raw(tool, { headers: { authorization: `Bearer ${otherToken}` } }), 401, -32000);
    expect((await textOf(await raw(tools.other!.name, { headers: { authorization: `Bearer ${otherToken}` } }))).result?.content[0]?.text).toBe('hi');

    const metadata = await (await fetch(`${control.url}/.well-known/oauth-protected-resource/mcp/${tool}`)).json();
    expect(metadata).toMatchObject({ resource: `${control.url}/mcp/${tool}`, authorization_servers: [control.url], bearer_methods_supported: ['header'] });
  });

  it('a foreign Host or Origin is refused (DNS rebinding); a configured Origin is accepted', async () => {
    const tool = tools.github!.name;
    const { request } = await import('undici');
    const viaHost = await request(`${control.url}/mcp/${tool}`, {
      method: 'POST', headers: {
        host: 'evil.example.com', authorization: `Bearer ${token}`, 'content-type': 'application/json',
        'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: ENVELOPE } }),
    });
    expect(viaHost.statusCode).toBe(403);
    await viaHost.body.dump();
    await rpcError(await raw(tool, { headers: { origin: 'https://evil.example.com' } }), 403, -32000);
    expect((await textOf(await raw(tool, { headers: { origin: 'https://assistant.example.com' } }))).result).toBeDefined();
  });

  it('an unknown tool server, an unknown session and a stream without a session are refused', async () => {
    await rpcError(await raw('no-such-tool'), 404, -32000);
    await rpcError(await raw(tools.github!.name, { headers: { 'mcp-session-id': 'ocs1.Zm9v.YmFy' } }), 404, -32001);
    const stream = await fetch(`${control.url}/mcp/${tools.github!.name}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
    await rpcError(stream, 400, -32000);
  });

  it('an upstream that is down answers a clean tool error at once; a slow one is cut off at the deadline while other tools keep answering', async () => {
    const started = Date.now();
    const offline = await textOf(await raw(tools.offline!.name));
    expect(offline.result?.isError).toBe(true);
    expect(offline.result?.content[0]?.text).toMatch(/cannot be reached/);
    expect(Date.now() - started).toBeLessThan(1500);

    const slow = raw(tools.github!.name, { params: { name: 'slow', arguments: { ms: 5000 } } });
    const meanwhile = Date.now();
    expect((await textOf(await raw(tools.other!.name))).result?.content[0]?.text).toBe('hi');
    expect(Date.now() - meanwhile).toBeLessThan(1000);
    const cut = await textOf(await slow);
    expect(cut.result?.isError).toBe(true);
    expect(cut.result?.content[0]?.text).toMatch(/did not answer in time/);
    expect(Date.now() - meanwhile).toBeLessThan(3500);
  });

  it('an answer larger than the limit becomes an error, and a failing tool\'s own error passes through', async () => {
    const big = await textOf(await raw(tools.github!.name, { params: { name: 'big', arguments: { kb: 200 } } }));
    expect(big.result?.isError).toBe(true);
    expect(big.result?.content[0]?.text).toMatch(/larger than the gateway allows/);
    const failed = await textOf(await raw(tools.github!.name, { params: { name: 'fail', arguments: {} } }));
    expect(failed.result?.isError).toBe(true);
  });

  it('per-person per-tool rate limits are a clear tool error, and other tools are not affected', async () => {
    const tool = tools.limited!.name;
    for (let i = 0; i < 3; i++) expect((await textOf(await raw(tool))).result?.isError).toBeFalsy();
    const limited = await textOf(await raw(tool));
    expect(limited.result?.isError).toBe(true);
    expect(limited.result?.content[0]?.text).toMatch(/Rate limit reached .* try again in \d+ s/);
    expect((await textOf(await raw(tools.github!.name))).result?.isError).toBeFalsy();
  });

  it('every listing and call is audited with who, what, the decision, the grants, the upstream status and the latency, without arguments', async () => {
    await raw(tools.github!.name, { params: { name: 'echo', arguments: { text: 'audited-argument' } } });
    await raw(tools.github!.name, { method: 'tools/list', params: {} });
    await control.plane.gateway.audit.flush();
    const response = await api({ method: 'GET', url: `/api/v1/audit?targetKind=tool&targetId=${tools.github!.id}&limit=200` });
    const items = response.json<{ items: { action: string; actor: string; after: Record<string, unknown> }[] }>().items;
    const call = items.find((e) => e.action === 'mcp.tools/call' && e.after.outcome === 'ok');
    expect(call).toBeDefined();
    expect(call!.actor).toMatch(/^assistant:ast_/);
    expect(call!.after).toMatchObject({ personId, server: tools.github!.name, name: 'echo', decision: 'allow', upstreamStatus: 200 });
    expect((call!.after.grants as string[]).length).toBeGreaterThan(0);
    expect(typeof call!.after.latencyMs).toBe('number');
    expect(items.some((e) => e.action === 'mcp.tools/list')).toBe(true);
    expect(JSON.stringify(items)).not.toContain('audited-argument');
  });

  it('Prometheus metrics count calls, decisions and upstream errors', async () => {
    const text = await (await fetch(`${control.url}/metrics`)).text();
    expect(text).toMatch(new RegExp(`opencrane_mcp_requests_total\\{tool="${tools.github!.name}",method="tools/call",outcome="ok"\\} \\d+`));
    expect(text).toMatch(/opencrane_mcp_decisions_total\{[^}]*decision="allow"\} \d+/);
    expect(text).toMatch(new RegExp(`opencrane_mcp_upstream_errors_total\\{tool="${tools.offline!.name}",kind="unreachable"\\} \\d+`));
    expect(text).toContain('opencrane_mcp_request_duration_seconds_bucket');
  });

  it('canary: the injected credential reaches the upstream and never appears in a response, an error, a log line or an audit row', async () => {
    const tool = tools.vault!.name;
    const responses: string[] = [];
    const keep = async (response: Response) => {
      responses.push(`${response.status} ${JSON.stringify([...response.headers])} ${await response.text()}`);
    };
    // Successes, the upstream echoing the header it got, upstream errors, timeouts, malformed requests, refusals.
    await keep(await raw(tool));
    await keep(await raw(tool, { params: { name: 'whoami', arguments: {} } }));
    await keep(await raw(tool, { params: { name: 'fail', arguments: {} } }));
    await keep(await raw(tool, { params: { name: 'slow', arguments: { ms: 4000 } } }));
    await keep(await raw(tool, { params: { name: 'big', arguments: { kb: 100 } } }));
    await keep(await raw(tool, { body: '{not json' }));
    await keep(await raw(tool, { headers: { 'mcp-method': 'tools/list' } }));
    await keep(await raw(tool, { headers: { authorization: null } }));
    const client = new Client({ name: 'canary', version: '1.0.0' }, { supportedProtocolVersions: ['2025-11-25'] });
    const transport = new StreamableHTTPClientTransport(new URL(`${control.url}/mcp/${tool}`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    await client.connect(transport);
    responses.push(JSON.stringify(await client.listTools()));
    responses.push(JSON.stringify(await client.callTool({ name: 'whoami', arguments: {} })));
    await client.close();

    expect(vault.received.some((h) => h.authorization === `Bearer ${CANARY}`)).toBe(true);
    expect(responses.join('\n')).toContain('you sent: [redacted]');
    for (const response of responses) expect(response).not.toContain(CANARY);
    await control.plane.gateway.audit.flush();
    const audit = await api({ method: 'GET', url: '/api/v1/audit?limit=200' });
    expect(audit.body).not.toContain(CANARY);
    const rows = await control.plane.store.db.execute('select * from audit_events');
    expect(JSON.stringify(rows)).not.toContain(CANARY);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(CANARY);
  });
});
