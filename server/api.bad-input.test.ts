// Bad input of every kind: each is refused with a 4xx problem+json, never a 5xx, and writes nothing at
// all (every table's row count is unchanged). The client helper also checks each response for stack
// traces, SQL text and the admin token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../core/index.ts';
import { testDatabases } from '../test/support/databases.ts';
import type { TestControlPlane } from '../test/support/control-plane.ts';
import { expectProblem, rowCounts, unique, type ApiCall, type ApiClient } from '../test/support/api.ts';
import { startApiTestPlane, type ApiFixtures } from '../test/support/api-fixtures.ts';

type Row = Record<string, unknown> & { id: string };

describe.each(testDatabases)('bad input on $name', (target) => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;
  let person: Row;
  let team: Row;
  let dept: Row;
  let tool: Row;
  let skill: Row;
  let grant: Row;

  beforeAll(async () => {
    ({ control, api, f } = await startApiTestPlane(target));
    dept = await f.department();
    team = await f.team({ departmentId: dept.id });
    person = await f.person({ departmentId: dept.id });
    tool = await f.tool();
    skill = await f.skill();
    grant = await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
  });
  afterAll(async () => {
    await control?.close();
  });

  /** Sends the request, expects this problem status (and code), and proves that nothing was written. */
  async function refused(call: ApiCall, status: number, code?: string): Promise<Record<string, unknown>> {
    const before = await rowCounts(control);
    const problem = expectProblem(await api(call), status, code);
    expect(await rowCounts(control), `${call.method} ${call.url} wrote something`).toEqual(before);
    return problem;
  }

  const grantBody = (overrides: Record<string, unknown> = {}) =>
    ({ subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow', ...overrides });
  const decisionBody = (resource: Record<string, unknown> = {}) =>
    ({ subject: { personId: person.id }, action: 'tools.call', resource: { kind: 'tool', id: tool.id, toolName: 'list_issues', ...resource } });

  describe('unknown fields', () => {
    it.each([
      ['/api/v1/departments', { name: 'X', isAdmin: true }],
      ['/api/v1/teams', { name: 'X', owner: 'me' }],
      ['/api/v1/people', { email: 'x@example.com', displayName: 'X', role: 'admin' }],
      ['/api/v1/tools', { name: 'x', url: 'https://x.example.com', secret: 's' }],
      ['/api/v1/skills', { name: 'x', body: 'y' }],
      ['/api/v1/knowledge', { name: 'x', source: 'y' }],
      ['/api/v1/api-tokens', { name: 'x', role: 'auditor', token: `ocat_${'A'.repeat(43)}` }],
    ])('an unknown field on POST %s is a 400 naming it and writes nothing', async (url, body) => {
      const problem = await refused({ method: 'POST', url, body }, 400, 'ERR_VALIDATION');
      expect(JSON.stringify(problem.errors)).toContain('unknown property');
    });

    it('an unknown field inside a grant subject or resource is a 400 and writes nothing', async () => {
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ subject: { kind: 'person', id: person.id, admin: true } }) }, 400);
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ grantedBy: 'someone-else' }) }, 400);
    });

    it('an unknown field on a PATCH is a 400 and changes nothing', async () => {
      await refused({ method: 'PATCH', url: `/api/v1/people/${person.id}`, body: { id: newId('person') } }, 400);
      await refused({ method: 'PATCH', url: `/api/v1/grants/${grant.id}`, body: { effect: 'deny' } }, 400);
      await refused({ method: 'PATCH', url: `/api/v1/assistants/${newId('assistant')}`, body: { personId: person.id } }, 400);
      expect((await api({ method: 'GET', url: `/api/v1/grants/${grant.id}` })).json()).toMatchObject({ effect: 'allow' });
    });

    it('an unknown field in a decision request is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/decisions', body: { ...decisionBody(), context: { now: 0 } } }, 400);
      await refused({ method: 'POST', url: '/api/v1/decisions/explain', body: { ...decisionBody(), grants: [] } }, 400);
    });

    it('an unknown query parameter is a 400', async () => {
      await refused({ method: 'GET', url: '/api/v1/departments?sort=name' }, 400);
      await refused({ method: 'GET', url: '/api/v1/audit?where=1' }, 400);
    });

    it('an empty PATCH body is a 400', async () => {
      await refused({ method: 'PATCH', url: `/api/v1/teams/${team.id}`, body: {} }, 400);
      await refused({ method: 'PATCH', url: `/api/v1/grants/${grant.id}`, body: {} }, 400);
    });

    it('a __proto__ key in the body is refused (prototype pollution)', async () => {
      await refused({
        method: 'POST', url: '/api/v1/departments', headers: { 'content-type': 'application/json' },
        payload: `{"name":"${unique('Proto')}","__proto__":{"isAdmin":true}}`,
      }, 400);
    });
  });

  describe('over-long strings and oversized collections', () => {
    it('a name over 120 characters is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/departments', body: { name: 'n'.repeat(121) } }, 400);
      await refused({ method: 'POST', url: '/api/v1/teams', body: { name: 'n'.repeat(121) } }, 400);
      await refused({ method: 'POST', url: '/api/v1/people', body: { email: 'long@example.com', displayName: 'n'.repeat(121) } }, 400);
      await refused({ method: 'PATCH', url: `/api/v1/teams/${team.id}`, body: { name: 'n'.repeat(121) } }, 400);
    });

    it('a name of exactly 120 characters is accepted', async () => {
      const response = await api({ method: 'POST', url: '/api/v1/departments', body: { name: `${unique('d')}`.padEnd(120, 'x') } });
      expect(response.statusCode).toBe(201);
    });

    it('a description over 1000 characters is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/departments', body: { name: unique('Long'), description: 'd'.repeat(1001) } }, 400);
      await refused({ method: 'POST', url: '/api/v1/skills', body: { name: unique('long'), description: 'd'.repeat(1001) } }, 400);
      await refused({ method: 'PATCH', url: `/api/v1/tools/${tool.id}`, body: { description: 'd'.repeat(1001) } }, 400);
    });

    it('a tool or skill name that is not a lowercase slug, or over 63 characters, is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/tools', body: { name: 'Has Spaces', url: 'https://x.example.com' } }, 400);
      await refused({ method: 'POST', url: '/api/v1/skills', body: { name: 's'.repeat(64) } }, 400);
      await refused({ method: 'POST', url: '/api/v1/knowledge', body: { name: '../etc/passwd' } }, 400);
    });

    it('an email over 254 characters or not an email is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/people', body: { email: `${'e'.repeat(250)}@example.com`, displayName: 'Long' } }, 400);
      await refused({ method: 'POST', url: '/api/v1/people', body: { email: 'not-an-email', displayName: 'Bad' } }, 400);
    });

    it('a grant reason over 500 characters is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ reason: 'r'.repeat(501) }) }, 400);
      await refused({ method: 'PATCH', url: `/api/v1/grants/${grant.id}`, body: { reason: 'r'.repeat(501) } }, 400);
    });

    it('a name with leading or trailing whitespace is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/departments', body: { name: ' Padded' } }, 400);
      await refused({ method: 'POST', url: '/api/v1/teams', body: { name: '' } }, 400);
    });

    it('decision arguments with more than 64 properties are a 400', async () => {
      const args = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`arg${i}`, i]));
      await refused({ method: 'POST', url: '/api/v1/decisions', body: decisionBody({ arguments: args }) }, 400, 'ERR_VALIDATION');
      await refused({ method: 'POST', url: '/api/v1/decisions/explain', body: decisionBody({ arguments: args }) }, 400);
      const ok = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`arg${i}`, i]));
      expect((await api({ method: 'POST', url: '/api/v1/decisions', body: decisionBody({ arguments: ok }) })).statusCode).toBe(200);
    });

    it('a decision tool name over 256 characters or with odd characters is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/decisions', body: decisionBody({ toolName: 't'.repeat(257) }) }, 400);
      await refused({ method: 'POST', url: '/api/v1/decisions', body: decisionBody({ toolName: 'list issues; rm -rf' }) }, 400);
    });

    it('a tool URL that is not http(s) is a 400 (javascript:, file:)', async () => {
      await refused({ method: 'POST', url: '/api/v1/tools', body: { name: unique('js'), url: 'javascript:alert(1)' } }, 400);
      await refused({ method: 'POST', url: '/api/v1/tools', body: { name: unique('file'), url: 'file:///etc/passwd' } }, 400);
    });
  });

  describe('ids of the wrong kind or malformed', () => {
    it('a team id where a person id belongs is a 400 on read, update and delete', async () => {
      await refused({ method: 'GET', url: `/api/v1/people/${team.id}` }, 400, 'ERR_VALIDATION');
      await refused({ method: 'PATCH', url: `/api/v1/people/${team.id}`, body: { displayName: 'X' } }, 400);
      await refused({ method: 'DELETE', url: `/api/v1/people/${team.id}` }, 400);
    });

    it('a malformed id is a 400 on every kind of record', async () => {
      for (const path of ['departments', 'teams', 'people', 'tools', 'skills', 'knowledge', 'assistants', 'grants', 'api-tokens']) {
        await refused({ method: 'GET', url: `/api/v1/${path}/not-an-id` }, 400);
        await refused({ method: 'DELETE', url: `/api/v1/${path}/not-an-id` }, 400);
      }
    });

    it('an id with SQL in it is a 400, never reaching the store (SQL injection)', async () => {
      await refused({ method: 'GET', url: `/api/v1/people/${encodeURIComponent("prs_' or '1'='1")}` }, 400);
      await refused({ method: 'GET', url: `/api/v1/grants?subjectId=${encodeURIComponent("prs_x' or 1=1 --")}` }, 400);
    });

    it('a path parameter longer than the router allows is a 4xx problem+json', async () => {
      const response = await api({ method: 'GET', url: `/api/v1/people/prs_${'A'.repeat(300)}` });
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expectProblem(response, response.statusCode);
    });

    it('membership routes refuse ids of the wrong kind', async () => {
      await refused({ method: 'PUT', url: `/api/v1/teams/${person.id}/members/${team.id}` }, 400);
      await refused({ method: 'GET', url: `/api/v1/teams/${dept.id}/members` }, 400);
      await refused({ method: 'GET', url: `/api/v1/people/${team.id}/teams` }, 400);
    });

    it('a grant whose subject id is of another kind than its subject kind is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ subject: { kind: 'person', id: team.id } }) }, 400);
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ resource: { kind: 'tool', id: skill.id } }) }, 400);
    });

    it('a grant list filter with an id that names no subject or resource kind is a 400', async () => {
      await refused({ method: 'GET', url: `/api/v1/grants?subjectId=${tool.id}` }, 400, 'ERR_VALIDATION');
      await refused({ method: 'GET', url: `/api/v1/grants?resourceId=${person.id}` }, 400, 'ERR_VALIDATION');
    });

    it('a decision for a person id of the wrong kind is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/decisions', body: { ...decisionBody(), subject: { personId: team.id } } }, 400);
    });
  });

  describe('references to missing records', () => {
    it('a team, person or assistant naming a missing record is a 404 and writes nothing', async () => {
      await refused({ method: 'POST', url: '/api/v1/teams', body: { name: unique('T'), departmentId: newId('department') } }, 404, 'ERR_NOT_FOUND');
      await refused({ method: 'POST', url: '/api/v1/people', body: { email: `${unique('m')}@example.com`, displayName: 'M', departmentId: newId('department') } }, 404);
      await refused({ method: 'PATCH', url: `/api/v1/people/${person.id}`, body: { departmentId: newId('department') } }, 404);
      await refused({ method: 'POST', url: '/api/v1/assistants', body: { personId: newId('person') } }, 404);
    });

    it('a grant naming a missing subject or resource of each kind is a 404 and writes nothing', async () => {
      for (const subject of [{ kind: 'person', id: newId('person') }, { kind: 'team', id: newId('team') }, { kind: 'department', id: newId('department') }]) {
        await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ subject }) }, 404, 'ERR_NOT_FOUND');
      }
      for (const resource of [{ kind: 'tool', id: newId('tool') }, { kind: 'skill', id: newId('skill') }, { kind: 'knowledge', id: newId('knowledge') }]) {
        await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ resource }) }, 404, 'ERR_NOT_FOUND');
      }
    });

    it('a membership naming a missing team or person is a 404 and writes nothing', async () => {
      await refused({ method: 'PUT', url: `/api/v1/teams/${newId('team')}/members/${person.id}` }, 404);
      await refused({ method: 'PUT', url: `/api/v1/teams/${team.id}/members/${newId('person')}` }, 404);
      await refused({ method: 'GET', url: `/api/v1/teams/${team.id}/members/${newId('person')}` }, 404);
    });
  });

  describe('duplicates', () => {
    it('a duplicate department, team, tool, skill or knowledge name is a 409 and writes nothing', async () => {
      const kb = await f.knowledge();
      await refused({ method: 'POST', url: '/api/v1/departments', body: { name: dept.name } }, 409, 'ERR_CONFLICT');
      await refused({ method: 'POST', url: '/api/v1/teams', body: { name: team.name } }, 409, 'ERR_CONFLICT');
      await refused({ method: 'POST', url: '/api/v1/tools', body: { name: tool.name, url: 'https://dup.example.com' } }, 409);
      await refused({ method: 'POST', url: '/api/v1/skills', body: { name: skill.name } }, 409);
      await refused({ method: 'POST', url: '/api/v1/knowledge', body: { name: kb.name } }, 409);
    });

    it('a duplicate email, in any case, is a 409 and writes neither person nor assistant', async () => {
      await refused({ method: 'POST', url: '/api/v1/people', body: { email: String(person.email).toUpperCase(), displayName: 'Twin' } }, 409, 'ERR_CONFLICT');
      const other = await f.person();
      await refused({ method: 'PATCH', url: `/api/v1/people/${other.id}`, body: { email: person.email } }, 409, 'ERR_CONFLICT');
    });
  });

  describe('malformed requests', () => {
    it('a malformed JSON body is a 400, never a 5xx', async () => {
      for (const payload of ['{"name":', '{name: "x"}', 'null', '', '\u0000', '{"name":"a"}garbage']) {
        const response = await api({ method: 'POST', url: '/api/v1/departments', headers: { 'content-type': 'application/json' }, payload });
        expectProblem(response, 400);
      }
    });

    it('a JSON array or string where an object belongs is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/departments', body: [{ name: 'X' }] }, 400);
      await refused({ method: 'POST', url: '/api/v1/departments', headers: { 'content-type': 'application/json' }, payload: '"X"' }, 400);
    });

    it('a body over the 64 KiB limit is a 413 and writes nothing', async () => {
      await refused({ method: 'POST', url: '/api/v1/departments', body: { name: unique('Big'), description: 'd'.repeat(70 * 1024) } }, 413, 'ERR_PAYLOAD_TOO_LARGE');
      await refused({ method: 'POST', url: '/api/v1/decisions', body: decisionBody({ arguments: { blob: 'b'.repeat(70 * 1024) } }) }, 413);
    });

    it('a body that is not JSON is a 415 and writes nothing', async () => {
      await refused({ method: 'POST', url: '/api/v1/departments', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=X' }, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
      await refused({ method: 'POST', url: '/api/v1/departments', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' }, 415);
      await refused({ method: 'PATCH', url: `/api/v1/teams/${team.id}`, headers: { 'content-type': 'application/xml' }, payload: '<name>X</name>' }, 415);
    });

    it('a text/plain body is a 415 like every other non-JSON body', async () => {
      await refused({ method: 'POST', url: '/api/v1/departments', headers: { 'content-type': 'text/plain' }, payload: '{"name":"Plain"}' }, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    });

    it('a wrong type for a field is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/departments', body: { name: 42 } }, 400);
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ effect: 'maybe' }) }, 400);
      await refused({ method: 'POST', url: '/api/v1/api-tokens', body: { name: 'x', role: 'root' } }, 400);
      await refused({ method: 'POST', url: '/api/v1/api-tokens', body: { name: 'x', role: 'auditor', expiresInDays: 0 } }, 400);
      await refused({ method: 'POST', url: '/api/v1/decisions', body: { ...decisionBody(), action: 'tools.delete' } }, 400);
    });

    it('a NUL character in a name or description is a 400, never a 5xx', async () => {
      await refused({ method: 'POST', url: '/api/v1/departments', body: { name: 'Nul\u0000Byte' } }, 400, 'ERR_VALIDATION');
      await refused({ method: 'POST', url: '/api/v1/skills', body: { name: unique('nul'), description: 'a\u0000b' } }, 400, 'ERR_VALIDATION');
    });
  });

  describe('grant rules', () => {
    it('expiresAt in the past is a 400 on create and update, and writes nothing', async () => {
      const past = new Date(Date.now() - 60_000).toISOString();
      const problem = await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ expiresAt: past }) }, 400, 'ERR_VALIDATION');
      expect(problem.errors).toEqual([{ field: 'body/expiresAt', message: 'must be in the future' }]);
      await refused({ method: 'PATCH', url: `/api/v1/grants/${grant.id}`, body: { expiresAt: past } }, 400);
      expect((await api({ method: 'GET', url: `/api/v1/grants/${grant.id}` })).json()).toMatchObject({ expiresAt: null });
    });

    it('expiresAt that is not a date-time is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ expiresAt: 'tomorrow' }) }, 400);
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ expiresAt: '2999-02-30T00:00:00Z' }) }, 400);
    });

    it('a toolPattern on a skill or knowledge grant is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ resource: { kind: 'skill', id: skill.id, toolPattern: 'list_*' } }) }, 400);
      const kb = await f.knowledge();
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ resource: { kind: 'knowledge', id: kb.id, toolPattern: '*' } }) }, 400);
    });

    it('a tool pattern with characters outside the pattern alphabet is a 400', async () => {
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ resource: { kind: 'tool', id: tool.id, toolPattern: 'list_[a-z]+' } }) }, 400);
      await refused({ method: 'POST', url: '/api/v1/grants', body: grantBody({ resource: { kind: 'tool', id: tool.id, toolPattern: '' } }) }, 400);
    });
  });

  describe('paging parameters', () => {
    it.each(['limit=0', 'limit=1000', 'limit=-1', 'limit=abc', 'cursor=%2F%2F', `cursor=${'a'.repeat(201)}`])(
      '%s is a 400 on every list', async (query) => {
        for (const path of ['departments', 'teams', 'people', 'tools', 'skills', 'knowledge', 'assistants', 'grants', 'api-tokens', 'audit']) {
          await refused({ method: 'GET', url: `/api/v1/${path}?${query}` }, 400, 'ERR_VALIDATION');
        }
        await refused({ method: 'GET', url: `/api/v1/teams/${team.id}/members?${query}` }, 400);
        await refused({ method: 'GET', url: `/api/v1/people/${person.id}/teams?${query}` }, 400);
      },
    );

    it('a fractional limit (limit=1.5) is a 400', async () => {
      await refused({ method: 'GET', url: '/api/v1/departments?limit=1.5' }, 400, 'ERR_VALIDATION');
    });

    it('a filter value of the wrong shape is a 400', async () => {
      await refused({ method: 'GET', url: '/api/v1/people?status=deleted' }, 400);
      await refused({ method: 'GET', url: '/api/v1/grants?effect=maybe' }, 400);
      await refused({ method: 'GET', url: '/api/v1/grants?includeExpired=perhaps' }, 400);
      await refused({ method: 'GET', url: '/api/v1/audit?since=yesterday' }, 400);
      await refused({ method: 'GET', url: `/api/v1/audit?action=${encodeURIComponent("x' or 1=1")}` }, 400);
    });
  });

  describe('routing', () => {
    it('an unknown route is a 404 problem', async () => {
      expectProblem(await api({ method: 'GET', url: '/api/v1/secrets' }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'GET', url: '/api/v2/departments' }), 404);
    });

    it('a method a route does not have is a 4xx problem and writes nothing', async () => {
      const before = await rowCounts(control);
      const response = await api({ method: 'PUT', url: `/api/v1/departments/${dept.id}`, body: { name: 'Replaced' } });
      expect([404, 405]).toContain(response.statusCode);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await rowCounts(control)).toEqual(before);
    });
  });
});
