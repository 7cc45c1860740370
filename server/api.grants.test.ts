// Grants and decisions through the REST API: grant CRUD and filters, deny-by-default decisions, their
// explanations, and that every grant or directory change is visible to the very next decision.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../core/index.ts';
import { testDatabases } from '../test/support/databases.ts';
import type { TestControlPlane } from '../test/support/control-plane.ts';
import { expectProblem, type ApiClient } from '../test/support/api.ts';
import { startApiTestPlane, type ApiFixtures } from '../test/support/api-fixtures.ts';

type Row = Record<string, unknown> & { id: string };
type Page = { items: Row[]; nextCursor: string | null };
type Decision = { allow: boolean; reasons: string[]; grants: string[] };
type Explanation = Decision & {
  summary: string;
  subject: { personId: string; displayName: string | null; teams: string[]; department: string | null; status: string };
  resource: { kind: string; id: string; name: string | null; toolName: string | null };
  considered: { id: string; effect: string; subject: string; decisive: boolean }[];
};

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe.each(testDatabases)('grants and decisions API on $name', (target) => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;

  beforeAll(async () => {
    ({ control, api, f } = await startApiTestPlane(target));
  });
  afterAll(async () => {
    await control?.close();
  });

  const toolCall = (personId: string, toolId: string, toolName: string) =>
    ({ subject: { personId }, action: 'tools.call', resource: { kind: 'tool', id: toolId, toolName } });
  const skillRead = (personId: string, skillId: string) =>
    ({ subject: { personId }, action: 'skills.read', resource: { kind: 'skill', id: skillId } });

  async function decide(body: unknown): Promise<Decision> {
    const response = await api({ method: 'POST', url: '/api/v1/decisions', body });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Decision>();
  }
  async function explain(body: unknown): Promise<Explanation> {
    const response = await api({ method: 'POST', url: '/api/v1/decisions/explain', body });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Explanation>();
  }

  describe('grant records', () => {
    it('creates a grant that records who granted it, with a location header, and reads it back', async () => {
      const person = await f.person();
      const skill = await f.skill();
      const response = await api({
        method: 'POST', url: '/api/v1/grants',
        body: { subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow', reason: 'onboarding' },
      });
      expect(response.statusCode, response.body).toBe(201);
      const grant = response.json<Row>();
      expect(grant).toMatchObject({
        subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id, toolPattern: null },
        effect: 'allow', expiresAt: null, expired: false, reason: 'onboarding', grantedBy: expect.stringMatching(/^api-token:tok_/) as unknown,
      });
      expect(response.headers.location).toBe(`/api/v1/grants/${grant.id}`);
      expect((await api({ method: 'GET', url: `/api/v1/grants/${grant.id}` })).json()).toEqual(grant);
    });

    it('updates a grant\'s expiry and reason, and clears them with null', async () => {
      const team = await f.team();
      const tool = await f.tool();
      const grant = await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id, toolPattern: 'list_*' }, effect: 'allow' });
      const expiresAt = inAnHour();
      const updated = await api({ method: 'PATCH', url: `/api/v1/grants/${grant.id}`, body: { expiresAt, reason: 'temporary' } });
      expect(updated.statusCode, updated.body).toBe(200);
      expect(updated.json()).toMatchObject({ expiresAt: new Date(expiresAt).toISOString(), reason: 'temporary', expired: false });
      const cleared = await api({ method: 'PATCH', url: `/api/v1/grants/${grant.id}`, body: { expiresAt: null, reason: null } });
      expect(cleared.json()).toMatchObject({ expiresAt: null, reason: null });
    });

    it('deletes a grant, after which it is a 404', async () => {
      const dept = await f.department();
      const kb = await f.knowledge();
      const grant = await f.grant({ subject: { kind: 'department', id: dept.id }, resource: { kind: 'knowledge', id: kb.id }, effect: 'deny' });
      expect((await api({ method: 'DELETE', url: `/api/v1/grants/${grant.id}` })).statusCode).toBe(204);
      expectProblem(await api({ method: 'GET', url: `/api/v1/grants/${grant.id}` }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/grants/${grant.id}` }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'PATCH', url: `/api/v1/grants/${grant.id}`, body: { reason: 'x' } }), 404, 'ERR_NOT_FOUND');
    });

    it('a grant naming a missing person, team or resource is a 404 and is not created', async () => {
      const person = await f.person();
      const skill = await f.skill();
      const before = (await api({ method: 'GET', url: '/api/v1/grants?limit=200' })).json<Page>().items.length;
      expectProblem(await api({
        method: 'POST', url: '/api/v1/grants',
        body: { subject: { kind: 'team', id: newId('team') }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' },
      }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({
        method: 'POST', url: '/api/v1/grants',
        body: { subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: newId('tool') }, effect: 'allow' },
      }), 404, 'ERR_NOT_FOUND');
      expect((await api({ method: 'GET', url: '/api/v1/grants?limit=200' })).json<Page>().items.length).toBe(before);
    });

    it('lists grants filtered by subjectId, resourceId and effect, and pages them without overlap', async () => {
      const person = await f.person();
      const team = await f.team();
      const tools = [await f.tool(), await f.tool(), await f.tool()];
      const mine: string[] = [];
      for (const tool of tools) {
        mine.push((await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' })).id);
      }
      mine.push((await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tools[0]!.id, toolPattern: 'delete_*' }, effect: 'deny' })).id);
      const teamGrant = await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tools[0]!.id }, effect: 'allow' });

      const bySubject = (await api({ method: 'GET', url: `/api/v1/grants?subjectId=${person.id}` })).json<Page>();
      expect(bySubject.items.map((g) => g.id).sort()).toEqual([...mine].sort());
      const byResource = (await api({ method: 'GET', url: `/api/v1/grants?resourceId=${tools[0]!.id}` })).json<Page>();
      expect(byResource.items.map((g) => g.id).sort()).toEqual([mine[0]!, mine[3]!, teamGrant.id].sort());
      const denies = (await api({ method: 'GET', url: `/api/v1/grants?subjectId=${person.id}&effect=deny` })).json<Page>();
      expect(denies.items.map((g) => g.id)).toEqual([mine[3]]);
      const byKind = (await api({ method: 'GET', url: `/api/v1/grants?subjectKind=team&resourceId=${tools[0]!.id}` })).json<Page>();
      expect(byKind.items.map((g) => g.id)).toEqual([teamGrant.id]);

      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Page = (await api({ method: 'GET', url: `/api/v1/grants?subjectId=${person.id}&limit=3${cursor ? `&cursor=${cursor}` : ''}` })).json<Page>();
        expect(page.items.length).toBeLessThanOrEqual(3);
        paged.push(...page.items.map((g) => g.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(paged).toEqual(bySubject.items.map((g) => g.id));
      expect(new Set(paged).size).toBe(paged.length);
    });

    it('includeExpired=false leaves out expired grants, which are listed and marked expired otherwise', async () => {
      const person = await f.person();
      const skill = await f.skill();
      const live = await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      const expired = await control.plane.store.grants.insert(control.plane.store.db, {
        id: newId('grant'), subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id },
        effect: 'allow', expiresAt: new Date(Date.now() - 60_000), grantedBy: 'test',
      });
      const all = (await api({ method: 'GET', url: `/api/v1/grants?subjectId=${person.id}` })).json<Page>();
      expect(all.items.map((g) => g.id).sort()).toEqual([live.id, expired.id].sort());
      expect(all.items.find((g) => g.id === expired.id)).toMatchObject({ expired: true });
      const current = (await api({ method: 'GET', url: `/api/v1/grants?subjectId=${person.id}&includeExpired=false` })).json<Page>();
      expect(current.items.map((g) => g.id)).toEqual([live.id]);
    });
  });

  describe('decisions', () => {
    it('denies by default when no grant names the person or the resource', async () => {
      const person = await f.person();
      const tool = await f.tool();
      const decision = await decide(toolCall(person.id, tool.id, 'list_issues'));
      expect(decision).toMatchObject({ allow: false, grants: [] });
      expect(decision.reasons.length).toBeGreaterThan(0);
    });

    it('a person unknown to the directory is denied', async () => {
      const skill = await f.skill();
      expect((await decide(skillRead(newId('person'), skill.id))).allow).toBe(false);
    });

    it('a team allow lets every member through and names the deciding grant', async () => {
      const team = await f.team();
      const person = await f.person();
      const outsider = await f.person();
      const skill = await f.skill();
      await f.join(team.id, person.id);
      const grant = await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      expect(await decide(skillRead(person.id, skill.id))).toMatchObject({ allow: true, grants: [grant.id] });
      expect((await decide(skillRead(outsider.id, skill.id))).allow).toBe(false);
    });

    it('a department allow lets people of the department through', async () => {
      const dept = await f.department();
      const person = await f.person({ departmentId: dept.id });
      const kb = await f.knowledge();
      await f.grant({ subject: { kind: 'department', id: dept.id }, resource: { kind: 'knowledge', id: kb.id }, effect: 'allow' });
      const decision = await decide({ subject: { personId: person.id }, action: 'knowledge.read', resource: { kind: 'knowledge', id: kb.id } });
      expect(decision.allow).toBe(true);
    });

    it('an explicit person deny beats a team allow', async () => {
      const team = await f.team();
      const person = await f.person();
      const skill = await f.skill();
      await f.join(team.id, person.id);
      await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      const deny = await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'deny' });
      expect(await decide(skillRead(person.id, skill.id))).toMatchObject({ allow: false, grants: [deny.id] });
    });

    it('an expired grant does not count', async () => {
      const person = await f.person();
      const skill = await f.skill();
      const grant = await control.plane.store.grants.insert(control.plane.store.db, {
        id: newId('grant'), subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id },
        effect: 'allow', expiresAt: new Date(Date.now() - 1_000), grantedBy: 'test',
      });
      await control.plane.sync.apply([{ entity: 'grant', id: grant.id }]);
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
    });

    it('a grant with a future expiry counts until it expires', async () => {
      const person = await f.person();
      const skill = await f.skill();
      await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow', expiresAt: inAnHour() });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(true);
    });

    it('a suspended person gets nothing, even with a personal allow', async () => {
      const person = await f.person();
      const skill = await f.skill();
      await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(true);
      await api({ method: 'PATCH', url: `/api/v1/people/${person.id}`, body: { status: 'suspended' } });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
    });

    it('a tool pattern list_* allows list_issues but not create_issue', async () => {
      const person = await f.person();
      const tool = await f.tool();
      await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tool.id, toolPattern: 'list_*' }, effect: 'allow' });
      expect((await decide(toolCall(person.id, tool.id, 'list_issues'))).allow).toBe(true);
      expect((await decide(toolCall(person.id, tool.id, 'create_issue'))).allow).toBe(false);
    });

    it('an action of the wrong kind for the resource is denied even with an allow', async () => {
      const person = await f.person();
      const skill = await f.skill();
      await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      const decision = await decide({ subject: { personId: person.id }, action: 'knowledge.read', resource: { kind: 'skill', id: skill.id } });
      expect(decision.allow).toBe(false);
    });

    it('a grant change is visible to the very next decision (read-your-writes)', async () => {
      const person = await f.person();
      const skill = await f.skill();
      const grant = await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(true);
      await api({ method: 'DELETE', url: `/api/v1/grants/${grant.id}` });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
    });

    it('a membership change is visible to the very next decision', async () => {
      const team = await f.team();
      const person = await f.person();
      const skill = await f.skill();
      await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
      await f.join(team.id, person.id);
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(true);
      await api({ method: 'DELETE', url: `/api/v1/teams/${team.id}/members/${person.id}` });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
    });

    it('an expiry moved into the past by the store is honoured after the change is applied', async () => {
      const person = await f.person();
      const skill = await f.skill();
      const grant = await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow', expiresAt: inAnHour() });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(true);
      await control.plane.store.grants.update(control.plane.store.db, grant.id, { expiresAt: new Date(Date.now() - 1_000) });
      await control.plane.sync.apply([{ entity: 'grant', id: grant.id }]);
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
    });

    it('deleting a team removes its grants from decisions and from the grant list', async () => {
      const team = await f.team();
      const person = await f.person();
      const skill = await f.skill();
      await f.join(team.id, person.id);
      const grant = await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(true);
      expect((await api({ method: 'DELETE', url: `/api/v1/teams/${team.id}` })).statusCode).toBe(204);
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
      expectProblem(await api({ method: 'GET', url: `/api/v1/grants/${grant.id}` }), 404);
    });

    it('deleting a resource removes its grants from decisions', async () => {
      const person = await f.person();
      const tool = await f.tool();
      await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
      expect((await decide(toolCall(person.id, tool.id, 'anything'))).allow).toBe(true);
      await api({ method: 'DELETE', url: `/api/v1/tools/${tool.id}` });
      expect((await decide(toolCall(person.id, tool.id, 'anything'))).allow).toBe(false);
    });

    it('a deleted person is denied at once, even though their grant was an allow', async () => {
      const person = await f.person();
      const skill = await f.skill();
      await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(true);
      await api({ method: 'DELETE', url: `/api/v1/people/${person.id}` });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
    });

    it('moving a person out of a department takes the department allow away at once', async () => {
      const dept = await f.department();
      const person = await f.person({ departmentId: dept.id });
      const skill = await f.skill();
      await f.grant({ subject: { kind: 'department', id: dept.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(true);
      await api({ method: 'PATCH', url: `/api/v1/people/${person.id}`, body: { departmentId: null } });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
    });

    it('deleting a department takes its allow away from its people at once', async () => {
      const dept = await f.department();
      const person = await f.person({ departmentId: dept.id });
      const skill = await f.skill();
      await f.grant({ subject: { kind: 'department', id: dept.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(true);
      await api({ method: 'DELETE', url: `/api/v1/departments/${dept.id}` });
      expect((await decide(skillRead(person.id, skill.id))).allow).toBe(false);
      expect((await api({ method: 'GET', url: `/api/v1/people/${person.id}` })).json()).toMatchObject({ departmentId: null });
    });

    it('a grant for one tool does not open another tool', async () => {
      const person = await f.person();
      const tool = await f.tool();
      const other = await f.tool();
      await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
      expect((await decide(toolCall(person.id, other.id, 'list_issues'))).allow).toBe(false);
    });

    it('every API role may ask for a decision', async () => {
      const person = await f.person();
      const skill = await f.skill();
      for (const role of ['security', 'auditor'] as const) {
        const token = (await f.apiToken(role)).token;
        const response = await api({ method: 'POST', url: '/api/v1/decisions', body: skillRead(person.id, skill.id), token });
        expect(response.statusCode, role).toBe(200);
        expect(response.json()).toMatchObject({ allow: false });
      }
    });
  });

  describe('explanations', () => {
    it('explain returns a readable summary naming the person, the resource and the deciding grant', async () => {
      const dept = await f.department();
      const team = await f.team({ departmentId: dept.id });
      const person = await f.person({ departmentId: dept.id, displayName: 'Ada Lovelace' });
      const tool = await f.tool();
      await f.join(team.id, person.id);
      const grant = await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id, toolPattern: 'list_*' }, effect: 'allow' });
      const explanation = await explain(toolCall(person.id, tool.id, 'list_issues'));
      expect(explanation.allow).toBe(true);
      expect(explanation.grants).toEqual([grant.id]);
      expect(explanation.summary).toContain('Ada Lovelace');
      expect(explanation.summary).toContain(String(tool.name));
      expect(explanation.summary).toContain(grant.id);
      expect(explanation.summary).toContain(String(team.name));
      expect(explanation.subject).toMatchObject({ personId: person.id, displayName: 'Ada Lovelace', teams: [team.name], department: dept.name, status: 'active' });
      expect(explanation.resource).toEqual({ kind: 'tool', id: tool.id, name: tool.name, toolName: 'list_issues' });
      expect(explanation.considered).toEqual([expect.objectContaining({ id: grant.id, effect: 'allow', decisive: true })]);
    });

    it('explain names the deny that beat an allow, and the decision agrees with /decisions', async () => {
      const team = await f.team();
      const person = await f.person({ displayName: 'Grace Hopper' });
      const skill = await f.skill();
      await f.join(team.id, person.id);
      const allow = await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      const deny = await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'deny' });
      const explanation = await explain(skillRead(person.id, skill.id));
      const decision = await decide(skillRead(person.id, skill.id));
      expect(explanation).toMatchObject({ allow: false, grants: [deny.id] });
      expect({ allow: explanation.allow, grants: explanation.grants }).toEqual({ allow: decision.allow, grants: decision.grants });
      expect(explanation.summary).toContain('Grace Hopper');
      expect(explanation.summary).toContain('may not');
      const byId = new Map(explanation.considered.map((c) => [c.id, c]));
      expect(byId.get(deny.id)).toMatchObject({ decisive: true, effect: 'deny', subject: 'Grace Hopper personally' });
      expect(byId.get(allow.id)).toMatchObject({ decisive: false, effect: 'allow' });
    });

    it('explain of a default deny says so and considers no grants', async () => {
      const person = await f.person();
      const kb = await f.knowledge();
      const explanation = await explain({ subject: { personId: person.id }, action: 'knowledge.read', resource: { kind: 'knowledge', id: kb.id } });
      expect(explanation).toMatchObject({ allow: false, grants: [], considered: [] });
      expect(explanation.summary).toContain(String(person.displayName));
      expect(explanation.summary).toContain(String(kb.name));
    });
  });

  describe('who can reach a resource', () => {
    it('lists exactly the active people the policy allows, with the grants that allow them', async () => {
      const team = await f.team();
      const [member, denied, outsider, suspended] = [await f.person(), await f.person(), await f.person(), await f.person()];
      const tool = await f.tool();
      for (const p of [member, denied, suspended]) await f.join(team.id, p.id);
      const allow = await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
      await f.grant({ subject: { kind: 'person', id: denied.id }, resource: { kind: 'tool', id: tool.id }, effect: 'deny' });
      await api({ method: 'PATCH', url: `/api/v1/people/${suspended.id}`, body: { status: 'suspended' } });
      const response = await api({ method: 'GET', url: `/api/v1/access/who?kind=tool&id=${tool.id}` });
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json<{ action: string; items: { personId: string; grants: string[] }[]; evaluated: number }>();
      expect(body.action).toBe('tools.list');
      expect(body.items).toEqual([expect.objectContaining({ personId: member.id, email: member.email, grants: [allow.id] })]);
      expect(body.items.some((i) => [denied.id, outsider.id, suspended.id].includes(i.personId))).toBe(false);
      expect(body.evaluated).toBeGreaterThanOrEqual(3);
    });

    it('a tool-name pattern narrows who may call one tool', async () => {
      const person = await f.person();
      const tool = await f.tool();
      await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tool.id, toolPattern: 'list_*' }, effect: 'allow' });
      const ask = async (toolName: string) => (await api({ method: 'GET', url: `/api/v1/access/who?kind=tool&id=${tool.id}&action=tools.call&toolName=${toolName}` }))
        .json<{ items: { personId: string }[] }>().items.map((i) => i.personId);
      expect(await ask('list_issues')).toContain(person.id);
      expect(await ask('delete_repo')).not.toContain(person.id);
    });

    it('an unknown resource is a 404 and a malformed query a 400', async () => {
      const missing = await api({ method: 'GET', url: '/api/v1/access/who?kind=skill&id=skl_01ARZ3NDEKTSV4RRFFQ69G5FAV' });
      expect(missing.statusCode).toBe(404);
      const bad = await api({ method: 'GET', url: '/api/v1/access/who?kind=printer&id=x' });
      expect(bad.statusCode).toBe(400);
    });
  });
});
