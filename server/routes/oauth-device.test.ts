// `oc login` over HTTP against a real control plane and database: the device authorization grant
// (RFC 8628), the token endpoint's answers (RFC 6749 §5), refresh-token rotation and reuse detection.
// Each test names the property it holds or the attack it tries.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { newId, schema } from '../../core/index.ts';
import { testDatabases } from '../../test/support/databases.ts';
import { startTestControlPlane, type TestControlPlane } from '../../test/support/control-plane.ts';
import { apiClient, expectNoLeaks } from '../../test/support/api.ts';
import { apiFixtures, type ApiFixtures } from '../../test/support/api-fixtures.ts';
import { createSession, csrfTokenFor, type SessionRole } from '../identity/sessions.ts';
import { OAuthError, readForm } from '../../token-service/index.ts';
import { DEVICE_CODE_GRANT_TYPE } from './oauth-device.ts';

const FORM = 'application/x-www-form-urlencoded';

describe('reading OAuth form parameters', () => {
  const fields = { client_id: { max: 64 }, scope: { max: 200 }, refresh_token: { max: 100 }, audience: { max: 100, repeatable: true } };

  it('treats empty parameters as absent and ignores unknown ones', () => {
    expect(readForm({ client_id: 'oc', scope: '', unknown: 'x' }, fields)).toEqual({ client_id: 'oc' });
    expect(readForm(undefined, fields)).toEqual({});
  });

  it('refuses a repeated parameter (parameter pollution) and an over-long one', () => {
    expect(() => readForm({ client_id: ['oc', 'evil'] }, fields)).toThrow(OAuthError);
    expect(() => readForm({ refresh_token: 'x'.repeat(101) }, fields)).toThrow(/too long/);
  });

  it('keeps every value of a parameter the grant allows to repeat, and bounds each', () => {
    expect(readForm({ audience: ['a', 'b'] }, fields)).toEqual({ audience: ['a', 'b'] });
    expect(readForm({ audience: 'a' }, fields)).toEqual({ audience: ['a'] });
    expect(() => readForm({ audience: ['a', 'x'.repeat(101)] }, fields)).toThrow(/too long/);
    expect(() => readForm({ audience: Array.from({ length: 21 }, () => 'a') }, fields)).toThrow(/too often/);
  });
});

interface DeviceAuthorizationResponse {
  device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; expires_in: number; interval: number;
}
interface TokenResponse { access_token: string; token_type: string; expires_in: number; refresh_token: string; scope?: string }

