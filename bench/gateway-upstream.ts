// The upstream of `npm run bench:gateway`, in a child process of its own: a fast MCP tool server built
// with the official SDK and served to both protocol eras on one endpoint (`serveBothEras`, as the demo
// tool server and the test upstream are), with one trivial tool, `echo`. Unlike the test upstream it
// keeps no record of the requests it received, so its memory stays flat under load. PORT is where it
// listens; BENCH_MAX_SESSIONS how many 2025 sessions it keeps open (the oldest is closed beyond).
import { createServer } from 'node:http';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { serveBothEras } from '../mcp-gateway/index.ts';
import { serveParent } from './child-process.ts';

export interface UpstreamReady {
  url: string;
}

const EchoInput = z.object({ text: z.string() });

/** Built for every stateless request by the SDK, so it does as little as it can. */
function buildServer(): McpServer {
  const server = new McpServer({ name: 'bench-upstream', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echoes text', inputSchema: EchoInput }, ({ text }) => ({ content: [{ type: 'text' as const, text }] }));
  return server;
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? '0');
  const endpoint = serveBothEras(buildServer, { maxSessions: Number(process.env.BENCH_MAX_SESSIONS ?? '100') });
  const handler = toNodeHandler({ fetch: (request: Request) => endpoint.fetch(request) });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  serveParent<UpstreamReady>(server, { url: `http://127.0.0.1:${port}/mcp` }, async () => {
    await endpoint.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }, { self: 'this benchmark process', parent: 'bench/gateway.ts', stopping: 'benchmark child' });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench upstream failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
