// First sign-in creates the person and their assistant record; later sign-ins bring the person's
// name, email, department and group-derived team memberships up to date. Runs inside the sign-in's
// transaction, with audit events and change notifications like any other change.
import { and, eq, sql } from 'drizzle-orm';
import { newId, repositories, schema, type Person } from '../../core/index.ts';
import type { MutationContext } from '../services/mutations.ts';
import type { SignInIdentity } from './claims.ts';

export class SignInRefused extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SignInRefused';
  }
}

const personView = (p: Person) => ({ id: p.id, email: p.email, displayName: p.displayName, departmentId: p.departmentId, status: p.status });

export async function provisionPerson(ctx: MutationContext, identity: SignInIdentity): Promise<Person> {
  const { tx } = ctx;
  const [bySubject] = await tx.select().from(schema.people).where(eq(schema.people.oidcSubject, identity.subject)).limit(1);
  const existing = bySubject ?? await repositories.people.getByEmail(tx, identity.email);
  if (existing?.oidcSubject && existing.oidcSubject !== identity.subject) {
    throw new SignInRefused('this email address belongs to a person linked to another identity');
  }
  if (existing?.status === 'suspended') throw new SignInRefused('your access has been suspended');

  const [department] = identity.department
    ? await tx.select().from(schema.departments).where(sql`lower(${schema.departments.name}) = lower(${identity.department})`).limit(1)
    : [];
  let person: Person;
  if (!existing) {
    person = await repositories.people.insert(tx, {
      id: newId('person'), email: identity.email, displayName: identity.displayName,
      departmentId: department?.id ?? null, oidcSubject: identity.subject,
    });
    await ctx.audit({ action: 'person.create', targetKind: 'person', targetId: person.id, after: { ...personView(person), source: 'sign-in' } });
    const assistant = await repositories.assistants.insert(tx, { id: newId('assistant'), personId: person.id, status: 'pending' });
    await ctx.audit({ action: 'assistant.create', targetKind: 'assistant', targetId: assistant.id, after: { id: assistant.id, personId: person.id } });
    await ctx.changed({ entity: 'assistant', id: assistant.id });
  } else {
    const patch: Partial<Person> = {};
    if (existing.email !== identity.email) patch.email = identity.email;
    if (existing.displayName !== identity.displayName) patch.displayName = identity.displayName;
    if (department && existing.departmentId !== department.id) patch.departmentId = department.id;
    if (existing.oidcSubject !== identity.subject) patch.oidcSubject = identity.subject;
    person = existing;
    if (Object.keys(patch).length > 0) {
      person = (await repositories.people.update(tx, existing.id, patch)) ?? existing;
      await ctx.audit({ action: 'person.update', targetKind: 'person', targetId: person.id, before: personView(existing), after: personView(person) });
    }
  }
  await syncGroupMemberships(ctx, person.id, identity.groups);
  await ctx.changed({ entity: 'person', id: person.id });
  return person;
}

/** Teams named like the person's groups (existing teams only); memberships that came from groups follow them. */
async function syncGroupMemberships(ctx: MutationContext, personId: string, groups: string[]): Promise<void> {
  const { tx } = ctx;
  const wanted = groups.length === 0 ? [] : await tx.select({ id: schema.teams.id }).from(schema.teams)
    .where(sql`lower(${schema.teams.name}) in (${sql.join(groups.map((g) => sql`lower(${g})`), sql`, `)})`);
  const wantedIds = new Set(wanted.map((t) => t.id));
  const current = await tx.select().from(schema.teamMembers).where(eq(schema.teamMembers.personId, personId));
  for (const teamId of wantedIds) {
    if (current.some((m) => m.teamId === teamId)) continue;
    await repositories.memberships.add(tx, teamId, personId, 'oidc');
    await ctx.audit({ action: 'membership.create', targetKind: 'membership', targetId: `${teamId}/${personId}`, after: { teamId, personId, source: 'oidc' } });
  }
  for (const membership of current) {
    if (membership.source !== 'oidc' || wantedIds.has(membership.teamId)) continue;
    await tx.delete(schema.teamMembers).where(and(eq(schema.teamMembers.teamId, membership.teamId), eq(schema.teamMembers.personId, personId)));
    await ctx.audit({ action: 'membership.delete', targetKind: 'membership', targetId: `${membership.teamId}/${personId}`, before: { teamId: membership.teamId, personId, source: 'oidc' } });
  }
}