describe.each(testDatabases)('CLI sign-in (device flow) on $name', (target) => {
  let control: TestControlPlane;
  let f: ApiFixtures;

  beforeAll(async () => {
    control = await startTestControlPlane(target, { PUBLIC_URL: 'http://opencrane.test' });
    f = apiFixtures(apiClient(control));
  });
  afterAll(async () => {
    await control?.close();
  });

  const db = () => control.plane.store.db;

  async function send(url: string, payload: string, headers: Record<string, string> = { 'content-type': FORM }): Promise<LightMyRequestResponse> {
    const response = await control.plane.app.inject({ method: 'POST', url, payload, headers });
    expectNoLeaks(response, control.adminToken);
    expect(response.statusCode, `${url} must never be a 5xx: ${response.body}`).toBeLessThan(500);
    return response;
  }
  const post = (url: string, fields: Record<string, string>) => send(url, new URLSearchParams(fields).toString());

  const authorize = async (fields: Record<string, string> = {}) => {
    const response = await post('/oauth2/device_authorization', { client_id: 'oc', ...fields });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<DeviceAuthorizationResponse>();
  };
  const poll = (deviceCode: string) => post('/oauth2/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, client_id: 'oc' });
  const refresh = (refreshToken: string) => post('/oauth2/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'oc' });

  const expectOAuthError = (response: LightMyRequestResponse, error: string, status = 400) => {
    expect(response.statusCode, response.body).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json<Record<string, unknown>>();
    expect(body).toEqual({ error, error_description: expect.any(String) as unknown });
  };

  /** A person signed in in the browser, with a session of the given role. */
  async function signedIn(role: SessionRole = 'admin') {
    const person = await f.person();
    const { secret } = await createSession(db(), { personId: person.id, role, kind: 'browser', absoluteMs: 3_600_000 });
    return { person, secret };
  }
  const decide = (browser: { secret: string }, userCode: string, approve: boolean) => control.plane.app.inject({
    method: 'POST', url: '/auth/device/decision', payload: { userCode, approve },
    cookies: { oc_session: browser.secret }, headers: { 'x-csrf-token': csrfTokenFor(browser.secret) },
  });
  const approve = async (browser: { secret: string }, userCode: string) => {
    const response = await decide(browser, userCode, true);
    expect(response.statusCode, response.body).toBe(200);
  };
  const callApi = (accessToken: string) => control.plane.app.inject({
    method: 'GET', url: '/api/v1/people', headers: { authorization: `Bearer ${accessToken}` },
  });

  /** A signed-in `oc`: the whole flow, returning its tokens. */
  async function loggedIn(role: SessionRole = 'admin') {
    const browser = await signedIn(role);
    const started = await authorize();
    await approve(browser, started.user_code);
    const response = await poll(started.device_code);
    expect(response.statusCode, response.body).toBe(200);
    return { ...browser, tokens: response.json<TokenResponse>() };
  }

  it('the whole flow signs oc in: authorize, pending, approve in the browser, tokens that call the API', async () => {
    const browser = await signedIn('admin');
    const started = await authorize({ scope: 'openid offline_access' });
    expect(started).toEqual({
      device_code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown,
      user_code: expect.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/) as unknown,
      verification_uri: 'http://opencrane.test/auth/device',
      verification_uri_complete: `http://opencrane.test/auth/device?user_code=${started.user_code}`,
      expires_in: 600,
      interval: 5,
    });

    expectOAuthError(await poll(started.device_code), 'authorization_pending');
    await approve(browser, started.user_code);

    const response = await poll(started.device_code);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers.pragma).toBe('no-cache');
    const tokens = response.json<TokenResponse>();
    expect(tokens).toEqual({
      access_token: expect.stringMatching(/^ocs_/) as unknown, token_type: 'Bearer', expires_in: 900,
      refresh_token: expect.stringMatching(/^rft_[A-Za-z0-9_-]{43}$/) as unknown, scope: 'openid offline_access',
    });
    expect((await callApi(tokens.access_token)).statusCode).toBe(200);

    const sessions = await db().select().from(schema.sessions).where(eq(schema.sessions.personId, browser.person.id));
    const minted = sessions.find((s) => s.kind === 'cli')!;
    expect(minted.role).toBe('admin');
    expect(minted.expiresAt.getTime() - minted.createdAt.getTime()).toBeLessThanOrEqual(15 * 60_000 + 1_000);
    expect(minted.refreshFamilyId).toBeTruthy();
  });

  it('device codes and refresh tokens are stored only as hashes', async () => {
    const { tokens } = await loggedIn();
    const stored = JSON.stringify([
      await db().select().from(schema.deviceAuthorizations), await db().select().from(schema.refreshTokens),
    ]);
    expect(stored.includes(tokens.refresh_token)).toBe(false);
    expect(stored.includes(tokens.refresh_token.slice(4))).toBe(false);
  });

  it('a device code cannot be redeemed twice (replay after success is invalid_grant)', async () => {
    const browser = await signedIn();
    const started = await authorize();
    await approve(browser, started.user_code);
    expect((await poll(started.device_code)).statusCode).toBe(200);
    expectOAuthError(await poll(started.device_code), 'invalid_grant');
    const [row] = await db().select().from(schema.deviceAuthorizations).where(eq(schema.deviceAuthorizations.userCode, started.user_code.replace('-', '')));
    expect(row?.status).toBe('consumed');
  });

  it('concurrent polls of an approved code issue tokens exactly once', async () => {
    const browser = await signedIn();
    const started = await authorize();
    await approve(browser, started.user_code);
    const answers = await Promise.all([poll(started.device_code), poll(started.device_code), poll(started.device_code)]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 400, 400]);
  });

  it('polling faster than the interval gets slow_down, and the interval grows by 5 s for good', async () => {
    const started = await authorize();
    expectOAuthError(await poll(started.device_code), 'authorization_pending');
    expectOAuthError(await poll(started.device_code), 'slow_down');
    expectOAuthError(await poll(started.device_code), 'slow_down');
    const where = eq(schema.deviceAuthorizations.userCode, started.user_code.replace('-', ''));
    expect((await db().select().from(schema.deviceAuthorizations).where(where))[0]?.intervalSeconds).toBe(15);

    // Waiting the old interval is still too fast; waiting the grown one is fine.
    await db().update(schema.deviceAuthorizations).set({ lastPolledAt: new Date(Date.now() - 6_000) }).where(where);
    expectOAuthError(await poll(started.device_code), 'slow_down');
    await db().update(schema.deviceAuthorizations).set({ lastPolledAt: new Date(Date.now() - 21_000) }).where(where);
    expectOAuthError(await poll(started.device_code), 'authorization_pending');
  });

  it('a request the person denied gets access_denied and never tokens', async () => {
    const browser = await signedIn();
    const started = await authorize();
    expect((await decide(browser, started.user_code, false)).statusCode).toBe(200);
    expectOAuthError(await poll(started.device_code), 'access_denied');
    expectOAuthError(await poll(started.device_code), 'access_denied');
  });

  it('an expired device code gets expired_token, even if it had been approved', async () => {
    const person = await f.person();
    const past = new Date(Date.now() - 1_000);
    const codes: string[] = [];
    for (const status of ['pending', 'approved'] as const) {
      const deviceCode = randomBytes(32).toString('base64url');
      codes.push(deviceCode);
      await db().insert(schema.deviceAuthorizations).values({
        id: newId('deviceAuthorization'), deviceCodeHash: createHash('sha256').update(deviceCode).digest('hex'),
        userCode: status === 'pending' ? 'ZZZZZZZZ' : 'XXXXXXXX', clientId: 'oc', status,
        personId: status === 'approved' ? person.id : null, role: status === 'approved' ? 'admin' : null,
        createdAt: new Date(Date.now() - 601_000), expiresAt: past, intervalSeconds: 5,
      });
    }
    for (const code of codes) expectOAuthError(await poll(code), 'expired_token');
  });

  it('an unknown or malformed device code gets invalid_grant', async () => {
    expectOAuthError(await poll(randomBytes(32).toString('base64url')), 'invalid_grant');
    expectOAuthError(await poll('not a device code'), 'invalid_grant');
  });

  it('a wrong client_id is refused with invalid_client on both endpoints', async () => {
    expectOAuthError(await post('/oauth2/device_authorization', { client_id: 'evil' }), 'invalid_client');
    const started = await authorize();
    expectOAuthError(await post('/oauth2/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: started.device_code, client_id: 'evil' }), 'invalid_client');
    expectOAuthError(await post('/oauth2/token', { grant_type: 'refresh_token', refresh_token: `rft_${'A'.repeat(43)}`, client_id: 'evil' }), 'invalid_client');
    expectOAuthError(await post('/oauth2/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: started.device_code }), 'invalid_request');
  });

  it('refresh rotates: the new tokens work, the presented token is spent, the successor joins its family', async () => {
    const { person, tokens } = await loggedIn();
    const first = await refresh(tokens.refresh_token);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    const rotated = first.json<TokenResponse>();
    expect(rotated).toEqual({
      access_token: expect.stringMatching(/^ocs_/) as unknown, token_type: 'Bearer', expires_in: 900,
      refresh_token: expect.stringMatching(/^rft_/) as unknown,
    });
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect(rotated.access_token).not.toBe(tokens.access_token);
    expect((await callApi(rotated.access_token)).statusCode).toBe(200);

    const family = await db().select().from(schema.refreshTokens).where(eq(schema.refreshTokens.personId, person.id))
      .orderBy(schema.refreshTokens.id);
    expect(family).toHaveLength(2);
    expect(family[1]!.familyId).toBe(family[0]!.familyId);
    expect(family[0]!.usedAt).not.toBeNull();
    expect(family[1]!.usedAt).toBeNull();
    expect((await refresh(rotated.refresh_token)).statusCode).toBe(200);
  });

  it('a rotated refresh token keeps the family\'s end: rotation never extends a sign-in past 30 days', async () => {
    const { person, tokens } = await loggedIn();
    const [original] = await db().select().from(schema.refreshTokens).where(eq(schema.refreshTokens.personId, person.id));
    expect(original!.expiresAt.getTime() - original!.createdAt.getTime()).toBe(30 * 86_400_000);
    expect((await refresh(tokens.refresh_token)).statusCode).toBe(200);
    const family = await db().select().from(schema.refreshTokens).where(eq(schema.refreshTokens.familyId, original!.familyId));
    expect(family).toHaveLength(2);
    for (const token of family) expect(token.expiresAt.getTime()).toBe(original!.expiresAt.getTime());
  });

  it('replaying a used refresh token (a stolen copy) revokes the whole family and every access token minted from it', async () => {
    const { person, tokens } = await loggedIn();
    const rotated = (await refresh(tokens.refresh_token)).json<TokenResponse>();
    expect((await callApi(tokens.access_token)).statusCode).toBe(200);
    expect((await callApi(rotated.access_token)).statusCode).toBe(200);

    expectOAuthError(await refresh(tokens.refresh_token), 'invalid_grant');

    expect((await callApi(tokens.access_token)).statusCode).toBe(401);
    expect((await callApi(rotated.access_token)).statusCode).toBe(401);
    expectOAuthError(await refresh(rotated.refresh_token), 'invalid_grant');
    const family = await db().select().from(schema.refreshTokens).where(eq(schema.refreshTokens.personId, person.id));
    expect(family.every((t) => t.revokedAt !== null)).toBe(true);
    const audit = await db().select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'refresh.reuse-detected'));
    expect(audit.filter((e) => e.actor === `person:${person.id}` && e.targetId === family[0]!.familyId)).toHaveLength(1);
  });

  it('reuse detection leaves the person\'s other sign-ins alone', async () => {
    const browser = await signedIn();
    const loginOnce = async () => {
      const started = await authorize();
      await approve(browser, started.user_code);
      return (await poll(started.device_code)).json<TokenResponse>();
    };
    const laptop = await loginOnce();
    const server = await loginOnce();
    await refresh(laptop.refresh_token);
    expectOAuthError(await refresh(laptop.refresh_token), 'invalid_grant');
    expect((await callApi(server.access_token)).statusCode).toBe(200);
    expect((await refresh(server.refresh_token)).statusCode).toBe(200);
  });

  it('a suspended person can neither redeem an approved code nor refresh', async () => {
    const { person, tokens } = await loggedIn();
    const started = await authorize();
    const browser = { secret: (await createSession(db(), { personId: person.id, role: 'admin', kind: 'browser', absoluteMs: 3_600_000 })).secret };
    await approve(browser, started.user_code);
    await db().update(schema.people).set({ status: 'suspended' }).where(eq(schema.people.id, person.id));
    expectOAuthError(await poll(started.device_code), 'invalid_grant');
    expectOAuthError(await refresh(tokens.refresh_token), 'invalid_grant');
  });

  it('an unknown, malformed or expired refresh token gets invalid_grant', async () => {
    expectOAuthError(await refresh(`rft_${randomBytes(32).toString('base64url')}`), 'invalid_grant');
    expectOAuthError(await refresh('ocs_not-a-refresh-token'), 'invalid_grant');
    const { person, tokens } = await loggedIn();
    await db().update(schema.refreshTokens).set({ expiresAt: new Date(Date.now() - 1_000) }).where(eq(schema.refreshTokens.personId, person.id));
    expectOAuthError(await refresh(tokens.refresh_token), 'invalid_grant');
  });

  it('an access token is not a refresh token, and a refresh token is not an access token', async () => {
    const { tokens } = await loggedIn();
    expectOAuthError(await refresh(tokens.access_token), 'invalid_grant');
    expect((await callApi(tokens.refresh_token)).statusCode).toBe(401);
  });

  it('malformed requests get RFC 6749 errors with 400, never problem+json or a 5xx', async () => {
    const cases: [string, string, Record<string, string>, string][] = [
      ['/oauth2/token', JSON.stringify({ grant_type: 'refresh_token' }), { 'content-type': 'application/json' }, 'invalid_request'],
      ['/oauth2/token', 'grant_type=refresh_token', { 'content-type': 'text/plain' }, 'invalid_request'],
      ['/oauth2/token', '', {}, 'invalid_request'],
      ['/oauth2/token', 'client_id=oc', { 'content-type': FORM }, 'invalid_request'],
      ['/oauth2/token', 'grant_type=password&client_id=oc&username=a&password=b', { 'content-type': FORM }, 'unsupported_grant_type'],
      ['/oauth2/token', 'grant_type=authorization_code&client_id=oc&code=x', { 'content-type': FORM }, 'unsupported_grant_type'],
      ['/oauth2/token', 'grant_type=refresh_token&grant_type=refresh_token&client_id=oc', { 'content-type': FORM }, 'invalid_request'],
      ['/oauth2/token', 'grant_type=refresh_token&client_id=oc', { 'content-type': FORM }, 'invalid_request'],
      ['/oauth2/token', `grant_type=refresh_token&client_id=oc&refresh_token=${'A'.repeat(5000)}`, { 'content-type': FORM }, 'invalid_request'],
      ['/oauth2/token', `grant_type=${DEVICE_CODE_GRANT_TYPE}&client_id=oc`, { 'content-type': FORM }, 'invalid_request'],
      ['/oauth2/token', 'grant_type=%E0%A4%A&client_id=%zz&__proto__=x&constructor=y', { 'content-type': FORM }, 'unsupported_grant_type'],
      ['/oauth2/token', `grant_type=refresh_token&client_id=oc&refresh_token=x&scope=${encodeURIComponent('all "of it"')}`, { 'content-type': FORM }, 'invalid_scope'],
      ['/oauth2/token', `grant_type=refresh_token&client_id=oc&x=${'y'.repeat(70 * 1024)}`, { 'content-type': FORM }, 'invalid_request'],
      ['/oauth2/device_authorization', '', { 'content-type': FORM }, 'invalid_request'],
      ['/oauth2/device_authorization', '{"client_id":"oc"}', { 'content-type': 'application/json' }, 'invalid_request'],
      ['/oauth2/device_authorization', 'client_id=oc&client_id=oc', { 'content-type': FORM }, 'invalid_request'],
      ['/oauth2/device_authorization', `client_id=oc&scope=${'a'.repeat(201)}`, { 'content-type': FORM }, 'invalid_request'],
      ['/oauth2/device_authorization', `client_id=oc&scope=${encodeURIComponent('bad\\scope')}`, { 'content-type': FORM }, 'invalid_scope'],
    ];
    for (const [url, payload, headers, error] of cases) {
      const response = await send(url, payload, headers);
      expect(response.statusCode, `${url} ${payload.slice(0, 80)}: ${response.body}`).toBe(400);
      expectOAuthError(response, error);
    }
  });

  it('a refused token request creates no session and no refresh token', async () => {
    const count = async () => [(await db().select().from(schema.sessions)).length, (await db().select().from(schema.refreshTokens)).length];
    const before = await count();
    const started = await authorize();
    await poll(started.device_code);
    await refresh(`rft_${'B'.repeat(43)}`);
    expect(await count()).toEqual(before);
  });
});
