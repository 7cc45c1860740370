// A generated organisation at benchmark scale, deterministic for a given seed, and questions to ask it.
import { newId } from '../core/index.ts';
import type { Action, PolicyGrant, ResourceKind, SubjectKind } from '../policies/index.ts';

export interface OrgScale {
  people: number;
  teams: number;
  departments: number;
  resources: number;
  grants: number;
}

export const FULL_SCALE: OrgScale = { people: 10_000, teams: 1_000, departments: 100, resources: 500, grants: 50_000 };

export interface Org {
  departments: string[];
  teams: { id: string; departmentId: string }[];
  people: { id: string; status: 'active' | 'suspended'; departmentId: string; teams: string[] }[];
  resources: { kind: ResourceKind; id: string }[];
  grants: PolicyGrant[];
}

export interface Question {
  personId: string;
  action: Action;
  resource: { kind: ResourceKind; id: string; toolName?: string };
}

/** mulberry32: small, fast, good enough to spread a benchmark's choices. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOOL_NAMES = ['list_issues', 'create_issue', 'get_file', 'list_repos', 'delete_repository', 'search_code'];
const PATTERNS = ['list_*', 'create_issue', '*', 'get_*', 'delete_*'];

export function generateOrg(scale: OrgScale, seed = 42, now = Date.now()): Org {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const departments = Array.from({ length: scale.departments }, () => newId('department'));
  const teams = Array.from({ length: scale.teams }, () => ({ id: newId('team'), departmentId: pick(departments) }));
  const people = Array.from({ length: scale.people }, () => {
    const teamCount = 1 + Math.floor(rnd() * 3);
    const memberOf = new Set<string>();
    while (memberOf.size < teamCount) memberOf.add(pick(teams).id);
    return {
      id: newId('person'), status: rnd() < 0.02 ? 'suspended' as const : 'active' as const,
      departmentId: pick(departments), teams: [...memberOf].sort(),
    };
  });
  const resources = Array.from({ length: scale.resources }, (_, i) => {
    const kind: ResourceKind = i < scale.resources * 0.6 ? 'tool' : i < scale.resources * 0.8 ? 'skill' : 'knowledge';
    return { kind, id: newId(kind) };
  });
  const grants: PolicyGrant[] = Array.from({ length: scale.grants }, () => {
    const r = rnd();
    const subjectKind: SubjectKind = r < 0.5 ? 'team' : r < 0.8 ? 'person' : 'department';
    const subjectId = subjectKind === 'team' ? pick(teams).id : subjectKind === 'person' ? pick(people).id : pick(departments);
    const resource = pick(resources);
    const expiry = rnd();
    return {
      id: newId('grant'),
      subject: { kind: subjectKind, id: subjectId },
      resource: { kind: resource.kind, id: resource.id, toolPattern: resource.kind === 'tool' && rnd() < 0.4 ? pick(PATTERNS) : null },
      effect: rnd() < 0.9 ? 'allow' as const : 'deny' as const,
      expiresAt: expiry < 0.05 ? now - 86_400_000 : expiry < 0.1 ? now + 86_400_000 : null,
    };
  });
  return { departments, teams, people, resources, grants };
}

const ACTION_OF: Record<ResourceKind, Action> = { tool: 'tools.call', skill: 'skills.read', knowledge: 'knowledge.read' };

/**
 * Half the questions follow an existing grant (a member of its subject asks about its resource), so
 * they find candidates to weigh; the other half are random and mostly fall to deny by default.
 */
export function generateQuestions(org: Org, count: number, seed = 7): Question[] {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const membersOf = new Map<string, string[]>();
  const addMember = (key: string, personId: string) => {
    const list = membersOf.get(key);
    if (list) list.push(personId);
    else membersOf.set(key, [personId]);
  };
  for (const p of org.people) {
    for (const t of p.teams) addMember(`team:${t}`, p.id);
    addMember(`department:${p.departmentId}`, p.id);
  }
  const questions: Question[] = [];
  while (questions.length < count) {
    let personId: string;
    let resource: { kind: ResourceKind; id: string };
    if (rnd() < 0.5) {
      const grant = pick(org.grants);
      const members = grant.subject.kind === 'person' ? [grant.subject.id] : membersOf.get(`${grant.subject.kind}:${grant.subject.id}`);
      if (!members?.length) continue;
      personId = pick(members);
      resource = { kind: grant.resource.kind, id: grant.resource.id };
    } else {
      personId = pick(org.people).id;
      resource = pick(org.resources);
    }
    questions.push({
      personId, action: ACTION_OF[resource.kind],
      resource: resource.kind === 'tool' ? { ...resource, toolName: pick(TOOL_NAMES) } : resource,
    });
  }
  return questions;
}
