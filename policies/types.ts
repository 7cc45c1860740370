// The policy engine's contract: what goes into a decision and what comes out.
// The REST API, the MCP gateway and the token service all build a DecisionInput and call decide().

/**
 * `tools.*`, `resources.read` and `prompts.get` are about one tool (MCP) server: for the last two the
 * `toolName` is the resource URI or the prompt name, matched by the same patterns as tool names.
 */
export const ACTIONS = ['tools.list', 'tools.call', 'resources.read', 'prompts.get', 'skills.read', 'knowledge.read'] as const;
export type Action = (typeof ACTIONS)[number];

export const RESOURCE_KINDS = ['tool', 'skill', 'knowledge'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export const SUBJECT_KINDS = ['person', 'team', 'department'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

export type Effect = 'allow' | 'deny';

/** A grant as the policy sees it: only the fields that decide. */
export interface PolicyGrant {
  id: string;
  subject: { kind: SubjectKind; id: string };
  resource: { kind: ResourceKind; id: string; toolPattern?: string | null };
  effect: Effect;
  /** Milliseconds since the epoch, or null for a grant that never expires. */
  expiresAt: number | null;
}

export interface DecisionSubject {
  personId: string;
  /** 'unknown' when the directory has no such person: the policy denies it. */
  status: 'active' | 'suspended' | 'unknown';
  teams: string[];
  departmentId: string | null;
  roles?: string[];
}

export interface DecisionInput {
  subject: DecisionSubject;
  assistant?: { id: string } | null;
  action: Action;
  /** `server` is the tool server's name, so that custom rules can name it (its id is opaque). */
  resource: { kind: ResourceKind; id: string; server?: string; toolName?: string; arguments?: unknown };
  context: { now: number; instance?: string };
  /** The candidate grants for this subject and resource, taken from the in-memory indexes. */
  grants: PolicyGrant[];
}

export interface Decision {
  allow: boolean;
  /** Sentences a person can read; a deny always has at least one. */
  reasons: string[];
  /** Ids of the grants that decided: the matching allows when allowed, the matching denies when denied. */
  grants: string[];
}
