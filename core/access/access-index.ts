// In-memory indexes of what decisions need: each person's status, department and teams, and the
// grants keyed by (subject, resource) so a decision gathers its few candidate grants with a handful
// of map lookups. Every mutation is a short synchronous step, so a reader (also synchronous) never
// sees a half-applied change and is never blocked by one.
import type { DecisionSubject, PolicyGrant, ResourceKind, SubjectKind } from '../../policies/types.ts';
import type { Grant } from '../store/grants.ts';

/** What the index is built from: statuses, memberships and every grant in policy form. */
export interface IndexSnapshot {
  people: { id: string; status: 'active' | 'suspended'; departmentId: string | null }[];
  memberships: { teamId: string; personId: string }[];
  grants: PolicyGrant[];
}

interface PersonEntry {
  status: 'active' | 'suspended';
  departmentId: string | null;
  teams: string[];
}

const subjectKey = (kind: SubjectKind, id: string) => `${kind}:${id}`;
const resourceKey = (kind: ResourceKind, id: string) => `${kind}:${id}`;
const pairKey = (subject: string, resource: string) => `${subject}|${resource}`;

export function toPolicyGrant(grant: Grant): PolicyGrant {
  return {
    id: grant.id,
    subject: { kind: grant.subject.kind, id: grant.subject.id },
    resource: { kind: grant.resource.kind, id: grant.resource.id, toolPattern: grant.resource.toolPattern },
    effect: grant.effect,
    expiresAt: grant.expiresAt ? grant.expiresAt.getTime() : null,
  };
}

class IndexState {
  readonly people = new Map<string, PersonEntry>();
  readonly grants = new Map<string, PolicyGrant>();
  /** subject|resource → grants; arrays are replaced, never mutated, once published. */
  readonly byPair = new Map<string, readonly PolicyGrant[]>();
  readonly bySubject = new Map<string, Set<string>>();
  readonly byResource = new Map<string, Set<string>>();

  addGrant(grant: PolicyGrant): void {
    this.removeGrant(grant.id);
    const s = subjectKey(grant.subject.kind, grant.subject.id);
    const r = resourceKey(grant.resource.kind, grant.resource.id);
    this.grants.set(grant.id, grant);
    const key = pairKey(s, r);
    this.byPair.set(key, [...(this.byPair.get(key) ?? []), grant]);
    addTo(this.bySubject, s, grant.id);
    addTo(this.byResource, r, grant.id);
  }

  removeGrant(id: string): void {
    const grant = this.grants.get(id);
    if (!grant) return;
    const s = subjectKey(grant.subject.kind, grant.subject.id);
    const r = resourceKey(grant.resource.kind, grant.resource.id);
    this.grants.delete(id);
    const key = pairKey(s, r);
    const remaining = (this.byPair.get(key) ?? []).filter((g) => g.id !== id);
    if (remaining.length) this.byPair.set(key, remaining);
    else this.byPair.delete(key);
    removeFrom(this.bySubject, s, id);
    removeFrom(this.byResource, r, id);
  }
}

function addTo(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(id);
}

function removeFrom(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) map.delete(key);
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
    const r = resourceKey(kind, id);
    const out: PolicyGrant[] = [];
    const take = (s: string) => {
      const found = this.state.byPair.get(pairKey(s, r));
      if (found) out.push(...found);
    };
    take(subjectKey('person', subject.personId));
    for (const team of subject.teams) take(subjectKey('team', team));
    if (subject.departmentId) take(subjectKey('department', subject.departmentId));
    return out;
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
    for (const grantId of [...(this.state.bySubject.get(subjectKey(kind, id)) ?? [])]) this.state.removeGrant(grantId);
    if (kind === 'person') {
      this.state.people.delete(id);
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
    for (const grantId of [...(this.state.byResource.get(resourceKey(kind, id)) ?? [])]) this.state.removeGrant(grantId);
  }
}
