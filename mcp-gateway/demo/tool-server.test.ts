// The demo tool server with the official MCP SDK client, in a 2025 session and stateless 2026-07-28.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startDemoToolServer, type DemoToolServer } from './tool-server.ts';

let server: DemoToolServer;
beforeAll(async () => {
  server = await startDemoToolServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

async function connect(version: '2025-11-25' | '2026-07-28') {
  const client = new Client({ name: 'demo-test', version: '1.0.0' }, version === '2026-07-28'
    ? { versionNegotiation: { mode: { pin: '2026-07-28' } } }
    : { supportedProtocolVersions: [version] });
  const transport = new StreamableHTTPClientTransport(new URL(server.url));
  await client.connect(transport);
  return { client, transport };
}

const textOf = (result: unknown) => ((result as { content: { text: string }[] }).content[0]?.text);

describe.each(['2025-11-25', '2026-07-28'] as const)('the demo tool server over %s', (version) => {
  it('negotiates the revision and lists its harmless tools', async () => {
    const { client, transport } = await connect(version);
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe(version);
      expect(transport.sessionId === undefined).toBe(version === '2026-07-28');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['add', 'delete_everything', 'echo', 'get_time', 'word_count']);
    } finally {
      await client.close();
    }
  });

  it('answers each tool, and delete_everything deletes nothing', async () => {
    const { client } = await connect(version);
    try {
      expect(textOf(await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('5');
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('hello');
      expect(textOf(await client.callTool({ name: 'word_count', arguments: { text: ' the quick  brown fox ' } }))).toBe('4 words');
      expect(textOf(await client.callTool({ name: 'get_time', arguments: { timeZone: 'Europe/London' } }))).toMatch(/\d{4}/);
      expect(await client.callTool({ name: 'get_time', arguments: { timeZone: 'Nowhere/Atlantis' } })).toMatchObject({ isError: true });
      expect(textOf(await client.callTool({ name: 'delete_everything', arguments: {} }))).toMatch(/Nothing was deleted/);
    } finally {
      await client.close();
    }
  });
});

describe('the demo tool server as a local service', () => {
  it('refuses a request for another Host (DNS rebinding)', async () => {
    const { port } = new URL(server.url);
    // fetch cannot set Host; node:http can.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { host: 'evil.example.com', 'content-type': 'application/json' } },
        (res) => { res.resume(); resolve(res.statusCode); });
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
  });

  it('binds to loopback by default', () => {
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
  });
});
