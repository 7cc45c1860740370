// The MCP gateway's public face: the gateway assembled (createMcpGateway), its own process
// (startMcpGateway), and the pieces other modules and tests use.
export { createMcpGateway, type McpGateway, type McpGatewayDependencies } from './gateway.ts';
export { JSONRPC, GatewayError, parseMessage, type InboundMessage } from './jsonrpc.ts';
export { checkProtocol, decodeHeaderValue, SESSION_REVISIONS, STATELESS_REVISIONS } from './protocol.ts';
export { createSessionSealer, type SessionSealer } from './sessions.ts';
export type { GatewayAuditEvent } from './audit-writer.ts';
export { serveBothEras, type BothEras } from './demo/both-eras.ts';
export { startDemoToolServer, type DemoToolServer } from './demo/tool-server.ts';
