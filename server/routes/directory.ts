// Departments, teams and people: the subjects that grants name.
import { Type } from 'typebox';
import { and, eq, sql } from 'drizzle-orm';
import { grantIdsReferencing } from '../../core/store/grants.ts';
import { newId, notFound, publishEpoch, raiseRevocationEpoch, repositories, schema, type Db, type Department, type Person, type Team } from '../../core/index.ts';
import type { SubjectKind } from '../../policies/types.ts';
import { Description, Id, Name, Nullable, StrictObject, Timestamp } from '../schemas/common.ts';
import { nameFilter, type EntitySpec } from './entity-routes.ts';
import type { MutationContext } from '../services/mutations.ts';
import { revokeSessionsOf } from '../identity/sessions.ts';
import { revokePairingLinksOf } from '../../token-service/index.ts';

const iso = (d: Date) => d.toISOString();

export const DepartmentView = Type.Object({
  id: Id('department'), name: Type.String(), description: Nullable(Type.String()),
  createdAt: Timestamp, updatedAt: Timestamp,
}, { $id: 'Department' });

export const TeamView = Type.Object({
  id: Id('team'), name: Type.String(), description: Nullable(Type.String()), departmentId: Nullable(Id('department')),
  createdAt: Timestamp, updatedAt: Timestamp,
}, { $id: 'Team' });

export const PersonStatus = Type.Union([Type.Literal('active'), Type.Literal('suspended')]);
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });

export const PersonView = Type.Object({
  id: Id('person'), email: Type.String(), displayName: Type.String(), departmentId: Nullable(Id('department')),
  status: PersonStatus, createdAt: Timestamp, updatedAt: Timestamp,
}, { $id: 'Person' });

async function requireDepartment(tx: Db, departmentId: unknown): Promise<void> {
  if (typeof departmentId === 'string' && !(await repositories.departments.get(tx, departmentId))) {
    throw notFound('Department', departmentId);
  }
}

/** Records, in the audit event, the grants that a subject's deletion removes by cascade. */
const cascadeOf = (kind: SubjectKind) => async (ctx: MutationContext, row: { id: string }) =>
  ({ removedGrantIds: await grantIdsReferencing(ctx.tx, { kind, id: row.id }) });

const optionalString = (value: unknown) => (value === undefined ? undefined : (value as string | null));

export const departmentSpec: EntitySpec<Department, typeof schema.departments.$inferInsert, unknown> = {
  kind: 'department', path: 'departments', tag: 'Directory', words: ['department', 'departments'],
  operation: ['Department', 'Departments'], repo: repositories.departments, view: Type.Ref('Department'),
  createBody: StrictObject({ name: Name, description: Type.Optional(Description) }),
  updateBody: StrictObject({ name: Type.Optional(Name), description: Type.Optional(Nullable(Description)) }, { minProperties: 1 }),
  listFilters: nameFilter(schema.departments.name),
  toView: (d) => ({ id: d.id, name: d.name, description: d.description, createdAt: iso(d.createdAt), updatedAt: iso(d.updatedAt) }),
  toInsert: (id, b) => ({ id, name: b.name as string, description: (b.description as string | undefined) ?? null }),
  toPatch: (b) => ({ name: b.name as string | undefined, description: optionalString(b.description) }),
  beforeDelete: cascadeOf('department'),
  changesOn: { delete: (d) => [{ entity: 'subject-deleted', kind: 'department', id: d.id }] },
};

export const teamSpec: EntitySpec<Team, typeof schema.teams.$inferInsert, unknown> = {
  kind: 'team', path: 'teams', tag: 'Directory', words: ['team', 'teams'], operation: ['Team', 'Teams'],
  repo: repositories.teams, view: Type.Ref('Team'),
  createBody: StrictObject({ name: Name, description: Type.Optional(Description), departmentId: Type.Optional(Id('department')) }),
  updateBody: StrictObject({
    name: Type.Optional(Name), description: Type.Optional(Nullable(Description)), departmentId: Type.Optional(Nullable(Id('department'))),
  }, { minProperties: 1 }),
  listFilters: {
    properties: { departmentId: Type.Optional(Id('department')), ...nameFilter(schema.teams.name).properties },
    where: (q) => {
      const parts = [
        q.departmentId ? eq(schema.teams.departmentId, q.departmentId as string) : undefined,
        nameFilter(schema.teams.name).where(q),
      ].filter((p) => p !== undefined);
      return parts.length ? and(...parts) : undefined;
    },
  },
  toView: (t) => ({
    id: t.id, name: t.name, description: t.description, departmentId: t.departmentId,
    createdAt: iso(t.createdAt), updatedAt: iso(t.updatedAt),
  }),
  toInsert: (id, b) => ({
    id, name: b.name as string, description: (b.description as string | undefined) ?? null,
    departmentId: (b.departmentId as string | undefined) ?? null,
  }),
  toPatch: (b) => ({
    name: b.name as string | undefined, description: optionalString(b.description), departmentId: optionalString(b.departmentId),
  }),
  checkReferences: (tx, b) => requireDepartment(tx, b.departmentId),
  beforeDelete: cascadeOf('team'),
  changesOn: { delete: (t) => [{ entity: 'subject-deleted', kind: 'team', id: t.id }] },
};

