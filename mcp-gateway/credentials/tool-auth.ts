// The rules of a tool's upstream authentication: which settings each kind needs, which it forbids,
// which header names may carry a static secret, and which kinds take a stored secret. The REST API
// refuses a tool that breaks them; the gateway refuses to authenticate with one.
import type { schema } from '../../core/index.ts';

export type ToolAuthKind = (typeof schema.toolAuthKind.enumValues)[number];
export type ToolAuthConfig = schema.ToolAuthConfig;
export type ToolAuthField = keyof ToolAuthConfig;

export const TOOL_AUTH_KINDS = [
  'none', 'bearer', 'header', 'client_credentials', 'per_person', 'token_exchange',
] as const satisfies readonly ToolAuthKind[];

export const TOOL_AUTH_FIELDS = [
  'headerName', 'tokenUrl', 'clientId', 'scope', 'audience', 'resource',
] as const satisfies readonly ToolAuthField[];

interface KindRule {
  required: ToolAuthField[];
  optional: ToolAuthField[];
  /** At least one of these must be set. */
  oneOf?: ToolAuthField[];
  /** Where the secret comes from: the tool's own credential, each person's, or none. */
  secret: 'tool' | 'person' | 'none';
}

const KIND_RULES: Record<ToolAuthKind, KindRule> = {
  none: { required: [], optional: [], secret: 'none' },
  bearer: { required: [], optional: [], secret: 'tool' },
  header: { required: ['headerName'], optional: [], secret: 'tool' },
  client_credentials: { required: ['tokenUrl', 'clientId'], optional: ['scope', 'audience', 'resource'], secret: 'tool' },
  per_person: { required: [], optional: [], secret: 'person' },
  token_exchange: {
    required: ['tokenUrl', 'clientId'], optional: ['scope', 'audience', 'resource'], oneOf: ['audience', 'resource'], secret: 'tool',
  },
};

/** An HTTP field name (RFC 9110 `token`), bounded. */
export const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$";

/**
 * Header names a static secret may not take: hop-by-hop and framing headers (a proxy or the HTTP
 * client owns them), the request's own routing and content headers, `Authorization` (the `bearer`
 * kind sends that), the headers of the MCP transport, and forwarding headers an upstream may trust.
 */
export const RESERVED_HEADER_NAMES: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'host', 'content-length', 'content-type', 'content-encoding', 'accept', 'accept-encoding', 'expect',
  'authorization', 'proxy-authorization', 'proxy-authenticate',
  'mcp-session-id', 'mcp-protocol-version', 'last-event-id',
  'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip',
]);

export interface ToolAuthProblem {
  field: ToolAuthField | 'kind';
  message: string;
}

/** Everything wrong with a kind and its settings; empty when they fit together. */
export function toolAuthProblems(kind: ToolAuthKind, config: ToolAuthConfig): ToolAuthProblem[] {
  const rule = KIND_RULES[kind] as KindRule | undefined;
  if (!rule) return [{ field: 'kind', message: `must be one of ${TOOL_AUTH_KINDS.join(', ')}` }];
  const problems: ToolAuthProblem[] = [];
  const allowed = new Set([...rule.required, ...rule.optional]);
  for (const field of TOOL_AUTH_FIELDS) {
    const set = config[field] !== undefined;
    if (set && !allowed.has(field)) problems.push({ field, message: `is not used by the ${kind} kind; leave it out` });
    if (!set && rule.required.includes(field)) problems.push({ field, message: `is required by the ${kind} kind` });
  }
  if (rule.oneOf && !rule.oneOf.some((field) => config[field] !== undefined)) {
    problems.push({ field: rule.oneOf[0]!, message: `the ${kind} kind needs ${rule.oneOf.join(' or ')}` });
  }
  const headerName = config.headerName;
  if (headerName !== undefined && allowed.has('headerName')) {
    if (!new RegExp(HEADER_NAME_PATTERN).test(headerName)) {
      problems.push({ field: 'headerName', message: 'must be an HTTP header name of at most 64 characters' });
    } else if (RESERVED_HEADER_NAMES.has(headerName.toLowerCase())) {
      problems.push({ field: 'headerName', message: `${headerName} is managed by the gateway or the HTTP client and cannot carry a secret` });
    }
  }
  return problems;
}

/** Whether a kind authenticates with the tool's own stored secret, with each person's, or with none. */
export const secretSourceOf = (kind: ToolAuthKind): KindRule['secret'] => KIND_RULES[kind].secret;
