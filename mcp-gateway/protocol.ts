// Which MCP protocol revision a request speaks, and the 2026-07-28 header rules. Session-based
// revisions (2025-06-18, 2025-11-25) carry MCP-Protocol-Version and Mcp-Session-Id headers; the
// stateless 2026-07-28 revision puts the version in each request's `_meta` envelope and repeats the
// method (and the tool, prompt or resource name) in `Mcp-Method` and `Mcp-Name` headers, which must
// agree with the body: a mismatch is refused before any policy is asked, so a proxy or load balancer
// routing on headers can never be steered to a different call than the one that runs.
import { GatewayError, JSONRPC, type InboundMessage } from './jsonrpc.ts';

export const SESSION_REVISIONS = ['2025-06-18', '2025-11-25'] as const;
export const STATELESS_REVISIONS = ['2026-07-28'] as const;
const VERSION_META = 'io.modelcontextprotocol/protocolVersion';

export type Era = 'session' | 'stateless';

export interface ProtocolHeaders {
  protocolVersion: string | undefined;
  sessionId: string | undefined;
  mcpMethod: string | undefined;
  mcpName: string | undefined;
}

/** Names that are not plain printable ASCII travel as `=?base64?<base64>?=` (2026-07-28). */
const BASE64_SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

export function decodeHeaderValue(value: string): string {
  const match = BASE64_SENTINEL.exec(value);
  return match ? Buffer.from(match[1]!, 'base64').toString('utf8') : value;
}

/** The value `Mcp-Name` must carry for a method, or undefined when the method carries none. */
export function nameOf(method: string, params: Record<string, unknown>): string | undefined {
  if (method === 'tools/call' || method === 'prompts/get') return typeof params.name === 'string' ? params.name : undefined;
  if (method === 'resources/read') return typeof params.uri === 'string' ? params.uri : undefined;
  if (method === 'tasks/get' || method === 'tasks/update' || method === 'tasks/cancel') {
    return typeof params.taskId === 'string' ? params.taskId : undefined;
  }
  return undefined;
}

/** The revision a message's `_meta` envelope names (2026-07-28 and later), if any. */
export function envelopeVersion(message: InboundMessage): string | undefined {
  if (message.kind === 'response') return undefined;
  const meta = message.params._meta;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const version = (meta as Record<string, unknown>)[VERSION_META];
  return typeof version === 'string' ? version : undefined;
}

const mismatch = (message: InboundMessage, detail: string) =>
  new GatewayError(400, JSONRPC.HEADER_MISMATCH, `Bad Request: the request headers and body disagree: ${detail}`,
    message.kind === 'request' ? message.id : null);

/**
 * The era of a POSTed message, after checking its headers against its body. The body decides, never
 * the headers alone: a `_meta` envelope makes it stateless, whatever the headers claim.
 */
export function checkProtocol(message: InboundMessage, headers: ProtocolHeaders): Era {
  const enveloped = envelopeVersion(message);
  const headerVersion = headers.protocolVersion;
  const stateless = enveloped !== undefined
    || (headerVersion !== undefined && (STATELESS_REVISIONS as readonly string[]).includes(headerVersion));
  if (!stateless) {
    if (headers.mcpMethod !== undefined || headers.mcpName !== undefined) {
      // Session-based revisions define no such headers; a client sending them is confused, not malicious,
      // but the rule "headers agree with the body" holds for every revision the gateway speaks.
      if (message.kind !== 'response' && headers.mcpMethod !== undefined && headers.mcpMethod !== message.method) {
        throw mismatch(message, `the body names method ${message.method} but the Mcp-Method header names ${headers.mcpMethod}`);
      }
    }
    return 'session';
  }
  if (message.kind === 'response') return 'stateless';
  if (headerVersion === undefined) throw mismatch(message, 'the MCP-Protocol-Version header is missing');
  if (enveloped !== undefined && enveloped !== headerVersion) {
    throw mismatch(message, `the body names protocol version ${enveloped} but the MCP-Protocol-Version header names ${headerVersion}`);
  }
  if (headers.mcpMethod === undefined) throw mismatch(message, 'the Mcp-Method header is missing');
  if (headers.mcpMethod !== message.method) {
    throw mismatch(message, `the body names method ${message.method} but the Mcp-Method header names ${headers.mcpMethod}`);
  }
  const expected = nameOf(message.method, message.params);
  const named = headers.mcpName === undefined ? undefined : decodeHeaderValue(headers.mcpName);
  if (expected !== undefined && named === undefined) throw mismatch(message, 'the Mcp-Name header is missing');
  if (expected !== named) {
    throw mismatch(message, `the body names ${JSON.stringify(expected ?? null)} but the Mcp-Name header names ${JSON.stringify(named ?? null)}`);
  }
  return 'stateless';
}
