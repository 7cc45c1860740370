import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/support/databases.ts';
import { createStore, newId, AppError, AccessIndex, createDirectorySync, publishChange, type Store } from '../index.ts';
import type { Database } from '../db/database.ts';
import pino from 'pino';

describe.each(testDatabases)('store on $name', (target) => {
  let database: Database & { dispose(): Promise<void> };
  let store: Store;

  beforeAll(async () => {
    database = await target.open();
    store = createStore(database);
  });
  afterAll(async () => {
    await database?.dispose();
  });

  async function person(email: string, departmentId: string | null = null) {
    return store.people.insert(store.db, { id: newId('person'), email, displayName: email.split('@')[0]!, departmentId });
  }

  it('applies the migrations and round-trips a department, team and person', async () => {
    const dep = await store.departments.insert(store.db, { id: newId('department'), name: 'Engineering' });
    const team = await store.teams.insert(store.db, { id: newId('team'), name: 'Platform', departmentId: dep.id });
    const p = await person('ada@example.com', dep.id);
    expect(await store.teams.get(store.db, team.id)).toMatchObject({ name: 'Platform', departmentId: dep.id });
    expect(p.status).toBe('active');
    expect(await store.people.getByEmail(store.db, 'ADA@example.com')).toMatchObject({ id: p.id });
  });

  it('rejects a second person with the same email in any case as a conflict', async () => {
    await person('grace@example.com');
    await expect(store.transaction((tx) => store.people.insert(tx, {
      id: newId('person'), email: 'Grace@Example.com', displayName: 'Grace',
    }))).rejects.toMatchObject({ code: 'ERR_CONFLICT', message: 'a person with this email already exists' });
  });

  it('rolls back every write of a failed transaction', async () => {
    const id = newId('department');
    await expect(store.transaction(async (tx) => {
      await store.departments.insert(tx, { id, name: 'Doomed' });
      throw new AppError('ERR_CONFLICT', 'stop');
    })).rejects.toBeInstanceOf(AppError);
    expect(await store.departments.get(store.db, id)).toBeUndefined();
  });

  it('pages lists by id with a cursor and no overlap', async () => {
    for (let i = 0; i < 5; i++) await store.skills.insert(store.db, { id: newId('skill'), name: `skill-${i}` });
    const first = await store.skills.list(store.db, { limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.nextAfter).toBe(first.items[2]!.id);
    const second = await store.skills.list(store.db, { limit: 3, after: first.nextAfter! });
    expect(second.items).toHaveLength(2);
    expect(second.nextAfter).toBeNull();
    const ids = [...first.items, ...second.items].map((s) => s.id);
    expect(new Set(ids).size).toBe(5);
  });

  it('stores grants with exactly one subject and resource and cascades them with their subject', async () => {
    const team = await store.teams.insert(store.db, { id: newId('team'), name: 'Cascade' });
    const tool = await store.tools.insert(store.db, { id: newId('tool'), name: 'github', url: 'https://mcp.example.com/github' });
    const grant = await store.grants.insert(store.db, {
      id: newId('grant'), subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id, toolPattern: 'list_*' },
      effect: 'allow', grantedBy: 'test',
    });
    expect(await store.grants.get(store.db, grant.id)).toMatchObject({
      subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id, toolPattern: 'list_*' }, effect: 'allow',
    });
    const listed = await store.grants.list(store.db, { subject: { kind: 'team', id: team.id } }, { limit: 10 });
    expect(listed.items.map((g) => g.id)).toEqual([grant.id]);
    await store.teams.delete(store.db, team.id);
    expect(await store.grants.get(store.db, grant.id)).toBeUndefined();
  });

  it('refuses a grant whose subject does not exist (foreign key) as a reference error', async () => {
    const tool = await store.tools.insert(store.db, { id: newId('tool'), name: 'jira', url: 'https://mcp.example.com/jira' });
    await expect(store.transaction((tx) => store.grants.insert(tx, {
      id: newId('grant'), subject: { kind: 'person', id: newId('person') }, resource: { kind: 'tool', id: tool.id },
      effect: 'allow', grantedBy: 'test',
    }))).rejects.toMatchObject({ code: 'ERR_REFERENCE_NOT_FOUND' });
  });

  it('refuses a tool pattern on a skill grant at the database too', async () => {
    const p = await person('check@example.com');
    const skill = await store.skills.insert(store.db, { id: newId('skill'), name: 'pattern-check' });
    await expect(store.transaction((tx) => store.grants.insert(tx, {
      id: newId('grant'), subject: { kind: 'person', id: p.id }, resource: { kind: 'skill', id: skill.id, toolPattern: '*' },
      effect: 'allow', grantedBy: 'test',
    }))).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });

  it('adds memberships idempotently and lists them from both sides', async () => {
    const team = await store.teams.insert(store.db, { id: newId('team'), name: 'Members' });
    const p = await person('member@example.com');
    expect(await store.memberships.add(store.db, team.id, p.id)).toBe(true);
    expect(await store.memberships.add(store.db, team.id, p.id)).toBe(false);
    expect((await store.memberships.list(store.db, { teamId: team.id }, { limit: 10 })).items.map((m) => m.personId)).toEqual([p.id]);
    expect(await store.memberships.teamIdsOf(store.db, p.id)).toEqual([team.id]);
    expect(await store.memberships.remove(store.db, team.id, p.id)).toBe(true);
    expect(await store.memberships.teamIdsOf(store.db, p.id)).toEqual([]);
  });

  it('lists audit events newest first with filters', async () => {
    for (const action of ['x.create', 'x.update', 'x.delete']) {
      await store.audit.insert(store.db, { id: newId('audit'), actor: 'token:t', action, targetKind: 'x', targetId: 'x1' });
    }
    const page = await store.audit.list(store.db, { targetKind: 'x' }, { limit: 2 });
    expect(page.items.map((e) => e.action)).toEqual(['x.delete', 'x.update']);
    const rest = await store.audit.list(store.db, { targetKind: 'x' }, { limit: 2, before: page.nextBefore! });
    expect(rest.items.map((e) => e.action)).toEqual(['x.create']);
  });

  it('delivers a committed change notification to every listening replica index, and not a rolled-back one', async () => {
    const index = new AccessIndex();
    const sync = createDirectorySync({ store, index, logger: pino({ level: 'silent' }), resyncIntervalMs: 3_600_000 });
    await sync.start();
    try {
      const p = await person('notify@example.com');
      const skill = await store.skills.insert(store.db, { id: newId('skill'), name: 'notify-skill' });
      const grantId = newId('grant');
      await expect(store.transaction(async (tx) => {
        await store.grants.insert(tx, { id: grantId, subject: { kind: 'person', id: p.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow', grantedBy: 't' });
        await publishChange(tx, { entity: 'grant', id: grantId });
        throw new AppError('ERR_CONFLICT', 'roll back');
      })).rejects.toBeInstanceOf(AppError);
      await store.transaction(async (tx) => {
        await store.grants.insert(tx, { id: newId('grant'), subject: { kind: 'person', id: p.id }, resource: { kind: 'skill', id: skill.id }, effect: 'deny', grantedBy: 't' });
        await publishChange(tx, { entity: 'person', id: p.id });
      });
      const committed = (await store.grants.list(store.db, { subject: { kind: 'person', id: p.id } }, { limit: 5 })).items[0]!;
      await store.transaction((tx) => publishChange(tx, { entity: 'grant', id: committed.id }));
      await expect.poll(() => index.candidates(index.subject(p.id), 'skill', skill.id).map((g) => g.id), { timeout: 5000 })
        .toEqual([committed.id]);
      expect(index.subject(p.id).status).toBe('active');
    } finally {
      await sync.stop();
    }
  });
});
