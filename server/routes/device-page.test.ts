// The page where a person approves `oc login`, and its decision endpoint: only a signed-in browser
// session may decide, with the page's CSRF token. Each test names the property or the attack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { schema } from '../../core/index.ts';
import { testDatabases } from '../../test/support/databases.ts';
import { startTestControlPlane, type TestControlPlane } from '../../test/support/control-plane.ts';
import { apiClient, expectNoLeaks, expectProblem } from '../../test/support/api.ts';
import { apiFixtures, type ApiFixtures } from '../../test/support/api-fixtures.ts';
import { createSession, csrfTokenFor, type SessionRole } from '../identity/sessions.ts';

describe.each(testDatabases)('the device approval page on $name', (target) => {
  let control: TestControlPlane;
  let f: ApiFixtures;

  beforeAll(async () => {
    control = await startTestControlPlane(target);
    f = apiFixtures(apiClient(control));
  });
  afterAll(async () => {
    await control?.close();
  });

  const db = () => control.plane.store.db;

  async function inject(options: InjectOptions): Promise<LightMyRequestResponse> {
    const response = await control.plane.app.inject(options);
    expectNoLeaks(response, control.adminToken);
    expect(response.statusCode, response.body).toBeLessThan(500);
    return response;
  }

  async function signedIn(role: SessionRole = 'member') {
    const person = await f.person();
    const { secret } = await createSession(db(), { personId: person.id, role, kind: 'browser', absoluteMs: 3_600_000 });
    return { person, secret };
  }

  async function startLogin(): Promise<{ userCode: string; deviceCode: string }> {
    const response = await inject({
      method: 'POST', url: '/oauth2/device_authorization', payload: 'client_id=oc',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const body = response.json<{ user_code: string; device_code: string }>();
    return { userCode: body.user_code, deviceCode: body.device_code };
  }

  const decide = (secret: string, body: unknown, headers: Record<string, string> = { 'x-csrf-token': csrfTokenFor(secret) }) =>
    inject({ method: 'POST', url: '/auth/device/decision', payload: body as Record<string, unknown>, cookies: { oc_session: secret }, headers });

  const statusOf = async (userCode: string) => (await db().select().from(schema.deviceAuthorizations)
    .where(eq(schema.deviceAuthorizations.userCode, userCode.replace('-', ''))))[0]?.status;

  const auditCount = async (action: string, actor: string) => (await db().select().from(schema.auditEvents)
    .where(and(eq(schema.auditEvents.action, action), eq(schema.auditEvents.actor, actor)))).length;

  it('without a session the page sends the person to sign in, and back here with the code', async () => {
    const response = await inject({ method: 'GET', url: '/auth/device?user_code=bcdf-ghjk' });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe(`/auth/login?returnTo=${encodeURIComponent('/auth/device?user_code=BCDF-GHJK')}`);
    expect((await inject({ method: 'GET', url: '/auth/device' })).headers.location).toBe(`/auth/login?returnTo=${encodeURIComponent('/auth/device')}`);
  });

  it('a crafted user_code cannot smuggle another destination into the sign-in redirect', async () => {
    for (const code of ['//evil.example', 'x&returnTo=https://evil.example', '<script>']) {
      const response = await inject({ method: 'GET', url: `/auth/device?user_code=${encodeURIComponent(code)}` });
      expect(response.statusCode).toBe(302);
      expect(response.headers.location).toBe(`/auth/login?returnTo=${encodeURIComponent('/auth/device')}`);
    }
  });

  it('an ended or CLI session is not a browser sign-in: the page redirects to sign in', async () => {
    const person = await f.person();
    const cli = await createSession(db(), { personId: person.id, role: 'member', kind: 'cli', absoluteMs: 60_000 });
    const response = await inject({ method: 'GET', url: '/auth/device', cookies: { oc_session: cli.secret } });
    expect(response.statusCode).toBe(302);
    const garbage = await inject({ method: 'GET', url: '/auth/device', cookies: { oc_session: 'ocs_forged' } });
    expect(garbage.statusCode).toBe(302);
  });

  it('with a browser session the page shows the code to compare and embeds the session\'s CSRF token', async () => {
    const { person, secret } = await signedIn();
    const response = await inject({ method: 'GET', url: '/auth/device?user_code=bcdfghjk', cookies: { oc_session: secret } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-security-policy']).toMatch(/script-src 'nonce-/);
    expect(response.body).toContain('value="BCDF-GHJK"');
    expect(response.body).toContain(`data-csrf="${csrfTokenFor(secret)}"`);
    expect(response.body).toContain(String(person.displayName));
    expect(response.body).not.toContain(secret);
  });

  it('a person approves with the page\'s CSRF token; the approval binds them and is audited', async () => {
    const { person, secret } = await signedIn('security');
    const { userCode } = await startLogin();
    const response = await decide(secret, { userCode: userCode.toLowerCase().replace('-', ''), approve: true });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ status: 'approved' });
    const [row] = await db().select().from(schema.deviceAuthorizations).where(eq(schema.deviceAuthorizations.userCode, userCode.replace('-', '')));
    expect(row).toMatchObject({ status: 'approved', personId: person.id, role: 'security' });
    expect(await auditCount('device.approve', `person:${person.id}`)).toBe(1);
  });

  it('a person denies; the denial is audited', async () => {
    const { person, secret } = await signedIn();
    const { userCode } = await startLogin();
    expect((await decide(secret, { userCode, approve: false })).json()).toEqual({ status: 'denied' });
    expect(await statusOf(userCode)).toBe('denied');
    expect(await auditCount('device.deny', `person:${person.id}`)).toBe(1);
  });

  it('CSRF: an approval without the CSRF header, or with another session\'s, is refused (403) and changes nothing', async () => {
    const { person, secret } = await signedIn();
    const other = await signedIn();
    const { userCode } = await startLogin();
    expectProblem(await decide(secret, { userCode, approve: true }, {}), 403, 'ERR_FORBIDDEN');
    expectProblem(await decide(secret, { userCode, approve: true }, { 'x-csrf-token': csrfTokenFor(other.secret) }), 403, 'ERR_FORBIDDEN');
    expectProblem(await decide(secret, { userCode, approve: true }, { 'x-csrf-token': csrfTokenFor(secret), origin: 'https://evil.example' }), 403);
    expect(await statusOf(userCode)).toBe('pending');
    expect(await auditCount('auth.csrf-refused', `person:${person.id}`)).toBe(3);
  });

  it('a CLI access token cannot approve another device (a stolen token must not mint a refresh family)', async () => {
    const person = await f.person();
    const cli = await createSession(db(), { personId: person.id, role: 'admin', kind: 'cli', absoluteMs: 60_000 });
    const { userCode } = await startLogin();
    const response = await inject({
      method: 'POST', url: '/auth/device/decision', payload: { userCode, approve: true }, headers: { authorization: `Bearer ${cli.secret}` },
    });
    expectProblem(response, 403, 'ERR_FORBIDDEN');
    expect(await statusOf(userCode)).toBe('pending');
  });

  it('an API token cannot approve a device sign-in', async () => {
    const { userCode } = await startLogin();
    const response = await inject({
      method: 'POST', url: '/auth/device/decision', payload: { userCode, approve: true }, headers: { authorization: `Bearer ${control.adminToken}` },
    });
    expectProblem(response, 403, 'ERR_FORBIDDEN');
    expect(await statusOf(userCode)).toBe('pending');
  });

  it('without any session a decision is a 401', async () => {
    const { userCode } = await startLogin();
    expectProblem(await inject({ method: 'POST', url: '/auth/device/decision', payload: { userCode, approve: true } }), 401);
  });

  it('unknown, malformed, expired and already-decided codes get clear 4xx problems', async () => {
    const { secret } = await signedIn();
    expectProblem(await decide(secret, { userCode: 'ZZZZ-ZZZQ', approve: true }), 404, 'ERR_NOT_FOUND');
    expectProblem(await decide(secret, { userCode: 'AAAA-0000', approve: true }), 404, 'ERR_NOT_FOUND');
    expectProblem(await decide(secret, { userCode: 'x'.repeat(33), approve: true }), 400, 'ERR_VALIDATION');
    expectProblem(await decide(secret, { userCode: 'BCDF-GHJK', approve: 'yes' }), 400, 'ERR_VALIDATION');
    expectProblem(await decide(secret, { userCode: 'BCDF-GHJK', approve: true, personId: 'prs_x' }), 400, 'ERR_VALIDATION');

    const decided = await startLogin();
    expect((await decide(secret, { userCode: decided.userCode, approve: true })).statusCode).toBe(200);
    expectProblem(await decide(secret, { userCode: decided.userCode, approve: false }), 409, 'ERR_CONFLICT');
    expect(await statusOf(decided.userCode)).toBe('approved');

    const expired = await startLogin();
    await db().update(schema.deviceAuthorizations).set({ expiresAt: new Date(Date.now() - 1_000) })
      .where(eq(schema.deviceAuthorizations.userCode, expired.userCode.replace('-', '')));
    const problem = expectProblem(await decide(secret, { userCode: expired.userCode, approve: true }), 409, 'ERR_CONFLICT');
    expect(problem.detail).toMatch(/expired/);
  });
});
