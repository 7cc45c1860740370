// The directory and resource collections through the REST API: create, read, list with paging,
// update and delete for every collection, memberships, and the assistant that follows its person.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../test/support/databases.ts';
import type { TestControlPlane } from '../test/support/control-plane.ts';
import { expectProblem, unique, type ApiClient } from '../test/support/api.ts';
import { startApiTestPlane, type ApiFixtures } from '../test/support/api-fixtures.ts';

type Row = Record<string, unknown> & { id: string };
type Page = { items: Row[]; nextCursor: string | null };

/** Walks every page of a collection with a small limit and returns the ids in order. */
async function walk(api: ApiClient, url: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const response = await api({ method: 'GET', url: `${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}` });
    expect(response.statusCode, response.body).toBe(200);
    const page = response.json<Page>();
    expect(page.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.items.map((i) => i.id));
    cursor = page.nextCursor;
    pages++;
    expect(pages, 'paging must end').toBeLessThan(100);
  } while (cursor !== null);
  return { ids, pages };
}

interface CollectionCase {
  path: string;
  prefix: string;
  create: (f: ApiFixtures) => Promise<Row>;
  update: Record<string, unknown>;
  /** Makes a second record's create body collide with the first's unique field. */
  duplicate: (first: Row) => Record<string, unknown>;
}

const COLLECTIONS: CollectionCase[] = [
  {
    path: 'departments', prefix: 'dpt_', create: (f) => f.department({ description: 'Builds things' }),
    update: { description: 'Builds more things' }, duplicate: (r) => ({ name: r.name }),
  },
  {
    path: 'teams', prefix: 'team_', create: (f) => f.team(),
    update: { description: 'On call' }, duplicate: (r) => ({ name: r.name }),
  },
  {
    path: 'people', prefix: 'prs_', create: (f) => f.person(),
    update: { displayName: 'Renamed Person' }, duplicate: (r) => ({ email: r.email, displayName: 'Someone Else' }),
  },
  {
    path: 'tools', prefix: 'tool_', create: (f) => f.tool({ description: 'Issue tracker' }),
    update: { transport: 'sse', url: 'https://other.example.com/sse' },
    duplicate: (r) => ({ name: r.name, url: 'https://x.example.com/mcp' }),
  },
  {
    path: 'skills', prefix: 'skl_', create: (f) => f.skill(), update: { description: 'Writes release notes' },
    duplicate: (r) => ({ name: r.name }),
  },
  {
    path: 'knowledge', prefix: 'kno_', create: (f) => f.knowledge(), update: { description: 'The handbook' },
    duplicate: (r) => ({ name: r.name }),
  },
];

