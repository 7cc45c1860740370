// The gateway's pure request checks, without servers: JSON-RPC parsing, the 2026-07-28 header rules,
// sealed session ids, argument redaction for audit rows, and the token-bucket rate limiter.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JSONRPC, parseMessage, type GatewayError } from './jsonrpc.ts';
import { checkProtocol, decodeHeaderValue } from './protocol.ts';
import { createSessionSealer } from './sessions.ts';
import { redactArguments } from './redact.ts';
import { createRateLimiter } from './rate-limit.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as GatewayError).code;
  }
  return 'accepted';
};

describe('JSON-RPC parsing', () => {
  it('reads requests, notifications and a client\'s responses', () => {
    expect(parseMessage('{"jsonrpc":"2.0","id":1,"method":"tools/list"}')).toEqual({ kind: 'request', id: 1, method: 'tools/list', params: {} });
    expect(parseMessage('{"jsonrpc":"2.0","method":"notifications/initialized"}')).toMatchObject({ kind: 'notification' });
    expect(parseMessage('{"jsonrpc":"2.0","id":"a","result":{}}')).toEqual({ kind: 'response', id: 'a' });
  });

  it('refuses what is not one well-formed message, each with its code', () => {
    expect(code(() => parseMessage('{'))).toBe(JSONRPC.PARSE_ERROR);
    for (const body of ['[]', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', '"x"', '{"jsonrpc":"1.0","id":1,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1.5,"method":"ping"}', '{"jsonrpc":"2.0","id":1,"method":""}', '{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}',
      '{"jsonrpc":"2.0","id":1}', `{"jsonrpc":"2.0","id":"${'x'.repeat(201)}","method":"ping"}`]) {
      expect(code(() => parseMessage(body)), body).toBe(JSONRPC.INVALID_REQUEST);
    }
  });
});

describe('protocol headers (2026-07-28)', () => {
  const envelope = { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } };
  const call = parseMessage(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', ...envelope } }));
  const headers = { protocolVersion: '2026-07-28', sessionId: undefined, mcpMethod: 'tools/call', mcpName: 'echo' };

  it('a request whose headers agree with its body is stateless; one without an envelope is session-based', () => {
    expect(checkProtocol(call, headers)).toBe('stateless');
    const legacy = parseMessage('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    expect(checkProtocol(legacy, { protocolVersion: '2025-11-25', sessionId: 's', mcpMethod: undefined, mcpName: undefined })).toBe('session');
  });

  it('every disagreement is -32020, whatever the headers claim about the era', () => {
    for (const changed of [
      { mcpMethod: 'tools/list' }, { mcpName: 'other' }, { mcpName: undefined }, { mcpMethod: undefined },
      { protocolVersion: undefined }, { protocolVersion: '2025-11-25' },
    ]) expect(code(() => checkProtocol(call, { ...headers, ...changed })), JSON.stringify(changed)).toBe(JSONRPC.HEADER_MISMATCH);
    const read = parseMessage(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'config://app', ...envelope } }));
    expect(code(() => checkProtocol(read, { ...headers, mcpMethod: 'resources/read', mcpName: 'config://other' }))).toBe(JSONRPC.HEADER_MISMATCH);
    expect(checkProtocol(read, { ...headers, mcpMethod: 'resources/read', mcpName: 'config://app' })).toBe('stateless');
  });

  it('a base64-wrapped name is the name it wraps', () => {
    expect(decodeHeaderValue(`=?base64?${Buffer.from('héllo wörld').toString('base64')}?=`)).toBe('héllo wörld');
    expect(decodeHeaderValue('plain')).toBe('plain');
  });
});

describe('sealed session ids', () => {
  const sealer = createSessionSealer(randomBytes(32));
  const mine = { toolId: 'tool_a', assistantId: 'ast_a' };

  it('round-trips for the assistant and tool it was made for, and for nobody else', () => {
    const wrapped = sealer.wrap('upstream-session-1', mine)!;
    expect(wrapped).not.toContain('upstream-session-1');
    expect(sealer.unwrap(wrapped, mine)).toBe('upstream-session-1');
    expect(sealer.unwrap(wrapped, { ...mine, assistantId: 'ast_b' })).toBeUndefined();
    expect(sealer.unwrap(wrapped, { ...mine, toolId: 'tool_b' })).toBeUndefined();
  });

  it('attack: a forged, altered or foreign session id is refused', () => {
    const wrapped = sealer.wrap('upstream-session-1', mine)!;
    const [head, tag] = [wrapped.slice(0, wrapped.lastIndexOf('.')), wrapped.slice(wrapped.lastIndexOf('.') + 1)];
    expect(sealer.unwrap(`${head}.${tag.slice(0, -2)}AA`, mine)).toBeUndefined();
    expect(sealer.unwrap(`ocs1.${Buffer.from('other').toString('base64url')}.${tag}`, mine)).toBeUndefined();
    expect(createSessionSealer(randomBytes(32)).unwrap(wrapped, mine)).toBeUndefined();
    for (const garbage of ['', 'upstream-session-1', 'ocs1.', 'ocs1..', 'x'.repeat(600)]) expect(sealer.unwrap(garbage, mine)).toBeUndefined();
    expect(sealer.wrap('has space', mine)).toBeUndefined();
  });
});

describe('arguments in audit rows', () => {
  it('keeps the shape, masks secret-looking keys, cuts long strings and bounds depth', () => {
    const redacted = redactArguments({
      repository: 'acme/website', apiKey: 'k', nested: { password: 'p', token: 't', note: 'x'.repeat(500) },
      list: [{ authorization: 'Bearer y' }], deep: { a: { b: { c: { d: { e: 1 } } } } },
    }) as Record<string, unknown>;
    expect(redacted).toMatchObject({ repository: 'acme/website', apiKey: '[redacted]', nested: { password: '[redacted]', token: '[redacted]' }, list: [{ authorization: '[redacted]' }] });
    expect((redacted.nested as { note: string }).note.length).toBeLessThanOrEqual(201);
    expect(JSON.stringify(redacted)).toContain('[…]');
  });
});

describe('rate limits', () => {
  it('allows the per-minute rate, refuses the next call with the wait, and refills with time', () => {
    let now = 0;
    const limiter = createRateLimiter({ now: () => now });
    for (let i = 0; i < 3; i++) expect(limiter.take('p', 't', 3)).toBe(0);
    expect(limiter.take('p', 't', 3)).toBe(20);
    expect(limiter.take('q', 't', 3)).toBe(0);
    expect(limiter.take('p', 'u', 3)).toBe(0);
    now += 20_000;
    expect(limiter.take('p', 't', 3)).toBe(0);
    expect(limiter.take('p', 't', 3)).toBeGreaterThan(0);
  });
});

