// Serving one MCP server (built per session or per request by `factory`) to clients of both protocol
// eras on one endpoint, with the official SDK: 2025-06-18/2025-11-25 clients get a session of their own
// (found again by Mcp-Session-Id, ended by DELETE, at most `maxSessions` kept), stateless 2026-07-28
// clients are answered request by request. The demo tool server, the gateway's test upstream and the
// gateway benchmark's upstream all serve through this.
import { randomUUID } from 'node:crypto';
import {
  createMcpHandler, isInitializeRequest, isLegacyRequest, WebStandardStreamableHTTPServerTransport, type McpServer,
} from '@modelcontextprotocol/server';

export interface BothEras {
  /** A Web fetch handler for the MCP endpoint (mount it with @modelcontextprotocol/node's toNodeHandler). */
  fetch(request: Request): Promise<Response>;
  /** Closes every open session. */
  close(): Promise<void>;
}

export const jsonRpcError = (status: number, code: number, message: string) =>
  new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), { status, headers: { 'content-type': 'application/json' } });

export function serveBothEras(factory: () => McpServer, options: { maxSessions?: number } = {}): BothEras {
  const maxSessions = options.maxSessions ?? 100;
  const modern = createMcpHandler(factory, { legacy: 'reject' });
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();

  async function legacy(request: Request): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) return (await sessions.get(sessionId)?.handleRequest(request)) ?? jsonRpcError(404, -32001, 'Session not found');
    const body: unknown = request.method === 'POST' ? await request.clone().json().catch(() => undefined) : undefined;
    if (!isInitializeRequest(body)) return jsonRpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
        // The oldest session goes when there are too many: a demo or test server must stay bounded.
        const oldest = sessions.size > maxSessions ? sessions.values().next().value : undefined;
        if (oldest) void oldest.close().catch(() => undefined);
      },
      onsessionclosed: (id) => { sessions.delete(id); },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await factory().connect(transport);
    return transport.handleRequest(request, { parsedBody: body });
  }

  return {
    fetch: async (request) => ((await isLegacyRequest(request)) ? legacy(request) : modern.fetch(request)),
    async close() {
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => undefined)));
    },
  };
}
