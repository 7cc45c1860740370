// Session ids the gateway hands to clients. The upstream's Mcp-Session-Id is wrapped with the tool and
// the assistant it belongs to and sealed with an HMAC, so any gateway replica can unwrap it without a
// shared table, and a session id can never be replayed by another assistant or against another tool.
// The wrapped id carries the upstream's id (base64url), and it goes only to the assistant that owns
// the session; what the HMAC adds is that nobody else can use it.
import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'ocs1.';
/** MCP session ids are visible ASCII; bound what we wrap and what we accept. */
const MAX_UPSTREAM_ID = 256;
const MAX_WRAPPED = 512;
const VISIBLE_ASCII = /^[\x21-\x7E]+$/;

export interface SessionBinding {
  toolId: string;
  assistantId: string;
}

export interface SessionSealer {
  wrap(upstreamId: string, binding: SessionBinding): string | undefined;
  /** The upstream session id, or undefined when the id is malformed, forged or bound to someone else. */
  unwrap(wrapped: string, binding: SessionBinding): string | undefined;
}

export function createSessionSealer(key: Uint8Array): SessionSealer {
  if (key.byteLength < 32) throw new TypeError('session sealer: the key must be at least 32 bytes');
  const mac = (upstreamId: string, binding: SessionBinding) =>
    createHmac('sha256', key).update(`${binding.toolId}\n${binding.assistantId}\n${upstreamId}`).digest();
  return {
    wrap(upstreamId, binding) {
      if (upstreamId.length === 0 || upstreamId.length > MAX_UPSTREAM_ID || !VISIBLE_ASCII.test(upstreamId)) return undefined;
      return `${PREFIX}${Buffer.from(upstreamId).toString('base64url')}.${mac(upstreamId, binding).toString('base64url')}`;
    },
    unwrap(wrapped, binding) {
      if (wrapped.length > MAX_WRAPPED || !wrapped.startsWith(PREFIX)) return undefined;
      const [encoded, tag] = wrapped.slice(PREFIX.length).split('.');
      if (!encoded || !tag) return undefined;
      const upstreamId = Buffer.from(encoded, 'base64url').toString();
      const given = Buffer.from(tag, 'base64url');
      const expected = mac(upstreamId, binding);
      return given.length === expected.length && timingSafeEqual(given, expected) ? upstreamId : undefined;
    },
  };
}
