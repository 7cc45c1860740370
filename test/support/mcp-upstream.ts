// An upstream MCP tool server for gateway tests, built with the official MCP TypeScript SDK (v2): one
// Streamable HTTP endpoint serving session-based clients (2025-06-18, 2025-11-25) and stateless ones
// (2026-07-28). Its tools cover what a gateway must relay: progress, an elicitation mid-call, a slow
// answer, a large answer, a failure, and one that echoes the Authorization header it received (so a
// test can prove the gateway scrubs injected credentials). It records every request's headers.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { McpServer, acceptedContent, inputRequired, inputResponse } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { serveBothEras } from '../../mcp-gateway/index.ts';

export interface TestUpstream {
  url: string;
  /** Headers of every request received, in order. */
  received: IncomingHttpHeaders[];
  /** Closes open sessions and the server. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function buildServer(authorization: () => string | undefined): McpServer {
  const server = new McpServer({ name: 'test-upstream', version: '1.0.0' });
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
  server.registerTool('echo', { description: 'Echoes text', inputSchema: z.object({ text: z.string() }) }, ({ text: value }) => text(value));
  server.registerTool('list_repos', { description: 'Lists repositories', inputSchema: z.object({}) }, () => text('acme/website, acme/handbook'));
  server.registerTool('create_issue', {
    description: 'Creates an issue', inputSchema: z.object({ repository: z.string(), title: z.string() }),
  }, ({ repository, title }) => text(`created "${title}" in ${repository}`));
  server.registerTool('delete_repository', { description: 'Deletes a repository', inputSchema: z.object({ repository: z.string() }) },
    ({ repository }) => text(`deleted ${repository}`));
  server.registerTool('countdown', { description: 'Counts down with progress', inputSchema: z.object({ n: z.number().int().min(1).max(20) }) },
    async ({ n }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: i, total: n, message: `step ${i}` } });
        }
        await sleep(10);
      }
      return text(`done ${n}`);
    });
  const Confirm = z.object({ confirm: z.boolean() });
  server.registerTool('confirm_delete', { description: 'Asks before deleting', inputSchema: z.object({ path: z.string() }) },
    ({ path }, ctx) => {
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', Confirm);
      if (!answer) return inputRequired({ inputRequests: { confirm: inputRequired.elicit({ message: `Delete ${path}?`, requestedSchema: Confirm }) } });
      return text(answer.confirm ? `deleted ${path}` : 'kept');
    });
  server.registerTool('summarize', { description: 'Asks the client\'s model to summarise', inputSchema: z.object({ text: z.string() }) },
    ({ text: value }, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'llm');
      if (answer.kind !== 'sampling') {
        return inputRequired({ inputRequests: { llm: inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: `Summarise: ${value}` } }], maxTokens: 50,
        }) } });
      }
      const content = answer.result.content as { type: string; text?: string };
      return text(`summary: ${content.text ?? ''}`);
    });
  server.registerTool('slow', { description: 'Answers after a while', inputSchema: z.object({ ms: z.number().int().min(0).max(60_000) }) },
    async ({ ms }) => {
      await sleep(ms);
      return text(`slept ${ms}`);
    });
  server.registerTool('big', { description: 'Answers with many kilobytes', inputSchema: z.object({ kb: z.number().int().min(1).max(100_000) }) },
    ({ kb }) => text('x'.repeat(kb * 1024)));
  server.registerTool('fail', { description: 'Always throws', inputSchema: z.object({}) }, () => {
    throw new Error('the upstream tool failed on purpose');
  });
  server.registerTool('whoami', { description: 'Tells which Authorization header it received', inputSchema: z.object({}) },
    () => text(`you sent: ${authorization() ?? 'nothing'}`));
  server.registerResource('config', 'config://app', { mimeType: 'text/plain', description: 'App configuration' },
    (uri) => ({ contents: [{ uri: uri.href, text: 'debug=true' }] }));
  server.registerResource('secrets', 'secret://vault', { mimeType: 'text/plain', description: 'Not for everyone' },
    (uri) => ({ contents: [{ uri: uri.href, text: 'hunter2' }] }));
  server.registerPrompt('review-code', { description: 'Reviews code', argsSchema: z.object({ code: z.string() }) },
    ({ code }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Review:\n${code}` } }] }));
  return server;
}

export async function startTestUpstream(options: {
  /** When set, any request without exactly this Authorization header is refused with 401. */
  requiredAuthorization?: string;
} = {}): Promise<TestUpstream> {
  const received: IncomingHttpHeaders[] = [];
  let current: string | undefined;
  const factory = () => buildServer(() => current);
  const endpoint = serveBothEras(factory);
  const handler = toNodeHandler({ fetch: (request: Request) => endpoint.fetch(request) });
  const server: Server = createServer((req, res) => {
    received.push({ ...req.headers });
    if (options.requiredAuthorization !== undefined && req.headers.authorization !== options.requiredAuthorization) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized' }));
      return;
    }
    current = req.headers.authorization;
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    received,
    async close() {
      await endpoint.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
