// The demo MCP tool server that `npm run demo` puts behind the gateway: a handful of harmless tools,
// built with the official MCP TypeScript SDK, on one Streamable HTTP endpoint (`/mcp`) that serves
// session-based clients (2025-06-18, 2025-11-25) and stateless ones (2026-07-28). It needs no
// credential; `delete_everything` deletes nothing, it only gives the demo grants something to refuse.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import {
  McpServer, hostHeaderValidationResponse, localhostAllowedHostnames, localhostAllowedOrigins, originValidationResponse,
} from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { jsonRpcError, serveBothEras } from './both-eras.ts';

export interface DemoToolServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:8090/mcp`. */
  url: string;
  /** Closes open sessions and stops listening. */
  close(): Promise<void>;
}

export interface DemoToolServerOptions {
  /** Address to listen on; loopback unless you mean to expose it. */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port?: number;
  /** Most 2025 sessions kept open at once; the oldest is closed to make room (clients that never end theirs). */
  maxSessions?: number;
}

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

function buildDemoServer(): McpServer {
  const server = new McpServer({ name: 'opencrane-demo-tools', version: '1.0.0' });
  server.registerTool('get_time', {
    description: 'Tells the current time, in UTC or in an IANA time zone',
    inputSchema: z.object({ timeZone: z.string().max(64).optional().describe('e.g. Europe/London; UTC when left out') }),
    annotations: { readOnlyHint: true },
  }, ({ timeZone = 'UTC' }) => {
    try {
      return text(new Date().toLocaleString('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'long' }));
    } catch {
      return { ...text(`unknown time zone: ${timeZone}`), isError: true };
    }
  });
  server.registerTool('echo', {
    description: 'Answers with the text it is given',
    inputSchema: z.object({ text: z.string().max(10_000) }),
    annotations: { readOnlyHint: true },
  }, ({ text: value }) => text(value));
  server.registerTool('add', {
    description: 'Adds two numbers',
    inputSchema: z.object({ a: z.number(), b: z.number() }),
    annotations: { readOnlyHint: true },
  }, ({ a, b }) => text(String(a + b)));
  server.registerTool('word_count', {
    description: 'Counts the words in a text',
    inputSchema: z.object({ text: z.string().max(100_000) }),
    annotations: { readOnlyHint: true },
  }, ({ text: value }) => {
    const words = value.split(/\s+/u).filter((word) => word.length > 0).length;
    return text(`${words} ${words === 1 ? 'word' : 'words'}`);
  });
  server.registerTool('delete_everything', {
    description: 'Deletes everything (not really: this is a demo; it changes nothing)',
    inputSchema: z.object({}),
    annotations: { destructiveHint: true },
  }, () => text('Pretended to delete everything. Nothing was deleted: this is the OpenCrane demo tool server.'));
  return server;
}

export async function startDemoToolServer(options: DemoToolServerOptions = {}): Promise<DemoToolServer> {
  const host = options.host ?? '127.0.0.1';
  const maxSessions = options.maxSessions ?? 100;
  // Against DNS rebinding: with no credential of its own, the server answers only to the names it is reached by.
  const hostname = host.includes(':') ? `[${host}]` : host;
  const allowedHosts = [...new Set([...localhostAllowedHostnames(), hostname])];
  const allowedOrigins = [...new Set([...localhostAllowedOrigins(), hostname])];
  const endpoint = serveBothEras(buildDemoServer, { maxSessions });

  const handler = toNodeHandler({
    fetch: async (request: Request) => {
      const refused = hostHeaderValidationResponse(request, allowedHosts) ?? originValidationResponse(request, allowedOrigins);
      if (refused) return refused;
      if (new URL(request.url).pathname !== '/mcp') return jsonRpcError(404, -32000, 'Not Found: the MCP endpoint is /mcp');
      return endpoint.fetch(request);
    },
  });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8090, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname}:${port}/mcp`,
    async close() {
      await endpoint.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
