// Relaying an upstream's answer to the client. SSE streams are relayed event by event as they arrive
// (progress, notifications, sampling and elicitation requests, then the result), never buffered
// whole; a JSON answer is one JSON-RPC message and is read, bounded, before it is sent. On the way,
// the answer to a listing is filtered, any credential value the gateway injected is scrubbed, the
// upstream's session id is wrapped, and a stream that runs too long or too large ends with a clean
// JSON-RPC error for the request instead of a hang or a truncated message.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { errorBody, GatewayError, JSONRPC, type RequestId } from './jsonrpc.ts';

export interface RelayOptions {
  /** The id of the request being answered; null for GET streams and notifications. */
  id: RequestId | null;
  maxResponseBytes: number;
  /** Epoch milliseconds after which the answer is cut off with an error; undefined for long-lived GET streams. */
  deadline: number | undefined;
  /** Rewrites the JSON-RPC response to this request (list filtering). */
  transform?: ((message: Record<string, unknown>) => Record<string, unknown>) | undefined;
  /** The SSE event data that ends a stream cut short; a JSON-RPC error for the request by default. */
  cutMessage?: ((reason: string) => string) | undefined;
  /** Secret values that must never reach the client. */
  secrets: string[];
  wrapSession(upstreamId: string): string | undefined;
}

export interface RelayOutcome {
  /** The HTTP status the client got. */
  status: number;
  /** The upstream's HTTP status. */
  upstreamStatus: number;
  /** Why the relay cut the answer short, if it did. */
  cut?: 'deadline' | 'size' | 'upstream' | 'client';
}

const header = (headers: Dispatcher.ResponseData['headers'], name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  return out;
}

/** Reads a whole body up to a limit; over it, the stream is destroyed and a GatewayError thrown. */
async function readBounded(body: Readable, limit: number, id: RequestId | null): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new GatewayError(502, JSONRPC.UPSTREAM_ERROR, 'the tool server\'s answer is larger than the gateway allows', id);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function transformed(text: string, options: RelayOptions): string {
  if (!options.transform) return text;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return text;
  const m = message as Record<string, unknown>;
  if (m.id !== options.id || !('result' in m)) return text;
  return JSON.stringify(options.transform(m));
}

function serialiseEvent(event: EventSourceMessage, data: string): string {
  let out = '';
  if (event.event) out += `event: ${event.event}\n`;
  if (event.id !== undefined) out += `id: ${event.id}\n`;
  for (const line of data.split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** Sends a gateway error as the HTTP answer (nothing was sent to the client yet). */
export function sendError(raw: ServerResponse, error: GatewayError): void {
  if (raw.headersSent) {
    raw.end();
    return;
  }
  raw.writeHead(error.httpStatus, { 'content-type': 'application/json', 'cache-control': 'no-store', ...error.headers });
  raw.end(errorBody(error.id, error.code, error.message));
}

export async function relay(upstream: Dispatcher.ResponseData, raw: ServerResponse, options: RelayOptions): Promise<RelayOutcome> {
  const status = upstream.statusCode;
  const contentType = header(upstream.headers, 'content-type') ?? '';
  const upstreamSession = header(upstream.headers, 'mcp-session-id');
  const responseHeaders: Record<string, string> = {};
  if (upstreamSession !== undefined) {
    const wrapped = options.wrapSession(upstreamSession);
    if (wrapped === undefined) {
      upstream.body.destroy();
      throw new GatewayError(502, JSONRPC.UPSTREAM_ERROR, 'the tool server sent an unusable session id', options.id);
    }
    responseHeaders['mcp-session-id'] = wrapped;
  }

  if (status === 401 || status === 403) {
    upstream.body.destroy();
    throw new GatewayError(502, JSONRPC.UPSTREAM_ERROR, 'the tool server refused the gateway\'s credentials', options.id);
  }
  if (status >= 500) {
    upstream.body.destroy();
    throw new GatewayError(502, JSONRPC.UPSTREAM_ERROR, `the tool server failed (HTTP ${status})`, options.id);
  }
  if (status === 202 || status === 204) {
    upstream.body.resume();
    raw.writeHead(status, responseHeaders);
    raw.end();
    return { status, upstreamStatus: status };
  }
  if (status >= 200 && status < 300 && contentType.startsWith('text/event-stream')) {
    return relayStream(upstream, raw, options, responseHeaders);
  }
  // A JSON answer, or a 4xx the client must see as the upstream gave it (a 404 for a lost session, or a
  // legacy server's answer to a version probe): bounded, filtered, scrubbed.
  const text = await readBounded(upstream.body, options.maxResponseBytes, options.id);
  const body = scrub(status < 300 ? transformed(text, options) : text, options.secrets);
  raw.writeHead(status, {
    ...responseHeaders, 'content-type': contentType || 'application/json', 'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(body)),
  });
  raw.end(body);
  return { status, upstreamStatus: status };
}

function relayStream(
  upstream: Dispatcher.ResponseData, raw: ServerResponse, options: RelayOptions, responseHeaders: Record<string, string>,
): Promise<RelayOutcome> {
  raw.writeHead(200, {
    ...responseHeaders, 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no',
  });
  raw.flushHeaders();
  const body = upstream.body;
  return new Promise<RelayOutcome>((resolve) => {
    let size = 0;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (cut?: RelayOutcome['cut'], message?: string) => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      body.removeAllListeners('data');
      if (cut) body.destroy();
      if (message && options.id !== null && !raw.destroyed) {
        const data = options.cutMessage?.(message) ?? errorBody(options.id, JSONRPC.UPSTREAM_ERROR, message);
        raw.write(`event: message\ndata: ${data}\n\n`);
      }
      if (!raw.destroyed) raw.end();
      resolve({ status: 200, upstreamStatus: upstream.statusCode, ...(cut ? { cut } : {}) });
    };
    const parser = createParser({
      onEvent(event) {
        const data = scrub(transformed(event.data, options), options.secrets);
        if (!raw.write(serialiseEvent(event, data))) {
          body.pause();
          raw.once('drain', () => body.resume());
        }
      },
      onRetry(retry) {
        raw.write(`retry: ${retry}\n\n`);
      },
    });
    if (options.deadline !== undefined) {
      timer = setTimeout(() => finish('deadline', 'the tool server did not finish its answer in time'), Math.max(0, options.deadline - Date.now()));
    }
    const decoder = new TextDecoder();
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.maxResponseBytes) {
        finish('size', 'the tool server\'s answer is larger than the gateway allows');
        return;
      }
      parser.feed(decoder.decode(chunk, { stream: true }));
    });
    body.once('end', () => finish());
    body.once('error', () => finish('upstream', 'the tool server broke off its answer'));
    raw.once('close', () => finish('client'));
  });
}
