// A tool's upstream authentication on the REST API: the non-secret settings on the tool (each kind
// with its own fields), and the write-only, sealed, versioned secrets (the tool's own, an admin-set
// per-person one, and a person's own through /me). Each refusal test names the misuse it tries and
// checks that nothing was written; the leak tests look for a canary secret in every response, every
// audit row and every log line.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asc, eq, sql } from 'drizzle-orm';
import pino from 'pino';
import type { LightMyRequestResponse } from 'fastify';
import { loggerOptions, newId, schema } from '../core/index.ts';
import { createLocalKeyEncryptor, KeyEncryptionError } from '../token-service/index.ts';
import { credentialContext } from '../mcp-gateway/credentials/index.ts';
import { testDatabases } from '../test/support/databases.ts';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.ts';
import { apiClient, expectProblem, rowCounts, unique, type ApiCall, type ApiClient } from '../test/support/api.ts';
import { apiFixtures, type ApiFixtures } from '../test/support/api-fixtures.ts';
import { createSession, csrfTokenFor } from './identity/sessions.ts';

type Row = Record<string, unknown> & { id: string };
type ToolView = Row & {
  auth: Record<string, unknown> & { kind: string };
  rateLimitPerMinute: number | null;
  credential: { configured: boolean; version: number | null; updatedAt: string | null };
};
type Versions = { versions: { version: number; createdAt: string; createdBy: string }[] };

const KEK = randomBytes(32);
const canary = () => `canary-${randomBytes(18).toString('base64url')}`;

const SETTINGS = {
  header: { kind: 'header', headerName: 'X-Api-Key' },
  client_credentials: {
    kind: 'client_credentials', tokenUrl: 'https://auth.example.com/oauth2/token', clientId: 'opencrane-gateway',
    scope: 'issues:read issues:write', audience: 'https://api.example.com', resource: 'https://api.example.com/mcp',
  },
  token_exchange: { kind: 'token_exchange', tokenUrl: 'https://auth.example.com/oauth2/token', clientId: 'opencrane-gateway', audience: 'issues-api' },
} as const;

