// Turns a plain directory snapshot into the data document that policies/snapshot/snapshot.rego reads.
import type { PolicyGrant, ResourceKind, SubjectKind } from './types.ts';

export interface SnapshotPerson {
  id: string;
  status: 'active' | 'suspended';
  departmentId: string | null;
  teams: string[];
  roles?: string[];
}

export interface DirectorySnapshot {
  people: SnapshotPerson[];
  grants: PolicyGrant[];
}

/** Null-prototype records, so an id such as "__proto__" is just another key. */
type Index<T> = Record<string, T>;

export interface SnapshotDataDocument {
  directory: {
    people: Index<{ status: string; departmentId: string | null; teams: string[]; roles: string[] }>;
    /** grants[resourceKind][resourceId][subjectKind][subjectId]: a decision reads only the few lists it needs. */
    grants: Index<Index<Index<Index<PolicyGrant[]>>>>;
  };
}

function emptyIndex<T>(): Index<T> {
  return Object.create(null) as Index<T>;
}

function childIndex<T>(index: Index<Index<T>>, key: string): Index<T> {
  const existing = index[key];
  if (existing !== undefined) return existing;
  const created = emptyIndex<T>();
  index[key] = created;
  return created;
}

export function buildSnapshotData(snapshot: DirectorySnapshot): SnapshotDataDocument {
  const people = emptyIndex<SnapshotDataDocument['directory']['people'][string]>();
  for (const person of snapshot.people) {
    people[person.id] = {
      status: person.status,
      departmentId: person.departmentId,
      teams: person.teams,
      roles: person.roles ?? [],
    };
  }
  const grants = emptyIndex<Index<Index<Index<PolicyGrant[]>>>>();
  for (const grant of snapshot.grants) {
    const resourceKind: ResourceKind = grant.resource.kind;
    const subjectKind: SubjectKind = grant.subject.kind;
    const bySubjectId = childIndex(childIndex(childIndex(grants, resourceKind), grant.resource.id), subjectKind);
    (bySubjectId[grant.subject.id] ??= []).push(grant);
  }
  return { directory: { people, grants } };
}

/**
 * The data document as JSON bytes in an ArrayBuffer of exactly their length: opa-wasm's setData parses an
 * ArrayBuffer inside WASM, several times faster than handing it an object, but it treats any other
 * typed array as an object to stringify.
 */
export function encodeSnapshotData(data: SnapshotDataDocument): ArrayBuffer {
  const bytes = new TextEncoder().encode(JSON.stringify(data));
  const buffer = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buffer).set(bytes);
  return buffer;
}
