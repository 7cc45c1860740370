// The audit trail: every change through the API writes its audit event in the same transaction, a
// refused change writes none, and the trail can be filtered and paged by every role that may read it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../test/support/databases.ts';
import type { TestControlPlane } from '../test/support/control-plane.ts';
import { expectProblem, rowCounts, unique, type ApiClient } from '../test/support/api.ts';
import { startApiTestPlane, type ApiFixtures } from '../test/support/api-fixtures.ts';

type Row = Record<string, unknown> & { id: string };
type AuditEvent = {
  id: string; at: string; actor: string; action: string; targetKind: string; targetId: string;
  before: unknown; after: unknown; requestId: string | null;
};
type AuditPage = { items: AuditEvent[]; nextCursor: string | null };

describe.each(testDatabases)('audit trail API on $name', (target) => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;
  let adminActor: string;

  beforeAll(async () => {
    ({ control, api, f } = await startApiTestPlane(target));
    const tokens = (await api({ method: 'GET', url: '/api/v1/api-tokens' })).json<{ items: Row[] }>().items;
    adminActor = `api-token:${tokens.find((t) => t.name === 'bootstrap admin')!.id}`;
  });
  afterAll(async () => {
    await control?.close();
  });

  async function eventsFor(targetId: string): Promise<AuditEvent[]> {
    const response = await api({ method: 'GET', url: `/api/v1/audit?targetId=${encodeURIComponent(targetId)}` });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<AuditPage>().items;
  }

  async function latestAudit(): Promise<AuditEvent | undefined> {
    return (await api({ method: 'GET', url: '/api/v1/audit?limit=1' })).json<AuditPage>().items[0];
  }

  it('creating, updating and deleting a department writes one audit event each, by the calling token, with before and after', async () => {
    const response = await api({ method: 'POST', url: '/api/v1/departments', body: { name: unique('Audited') } });
    const dept = response.json<Row>();
    const update = await api({ method: 'PATCH', url: `/api/v1/departments/${dept.id}`, body: { description: 'now described' } });
    await api({ method: 'DELETE', url: `/api/v1/departments/${dept.id}` });
    const events = await eventsFor(dept.id);
    expect(events.map((e) => e.action)).toEqual(['department.delete', 'department.update', 'department.create']);
    for (const e of events) expect(e).toMatchObject({ actor: adminActor, targetKind: 'department', targetId: dept.id });
    const [deleted, updated, created] = events;
    expect(created).toMatchObject({ before: null, after: dept, requestId: response.headers['x-request-id'] });
    expect(updated).toMatchObject({ before: dept, after: update.json<unknown>(), requestId: update.headers['x-request-id'] });
    expect(deleted).toMatchObject({ before: expect.objectContaining({ id: dept.id, removedGrantIds: [] }) as unknown, after: null });
  });

  it('creating a person writes a person.create and an assistant.create event', async () => {
    const person = await f.person();
    expect((await eventsFor(person.id)).map((e) => e.action)).toEqual(['person.create']);
    const assistantId = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<{ items: Row[] }>().items[0]!.id;
    expect(await eventsFor(assistantId)).toEqual([expect.objectContaining({ action: 'assistant.create', after: { id: assistantId, personId: person.id } })]);
  });

  it('suspending a person writes the person update and the assistant status change', async () => {
    const person = await f.person();
    await api({ method: 'PATCH', url: `/api/v1/people/${person.id}`, body: { status: 'suspended' } });
    const update = (await eventsFor(person.id))[0]!;
    expect(update).toMatchObject({ action: 'person.update', before: { status: 'active' }, after: { status: 'suspended' } });
    const assistantId = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<{ items: Row[] }>().items[0]!.id;
    expect((await eventsFor(assistantId))[0]).toMatchObject({ action: 'assistant.update', before: { status: 'pending' }, after: { status: 'suspended' } });
  });

  it('every kind of resource, assistant and grant change is audited with its action', async () => {
    const tool = await f.tool();
    const skill = await f.skill();
    const kb = await f.knowledge();
    const team = await f.team();
    await api({ method: 'PATCH', url: `/api/v1/tools/${tool.id}`, body: { description: 'x' } });
    await api({ method: 'PATCH', url: `/api/v1/skills/${skill.id}`, body: { description: 'x' } });
    await api({ method: 'PATCH', url: `/api/v1/knowledge/${kb.id}`, body: { description: 'x' } });
    await api({ method: 'PATCH', url: `/api/v1/teams/${team.id}`, body: { description: 'x' } });
    const grant = await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
    await api({ method: 'PATCH', url: `/api/v1/grants/${grant.id}`, body: { reason: 'audited' } });
    await api({ method: 'DELETE', url: `/api/v1/grants/${grant.id}` });
    await api({ method: 'DELETE', url: `/api/v1/tools/${tool.id}` });
    expect((await eventsFor(tool.id)).map((e) => e.action)).toEqual(['tool.delete', 'tool.update', 'tool.create']);
    expect((await eventsFor(skill.id)).map((e) => e.action)).toEqual(['skill.update', 'skill.create']);
    expect((await eventsFor(kb.id)).map((e) => e.action)).toEqual(['knowledge.update', 'knowledge.create']);
    expect((await eventsFor(team.id)).map((e) => e.action)).toEqual(['team.update', 'team.create']);
    const grantEvents = await eventsFor(grant.id);
    expect(grantEvents.map((e) => e.action)).toEqual(['grant.delete', 'grant.update', 'grant.create']);
    expect(grantEvents[1]).toMatchObject({ before: { reason: null }, after: { reason: 'audited' }, actor: adminActor, targetKind: 'grant' });

    const person = await f.person({ createAssistant: false });
    const assistant = (await api({ method: 'POST', url: '/api/v1/assistants', body: { personId: person.id } })).json<Row>();
    await api({ method: 'PATCH', url: `/api/v1/assistants/${assistant.id}`, body: { status: 'ready' } });
    await api({ method: 'DELETE', url: `/api/v1/assistants/${assistant.id}` });
    expect((await eventsFor(assistant.id)).map((e) => e.action)).toEqual(['assistant.delete', 'assistant.update', 'assistant.create']);
  });

  it('deleting a team records the grants its deletion removed', async () => {
    const team = await f.team();
    const skill = await f.skill();
    const grant = await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
    await api({ method: 'DELETE', url: `/api/v1/teams/${team.id}` });
    expect((await eventsFor(team.id))[0]).toMatchObject({ action: 'team.delete', before: { removedGrantIds: [grant.id] } });
  });

  it('adding a member writes one event, and adding them again (idempotent PUT) writes none', async () => {
    const team = await f.team();
    const person = await f.person();
    const url = `/api/v1/teams/${team.id}/members/${person.id}`;
    await api({ method: 'PUT', url });
    await api({ method: 'PUT', url });
    await api({ method: 'DELETE', url });
    const events = await eventsFor(`${team.id}/${person.id}`);
    expect(events.map((e) => e.action)).toEqual(['membership.delete', 'membership.create']);
    expect(events[1]).toMatchObject({ targetKind: 'membership', after: { teamId: team.id, personId: person.id } });
  });

  it('creating and revoking an API token is audited without ever recording the token', async () => {
    const created = await f.apiToken('auditor');
    await api({ method: 'DELETE', url: `/api/v1/api-tokens/${created.id}` });
    const events = await eventsFor(created.id);
    expect(events.map((e) => e.action)).toEqual(['apiToken.revoke', 'apiToken.create']);
    expect(JSON.stringify(events)).not.toContain(created.token);
  });

  it('a duplicate team name is a 409 and writes no audit event and changes nothing', async () => {
    const team = await f.team();
    const latest = await latestAudit();
    const before = await rowCounts(control);
    expectProblem(await api({ method: 'POST', url: '/api/v1/teams', body: { name: team.name } }), 409, 'ERR_CONFLICT');
    expect(await rowCounts(control)).toEqual(before);
    expect(await latestAudit()).toEqual(latest);
  });

  it('a rename onto an existing name is a 409, leaves the record as it was and writes no audit event', async () => {
    const first = await f.skill();
    const second = await f.skill();
    const latest = await latestAudit();
    expectProblem(await api({ method: 'PATCH', url: `/api/v1/skills/${second.id}`, body: { name: first.name } }), 409, 'ERR_CONFLICT');
    expect((await api({ method: 'GET', url: `/api/v1/skills/${second.id}` })).json()).toEqual(second);
    expect(await latestAudit()).toEqual(latest);
  });

  it('a duplicate email in another case is a 409, and neither the person nor an assistant is written', async () => {
    const person = await f.person();
    const before = await rowCounts(control);
    const latest = await latestAudit();
    expectProblem(await api({
      method: 'POST', url: '/api/v1/people', body: { email: String(person.email).toUpperCase(), displayName: 'Twin' },
    }), 409, 'ERR_CONFLICT');
    expect(await rowCounts(control)).toEqual(before);
    expect(await latestAudit()).toEqual(latest);
  });

  it('filters by action, targetKind, targetId and actor', async () => {
    const skill = await f.skill();
    await api({ method: 'PATCH', url: `/api/v1/skills/${skill.id}`, body: { description: 'filtered' } });
    const byAction = (await api({ method: 'GET', url: '/api/v1/audit?action=skill.update&limit=200' })).json<AuditPage>();
    expect(byAction.items.length).toBeGreaterThan(0);
    expect(byAction.items.every((e) => e.action === 'skill.update')).toBe(true);
    expect(byAction.items.map((e) => e.targetId)).toContain(skill.id);
    const byKind = (await api({ method: 'GET', url: '/api/v1/audit?targetKind=skill&limit=200' })).json<AuditPage>();
    expect(byKind.items.every((e) => e.targetKind === 'skill')).toBe(true);
    const combined = (await api({ method: 'GET', url: `/api/v1/audit?targetKind=skill&action=skill.create&targetId=${skill.id}` })).json<AuditPage>();
    expect(combined.items).toHaveLength(1);
    const byActor = (await api({ method: 'GET', url: `/api/v1/audit?actor=${encodeURIComponent(adminActor)}&limit=5` })).json<AuditPage>();
    expect(byActor.items.every((e) => e.actor === adminActor)).toBe(true);
    const none = (await api({ method: 'GET', url: '/api/v1/audit?action=nothing.happened' })).json<AuditPage>();
    expect(none).toEqual({ items: [], nextCursor: null });
  });

  it('filters by time with since and until', async () => {
    const since = new Date(Date.now() - 1_000).toISOString();
    const skill = await f.skill();
    const recent = (await api({ method: 'GET', url: `/api/v1/audit?since=${encodeURIComponent(since)}&limit=200` })).json<AuditPage>();
    expect(recent.items.map((e) => e.targetId)).toContain(skill.id);
    const old = (await api({ method: 'GET', url: `/api/v1/audit?until=${encodeURIComponent('2000-01-01T00:00:00Z')}` })).json<AuditPage>();
    expect(old.items).toEqual([]);
  });

  it('pages newest first with a cursor, without overlap, ending with a null nextCursor', async () => {
    for (let i = 0; i < 5; i++) await f.skill();
    const all = (await api({ method: 'GET', url: '/api/v1/audit?targetKind=skill&limit=200' })).json<AuditPage>();
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: AuditPage = (await api({ method: 'GET', url: `/api/v1/audit?targetKind=skill&limit=2${cursor ? `&cursor=${cursor}` : ''}` })).json<AuditPage>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      ids.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids).toEqual(all.items.map((e) => e.id));
    expect(new Set(ids).size).toBe(ids.length);
    const times = all.items.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('a forged audit cursor is a 400, not a 5xx', async () => {
    const forged = Buffer.from('1; drop table audit_events', 'utf8').toString('base64url');
    expectProblem(await api({ method: 'GET', url: `/api/v1/audit?cursor=${forged}` }), 400, 'ERR_VALIDATION');
  });

  it('every role may read the audit trail, and none can write it', async () => {
    for (const role of ['security', 'auditor'] as const) {
      const { token } = await f.apiToken(role);
      expect((await api({ method: 'GET', url: '/api/v1/audit?limit=1', token })).statusCode).toBe(200);
      const response = await api({ method: 'POST', url: '/api/v1/audit', body: {}, token });
      expect([404, 405]).toContain(response.statusCode);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('reading the audit trail without a token is a 401', async () => {
    const response = await api({ method: 'GET', url: '/api/v1/audit', token: null });
    expectProblem(response, 401, 'ERR_UNAUTHENTICATED');
    expect(response.headers['www-authenticate']).toBeDefined();
  });
});
