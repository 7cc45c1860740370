// In-memory indexes of what decisions need: each person's status, department and teams, each
// assistant's owner and status, and the grants keyed by (subject, resource) so a decision gathers its
// few candidate grants with a handful of map lookups. Every mutation is a short synchronous step, so a reader (also synchronous) never
// sees a half-applied change and is never blocked by one.
import type { DecisionSubject, PolicyGrant, ResourceKind, SubjectKind } from '../../policies/types.ts';
import type { Grant } from '../store/grants.ts';

/** What the index is built from: statuses, memberships and every grant in policy form. */
export interface IndexSnapshot {
  people: { id: string; status: 'active' | 'suspended'; departmentId: string | null }[];
  memberships: { teamId: string; personId: string }[];
  /** Optional so that decision-only callers (benchmarks, property tests) need not invent assistants. */
  assistants?: AssistantEntry[];
  grants: PolicyGrant[];
}

/** An assistant as the token service needs it: whose it is and whether it may act. */
export interface AssistantEntry {
  id: string;
  personId: string;
  status: 'pending' | 'provisioning' | 'ready' | 'suspended' | 'failed' | 'deleting';
}

interface PersonEntry {
  status: 'active' | 'suspended';
  departmentId: string | null;
  teams: string[];
}

export function toPolicyGrant(grant: Grant): PolicyGrant {
  return {
    id: grant.id,
    subject: { kind: grant.subject.kind, id: grant.subject.id },
    resource: { kind: grant.resource.kind, id: grant.resource.id, toolPattern: grant.resource.toolPattern },
    effect: grant.effect,
    expiresAt: grant.expiresAt ? grant.expiresAt.getTime() : null,
  };
}

/** The grants on one resource, by subject: decisions look up the person, each team and the department. */
type GrantsBySubject = Record<SubjectKind, Map<string, readonly PolicyGrant[]>>;

const emptyBySubject = (): GrantsBySubject => ({ person: new Map(), team: new Map(), department: new Map() });

/*
 * Nested maps keyed by the ids themselves rather than by concatenated keys: the ids a decision looks up
 * are strings that already exist (and have their hashes cached), so a lookup allocates nothing.
 * Published arrays are replaced, never mutated.
 */
class IndexState {
  readonly people = new Map<string, PersonEntry>();
  readonly assistants = new Map<string, AssistantEntry>();
  readonly grants = new Map<string, PolicyGrant>();
  readonly byResource: Record<ResourceKind, Map<string, GrantsBySubject>> = { tool: new Map(), skill: new Map(), knowledge: new Map() };
  readonly bySubject: Record<SubjectKind, Map<string, Set<string>>> = { person: new Map(), team: new Map(), department: new Map() };

  addGrant(grant: PolicyGrant): void {
    this.removeGrant(grant.id);
    this.grants.set(grant.id, grant);
    const resources = this.byResource[grant.resource.kind];
    let onResource = resources.get(grant.resource.id);
    if (!onResource) resources.set(grant.resource.id, (onResource = emptyBySubject()));
    const bySubjectId = onResource[grant.subject.kind];
    bySubjectId.set(grant.subject.id, [...(bySubjectId.get(grant.subject.id) ?? []), grant]);
    let ofSubject = this.bySubject[grant.subject.kind].get(grant.subject.id);
    if (!ofSubject) this.bySubject[grant.subject.kind].set(grant.subject.id, (ofSubject = new Set()));
    ofSubject.add(grant.id);
  }

  removeGrant(id: string): void {
    const grant = this.grants.get(id);
    if (!grant) return;
    this.grants.delete(id);
    const onResource = this.byResource[grant.resource.kind].get(grant.resource.id);
    const bySubjectId = onResource?.[grant.subject.kind];
    const remaining = (bySubjectId?.get(grant.subject.id) ?? []).filter((g) => g.id !== id);
    if (remaining.length) bySubjectId?.set(grant.subject.id, remaining);
    else bySubjectId?.delete(grant.subject.id);
    if (onResource && onResource.person.size + onResource.team.size + onResource.department.size === 0) {
      this.byResource[grant.resource.kind].delete(grant.resource.id);
    }
    const ofSubject = this.bySubject[grant.subject.kind].get(grant.subject.id);
    ofSubject?.delete(id);
    if (ofSubject?.size === 0) this.bySubject[grant.subject.kind].delete(grant.subject.id);
  }

  grantIdsOfSubject(kind: SubjectKind, id: string): string[] {
    return [...(this.bySubject[kind].get(id) ?? [])];
  }

  grantIdsOnResource(kind: ResourceKind, id: string): string[] {
    const onResource = this.byResource[kind].get(id);
    if (!onResource) return [];
    return [onResource.person, onResource.team, onResource.department]
      .flatMap((m) => [...m.values()].flatMap((list) => list.map((g) => g.id)));
  }
}

