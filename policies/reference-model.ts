// A plain reading of the grant semantics, written independently of the Rego, for differential tests.
// It decides only allow and the deciding grant ids; reasons are the policy's business.
import type { Action, DecisionInput, PolicyGrant, ResourceKind } from './types.ts';

const KIND_OF_ACTION: Record<Action, ResourceKind> = {
  'tools.list': 'tool',
  'tools.call': 'tool',
  'resources.read': 'tool',
  'prompts.get': 'tool',
  'skills.read': 'skill',
  'knowledge.read': 'knowledge',
};

/** Glob where only "*" is special: classic two-pointer matching with backtracking to the last star. */
export function wildcardMatches(pattern: string, name: string): boolean {
  const p = [...pattern];
  const n = [...name];
  let pi = 0;
  let ni = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (ni < n.length) {
    if (pi < p.length && p[pi] === '*') {
      starAt = pi++;
      resumeAt = ni;
    } else if (pi < p.length && p[pi] === n[ni]) {
      pi++;
      ni++;
    } else if (starAt >= 0) {
      pi = starAt + 1;
      ni = ++resumeAt;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

export function referenceDecision(input: DecisionInput): { allow: boolean; grants: string[] } {
  const { subject, resource, context } = input;
  const isForPerson = (grant: PolicyGrant) =>
    (grant.subject.kind === 'person' && grant.subject.id === subject.personId) ||
    (grant.subject.kind === 'team' && subject.teams.includes(grant.subject.id)) ||
    (grant.subject.kind === 'department' && subject.departmentId !== null && grant.subject.id === subject.departmentId);
  const isCurrent = (grant: PolicyGrant) => grant.expiresAt === null || grant.expiresAt > context.now;
  const pattern = (grant: PolicyGrant) => grant.resource.toolPattern ?? null;
  const patternCoversAskedTool = (grant: PolicyGrant) =>
    resource.toolName !== undefined && (pattern(grant) === null || wildcardMatches(pattern(grant) ?? '', resource.toolName));

  const relevant = input.grants.filter(
    (grant) => grant.resource.kind === resource.kind && grant.resource.id === resource.id && isForPerson(grant) && isCurrent(grant),
  );
  const allows = relevant.filter((grant) => {
    if (grant.effect !== 'allow') return false;
    if (resource.kind !== 'tool' || resource.toolName === undefined) return true;
    return patternCoversAskedTool(grant);
  });
  const denies = relevant.filter((grant) => {
    if (grant.effect !== 'deny') return false;
    if (resource.kind !== 'tool') return true;
    if (resource.toolName === undefined) return pattern(grant) === null || pattern(grant) === '*';
    return patternCoversAskedTool(grant);
  });
  const ids = (grants: PolicyGrant[]) => [...new Set(grants.map((grant) => grant.id))].sort();

  const gatesPass = subject.status === 'active' && KIND_OF_ACTION[input.action] === resource.kind;
  const allow = gatesPass && denies.length === 0 && allows.length > 0;
  return { allow, grants: allow ? ids(allows) : ids(denies) };
}
