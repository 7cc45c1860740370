// The JSON-RPC layer of MCP as the gateway needs it: one message per POST (batches were removed from
// MCP in 2025-06-18), read into a small typed shape, and errors written the way MCP clients expect.
// Every refusal before forwarding is a GatewayError carrying the HTTP status and JSON-RPC code.

export type RequestId = string | number;

export type InboundMessage =
  | { kind: 'request'; id: RequestId; method: string; params: Record<string, unknown> }
  | { kind: 'notification'; method: string; params: Record<string, unknown> }
  /** A client's answer to a server-initiated request (sampling, elicitation, roots). */
  | { kind: 'response'; id: RequestId };

/** JSON-RPC 2.0 and MCP error codes the gateway answers with. */
export const JSONRPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Implementation-defined server errors: -32000 … -32099. */
  SERVER_ERROR: -32000,
  /** MCP 2026-07-28: the request headers and body disagree. */
  HEADER_MISMATCH: -32020,
  /** The gateway refuses the request: forbidden by policy. */
  FORBIDDEN: -32003,
  /** The upstream tool server failed, timed out or answered too much. */
  UPSTREAM_ERROR: -32010,
} as const;

export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  constructor(
    readonly httpStatus: number,
    readonly code: number,
    message: string,
    readonly id: RequestId | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorBody(id: RequestId | null, code: number, message: string, data?: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } });
}

const MAX_ID_LENGTH = 200;
const MAX_METHOD_LENGTH = 200;

const isId = (value: unknown): value is RequestId =>
  (typeof value === 'string' && value.length <= MAX_ID_LENGTH) || (typeof value === 'number' && Number.isSafeInteger(value));

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads one JSON-RPC message from a request body; anything else is a GatewayError with the right code. */
export function parseMessage(text: string): InboundMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayError(400, JSONRPC.PARSE_ERROR, 'Parse error: the body is not valid JSON');
  }
  if (Array.isArray(value)) {
    throw new GatewayError(400, JSONRPC.INVALID_REQUEST, 'Invalid Request: JSON-RPC batches are not supported (removed from MCP in 2025-06-18); send one message per request');
  }
  if (!isObject(value) || value.jsonrpc !== '2.0') {
    throw new GatewayError(400, JSONRPC.INVALID_REQUEST, 'Invalid Request: not a JSON-RPC 2.0 message');
  }
  const id = 'id' in value ? value.id : undefined;
  if (id !== undefined && !isId(id)) throw new GatewayError(400, JSONRPC.INVALID_REQUEST, 'Invalid Request: the id must be a string or an integer');
  if (typeof value.method === 'string') {
    if (value.method.length === 0 || value.method.length > MAX_METHOD_LENGTH) {
      throw new GatewayError(400, JSONRPC.INVALID_REQUEST, 'Invalid Request: the method name is empty or too long', id ?? null);
    }
    const params = value.params ?? {};
    if (!isObject(params)) throw new GatewayError(400, JSONRPC.INVALID_REQUEST, 'Invalid Request: params must be an object', id ?? null);
    return id === undefined
      ? { kind: 'notification', method: value.method, params }
      : { kind: 'request', id, method: value.method, params };
  }
  if (value.method !== undefined) throw new GatewayError(400, JSONRPC.INVALID_REQUEST, 'Invalid Request: the method must be a string', id ?? null);
  if (id !== undefined && ('result' in value || 'error' in value)) return { kind: 'response', id };
  throw new GatewayError(400, JSONRPC.INVALID_REQUEST, 'Invalid Request: neither a request, a notification nor a response', id ?? null);
}