export class AccessIndex {
  private state = new IndexState();
  private loadedAt: number | null = null;

  get loaded(): boolean {
    return this.loadedAt !== null;
  }

  get size(): { people: number; grants: number } {
    return { people: this.state.people.size, grants: this.state.grants.size };
  }

  /** Replaces everything: the new state is built aside and published with one assignment. */
  load(snapshot: IndexSnapshot): void {
    const next = new IndexState();
    for (const p of snapshot.people) next.people.set(p.id, { status: p.status, departmentId: p.departmentId, teams: [] });
    for (const m of snapshot.memberships) next.people.get(m.personId)?.teams.push(m.teamId);
    for (const entry of next.people.values()) entry.teams.sort();
    for (const a of snapshot.assistants ?? []) next.assistants.set(a.id, { id: a.id, personId: a.personId, status: a.status });
    for (const g of snapshot.grants) next.addGrant(g);
    this.state = next;
    this.loadedAt = Date.now();
  }

  /** The subject part of a decision input; an unknown person is 'unknown' and gets nothing. */
  subject(personId: string): DecisionSubject {
    const entry = this.state.people.get(personId);
    if (!entry) return { personId, status: 'unknown', teams: [], departmentId: null };
    return { personId, status: entry.status, teams: entry.teams, departmentId: entry.departmentId };
  }

  /** The grants that could apply to this subject on this resource: the policy re-checks each one. */
  candidates(subject: DecisionSubject, kind: ResourceKind, id: string): PolicyGrant[] {
    const out: PolicyGrant[] = [];
    const onResource = this.state.byResource[kind].get(id);
    if (!onResource) return out;
    const mine = onResource.person.get(subject.personId);
    if (mine) out.push(...mine);
    for (const team of subject.teams) {
      const ours = onResource.team.get(team);
      if (ours) out.push(...ours);
    }
    if (subject.departmentId !== null) {
      const departments = onResource.department.get(subject.departmentId);
      if (departments) out.push(...departments);
    }
    return out;
  }

  assistant(id: string): AssistantEntry | undefined {
    return this.state.assistants.get(id);
  }

  /**
   * Whether any unexpired allow grant of this subject (the person, a team or the department) is on a
   * resource of this kind (and id, when given). The token service's coarse check at the door: it
   * issues no token for an audience the person holds nothing on; each request is still decided in full.
   */
  allowsAny(subject: DecisionSubject, kind: ResourceKind, resourceId: string | undefined, now: number): boolean {
    if (subject.status !== 'active') return false;
    const holders: [SubjectKind, string][] = [['person', subject.personId], ...subject.teams.map((t): [SubjectKind, string] => ['team', t])];
    if (subject.departmentId !== null) holders.push(['department', subject.departmentId]);
    for (const [holderKind, holderId] of holders) {
      for (const grantId of this.state.bySubject[holderKind].get(holderId) ?? []) {
        const grant = this.state.grants.get(grantId);
        if (!grant || grant.effect !== 'allow' || grant.resource.kind !== kind) continue;
        if (resourceId !== undefined && grant.resource.id !== resourceId) continue;
        if (grant.expiresAt !== null && grant.expiresAt <= now) continue;
        return true;
      }
    }
    return false;
  }

  upsertAssistant(assistant: AssistantEntry): void {
    this.state.assistants.set(assistant.id, { id: assistant.id, personId: assistant.personId, status: assistant.status });
  }

  removeAssistant(id: string): void {
    this.state.assistants.delete(id);
  }

  upsertGrant(grant: Grant): void {
    this.state.addGrant(toPolicyGrant(grant));
  }

  removeGrant(id: string): void {
    this.state.removeGrant(id);
  }

  upsertPerson(person: { id: string; status: 'active' | 'suspended'; departmentId: string | null }, teams: string[]): void {
    this.state.people.set(person.id, { status: person.status, departmentId: person.departmentId, teams: [...teams].sort() });
  }

  /** A deleted subject or resource takes its grants with it (the database cascades the same way). */
  removeSubject(kind: SubjectKind, id: string): void {
    for (const grantId of this.state.grantIdsOfSubject(kind, id)) this.state.removeGrant(grantId);
    if (kind === 'person') {
      this.state.people.delete(id);
      for (const [assistantId, assistant] of this.state.assistants) {
        if (assistant.personId === id) this.state.assistants.delete(assistantId);
      }
      return;
    }
    for (const [personId, entry] of this.state.people) {
      if (kind === 'team' && entry.teams.includes(id)) {
        this.state.people.set(personId, { ...entry, teams: entry.teams.filter((t) => t !== id) });
      } else if (kind === 'department' && entry.departmentId === id) {
        this.state.people.set(personId, { ...entry, departmentId: null });
      }
    }
  }

  removeResource(kind: ResourceKind, id: string): void {
    for (const grantId of this.state.grantIdsOnResource(kind, id)) this.state.removeGrant(grantId);
  }
}
