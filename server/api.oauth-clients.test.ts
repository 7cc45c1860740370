// Confidential OAuth clients on the REST API: registered by an admin, the secret shown once, revoked
// without losing the record. Each test names the misuse it tries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq, sql } from 'drizzle-orm';
import { newId, schema } from '../core/index.ts';
import { authenticateClient } from '../token-service/client-authentication.ts';
import { testDatabases } from '../test/support/databases.ts';
import type { TestControlPlane } from '../test/support/control-plane.ts';
import { expectProblem, rowCounts, unique, type ApiClient } from '../test/support/api.ts';
import { startApiTestPlane, type ApiFixtures } from '../test/support/api-fixtures.ts';

type Client = { id: string; name: string; audiences: string[]; createdBy: string; createdAt: string; revokedAt: string | null; active: boolean };
type Page = { items: Client[]; nextCursor: string | null };

const AUDIENCE = 'https://mcp.example.com/mcp';

describe.each(testDatabases)('OAuth clients on $name', (target) => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;

  beforeAll(async () => {
    ({ control, api, f } = await startApiTestPlane(target));
  });
  afterAll(async () => {
    await control?.close();
  });

  const db = () => control.plane.store.db;
  const create = (body: unknown, token?: string) => api({ method: 'POST', url: '/api/v1/oauth-clients', body, ...(token ? { token } : {}) });
  const created = async (audiences = [AUDIENCE]) => {
    const response = await create({ name: unique('resource server'), audiences });
    expect(response.statusCode, response.body).toBe(201);
    return response.json<Client & { clientSecret: string }>();
  };
  /** Every table's rows, the clients among them, so a refused request can be shown to write nothing. */
  const everything = async () => {
    const [clients] = await db().select({ n: sql<number>`count(*)::int` }).from(schema.oauthClients);
    return { ...(await rowCounts(control)), oauthClients: Number(clients?.n ?? 0) };
  };
  const auditOf = (id: string) => db().select().from(schema.auditEvents)
    .where(eq(schema.auditEvents.targetId, id)).orderBy(asc(schema.auditEvents.seq));

  it('a new client\'s secret is shown once: in the create response only, never in a read or the list', async () => {
    const response = await create({ name: unique('gateway'), audiences: [AUDIENCE, 'https://skills.example.com/skills'] });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const client = response.json<Client & { clientSecret: string }>();
    expect(client.id).toMatch(/^occ_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(client.clientSecret).toMatch(/^occs_[A-Za-z0-9_-]{43}$/);
    expect(client).toMatchObject({
      audiences: [AUDIENCE, 'https://skills.example.com/skills'], active: true, revokedAt: null,
      createdBy: expect.stringMatching(/^api-token:tok_/) as unknown,
    });
    expect(Object.keys(client).sort()).toEqual(['active', 'audiences', 'clientSecret', 'createdAt', 'createdBy', 'id', 'name', 'revokedAt']);

    const [row] = await db().select().from(schema.oauthClients).where(eq(schema.oauthClients.id, client.id));
    expect(row!.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(client.clientSecret);

    const read = await api({ method: 'GET', url: `/api/v1/oauth-clients/${client.id}` });
    expect(read.statusCode).toBe(200);
    const { clientSecret: _secret, ...view } = client;
    expect(read.json()).toEqual(view);
    for (const body of [read.body, (await api({ method: 'GET', url: '/api/v1/oauth-clients?limit=200' })).body]) {
      expect(body).not.toContain(client.clientSecret);
      expect(body).not.toContain(row!.secretHash);
      expect(body).not.toMatch(/secret|hash/i);
    }
  });

  it('the shown secret authenticates the client for its own audiences', async () => {
    const client = await created([AUDIENCE]);
    expect(await authenticateClient(db(), { form: { client_id: client.id, client_secret: client.clientSecret } }))
      .toEqual({ id: client.id, audiences: [AUDIENCE] });
  });

  it('the list pages with cursor and limit without overlap and shows every client', async () => {
    const mine = [await created(), await created(), await created()].map((c) => c.id);
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await api({ method: 'GET', url: `/api/v1/oauth-clients?limit=2${cursor ? `&cursor=${cursor}` : ''}` });
      expect(response.statusCode).toBe(200);
      const page: Page = response.json<Page>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      ids.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(mine));
    expect(ids).toEqual([...ids].sort());
  });

  it('the list refuses a limit out of bounds', async () => {
    for (const limit of ['0', '201', '1.5', 'ten']) {
      expectProblem(await api({ method: 'GET', url: `/api/v1/oauth-clients?limit=${limit}` }), 400, 'ERR_VALIDATION');
    }
  });

  it('a revoked client keeps its record, reads as inactive, and can no longer authenticate; revoking again is harmless', async () => {
    const client = await created();
    const credentials = { form: { client_id: client.id, client_secret: client.clientSecret } };
    expect(await authenticateClient(db(), credentials)).not.toBeNull();

    const revoked = await api({ method: 'DELETE', url: `/api/v1/oauth-clients/${client.id}` });
    expect(revoked.statusCode).toBe(204);
    expect(revoked.body).toBe('');
    expect(await authenticateClient(db(), credentials)).toBeNull();
    const read = (await api({ method: 'GET', url: `/api/v1/oauth-clients/${client.id}` })).json<Client>();
    expect(read).toMatchObject({ id: client.id, active: false, revokedAt: expect.any(String) as unknown, audiences: [AUDIENCE] });

    const before = await everything();
    expect((await api({ method: 'DELETE', url: `/api/v1/oauth-clients/${client.id}` })).statusCode).toBe(204);
    expect(await everything()).toEqual(before);
    expect((await api({ method: 'GET', url: `/api/v1/oauth-clients/${client.id}` })).json<Client>().revokedAt).toBe(read.revokedAt);
  });

  it('creating and revoking each write one audit event that never carries the secret', async () => {
    const client = await created();
    expect((await api({ method: 'DELETE', url: `/api/v1/oauth-clients/${client.id}` })).statusCode).toBe(204);
    const events = await auditOf(client.id);
    expect(events.map((e) => e.action)).toEqual(['oauthClient.create', 'oauthClient.revoke']);
    for (const event of events) {
      expect(event).toMatchObject({ targetKind: 'oauthClient', actor: expect.stringMatching(/^api-token:tok_/) as unknown, requestId: expect.any(String) as unknown });
      expect(JSON.stringify(event)).not.toContain(client.clientSecret);
      expect(JSON.stringify(event)).not.toMatch(/secret|hash/i);
    }
    expect(events[0]!.after).toMatchObject({ id: client.id, active: true });
    expect(events[1]!.before).toMatchObject({ active: true });
    expect(events[1]!.after).toMatchObject({ active: false });
  });

  it('reading or revoking a missing client is a 404, and an id of another kind is a 400', async () => {
    expectProblem(await api({ method: 'GET', url: `/api/v1/oauth-clients/${newId('oauthClient')}` }), 404, 'ERR_NOT_FOUND');
    expectProblem(await api({ method: 'DELETE', url: `/api/v1/oauth-clients/${newId('oauthClient')}` }), 404, 'ERR_NOT_FOUND');
    expectProblem(await api({ method: 'GET', url: `/api/v1/oauth-clients/${newId('apiToken')}` }), 400, 'ERR_VALIDATION');
  });

  it('security and auditor tokens cannot register, list, read or revoke clients (privilege escalation), and write nothing', async () => {
    const client = await created();
    for (const role of ['security', 'auditor'] as const) {
      const { token } = await f.apiToken(role);
      const before = await everything();
      expectProblem(await create({ name: 'sneaky', audiences: [AUDIENCE] }, token), 403, 'ERR_FORBIDDEN');
      expectProblem(await api({ method: 'GET', url: '/api/v1/oauth-clients', token }), 403, 'ERR_FORBIDDEN');
      expectProblem(await api({ method: 'GET', url: `/api/v1/oauth-clients/${client.id}`, token }), 403, 'ERR_FORBIDDEN');
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/oauth-clients/${client.id}`, token }), 403, 'ERR_FORBIDDEN');
      expect(await everything()).toEqual(before);
    }
  });

  it('an unauthenticated request is a 401 and writes nothing', async () => {
    const client = await created();
    const before = await everything();
    expectProblem(await api({ method: 'POST', url: '/api/v1/oauth-clients', body: { name: 'anonymous', audiences: [AUDIENCE] }, token: null }), 401, 'ERR_UNAUTHENTICATED');
    expectProblem(await api({ method: 'DELETE', url: `/api/v1/oauth-clients/${client.id}`, token: null }), 401, 'ERR_UNAUTHENTICATED');
    expectProblem(await api({ method: 'GET', url: '/api/v1/oauth-clients', token: null }), 401, 'ERR_UNAUTHENTICATED');
    expect(await everything()).toEqual(before);
  });

  it('bad registrations are refused with 400 and write nothing', async () => {
    const name = unique('bad');
    const bad: [string, unknown][] = [
      ['no audiences', { name, audiences: [] }],
      ['audiences missing', { name }],
      ['a relative URI', { name, audiences: ['/mcp'] }],
      ['not a URI', { name, audiences: ['mcp gateway'] }],
      ['an opaque URN', { name, audiences: ['urn:opencrane:mcp'] }],
      ['another scheme', { name, audiences: ['ftp://mcp.example.com/mcp'] }],
      ['javascript', { name, audiences: ['javascript:alert(1)'] }],
      ['no host', { name, audiences: ['https:///mcp'] }],
      ['a fragment', { name, audiences: ['https://mcp.example.com/mcp#x'] }],
      ['whitespace', { name, audiences: ['https://mcp.example.com/m cp'] }],
      ['an over-long URI', { name, audiences: [`https://mcp.example.com/${'a'.repeat(2030)}`] }],
      ['too many audiences', { name, audiences: Array.from({ length: 21 }, (_, i) => `https://mcp.example.com/tool-${i}`) }],
      ['duplicate audiences', { name, audiences: [AUDIENCE, 'https://skills.example.com/skills', AUDIENCE] }],
      ['a non-string audience', { name, audiences: [42] }],
      ['an audience list that is a string', { name, audiences: AUDIENCE }],
      ['no name', { audiences: [AUDIENCE] }],
      ['an empty name', { name: '', audiences: [AUDIENCE] }],
      ['an over-long name', { name: 'n'.repeat(121), audiences: [AUDIENCE] }],
      ['a control character in the name', { name: 'bad\u0000name', audiences: [AUDIENCE] }],
      ['a chosen client secret', { name, audiences: [AUDIENCE], clientSecret: 'occs_mine' }],
      ['a chosen id', { name, audiences: [AUDIENCE], id: newId('oauthClient') }],
      ['a stored hash', { name, audiences: [AUDIENCE], secretHash: '0'.repeat(64) }],
      ['a revocation time', { name, audiences: [AUDIENCE], revokedAt: null }],
    ];
    const before = await everything();
    for (const [what, body] of bad) {
      const response = await create(body);
      expect(response.statusCode, `${what}: ${response.body}`).toBe(400);
      expectProblem(response, 400, 'ERR_VALIDATION');
    }
    expect(await everything()).toEqual(before);
    expect(await api({ method: 'POST', url: '/api/v1/oauth-clients', payload: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }))
      .toMatchObject({ statusCode: 415 });
    expect(await everything()).toEqual(before);
  });

  it('twenty distinct audiences, each at the length limit, are accepted', async () => {
    const long = (i: number) => `https://mcp.example.com/${String(i).padStart(2, '0')}${'a'.repeat(2048 - 26)}`;
    const audiences = Array.from({ length: 20 }, (_, i) => long(i));
    expect(audiences.every((a) => a.length === 2048)).toBe(true);
    const client = await created(audiences);
    expect(client.audiences).toEqual(audiences);
  });
});
