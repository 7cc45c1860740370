// The MCP requests `npm run bench:gateway` sends, byte for byte the same direct to the upstream and
// through the gateway (which adds only the bearer token): a `tools/call` of `echo` on the stateless
// 2026-07-28 revision (one POST, no session: the `_meta` envelope and the Mcp-Method / Mcp-Name headers),
// and on the session-based 2025-11-25 revision (initialize once per connection, then calls carrying
// Mcp-Session-Id; the answers are SSE streams).

export const ECHO_TEXT = 'opencrane-bench-echo';
const CLIENT_INFO = { name: 'opencrane-bench', version: '1.0.0' };
const ACCEPT = 'application/json, text/event-stream';

export interface McpCall {
  headers: Record<string, string>;
  body: string;
}

export const STATELESS_CALL: McpCall = {
  headers: {
    'content-type': 'application/json', accept: ACCEPT,
    'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo',
  },
  body: JSON.stringify({
    jsonrpc: '2.0', id: 1, method: 'tools/call',
    params: {
      name: 'echo', arguments: { text: ECHO_TEXT },
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  }),
};

const SESSION_REVISION = '2025-11-25';

/** A call on an open session; each connection has its session to itself, so one id at a time is in flight on it. */
export const sessionCall = (sessionId: string): McpCall => ({
  headers: { 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': SESSION_REVISION, 'mcp-session-id': sessionId },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: ECHO_TEXT } } }),
});

/** The answer carries the echoed text as a successful result (JSON, or one SSE event), not an error or a refusal. */
export const isEchoAnswer = (body: string): boolean =>
  body.includes(`"text":"${ECHO_TEXT}"`) && !body.includes('"isError":true') && !body.includes('"error":');

const withAuth = (headers: Record<string, string>, authorization: string | undefined) =>
  (authorization === undefined ? headers : { ...headers, authorization });

/** One call, checked in full: a benchmark of refusals is worthless. */
export async function checkCall(url: string, call: McpCall): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: call.headers, body: call.body });
  const text = await response.text();
  if (response.status !== 200 || !isEchoAnswer(text)) {
    throw new Error(`a first call to ${url} answered ${response.status}: ${text.slice(0, 500)}`);
  }
  return text;
}

/** Opens a 2025-11-25 session (initialize, then notifications/initialized) and returns its id. */
export async function openSession(url: string, authorization?: string): Promise<string> {
  const post = (headers: Record<string, string>, body: unknown) =>
    fetch(url, { method: 'POST', headers: withAuth({ 'content-type': 'application/json', accept: ACCEPT, ...headers }, authorization), body: JSON.stringify(body) });
  const initialize = await post({}, {
    jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: SESSION_REVISION, capabilities: {}, clientInfo: CLIENT_INFO },
  });
  const text = await initialize.text();
  const sessionId = initialize.headers.get('mcp-session-id');
  if (initialize.status !== 200 || !sessionId || !text.includes(`"protocolVersion":"${SESSION_REVISION}"`)) {
    throw new Error(`initialize at ${url} answered ${initialize.status}: ${text.slice(0, 500)}`);
  }
  const notified = await post({ 'mcp-protocol-version': SESSION_REVISION, 'mcp-session-id': sessionId }, { jsonrpc: '2.0', method: 'notifications/initialized' });
  await notified.arrayBuffer();
  if (notified.status !== 202) throw new Error(`notifications/initialized at ${url} answered ${notified.status}`);
  return sessionId;
}

/** The same call with the gateway's bearer token (`authorization` undefined: the call unchanged, for the upstream). */
export const authorised = (call: McpCall, authorization: string | undefined): McpCall => ({ ...call, headers: withAuth(call.headers, authorization) });
