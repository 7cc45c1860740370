// Grants are stored with one foreign key column per subject and resource kind; the rest of the
// product sees them as { subject: {kind, id}, resource: {kind, id, toolPattern} }.
import { and, eq, gt, isNull, or, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { grants } from '../db/schema.ts';
import type { ResourceKind, SubjectKind } from '../../policies/types.ts';

export type GrantRow = typeof grants.$inferSelect;

export interface Grant {
  id: string;
  subject: { kind: SubjectKind; id: string };
  resource: { kind: ResourceKind; id: string; toolPattern: string | null };
  effect: 'allow' | 'deny';
  expiresAt: Date | null;
  reason: string | null;
  grantedBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export const SUBJECT_COLUMN = {
  person: grants.subjectPersonId,
  team: grants.subjectTeamId,
  department: grants.subjectDepartmentId,
} as const;

export const RESOURCE_COLUMN = {
  tool: grants.resourceToolId,
  skill: grants.resourceSkillId,
  knowledge: grants.resourceKnowledgeId,
} as const;

export function grantFromRow(row: GrantRow): Grant {
  const subjectId = row.subjectPersonId ?? row.subjectTeamId ?? row.subjectDepartmentId;
  const resourceId = row.resourceToolId ?? row.resourceSkillId ?? row.resourceKnowledgeId;
  if (!subjectId || !resourceId) throw new Error(`grant ${row.id} has no subject or resource`);
  return {
    id: row.id,
    subject: { kind: row.subjectKind, id: subjectId },
    resource: { kind: row.resourceKind, id: resourceId, toolPattern: row.toolPattern },
    effect: row.effect,
    expiresAt: row.expiresAt,
    reason: row.reason,
    grantedBy: row.grantedBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export interface NewGrant {
  id: string;
  subject: { kind: SubjectKind; id: string };
  resource: { kind: ResourceKind; id: string; toolPattern?: string | null | undefined };
  effect: 'allow' | 'deny';
  expiresAt?: Date | null | undefined;
  reason?: string | null | undefined;
  grantedBy: string;
}

export function grantToRow(grant: NewGrant): typeof grants.$inferInsert {
  return {
    id: grant.id,
    subjectKind: grant.subject.kind,
    subjectPersonId: grant.subject.kind === 'person' ? grant.subject.id : null,
    subjectTeamId: grant.subject.kind === 'team' ? grant.subject.id : null,
    subjectDepartmentId: grant.subject.kind === 'department' ? grant.subject.id : null,
    resourceKind: grant.resource.kind,
    resourceToolId: grant.resource.kind === 'tool' ? grant.resource.id : null,
    resourceSkillId: grant.resource.kind === 'skill' ? grant.resource.id : null,
    resourceKnowledgeId: grant.resource.kind === 'knowledge' ? grant.resource.id : null,
    toolPattern: grant.resource.toolPattern ?? null,
    effect: grant.effect,
    expiresAt: grant.expiresAt ?? null,
    reason: grant.reason ?? null,
    grantedBy: grant.grantedBy,
  };
}

export interface GrantFilter {
  subject?: { kind: SubjectKind; id?: string | undefined } | undefined;
  resource?: { kind: ResourceKind; id?: string | undefined } | undefined;
  effect?: 'allow' | 'deny' | undefined;
  /** Only grants that have not expired at this instant. */
  activeAt?: Date | undefined;
}

export function grantWhere(filter: GrantFilter): SQL | undefined {
  const conditions: (SQL | undefined)[] = [];
  if (filter.subject) {
    conditions.push(eq(grants.subjectKind, filter.subject.kind));
    if (filter.subject.id) conditions.push(eq(SUBJECT_COLUMN[filter.subject.kind], filter.subject.id));
  }
  if (filter.resource) {
    conditions.push(eq(grants.resourceKind, filter.resource.kind));
    if (filter.resource.id) conditions.push(eq(RESOURCE_COLUMN[filter.resource.kind], filter.resource.id));
  }
  if (filter.effect) conditions.push(eq(grants.effect, filter.effect));
  if (filter.activeAt) conditions.push(or(isNull(grants.expiresAt), gt(grants.expiresAt, filter.activeAt)));
  const present = conditions.filter((c): c is SQL => c !== undefined);
  return present.length ? and(...present) : undefined;
}

/** Ids of the grants whose subject or resource is the given record (removed with it by cascade). */
export async function grantIdsReferencing(
  db: Db, ref: { kind: SubjectKind | ResourceKind; id: string },
): Promise<string[]> {
  const column = ref.kind in SUBJECT_COLUMN
    ? SUBJECT_COLUMN[ref.kind as SubjectKind]
    : RESOURCE_COLUMN[ref.kind as ResourceKind];
  const rows = await db.select({ id: grants.id }).from(grants).where(eq(column, ref.id));
  return rows.map((r) => r.id);
}