export const personSpec: EntitySpec<Person, typeof schema.people.$inferInsert, unknown> = {
  kind: 'person', path: 'people', tag: 'Directory', words: ['person', 'people'], operation: ['Person', 'People'],
  repo: repositories.people, view: Type.Ref('Person'),
  createBody: StrictObject({
    email: Email, displayName: Name, departmentId: Type.Optional(Id('department')), status: Type.Optional(PersonStatus),
    createAssistant: Type.Optional(Type.Boolean({ default: true, description: 'Also create the person\'s assistant record (default true)' })),
  }),
  updateBody: StrictObject({
    email: Type.Optional(Email), displayName: Type.Optional(Name), departmentId: Type.Optional(Nullable(Id('department'))),
    status: Type.Optional(PersonStatus),
  }, { minProperties: 1 }),
  listFilters: {
    properties: {
      departmentId: Type.Optional(Id('department')), status: Type.Optional(PersonStatus),
      email: Type.Optional(Type.String({ maxLength: 254 })),
    },
    where: (q) => {
      const parts = [
        q.departmentId ? sql`${schema.people.departmentId} = ${q.departmentId as string}` : undefined,
        q.status ? sql`${schema.people.status} = ${q.status as string}` : undefined,
        q.email ? sql`lower(${schema.people.email}) = lower(${q.email as string})` : undefined,
      ].filter((p) => p !== undefined);
      return parts.length ? sql.join(parts, sql` and `) : undefined;
    },
  },
  toView: (p) => ({
    id: p.id, email: p.email, displayName: p.displayName, departmentId: p.departmentId, status: p.status,
    createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt),
  }),
  toInsert: (id, b) => ({
    id, email: b.email as string, displayName: b.displayName as string,
    departmentId: (b.departmentId as string | undefined) ?? null, status: (b.status as Person['status'] | undefined) ?? 'active',
  }),
  toPatch: (b) => ({
    email: b.email as string | undefined, displayName: b.displayName as string | undefined,
    departmentId: optionalString(b.departmentId), status: b.status as Person['status'] | undefined,
  }),
  checkReferences: (tx, b) => requireDepartment(tx, b.departmentId),
  async afterCreate(ctx, person, body) {
    // Every person gets an assistant; the operator (a later issue) provisions it from this record.
    if (body.createAssistant === false) return;
    const assistant = await repositories.assistants.insert(ctx.tx, {
      id: newId('assistant'), personId: person.id, status: person.status === 'suspended' ? 'suspended' : 'pending',
    });
    await ctx.audit({ action: 'assistant.create', targetKind: 'assistant', targetId: assistant.id, after: { id: assistant.id, personId: person.id } });
    await ctx.changed({ entity: 'assistant', id: assistant.id });
  },
  async afterUpdate(ctx, before, after) {
    if (before.status === after.status) return;
    // A suspension takes effect at once: every session of the person ends with it, and the raised
    // revocation epoch makes every replica refuse the tokens already issued to their assistant.
    if (after.status === 'suspended') {
      await revokeSessionsOf(ctx.tx, after.id);
      await revokePairingLinksOf(ctx.tx, after.id);
      await publishEpoch(ctx.tx, after.id, await raiseRevocationEpoch(ctx.tx, after.id));
    }
    const assistant = await repositories.assistants.getByPerson(ctx.tx, after.id);
    if (!assistant) return;
    const status = after.status === 'suspended' ? 'suspended' : 'pending';
    await repositories.assistants.update(ctx.tx, assistant.id, { status });
    await ctx.audit({ action: 'assistant.update', targetKind: 'assistant', targetId: assistant.id, before: { status: assistant.status }, after: { status } });
    await ctx.changed({ entity: 'assistant', id: assistant.id });
  },
  beforeDelete: cascadeOf('person'),
  changesOn: {
    create: (p) => [{ entity: 'person', id: p.id }],
    update: (p) => [{ entity: 'person', id: p.id }],
    delete: (p) => [{ entity: 'subject-deleted', kind: 'person', id: p.id }],
  },
};
