// Talking to an upstream MCP server: one keep-alive connection pool for every upstream (undici), a
// connect timeout, a deadline for the answer, and the request's own abort when the client goes away.
// Only the headers MCP defines travel upstream, plus the credential the gateway injects; the caller's
// Authorization header never does.
import { Agent, request, errors as undiciErrors, type Dispatcher } from 'undici';
import { GatewayError, JSONRPC, type RequestId } from './jsonrpc.ts';

/** Request headers an MCP client may send that the upstream needs. */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'last-event-id'];
const PARAM_HEADER = /^mcp-param-[a-z0-9-]{1,64}$/;

export interface UpstreamRequest {
  url: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** The client's headers (lower-case names, as Node gives them). */
  clientHeaders: Record<string, string | string[] | undefined>;
  /** The upstream's own session id (unwrapped), if any. */
  sessionId: string | undefined;
  /** The credential headers to add. */
  credentials: Record<string, string>;
  body: string | undefined;
  /** For errors: the JSON-RPC id of the request being forwarded. */
  id: RequestId | null;
  signal: AbortSignal;
  /** Time allowed until the response headers arrive. */
  headersTimeoutMs: number;
  /** Longest silence between body chunks; 0 for none (long-lived GET streams). */
  bodyTimeoutMs: number;
}

export interface Upstream {
  send(req: UpstreamRequest): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

export function upstreamHeaders(req: Pick<UpstreamRequest, 'clientHeaders' | 'sessionId' | 'credentials'>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.clientHeaders)) {
    if (typeof value !== 'string') continue;
    if (FORWARDED_REQUEST_HEADERS.includes(name) || PARAM_HEADER.test(name)) headers[name] = value;
  }
  if (req.sessionId !== undefined) headers['mcp-session-id'] = req.sessionId;
  // Last, so nothing the client sent can override the credential.
  return Object.assign(headers, req.credentials);
}

export function createUpstream(options: { connectTimeoutMs: number }): Upstream {
  const agent = new Agent({
    connect: { timeout: options.connectTimeoutMs },
    keepAliveTimeout: 30_000,
    connections: 256,
    pipelining: 1,
  });
  return {
    async send(req) {
      try {
        return await request(req.url, {
          method: req.method,
          headers: upstreamHeaders(req),
          body: req.body,
          dispatcher: agent,
          signal: req.signal,
          headersTimeout: req.headersTimeoutMs,
          bodyTimeout: req.bodyTimeoutMs,
        });
      } catch (err) {
        throw upstreamFailure(err, req.id);
      }
    },
    // Streams still open (GET streams, calls in flight) are cut: shutting down must not wait for them.
    close: () => agent.destroy(),
  };
}

/** What went wrong upstream, as a clean JSON-RPC error; never the upstream's own words. */
export function upstreamFailure(err: unknown, id: RequestId | null): GatewayError {
  if (err instanceof GatewayError) return err;
  const timedOut = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError
    || err instanceof undiciErrors.ConnectTimeoutError || (err as { name?: string }).name === 'TimeoutError';
  return new GatewayError(
    timedOut ? 504 : 502, JSONRPC.UPSTREAM_ERROR,
    timedOut ? 'the tool server did not answer in time' : 'the tool server cannot be reached',
    id,
  );
}
