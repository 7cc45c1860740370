// The audiences the token service issues tokens for. Every issued token names exactly one of them:
// the MCP gateway as a whole, one tool behind it (`<gateway>/<tool name>`, the tool's resource URI in
// the sense of RFC 8707 and RFC 9728), the skills plane or the knowledge plane. Requests may name the
// planes by their short names too; the token always carries the canonical URI.

export interface AudienceUris {
  mcpGateway: string;
  skills: string;
  knowledge: string;
}

export type Audience =
  | { uri: string; plane: 'mcp-gateway'; kind: 'tool' }
  | { uri: string; plane: 'tool'; kind: 'tool'; toolName: string }
  | { uri: string; plane: 'skills'; kind: 'skill' }
  | { uri: string; plane: 'knowledge'; kind: 'knowledge' };

/** Tool names are slugs (server/schemas/common.ts). */
const TOOL_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface AudienceRegistry {
  /** The audience a request's `audience` or `resource` value names, or undefined when it names none. */
  resolve(value: string): Audience | undefined;
  /** The resource URI of one tool behind the gateway. */
  toolUri(toolName: string): string;
  readonly uris: AudienceUris;
}

export function createAudienceRegistry(uris: AudienceUris): AudienceRegistry {
  const gatewayPrefix = `${uris.mcpGateway}/`;
  const planes: Record<string, Audience> = {};
  const gateway: Audience = { uri: uris.mcpGateway, plane: 'mcp-gateway', kind: 'tool' };
  const skills: Audience = { uri: uris.skills, plane: 'skills', kind: 'skill' };
  const knowledge: Audience = { uri: uris.knowledge, plane: 'knowledge', kind: 'knowledge' };
  for (const audience of [gateway, skills, knowledge]) {
    planes[audience.uri] = audience;
    planes[audience.plane] = audience;
  }
  return {
    uris,
    resolve(value) {
      if (Object.hasOwn(planes, value)) return planes[value];
      if (!value.startsWith(gatewayPrefix)) return undefined;
      const toolName = value.slice(gatewayPrefix.length);
      return TOOL_NAME.test(toolName) ? { uri: value, plane: 'tool', kind: 'tool', toolName } : undefined;
    },
    toolUri: (toolName) => `${gatewayPrefix}${toolName}`,
  };
}

