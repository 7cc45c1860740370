// One decision function for listing and calling. Each MCP method maps to a policy question about the
// tool server; a call names the tool (or resource URI, or prompt) and carries its arguments, so a
// security team's Rego can judge them; a listing is allowed when the person can reach anything in the
// server, and then each listed item is kept only if `tools.list` for that item's name allows it —
// which the base policy answers from the same grants and patterns as the call itself.
import type { AccessService } from '../core/index.ts';
import type { Action, Decision } from '../policies/types.ts';
import type { InboundMessage } from './jsonrpc.ts';
import type { GatewayTool } from './tool-registry.ts';

export interface Caller {
  personId: string;
  assistantId: string;
}

export interface Question {
  action: Action;
  /** The tool, resource URI or prompt name; absent for the server as a whole. */
  name?: string;
  arguments?: unknown;
}

/** Which part of a list result the filter applies to, and the member that names each item. */
export type ListFilter = { field: 'tools' | 'prompts'; key: 'name' } | { field: 'resources'; key: 'uri' } | { field: 'resourceTemplates'; key: 'uriTemplate' };

const LIST_FILTERS: Record<string, ListFilter> = {
  'tools/list': { field: 'tools', key: 'name' },
  'prompts/list': { field: 'prompts', key: 'name' },
  'resources/list': { field: 'resources', key: 'uri' },
  'resources/templates/list': { field: 'resourceTemplates', key: 'uriTemplate' },
};

const stringParam = (params: Record<string, unknown>, key: string) => (typeof params[key] === 'string' ? params[key] : undefined);

/**
 * The policy question a message asks. A call whose name is missing or not a string asks about a tool
 * named "" — nothing allows that, so it is refused rather than mistaken for the server as a whole.
 */
export function questionOf(message: InboundMessage): Question {
  if (message.kind === 'response') return { action: 'tools.list' };
  const { method, params } = message;
  switch (method) {
    case 'tools/call':
      return { action: 'tools.call', name: stringParam(params, 'name') ?? '', arguments: params.arguments ?? {} };
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return { action: 'resources.read', name: stringParam(params, 'uri') ?? '' };
    case 'prompts/get':
      return { action: 'prompts.get', name: stringParam(params, 'name') ?? '', arguments: params.arguments ?? {} };
    default:
      // Listings, initialize, server/discover, ping, notifications, completion, logging, tasks: the
      // server as a whole.
      return { action: 'tools.list' };
  }
}

export function listFilterOf(message: InboundMessage): ListFilter | undefined {
  return message.kind === 'request' ? LIST_FILTERS[message.method] : undefined;
}

export interface Authorizer {
  decide(caller: Caller, tool: GatewayTool, question: Question): Decision;
  /** Keeps only the items of a list result the caller may use. */
  filter(caller: Caller, tool: GatewayTool, filter: ListFilter, message: Record<string, unknown>): Record<string, unknown>;
}

export function createAuthorizer(access: Pick<AccessService, 'decide'>): Authorizer {
  const decide = (caller: Caller, tool: GatewayTool, question: Question): Decision => access.decide({
    personId: caller.personId,
    assistantId: caller.assistantId,
    action: question.action,
    resource: {
      kind: 'tool', id: tool.id, server: tool.name,
      ...(question.name === undefined ? {} : { toolName: question.name }),
      ...(question.arguments === undefined ? {} : { arguments: question.arguments }),
    },
  });
  return {
    decide,
    filter(caller, tool, filter, message) {
      const result = message.result;
      if (typeof result !== 'object' || result === null) return message;
      const items = (result as Record<string, unknown>)[filter.field];
      if (!Array.isArray(items)) return message;
      const kept = items.filter((item: unknown) => {
        const name = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[filter.key] : undefined;
        return typeof name === 'string' && decide(caller, tool, { action: 'tools.list', name }).allow;
      });
      return { ...message, result: { ...(result as Record<string, unknown>), [filter.field]: kept } };
    },
  };
}