describe.each(testDatabases)('directory and resource API on $name', (target) => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;

  beforeAll(async () => {
    ({ control, api, f } = await startApiTestPlane(target));
  });
  afterAll(async () => {
    await control?.close();
  });

  describe.each(COLLECTIONS)('/api/v1/$path', (c) => {
    it('creates a record with a typed id and a location header, and reads it back', async () => {
      const row = await c.create(f);
      expect(row.id.startsWith(c.prefix)).toBe(true);
      const read = await api({ method: 'GET', url: `/api/v1/${c.path}/${row.id}` });
      expect(read.statusCode).toBe(200);
      expect(read.json()).toEqual(row);
    });

    it('answers a create with 201 and a location header that reads the record', async () => {
      const body = c.path === 'people'
        ? { email: `${unique('loc')}@example.com`, displayName: 'Located Person' }
        : c.path === 'tools' ? { name: unique('loc'), url: 'https://loc.example.com/mcp' } : { name: unique('loc') };
      const response = await api({ method: 'POST', url: `/api/v1/${c.path}`, body });
      expect(response.statusCode).toBe(201);
      const location = response.headers.location as string;
      expect(location).toBe(`/api/v1/${c.path}/${response.json<Row>().id}`);
      expect((await api({ method: 'GET', url: location })).statusCode).toBe(200);
    });

    it('pages the list with cursor and limit, without overlap, ending with a null nextCursor', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await c.create(f)).id);
      const { ids, pages } = await walk(api, `/api/v1/${c.path}`, 2);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of made) expect(ids).toContain(id);
      expect(pages).toBeGreaterThanOrEqual(3);
      const all = await api({ method: 'GET', url: `/api/v1/${c.path}?limit=200` });
      expect(all.json<Page>().items.map((i) => i.id)).toEqual(ids);
    });

    it('updates only the fields sent and moves updatedAt', async () => {
      const row = await c.create(f);
      const response = await api({ method: 'PATCH', url: `/api/v1/${c.path}/${row.id}`, body: c.update });
      expect(response.statusCode, response.body).toBe(200);
      const updated = response.json<Row>();
      expect(updated).toMatchObject({ ...c.update, id: row.id, createdAt: row.createdAt });
      expect(Date.parse(updated.updatedAt as string)).toBeGreaterThanOrEqual(Date.parse(row.updatedAt as string));
      expect((await api({ method: 'GET', url: `/api/v1/${c.path}/${row.id}` })).json()).toEqual(updated);
    });

    it('deletes a record, after which reading, updating or deleting it again is a 404', async () => {
      const row = await c.create(f);
      expect((await api({ method: 'DELETE', url: `/api/v1/${c.path}/${row.id}` })).statusCode).toBe(204);
      expectProblem(await api({ method: 'GET', url: `/api/v1/${c.path}/${row.id}` }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'PATCH', url: `/api/v1/${c.path}/${row.id}`, body: c.update }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/${c.path}/${row.id}` }), 404, 'ERR_NOT_FOUND');
    });

    it('a duplicate unique field is a 409 conflict', async () => {
      const row = await c.create(f);
      expectProblem(await api({ method: 'POST', url: `/api/v1/${c.path}`, body: c.duplicate(row) }), 409, 'ERR_CONFLICT');
    });
  });

  describe('teams and people in departments', () => {
    it('a team can name its department, and the team list filters by department', async () => {
      const dept = await f.department();
      const team = await f.team({ departmentId: dept.id });
      await f.team();
      const page = (await api({ method: 'GET', url: `/api/v1/teams?departmentId=${dept.id}` })).json<Page>();
      expect(page.items.map((t) => t.id)).toEqual([team.id]);
    });

    it('a person list filters by status, department and email in any case', async () => {
      const dept = await f.department();
      const person = await f.person({ departmentId: dept.id, status: 'suspended' });
      const byDept = (await api({ method: 'GET', url: `/api/v1/people?departmentId=${dept.id}` })).json<Page>();
      expect(byDept.items.map((p) => p.id)).toEqual([person.id]);
      const byEmail = (await api({ method: 'GET', url: `/api/v1/people?email=${encodeURIComponent(String(person.email).toUpperCase())}` })).json<Page>();
      expect(byEmail.items.map((p) => p.id)).toEqual([person.id]);
      const suspended = (await api({ method: 'GET', url: '/api/v1/people?status=suspended' })).json<Page>();
      expect(suspended.items.every((p) => p.status === 'suspended')).toBe(true);
      expect(suspended.items.map((p) => p.id)).toContain(person.id);
    });

    it('a team can move out of its department by setting departmentId to null', async () => {
      const dept = await f.department();
      const team = await f.team({ departmentId: dept.id });
      const response = await api({ method: 'PATCH', url: `/api/v1/teams/${team.id}`, body: { departmentId: null } });
      expect(response.json()).toMatchObject({ departmentId: null });
    });

    it('a team naming a missing department is a 404 and is not created', async () => {
      const missing = 'dpt_01ARZ3NDEKTSV4RRFFQ69G5FAV';
      const name = unique('Orphan');
      expectProblem(await api({ method: 'POST', url: '/api/v1/teams', body: { name, departmentId: missing } }), 404, 'ERR_NOT_FOUND');
      const teams = (await api({ method: 'GET', url: '/api/v1/teams?limit=200' })).json<Page>();
      expect(teams.items.some((t) => t.name === name)).toBe(false);
    });
  });

  describe('people and their assistants', () => {
    it('creating a person also creates a pending assistant record for them', async () => {
      const person = await f.person();
      const page = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<Page>();
      expect(page.items).toHaveLength(1);
      expect(page.items[0]).toMatchObject({ personId: person.id, status: 'pending', endpoint: null });
    });

    it('creating a person with createAssistant false creates no assistant', async () => {
      const person = await f.person({ createAssistant: false });
      const page = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<Page>();
      expect(page.items).toHaveLength(0);
    });

    it('suspending a person suspends their assistant, and reactivating makes it pending again', async () => {
      const person = await f.person();
      const suspend = await api({ method: 'PATCH', url: `/api/v1/people/${person.id}`, body: { status: 'suspended' } });
      expect(suspend.json()).toMatchObject({ status: 'suspended' });
      let page = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<Page>();
      expect(page.items[0]).toMatchObject({ status: 'suspended' });
      await api({ method: 'PATCH', url: `/api/v1/people/${person.id}`, body: { status: 'active' } });
      page = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<Page>();
      expect(page.items[0]).toMatchObject({ status: 'pending' });
    });

    it('an assistant can be created for a person without one, read, updated, listed by status and deleted', async () => {
      const person = await f.person({ createAssistant: false });
      const createdResponse = await api({ method: 'POST', url: '/api/v1/assistants', body: { personId: person.id } });
      expect(createdResponse.statusCode).toBe(201);
      const assistant = createdResponse.json<Row>();
      expect(assistant.id.startsWith('ast_')).toBe(true);
      expect((await api({ method: 'GET', url: `/api/v1/assistants/${assistant.id}` })).json()).toEqual(assistant);
      const patched = await api({
        method: 'PATCH', url: `/api/v1/assistants/${assistant.id}`,
        body: { status: 'ready', endpoint: 'https://ast.example.com/', statusMessage: 'up' },
      });
      expect(patched.json()).toMatchObject({ status: 'ready', endpoint: 'https://ast.example.com/', statusMessage: 'up' });
      const ready = (await api({ method: 'GET', url: '/api/v1/assistants?status=ready' })).json<Page>();
      expect(ready.items.map((a) => a.id)).toContain(assistant.id);
      const { ids } = await walk(api, '/api/v1/assistants', 2);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toContain(assistant.id);
      expect((await api({ method: 'DELETE', url: `/api/v1/assistants/${assistant.id}` })).statusCode).toBe(204);
      expectProblem(await api({ method: 'GET', url: `/api/v1/assistants/${assistant.id}` }), 404);
    });

    it('a second assistant for the same person is a 409 conflict', async () => {
      const person = await f.person();
      expectProblem(await api({ method: 'POST', url: '/api/v1/assistants', body: { personId: person.id } }), 409, 'ERR_CONFLICT');
    });

    it('an assistant for a missing person is a 404', async () => {
      expectProblem(await api({ method: 'POST', url: '/api/v1/assistants', body: { personId: 'prs_01ARZ3NDEKTSV4RRFFQ69G5FAV' } }), 404);
    });

    it('deleting a person also removes their assistant', async () => {
      const person = await f.person();
      expect((await api({ method: 'DELETE', url: `/api/v1/people/${person.id}` })).statusCode).toBe(204);
      const page = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<Page>();
      expect(page.items).toHaveLength(0);
    });
  });

  describe('team memberships', () => {
    it('PUT adds a member idempotently and the membership is listed from both sides', async () => {
      const team = await f.team();
      const person = await f.person();
      const url = `/api/v1/teams/${team.id}/members/${person.id}`;
      expect((await api({ method: 'PUT', url })).statusCode).toBe(204);
      expect((await api({ method: 'PUT', url })).statusCode).toBe(204);
      const members = (await api({ method: 'GET', url: `/api/v1/teams/${team.id}/members` })).json<Page>();
      expect(members.items).toEqual([expect.objectContaining({ teamId: team.id, personId: person.id })]);
      const teams = (await api({ method: 'GET', url: `/api/v1/people/${person.id}/teams` })).json<Page>();
      expect(teams.items).toEqual([expect.objectContaining({ teamId: team.id, personId: person.id })]);
      const one = await api({ method: 'GET', url });
      expect(one.statusCode).toBe(200);
      expect(one.json()).toMatchObject({ teamId: team.id, personId: person.id, createdAt: expect.any(String) as unknown });
    });

    it('DELETE removes a member, and a second DELETE is a 404 because they are no longer a member', async () => {
      const team = await f.team();
      const person = await f.person();
      await f.join(team.id, person.id);
      const url = `/api/v1/teams/${team.id}/members/${person.id}`;
      expect((await api({ method: 'DELETE', url })).statusCode).toBe(204);
      expectProblem(await api({ method: 'GET', url }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'DELETE', url }), 404, 'ERR_NOT_FOUND');
    });

    it('membership lists page with cursor and limit on both sides', async () => {
      const team = await f.team();
      const person = await f.person();
      const people: string[] = [];
      const teams: string[] = [];
      for (let i = 0; i < 5; i++) {
        const p = await f.person();
        await f.join(team.id, p.id);
        people.push(p.id);
        const t = await f.team();
        await f.join(t.id, person.id);
        teams.push(t.id);
      }
      const members = await api({ method: 'GET', url: `/api/v1/teams/${team.id}/members?limit=2` });
      const first = members.json<Page>();
      expect(first.items).toHaveLength(2);
      const pagedPeople: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Page = (await api({ method: 'GET', url: `/api/v1/teams/${team.id}/members?limit=2${cursor ? `&cursor=${cursor}` : ''}` })).json<Page>();
        pagedPeople.push(...page.items.map((m) => m.personId as string));
        cursor = page.nextCursor;
      } while (cursor);
      expect(pagedPeople.sort()).toEqual([...people].sort());
      const pagedTeams: string[] = [];
      cursor = null;
      do {
        const page: Page = (await api({ method: 'GET', url: `/api/v1/people/${person.id}/teams?limit=2${cursor ? `&cursor=${cursor}` : ''}` })).json<Page>();
        pagedTeams.push(...page.items.map((m) => m.teamId as string));
        cursor = page.nextCursor;
      } while (cursor);
      expect(pagedTeams.sort()).toEqual([...teams].sort());
    });

    it('adding a member to a missing team or a missing person is a 404 and writes nothing', async () => {
      const team = await f.team();
      const person = await f.person();
      expectProblem(await api({ method: 'PUT', url: `/api/v1/teams/team_01ARZ3NDEKTSV4RRFFQ69G5FAV/members/${person.id}` }), 404);
      expectProblem(await api({ method: 'PUT', url: `/api/v1/teams/${team.id}/members/prs_01ARZ3NDEKTSV4RRFFQ69G5FAV` }), 404);
      expect((await api({ method: 'GET', url: `/api/v1/teams/${team.id}/members` })).json<Page>().items).toEqual([]);
      expect((await api({ method: 'GET', url: `/api/v1/people/${person.id}/teams` })).json<Page>().items).toEqual([]);
    });

    it('listing the members of a missing team, or the teams of a missing person, is a 404', async () => {
      expectProblem(await api({ method: 'GET', url: '/api/v1/teams/team_01ARZ3NDEKTSV4RRFFQ69G5FAV/members' }), 404);
      expectProblem(await api({ method: 'GET', url: '/api/v1/people/prs_01ARZ3NDEKTSV4RRFFQ69G5FAV/teams' }), 404);
    });

    it('deleting a team removes its memberships', async () => {
      const team = await f.team();
      const person = await f.person();
      await f.join(team.id, person.id);
      expect((await api({ method: 'DELETE', url: `/api/v1/teams/${team.id}` })).statusCode).toBe(204);
      expect((await api({ method: 'GET', url: `/api/v1/people/${person.id}/teams` })).json<Page>().items).toEqual([]);
    });
  });

  describe('health', () => {
    it('healthz answers ok without a token', async () => {
      const response = await api({ method: 'GET', url: '/healthz', token: null });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ok' });
    });

    it('readyz reports ready with every check ok once the control plane has started', async () => {
      const response = await api({ method: 'GET', url: '/readyz', token: null });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok', policy: 'ok', directory: 'ok' } });
    });
  });

  describe('finding a record by name', () => {
    it.each(['departments', 'teams', 'tools', 'skills', 'knowledge'])('GET /api/v1/%s?name= matches the exact name, in any case', async (path) => {
      const make = { departments: f.department, teams: f.team, tools: f.tool, skills: f.skill, knowledge: f.knowledge }[path as 'tools'];
      const created = await make();
      await make();
      const name = String(created.name);
      const found = await api({ method: 'GET', url: `/api/v1/${path}?name=${encodeURIComponent(name.toUpperCase())}` });
      expect(found.statusCode, found.body).toBe(200);
      expect(found.json<{ items: { id: string }[] }>().items.map((i) => i.id)).toEqual([created.id]);
      const none = await api({ method: 'GET', url: `/api/v1/${path}?name=${encodeURIComponent(`${name}-missing`)}` });
      expect(none.json<{ items: unknown[] }>().items).toEqual([]);
    });
  });
});
