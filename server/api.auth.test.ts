// Authentication and roles on the REST API, and the lifecycle of API tokens. Each test names the
// attack or misuse it tries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../core/index.ts';
import { testDatabases } from '../test/support/databases.ts';
import type { TestControlPlane } from '../test/support/control-plane.ts';
import { apiClient, expectProblem, rowCounts, unique, type ApiClient } from '../test/support/api.ts';
import { startApiTestPlane, type ApiFixtures } from '../test/support/api-fixtures.ts';

type Row = Record<string, unknown> & { id: string };
type Page = { items: Row[]; nextCursor: string | null };

describe.each(testDatabases)('authentication, roles and API tokens on $name', (target) => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;

  beforeAll(async () => {
    ({ control, api, f } = await startApiTestPlane(target));
  });
  afterAll(async () => {
    await control?.close();
  });

  const expectUnauthenticated = (response: Awaited<ReturnType<ApiClient>>) => {
    expectProblem(response, 401, 'ERR_UNAUTHENTICATED');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
  };

  describe('bearer tokens', () => {
    it('a request without a bearer token is a 401 with WWW-Authenticate', async () => {
      expectUnauthenticated(await api({ method: 'GET', url: '/api/v1/departments', token: null }));
    });

    it('a garbage bearer token is a 401 with WWW-Authenticate', async () => {
      expectUnauthenticated(await api({ method: 'GET', url: '/api/v1/departments', token: 'not-a-token' }));
      expectUnauthenticated(await api({ method: 'GET', url: '/api/v1/departments', headers: { authorization: 'Basic YWRtaW46YWRtaW4=' }, token: null }));
      expectUnauthenticated(await api({ method: 'GET', url: '/api/v1/departments', headers: { authorization: `Bearer ${'x'.repeat(5000)}` }, token: null }));
    });

    it('a well-formed but unknown token is a 401', async () => {
      expectUnauthenticated(await api({ method: 'GET', url: '/api/v1/departments', token: `ocat_${'A'.repeat(43)}` }));
    });

    it('an unauthenticated write is refused before it writes anything', async () => {
      const before = await rowCounts(control);
      expectUnauthenticated(await api({ method: 'POST', url: '/api/v1/departments', body: { name: unique('Sneaky') }, token: null }));
      expectUnauthenticated(await api({ method: 'DELETE', url: `/api/v1/api-tokens/${newId('apiToken')}`, token: null }));
      expect(await rowCounts(control)).toEqual(before);
    });

    it('an expired token is a 401', async () => {
      const created = await f.apiToken('auditor');
      expect((await api({ method: 'GET', url: '/api/v1/audit', token: created.token })).statusCode).toBe(200);
      await control.plane.store.apiTokens.update(control.plane.store.db, created.id, { expiresAt: new Date(Date.now() - 1_000) });
      expectUnauthenticated(await api({ method: 'GET', url: '/api/v1/audit', token: created.token }));
    });
  });

  describe('roles', () => {
    it('the security role can read and decide but cannot create grants (403) and writes nothing', async () => {
      const { token } = await f.apiToken('security');
      const person = await f.person();
      const skill = await f.skill();
      expect((await api({ method: 'GET', url: '/api/v1/grants', token })).statusCode).toBe(200);
      expect((await api({ method: 'GET', url: `/api/v1/people/${person.id}`, token })).statusCode).toBe(200);
      const before = await rowCounts(control);
      expectProblem(await api({
        method: 'POST', url: '/api/v1/grants', token,
        body: { subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' },
      }), 403, 'ERR_FORBIDDEN');
      expect(await rowCounts(control)).toEqual(before);
    });

    it('the auditor role can read the audit trail but cannot change the directory (403)', async () => {
      const { token } = await f.apiToken('auditor');
      const team = await f.team();
      const person = await f.person();
      expect((await api({ method: 'GET', url: '/api/v1/audit', token })).statusCode).toBe(200);
      const before = await rowCounts(control);
      expectProblem(await api({ method: 'POST', url: '/api/v1/departments', body: { name: unique('Nope') }, token }), 403, 'ERR_FORBIDDEN');
      expectProblem(await api({ method: 'PATCH', url: `/api/v1/teams/${team.id}`, body: { name: 'Renamed' }, token }), 403);
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/people/${person.id}`, token }), 403);
      expectProblem(await api({ method: 'PUT', url: `/api/v1/teams/${team.id}/members/${person.id}`, token }), 403);
      expect(await rowCounts(control)).toEqual(before);
    });

    it('neither security nor auditor tokens can mint, list or revoke API tokens (privilege escalation)', async () => {
      const admin = await f.apiToken('admin');
      for (const role of ['security', 'auditor'] as const) {
        const { token } = await f.apiToken(role);
        const before = await rowCounts(control);
        expectProblem(await api({ method: 'POST', url: '/api/v1/api-tokens', body: { name: 'escalate', role: 'admin' }, token }), 403);
        expectProblem(await api({ method: 'GET', url: '/api/v1/api-tokens', token }), 403);
        expectProblem(await api({ method: 'GET', url: `/api/v1/api-tokens/${admin.id}`, token }), 403);
        expectProblem(await api({ method: 'DELETE', url: `/api/v1/api-tokens/${admin.id}`, token }), 403);
        expect(await rowCounts(control)).toEqual(before);
      }
    });
  });

  describe('API tokens', () => {
    it('a new token is shown once: in the create response only, never in the list or a read', async () => {
      const response = await api({ method: 'POST', url: '/api/v1/api-tokens', body: { name: unique('ci token'), role: 'security', expiresInDays: 30 } });
      expect(response.statusCode).toBe(201);
      expect(response.headers['cache-control']).toBe('no-store');
      const created = response.json<Row & { token: string }>();
      expect(created.token).toMatch(/^ocat_[A-Za-z0-9_-]{43}$/);
      expect(created).toMatchObject({ role: 'security', active: true, revokedAt: null, createdBy: expect.stringMatching(/^api-token:tok_/) as unknown });
      expect(Date.parse(String(created.expiresAt))).toBeGreaterThan(Date.now() + 29 * 86_400_000);

      const read = await api({ method: 'GET', url: `/api/v1/api-tokens/${created.id}` });
      expect(read.statusCode).toBe(200);
      expect(read.json()).not.toHaveProperty('token');
      expect(read.body).not.toContain(created.token);
      expect(read.body).not.toMatch(/secret/i);

      const list = await api({ method: 'GET', url: '/api/v1/api-tokens?limit=200' });
      expect(list.json<Page>().items.map((t) => t.id)).toContain(created.id);
      expect(list.body).not.toContain(created.token);
      expect(list.body).not.toMatch(/secret/i);
      for (const item of list.json<Page>().items) expect(item).not.toHaveProperty('token');

      const used = await api({ method: 'GET', url: '/api/v1/grants', token: created.token });
      expect(used.statusCode).toBe(200);
      const afterUse = (await api({ method: 'GET', url: `/api/v1/api-tokens/${created.id}` })).json<Row>();
      expect(afterUse.lastUsedAt).not.toBeNull();
    });

    it('the token list pages with cursor and limit without overlap', async () => {
      for (let i = 0; i < 3; i++) await f.apiToken('auditor');
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Page = (await api({ method: 'GET', url: `/api/v1/api-tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}` })).json<Page>();
        expect(page.items.length).toBeLessThanOrEqual(2);
        ids.push(...page.items.map((t) => t.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBeGreaterThanOrEqual(4);
    });

    it('a revoked token is refused with 401 from then on, and revoking again is harmless', async () => {
      const created = await f.apiToken('security');
      expect((await api({ method: 'GET', url: '/api/v1/grants', token: created.token })).statusCode).toBe(200);
      expect((await api({ method: 'DELETE', url: `/api/v1/api-tokens/${created.id}` })).statusCode).toBe(204);
      expectUnauthenticated(await api({ method: 'GET', url: '/api/v1/grants', token: created.token }));
      const read = (await api({ method: 'GET', url: `/api/v1/api-tokens/${created.id}` })).json<Row>();
      expect(read).toMatchObject({ active: false, revokedAt: expect.any(String) as unknown });
      expect((await api({ method: 'DELETE', url: `/api/v1/api-tokens/${created.id}` })).statusCode).toBe(204);
    });

    it('reading or revoking a missing token is a 404', async () => {
      expectProblem(await api({ method: 'GET', url: `/api/v1/api-tokens/${newId('apiToken')}` }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/api-tokens/${newId('apiToken')}` }), 404, 'ERR_NOT_FOUND');
    });

    it('the last active admin token cannot be revoked (409) and stays usable', async () => {
      const list = (await api({ method: 'GET', url: '/api/v1/api-tokens?limit=200' })).json<Page>().items;
      const admins = list.filter((t) => t.role === 'admin' && t.active);
      const bootstrap = admins.find((t) => t.name === 'bootstrap admin');
      expect(bootstrap).toBeDefined();
      for (const other of admins.filter((t) => t.id !== bootstrap!.id)) {
        expect((await api({ method: 'DELETE', url: `/api/v1/api-tokens/${other.id}` })).statusCode).toBe(204);
      }
      const before = await rowCounts(control);
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/api-tokens/${bootstrap!.id}` }), 409, 'ERR_CONFLICT');
      expect(await rowCounts(control)).toEqual(before);
      expect((await api({ method: 'GET', url: '/api/v1/api-tokens' })).statusCode).toBe(200);
    });

    it('an admin token can revoke the bootstrap admin once another admin exists, and then is refused itself', async () => {
      const second = await f.apiToken('admin');
      const secondApi = apiClient(control, second.token);
      const list = (await secondApi({ method: 'GET', url: '/api/v1/api-tokens?limit=200' })).json<Page>().items;
      const bootstrap = list.find((t) => t.name === 'bootstrap admin')!;
      expect((await secondApi({ method: 'DELETE', url: `/api/v1/api-tokens/${bootstrap.id}` })).statusCode).toBe(204);
      expectUnauthenticated(await api({ method: 'GET', url: '/api/v1/api-tokens' }));
      expectProblem(await secondApi({ method: 'DELETE', url: `/api/v1/api-tokens/${second.id}` }), 409, 'ERR_CONFLICT');
    });
  });
});