describe.each(testDatabases)('tool credentials on $name', (target) => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;
  /** Every response and log line since the last reset, to search for secrets. */
  let responses: LightMyRequestResponse[] = [];
  let logLines: string[] = [];

  beforeAll(async () => {
    // The process's own logger configuration at trace level, captured: the leak tests read every line.
    const logger = pino(loggerOptions('trace'), { write: (line: string) => void logLines.push(line) });
    control = await startTestControlPlane(target, { OPENCRANE_KEY_ENCRYPTION_KEY: KEK.toString('base64') }, { logger });
    const inner = apiClient(control);
    api = async (call: ApiCall) => {
      const response = await inner(call);
      responses.push(response);
      return response;
    };
    f = apiFixtures(api);
  });
  afterAll(async () => {
    await control?.close();
  });
  beforeEach(() => {
    responses = [];
    logLines = [];
  });

  const db = () => control.plane.store.db;
  const tool = (auth?: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    f.tool({ ...(auth ? { auth } : {}), ...extra }) as Promise<ToolView>;
  const read = async (id: string) => (await api({ method: 'GET', url: `/api/v1/tools/${id}` })).json<ToolView>();
  const put = (url: string, secret: unknown, extra: Partial<ApiCall> = {}) => api({ method: 'PUT', url, body: { secret }, ...extra });
  const setTool = (id: string, secret: unknown, extra: Partial<ApiCall> = {}) => put(`/api/v1/tools/${id}/credentials`, secret, extra);
  const versionsAt = async (url: string, extra: Partial<ApiCall> = {}) => {
    const response = await api({ method: 'GET', url, ...extra });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Versions>().versions;
  };
  const credentialRows = (toolId: string) => db().select().from(schema.toolCredentials)
    .where(eq(schema.toolCredentials.toolId, toolId)).orderBy(asc(schema.toolCredentials.version));
  const auditOf = (toolId: string, action: string) => db().select().from(schema.auditEvents)
    .where(sql`${schema.auditEvents.targetId} = ${toolId} and ${schema.auditEvents.action} = ${action}`).orderBy(asc(schema.auditEvents.seq));
  const everything = async () => {
    const [credentials] = await db().select({ n: sql<number>`count(*)::int` }).from(schema.toolCredentials);
    return { ...(await rowCounts(control)), toolCredentials: Number(credentials?.n ?? 0) };
  };
  /** A person with a member's browser session; `grantTool` gives them an allow grant on that tool. */
  async function member(grantTool?: string) {
    const person = await f.person();
    if (grantTool) await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: grantTool }, effect: 'allow' });
    const { secret } = await createSession(db(), { personId: person.id, role: 'member', kind: 'browser', absoluteMs: 3_600_000 });
    const headers = { cookie: `oc_session=${secret}`, 'x-csrf-token': csrfTokenFor(secret) };
    return { person, headers, as: { token: null, headers } satisfies Partial<ApiCall> };
  }
  /** Fails if the secret shows anywhere a caller, an auditor or an operator could read it. */
  async function expectNowhere(secret: string) {
    expect(responses.length, 'responses were recorded').toBeGreaterThan(0);
    for (const response of responses) {
      expect(response.body, `${response.statusCode} body`).not.toContain(secret);
      expect(JSON.stringify(response.headers)).not.toContain(secret);
    }
    const audit = await db().select().from(schema.auditEvents);
    expect(audit.length).toBeGreaterThan(0);
    for (const event of audit) expect(JSON.stringify(event), event.action).not.toContain(secret);
    expect(logLines.join('\n')).not.toContain(secret);
    for (const row of await db().select().from(schema.toolCredentials)) expect(row.sealed).not.toContain(secret);
  }

  describe('auth settings on the tool', () => {
    it('a new tool authenticates with none, has no rate limit and shows no credential', async () => {
      const created = await tool();
      expect(created).toMatchObject({ auth: { kind: 'none' }, rateLimitPerMinute: null, credential: { configured: false, version: null, updatedAt: null } });
      expect(Object.keys(created.auth)).toEqual(['kind']);
      expect(await read(created.id)).toEqual(created);
    });

    it('each kind is accepted with its own settings, read back as given, and listed the same', async () => {
      const made = [
        await tool({ kind: 'bearer' }, { rateLimitPerMinute: 120 }),
        await tool(SETTINGS.header),
        await tool(SETTINGS.client_credentials),
        await tool({ kind: 'per_person' }),
        await tool(SETTINGS.token_exchange),
        await tool({ kind: 'token_exchange', tokenUrl: 'http://127.0.0.1:9000/token', clientId: 'gw', resource: 'urn:example:issues', scope: 'read' }),
      ];
      expect(made.map((t) => t.auth)).toEqual([
        { kind: 'bearer' }, SETTINGS.header, SETTINGS.client_credentials, { kind: 'per_person' }, SETTINGS.token_exchange,
        { kind: 'token_exchange', tokenUrl: 'http://127.0.0.1:9000/token', clientId: 'gw', resource: 'urn:example:issues', scope: 'read' },
      ]);
      expect(made[0]!.rateLimitPerMinute).toBe(120);
      const listed = (await api({ method: 'GET', url: '/api/v1/tools?limit=200' })).json<{ items: ToolView[] }>().items;
      for (const t of made) expect(listed.find((l) => l.id === t.id)).toEqual(t);
    });

    it('PATCH replaces the whole auth setting, sets and clears the rate limit, and leaves other fields alone', async () => {
      const created = await tool(SETTINGS.client_credentials, { rateLimitPerMinute: 60 });
      const patched = await api({ method: 'PATCH', url: `/api/v1/tools/${created.id}`, body: { auth: SETTINGS.header } });
      expect(patched.statusCode, patched.body).toBe(200);
      expect(patched.json<ToolView>()).toMatchObject({ auth: SETTINGS.header, rateLimitPerMinute: 60, url: created.url, name: created.name });
      const cleared = await api({ method: 'PATCH', url: `/api/v1/tools/${created.id}`, body: { rateLimitPerMinute: null } });
      expect(cleared.json<ToolView>()).toMatchObject({ auth: SETTINGS.header, rateLimitPerMinute: null });
      const [event] = (await auditOf(created.id, 'tool.update'));
      expect(event!.before).toMatchObject({ auth: SETTINGS.client_credentials });
      expect(event!.after).toMatchObject({ auth: SETTINGS.header });
    });

    it('settings that do not fit their kind, header injection and reserved header names are refused with 400 naming the field, and write nothing', async () => {
      const existing = await tool(SETTINGS.header);
      const cc = SETTINGS.client_credentials;
      const bad: [string, unknown, string?][] = [
        ['header without headerName', { kind: 'header' }, 'body/auth/headerName'],
        ['a Host header (request smuggling)', { kind: 'header', headerName: 'Host' }, 'body/auth/headerName'],
        ['an Authorization header (use bearer)', { kind: 'header', headerName: 'authorization' }, 'body/auth/headerName'],
        ['a hop-by-hop header', { kind: 'header', headerName: 'Transfer-Encoding' }, 'body/auth/headerName'],
        ['the Connection header', { kind: 'header', headerName: 'connection' }, 'body/auth/headerName'],
        ['the MCP session header', { kind: 'header', headerName: 'Mcp-Session-Id' }, 'body/auth/headerName'],
        ['Content-Length', { kind: 'header', headerName: 'content-length' }, 'body/auth/headerName'],
        ['a header name with CRLF (header injection)', { kind: 'header', headerName: 'X-Key\r\nX-Admin: 1' }],
        ['a header name with a colon', { kind: 'header', headerName: 'X-Key:' }],
        ['a header name with a space', { kind: 'header', headerName: 'X Api Key' }],
        ['an over-long header name', { kind: 'header', headerName: `X-${'k'.repeat(63)}` }],
        ['client_credentials without tokenUrl', { kind: 'client_credentials', clientId: 'gw' }, 'body/auth/tokenUrl'],
        ['client_credentials without clientId', { kind: 'client_credentials', tokenUrl: cc.tokenUrl }, 'body/auth/clientId'],
        ['a javascript: token URL', { ...cc, tokenUrl: 'javascript:alert(1)' }],
        ['a file: token URL', { ...cc, tokenUrl: 'file:///etc/passwd' }],
        ['a token URL with user info', { ...cc, tokenUrl: 'https://user:pass@auth.example.com/token' }],
        ['a token URL with a fragment', { ...cc, tokenUrl: 'https://auth.example.com/token#x' }],
        ['a relative token URL', { ...cc, tokenUrl: '/oauth2/token' }],
        ['an over-long token URL', { ...cc, tokenUrl: `https://auth.example.com/${'t'.repeat(2030)}` }],
        ['a client id with a control character', { ...cc, clientId: 'gw\u0000' }],
        ['a scope with a quote', { ...cc, scope: 'read "write"' }],
        ['a scope with a double space', { ...cc, scope: 'read  write' }],
        ['an audience with a space', { ...cc, audience: 'issues api' }],
        ['a resource with a fragment', { ...cc, resource: 'https://api.example.com/mcp#frag' }],
        ['token_exchange without audience or resource', { kind: 'token_exchange', tokenUrl: cc.tokenUrl, clientId: 'gw' }, 'body/auth/audience'],
        ['token_exchange without clientId', { kind: 'token_exchange', tokenUrl: cc.tokenUrl, audience: 'x' }, 'body/auth/clientId'],
        ['none with a header name', { kind: 'none', headerName: 'X-Api-Key' }, 'body/auth/headerName'],
        ['bearer with a token URL', { kind: 'bearer', tokenUrl: cc.tokenUrl }, 'body/auth/tokenUrl'],
        ['per_person with a client id', { kind: 'per_person', clientId: 'gw' }, 'body/auth/clientId'],
        ['header with a scope', { ...SETTINGS.header, scope: 'read' }, 'body/auth/scope'],
        ['an unknown kind', { kind: 'basic' }],
        ['no kind', { headerName: 'X-Api-Key' }],
        ['an unknown setting', { kind: 'bearer', password: 'hunter2' }],
        ['a secret in the settings', { kind: 'bearer', secret: 'hunter2' }],
        ['auth as a string', 'bearer'],
      ];
      const before = await everything();
      for (const [what, auth, field] of bad) {
        for (const call of [
          { method: 'POST' as const, url: '/api/v1/tools', body: { name: unique('bad'), url: 'https://x.example.com/mcp', auth } },
          { method: 'PATCH' as const, url: `/api/v1/tools/${existing.id}`, body: { auth } },
        ]) {
          const response = await api(call);
          expect(response.statusCode, `${what} (${call.method}): ${response.body}`).toBe(400);
          const problem = expectProblem(response, 400, 'ERR_VALIDATION');
          if (field) expect((problem.errors as { field: string }[]).map((e) => e.field), what).toContain(field);
        }
      }
      for (const rateLimitPerMinute of [0, -1, 1.5, 1_000_001, '10', true]) {
        expectProblem(await api({ method: 'POST', url: '/api/v1/tools', body: { name: unique('bad'), url: 'https://x.example.com', rateLimitPerMinute } }), 400, 'ERR_VALIDATION');
        expectProblem(await api({ method: 'PATCH', url: `/api/v1/tools/${existing.id}`, body: { rateLimitPerMinute } }), 400, 'ERR_VALIDATION');
      }
      expect(await everything()).toEqual(before);
      expect(await read(existing.id)).toEqual(existing);
    });
  });

  describe('the tool\'s own secret', () => {
    it('PUT answers 204 with no body and no-store; the view then shows version 1 and never the secret', async () => {
      const secret = canary();
      const created = await tool({ kind: 'bearer' });
      const response = await setTool(created.id, secret);
      expect(response.statusCode, response.body).toBe(204);
      expect(response.body).toBe('');
      expect(response.headers['cache-control']).toBe('no-store');
      const view = await read(created.id);
      expect(view.credential).toEqual({ configured: true, version: 1, updatedAt: expect.any(String) as unknown });
      expect(Date.parse(view.credential.updatedAt!)).toBeGreaterThanOrEqual(Date.parse(created.createdAt as string));
      expect(JSON.stringify(view)).not.toMatch(/secret|sealed/i);
      await expectNowhere(secret);
    });

    it('each PUT adds a version; the versions list is newest first, names who set each, carries no secret, and is no-store', async () => {
      const created = await tool(SETTINGS.header);
      const secrets = [canary(), canary(), canary()];
      for (const secret of secrets) expect((await setTool(created.id, secret)).statusCode).toBe(204);
      const response = await api({ method: 'GET', url: `/api/v1/tools/${created.id}/credentials` });
      expect(response.headers['cache-control']).toBe('no-store');
      const { versions } = response.json<Versions>();
      expect(versions.map((v) => v.version)).toEqual([3, 2, 1]);
      for (const v of versions) {
        expect(Object.keys(v).sort()).toEqual(['createdAt', 'createdBy', 'version']);
        expect(v.createdBy).toMatch(/^api-token:tok_/);
      }
      expect((await read(created.id)).credential.version).toBe(3);
      const events = await auditOf(created.id, 'tool.credentials.set');
      expect(events.map((e) => e.after)).toEqual([1, 2, 3].map((version) => ({ personId: null, version })));
      expect(events.every((e) => e.actor.startsWith('api-token:') && e.targetKind === 'tool' && e.requestId)).toBe(true);
      for (const secret of secrets) await expectNowhere(secret);
    });

    it('the database holds an AES-256-GCM envelope bound to its row: it opens to the secret there and nowhere else', async () => {
      const secret = canary();
      const created = await tool({ kind: 'bearer' });
      await setTool(created.id, secret);
      await setTool(created.id, canary());
      const [first, second] = await credentialRows(created.id);
      expect(first!.id).toMatch(/^tcr_[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(first!.sealed).toMatch(/^v1\./);
      expect(first!.personId).toBeNull();
      const encryptor = createLocalKeyEncryptor(KEK);
      expect(await encryptor.decrypt(first!.sealed, credentialContext(first!.id))).toBe(secret);
      // Moved onto another row (a tampered database), the envelope no longer opens.
      await expect(encryptor.decrypt(first!.sealed, credentialContext(second!.id))).rejects.toBeInstanceOf(KeyEncryptionError);
      await expect(createLocalKeyEncryptor(randomBytes(32)).decrypt(first!.sealed, credentialContext(first!.id))).rejects.toBeInstanceOf(KeyEncryptionError);
    });

    it('concurrent PUTs (a race) each get their own version, with no gaps and no duplicates', async () => {
      const created = await tool({ kind: 'bearer' });
      const results = await Promise.all(Array.from({ length: 8 }, () => setTool(created.id, canary())));
      expect(results.map((r) => r.statusCode)).toEqual(Array(8).fill(204));
      const versions = (await auditOf(created.id, 'tool.credentials.set')).map((e) => (e.after as { version: number }).version).sort((a, b) => a - b);
      expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect((await read(created.id)).credential.version).toBe(8);
    });

    it('only the five newest versions are kept', async () => {
      const created = await tool({ kind: 'bearer' });
      for (let i = 0; i < 7; i++) await setTool(created.id, canary());
      expect((await credentialRows(created.id)).map((r) => r.version)).toEqual([3, 4, 5, 6, 7]);
      expect((await versionsAt(`/api/v1/tools/${created.id}/credentials`)).map((v) => v.version)).toEqual([7, 6, 5, 4, 3]);
    });

    it('DELETE removes every version and is audited once with the versions; deleting again changes nothing', async () => {
      const created = await tool({ kind: 'bearer' });
      await setTool(created.id, canary());
      await setTool(created.id, canary());
      const response = await api({ method: 'DELETE', url: `/api/v1/tools/${created.id}/credentials` });
      expect(response.statusCode).toBe(204);
      expect(await credentialRows(created.id)).toEqual([]);
      expect((await read(created.id)).credential).toEqual({ configured: false, version: null, updatedAt: null });
      expect(await versionsAt(`/api/v1/tools/${created.id}/credentials`)).toEqual([]);
      expect((await auditOf(created.id, 'tool.credentials.delete')).map((e) => e.before)).toEqual([{ personId: null, versions: [1, 2] }]);
      const before = await everything();
      expect((await api({ method: 'DELETE', url: `/api/v1/tools/${created.id}/credentials` })).statusCode).toBe(204);
      expect(await everything()).toEqual(before);
    });

    it('deleting the tool deletes its credentials', async () => {
      const created = await tool({ kind: 'bearer' });
      await setTool(created.id, canary());
      expect((await api({ method: 'DELETE', url: `/api/v1/tools/${created.id}` })).statusCode).toBe(204);
      expect(await credentialRows(created.id)).toEqual([]);
    });

    it('a tool whose kind takes no tool secret (none, per_person) refuses a PUT with 409 and writes nothing', async () => {
      for (const kind of ['none', 'per_person']) {
        const created = await tool({ kind });
        const secret = canary();
        const before = await everything();
        expectProblem(await setTool(created.id, secret), 409, 'ERR_CONFLICT');
        expect(await everything()).toEqual(before);
        await expectNowhere(secret);
      }
    });

    it('a malformed secret is refused with 400, writes nothing and is not echoed back', async () => {
      const created = await tool({ kind: 'bearer' });
      const base = canary();
      const bad: [string, unknown][] = [
        ['an empty secret', ''], ['an over-long secret', `${base}${'s'.repeat(8192)}`], ['a newline (header injection)', `${base}\r\nX-Admin: 1`],
        ['a NUL', `${base}\u0000`], ['a tab', `${base}\tx`], ['a DEL', `${base}\u007f`], ['a leading space', ` ${base}`],
        ['a trailing space', `${base} `], ['a non-ASCII character', `${base}é`], ['a number', 42], ['null', null],
      ];
      const before = await everything();
      for (const [what, secret] of bad) {
        const response = await setTool(created.id, secret);
        expect(response.statusCode, `${what}: ${response.body}`).toBe(400);
        expectProblem(response, 400, 'ERR_VALIDATION');
      }
      expectProblem(await api({ method: 'PUT', url: `/api/v1/tools/${created.id}/credentials`, body: {} }), 400, 'ERR_VALIDATION');
      expectProblem(await api({ method: 'PUT', url: `/api/v1/tools/${created.id}/credentials`, body: { secret: base, version: 9 } }), 400, 'ERR_VALIDATION');
      expectProblem(await api({ method: 'PUT', url: `/api/v1/tools/${created.id}/credentials` }), 400, 'ERR_VALIDATION');
      expect(await api({
        method: 'PUT', url: `/api/v1/tools/${created.id}/credentials`, payload: `secret=${base}`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })).toMatchObject({ statusCode: 415 });
      expect(await everything()).toEqual(before);
      await expectNowhere(base);
    });

    it('an 8192-character secret of visible ASCII with inner spaces is accepted', async () => {
      const created = await tool({ kind: 'bearer' });
      const secret = `a b${'~'.repeat(8189)}`;
      expect(secret).toHaveLength(8192);
      expect((await setTool(created.id, secret)).statusCode).toBe(204);
    });

    it('a missing tool is a 404 and an id of another kind a 400, for every credential route', async () => {
      const missing = newId('tool');
      const person = await f.person();
      expectProblem(await setTool(missing, canary()), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'GET', url: `/api/v1/tools/${missing}/credentials` }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/tools/${missing}/credentials` }), 404, 'ERR_NOT_FOUND');
      expectProblem(await put(`/api/v1/tools/${missing}/credentials/people/${person.id}`, canary()), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'GET', url: `/api/v1/tools/${missing}/credentials/people/${person.id}` }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/tools/${missing}/credentials/people/${person.id}` }), 404, 'ERR_NOT_FOUND');
      expectProblem(await setTool(newId('skill'), canary()), 400, 'ERR_VALIDATION');
      expectProblem(await put(`/api/v1/tools/${(await tool({ kind: 'per_person' })).id}/credentials/people/${newId('team')}`, canary()), 400, 'ERR_VALIDATION');
    });

    it('security and auditor tokens may list versions but cannot set or delete a secret (privilege escalation), and write nothing', async () => {
      const created = await tool({ kind: 'bearer' });
      await setTool(created.id, canary());
      for (const role of ['security', 'auditor'] as const) {
        const { token } = await f.apiToken(role);
        const before = await everything();
        expectProblem(await setTool(created.id, canary(), { token }), 403, 'ERR_FORBIDDEN');
        expectProblem(await api({ method: 'DELETE', url: `/api/v1/tools/${created.id}/credentials`, token }), 403, 'ERR_FORBIDDEN');
        expect((await versionsAt(`/api/v1/tools/${created.id}/credentials`, { token })).map((v) => v.version)).toEqual([1]);
        expect(await everything()).toEqual(before);
      }
    });

    it('an unauthenticated request is a 401 and writes nothing', async () => {
      const created = await tool({ kind: 'bearer' });
      const before = await everything();
      expectProblem(await setTool(created.id, canary(), { token: null }), 401, 'ERR_UNAUTHENTICATED');
      expectProblem(await api({ method: 'GET', url: `/api/v1/tools/${created.id}/credentials`, token: null }), 401, 'ERR_UNAUTHENTICATED');
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/tools/${created.id}/credentials`, token: null }), 401, 'ERR_UNAUTHENTICATED');
      expect(await everything()).toEqual(before);
    });
  });

  describe('per-person secrets', () => {
    it('an admin sets a person\'s secret for a per_person tool; versions count per person; delete is per person', async () => {
      const created = await tool({ kind: 'per_person' });
      const [ada, bob] = [await f.person(), await f.person()];
      const at = (p: Row) => `/api/v1/tools/${created.id}/credentials/people/${p.id}`;
      expect((await put(at(ada), canary())).statusCode).toBe(204);
      expect((await put(at(ada), canary())).statusCode).toBe(204);
      expect((await put(at(bob), canary())).statusCode).toBe(204);
      expect((await versionsAt(at(ada))).map((v) => v.version)).toEqual([2, 1]);
      expect((await versionsAt(at(bob))).map((v) => v.version)).toEqual([1]);
      // The tool's own secret is a separate thing, and a per_person tool has none.
      expect(await versionsAt(`/api/v1/tools/${created.id}/credentials`)).toEqual([]);
      expect((await read(created.id)).credential.configured).toBe(false);
      const rows = await credentialRows(created.id);
      expect(rows.filter((r) => r.personId === ada.id)).toHaveLength(2);
      expect((await auditOf(created.id, 'tool.credentials.set')).map((e) => e.after)).toEqual([
        { personId: ada.id, version: 1 }, { personId: ada.id, version: 2 }, { personId: bob.id, version: 1 },
      ]);
      expect((await api({ method: 'DELETE', url: at(ada) })).statusCode).toBe(204);
      expect(await versionsAt(at(ada))).toEqual([]);
      expect((await versionsAt(at(bob))).map((v) => v.version)).toEqual([1]);
    });

    it('a person\'s secret for a tool of another kind is a 409, and for a missing person a 404; neither writes anything', async () => {
      const bearer = await tool({ kind: 'bearer' });
      const perPerson = await tool({ kind: 'per_person' });
      const person = await f.person();
      const before = await everything();
      expectProblem(await put(`/api/v1/tools/${bearer.id}/credentials/people/${person.id}`, canary()), 409, 'ERR_CONFLICT');
      expectProblem(await put(`/api/v1/tools/${perPerson.id}/credentials/people/${newId('person')}`, canary()), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'GET', url: `/api/v1/tools/${perPerson.id}/credentials/people/${newId('person')}` }), 404, 'ERR_NOT_FOUND');
      expect(await everything()).toEqual(before);
    });

    it('deleting the person deletes their secrets', async () => {
      const created = await tool({ kind: 'per_person' });
      const person = await f.person();
      await put(`/api/v1/tools/${created.id}/credentials/people/${person.id}`, canary());
      expect((await api({ method: 'DELETE', url: `/api/v1/people/${person.id}` })).statusCode).toBe(204);
      expect(await credentialRows(created.id)).toEqual([]);
    });

    it('a signed-in person sets, lists and deletes their own secret for a tool they may use', async () => {
      const created = await tool({ kind: 'per_person' });
      const { person, as } = await member(created.id);
      const secret = canary();
      const mine = `/api/v1/me/tools/${created.id}/credentials`;
      const response = await put(mine, secret, as);
      expect(response.statusCode, response.body).toBe(204);
      expect(response.headers['cache-control']).toBe('no-store');
      expect((await put(mine, canary(), as)).statusCode).toBe(204);
      const versions = await versionsAt(mine, as);
      expect(versions.map((v) => [v.version, v.createdBy])).toEqual([[2, `person:${person.id}`], [1, `person:${person.id}`]]);
      // The admin sees the same versions under the person.
      expect(await versionsAt(`/api/v1/tools/${created.id}/credentials/people/${person.id}`)).toEqual(versions);
      const [event] = await auditOf(created.id, 'tool.credentials.set');
      expect(event).toMatchObject({ actor: `person:${person.id}`, after: { personId: person.id, version: 1 } });
      expect((await api({ method: 'DELETE', url: mine, ...as })).statusCode).toBe(204);
      expect(await versionsAt(mine, as)).toEqual([]);
      await expectNowhere(secret);
    });

    it('a person cannot see or set a secret for a tool they have no grant for: 404 as if it did not exist, nothing written', async () => {
      const created = await tool({ kind: 'per_person' });
      const { as } = await member();
      const before = await everything();
      expectProblem(await put(`/api/v1/me/tools/${created.id}/credentials`, canary(), as), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'GET', url: `/api/v1/me/tools/${created.id}/credentials`, ...as }), 404, 'ERR_NOT_FOUND');
      expectProblem(await put(`/api/v1/me/tools/${newId('tool')}/credentials`, canary(), as), 404, 'ERR_NOT_FOUND');
      expect(await everything()).toEqual(before);
    });

    it('a person whose grant was withdrawn can still delete their own secret', async () => {
      const created = await tool({ kind: 'per_person' });
      const { person, as } = await member(created.id);
      await put(`/api/v1/me/tools/${created.id}/credentials`, canary(), as);
      const grants = (await api({ method: 'GET', url: `/api/v1/grants?subjectId=${person.id}` })).json<{ items: Row[] }>().items;
      for (const grant of grants) expect((await api({ method: 'DELETE', url: `/api/v1/grants/${grant.id}` })).statusCode).toBe(204);
      expectProblem(await api({ method: 'GET', url: `/api/v1/me/tools/${created.id}/credentials`, ...as }), 404, 'ERR_NOT_FOUND');
      expect((await api({ method: 'DELETE', url: `/api/v1/me/tools/${created.id}/credentials`, ...as })).statusCode).toBe(204);
      expect(await credentialRows(created.id)).toEqual([]);
    });

    it('a person\'s own secret for a tool that is not per_person is a 409', async () => {
      const created = await tool({ kind: 'bearer' });
      const { as } = await member(created.id);
      expectProblem(await put(`/api/v1/me/tools/${created.id}/credentials`, canary(), as), 409, 'ERR_CONFLICT');
    });

    it('a member cannot reach the admin routes to set or read another person\'s secret (privilege escalation)', async () => {
      const created = await tool({ kind: 'per_person' });
      const victim = await f.person();
      const { as } = await member(created.id);
      const before = await everything();
      expectProblem(await put(`/api/v1/tools/${created.id}/credentials/people/${victim.id}`, canary(), as), 403, 'ERR_FORBIDDEN');
      expectProblem(await api({ method: 'GET', url: `/api/v1/tools/${created.id}/credentials/people/${victim.id}`, ...as }), 403, 'ERR_FORBIDDEN');
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/tools/${created.id}/credentials/people/${victim.id}`, ...as }), 403, 'ERR_FORBIDDEN');
      expectProblem(await setTool(created.id, canary(), as), 403, 'ERR_FORBIDDEN');
      expect(await everything()).toEqual(before);
    });

    it('a cross-site request with the session cookie but no CSRF token is refused (CSRF) and writes no credential', async () => {
      const created = await tool({ kind: 'per_person' });
      const { headers } = await member(created.id);
      const before = await credentialRows(created.id);
      expectProblem(await put(`/api/v1/me/tools/${created.id}/credentials`, canary(), { token: null, headers: { cookie: headers.cookie } }), 403, 'ERR_FORBIDDEN');
      expectProblem(await put(`/api/v1/me/tools/${created.id}/credentials`, canary(), {
        token: null, headers: { ...headers, origin: 'https://evil.example' },
      }), 403, 'ERR_FORBIDDEN');
      expect(await credentialRows(created.id)).toEqual(before);
    });

    it('an API token has no "me": the person routes answer 404', async () => {
      const created = await tool({ kind: 'per_person' });
      expectProblem(await put(`/api/v1/me/tools/${created.id}/credentials`, canary()), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'GET', url: `/api/v1/me/tools/${created.id}/credentials` }), 404, 'ERR_NOT_FOUND');
      expectProblem(await api({ method: 'DELETE', url: `/api/v1/me/tools/${created.id}/credentials` }), 404, 'ERR_NOT_FOUND');
    });
  });

  describe('the secret never leaks', () => {
    it('a canary secret appears in no response, audit row or log line, across every route and refusal', async () => {
      const secret = canary();
      const bearer = await tool({ kind: 'bearer' });
      const perPerson = await tool({ kind: 'per_person' });
      const { person, as } = await member(perPerson.id);
      await setTool(bearer.id, secret);
      await setTool(perPerson.id, secret);
      await put(`/api/v1/tools/${perPerson.id}/credentials/people/${person.id}`, secret);
      await put(`/api/v1/tools/${bearer.id}/credentials/people/${person.id}`, secret);
      await put(`/api/v1/me/tools/${perPerson.id}/credentials`, secret, as);
      await put(`/api/v1/me/tools/${bearer.id}/credentials`, secret, as);
      await setTool(newId('tool'), secret);
      await setTool(bearer.id, `${secret}\n`);
      await api({ method: 'PUT', url: `/api/v1/tools/${bearer.id}/credentials`, payload: `{"secret": "${secret}"`, headers: { 'content-type': 'application/json' } });
      await api({ method: 'GET', url: `/api/v1/tools/${bearer.id}` });
      await api({ method: 'GET', url: `/api/v1/tools/${bearer.id}/credentials` });
      await api({ method: 'GET', url: `/api/v1/tools/${perPerson.id}/credentials/people/${person.id}` });
      await api({ method: 'GET', url: `/api/v1/me/tools/${perPerson.id}/credentials`, ...as });
      await api({ method: 'GET', url: `/api/v1/audit?limit=200` });
      await api({ method: 'DELETE', url: `/api/v1/tools/${bearer.id}/credentials` });
      expect(logLines.some((line) => line.includes('/credentials')), 'request log lines were captured').toBe(true);
      await expectNowhere(secret);
    });

    it('the log configuration redacts a secret field when a request body is logged', () => {
      const secret = canary();
      const lines: string[] = [];
      const logger = pino(loggerOptions('trace'), { write: (line: string) => void lines.push(line) });
      logger.info({ body: { secret } }, 'request body');
      logger.info({ tool: { credential: secret } }, 'credential');
      expect(lines).toHaveLength(2);
      expect(lines.join('\n')).not.toContain(secret);
    });
  });
});
