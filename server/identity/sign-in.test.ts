// Browser sign-in against a real OpenID provider (oidc-provider on its own loopback port), driven
// without a browser by following the redirects and filling in the provider's login form.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../core/index.ts';
import { CookieJar, followSignIn, hop } from '../../test/support/browserless-sign-in.ts';
import { startListeningControlPlane, type ListeningControlPlane } from '../../test/support/control-plane.ts';
import { testDatabases } from '../../test/support/databases.ts';
import { freePort, startTestIdentityProvider, type TestIdentityProvider } from '../../test/support/identity-provider.ts';
import { csrfTokenFor } from './sessions.ts';

describe.each(testDatabases)('OIDC sign-in on $name', (target) => {
  let idp: TestIdentityProvider;
  let cp: ListeningControlPlane;
  let admin: Record<string, string>;

  beforeAll(async () => {
    const port = await freePort();
    idp = await startTestIdentityProvider(`http://127.0.0.1:${port}`);
    cp = await startListeningControlPlane(target, port, {
      OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret,
      OIDC_ALLOWED_EMAIL_DOMAINS: 'example.com',
    });
    admin = { authorization: `Bearer ${cp.adminToken}`, 'content-type': 'application/json' };
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${cp.url}${path}`, { method, headers: admin, ...(body ? { body: JSON.stringify(body) } : {}) }).then((r) => r.json() as Promise<Record<string, string>>);
    const engineering = await api('POST', '/api/v1/departments', { name: 'Engineering' });
    await api('POST', '/api/v1/teams', { name: 'Platform', departmentId: engineering.id });
    await api('POST', '/api/v1/teams', { name: 'Data', departmentId: engineering.id });
  });
  afterAll(async () => {
    await cp?.close();
    await idp?.close();
  });

  const db = () => cp.plane.store.db;
  const peopleCount = async () => (await db().select().from(schema.people)).length;
  const auditActions = async () => (await db().select().from(schema.auditEvents)).map((e) => e.action);
  const personByEmail = (email: string) => cp.plane.store.people.getByEmail(db(), email);
  const signIn = async (email: string, start = '/auth/login') => {
    const jar = new CookieJar();
    const result = await followSignIn(jar, `${cp.url}${start}`, email);
    return { jar, ...result };
  };

  it('a first sign-in provisions the person, their assistant and their group memberships, and opens a session', async () => {
    const { jar, url, body } = await signIn('bob@example.com');
    expect(url).toBe(`${cp.url}/`);
    expect(body).toContain('Your assistant');
    expect(body).toContain('Bob Member');
    const bob = await personByEmail('bob@example.com');
    expect(bob).toMatchObject({ displayName: 'Bob Member', status: 'active' });
    expect(bob!.oidcSubject).toBe(`${idp.issuer}|bob@example.com`);
    expect(await cp.plane.store.assistants.getByPerson(db(), bob!.id)).toMatchObject({ status: 'pending' });
    const teams = await cp.plane.store.memberships.teamIdsOf(db(), bob!.id);
    expect(teams).toHaveLength(2);
    expect(cp.plane.index.subject(bob!.id).teams).toEqual([...teams].sort());
    expect(jar.get(cp.url, 'oc_session')).toMatch(/^ocs_/);
    expect(await auditActions()).toEqual(expect.arrayContaining(['person.create', 'assistant.create', 'membership.create', 'auth.sign-in']));
  });

  it('a later sign-in follows the person\'s groups: a group removed at the provider removes the membership', async () => {
    idp.accounts.find((a) => a.email === 'bob@example.com')!.groups = ['Data'];
    await signIn('bob@example.com');
    const bob = await personByEmail('bob@example.com');
    const teams = await cp.plane.store.memberships.list(db(), { personId: bob!.id }, { limit: 10 });
    expect(teams.items).toHaveLength(1);
    expect(cp.plane.index.subject(bob!.id).teams).toHaveLength(1);
  });

  it('the session cookie authenticates API calls as the person, with their role', async () => {
    const { jar } = await signIn('ada@example.com');
    const response = await hop(jar, `${cp.url}/api/v1/people?limit=1`);
    expect(response.response.status).toBe(200); // Ada has the admin role at the provider
  });

  it('refuses a disallowed email domain with a clear page and an audit event, and creates nothing', async () => {
    const before = await peopleCount();
    const { response, body } = await signIn('eve@evil.example');
    expect(response.status).toBe(403);
    expect(body).toContain('people from evil.example may not sign in here');
    expect(await peopleCount()).toBe(before);
    expect(await auditActions()).toContain('auth.sign-in-refused');
  });

  it('refuses a callback whose state does not match the one this browser started with (login CSRF)', async () => {
    const jar = new CookieJar();
    await hop(jar, `${cp.url}/auth/login`);
    const { response, body } = await hop(jar, `${cp.url}/auth/callback?code=abc&state=forged-state`);
    expect(response.status).toBe(403);
    expect(body).toContain('start again');
  });

  it('refuses a replayed authorization code', async () => {
    const { jar, hops } = await signIn('ada@example.com');
    const callback = hops.find((h) => h.url.startsWith(`${cp.url}/auth/callback`))!.url;
    const before = (await auditActions()).filter((a) => a === 'auth.sign-in').length;
    const { response } = await hop(jar, callback);
    expect(response.status).toBe(403);
    expect((await auditActions()).filter((a) => a === 'auth.sign-in').length).toBe(before);
  });

  it('refuses an ID token whose nonce is not this sign-in\'s (nonce tampered on the way to the provider)', async () => {
    const jar = new CookieJar();
    const start = await hop(jar, `${cp.url}/auth/login`);
    const authorize = new URL(start.response.headers.get('location')!);
    authorize.searchParams.set('nonce', 'attacker-chosen-nonce');
    const before = await peopleCount();
    idp.accounts.push({ email: 'new@example.com', name: 'New Person', groups: [], roles: [] });
    const { response, body } = await followSignIn(jar, authorize.toString(), 'new@example.com');
    expect(response.status).toBe(403);
    expect(body).toContain('nonce');
    expect(await peopleCount()).toBe(before);
  });

  it('never redirects off-site after sign-in (open redirect through returnTo)', async () => {
    const { url } = await signIn('ada@example.com', `/auth/login?returnTo=${encodeURIComponent('https://evil.example/phish')}`);
    expect(url).toBe(`${cp.url}/`);
    const inside = await signIn('ada@example.com', `/auth/login?returnTo=${encodeURIComponent('/auth/signed-out?x=1')}`);
    expect(inside.url).toBe(`${cp.url}/auth/signed-out?x=1`);
  });

  it('refuses an unsafe API call carrying only the session cookie (CSRF) and audits it', async () => {
    const { jar } = await signIn('ada@example.com');
    const forged = await hop(jar, `${cp.url}/api/v1/departments`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: JSON.stringify({ name: 'Forged' }),
    });
    expect(forged.response.status).toBe(403);
    expect(forged.body).toContain('CSRF');
    expect(await auditActions()).toContain('auth.csrf-refused');
    const secret = jar.get(cp.url, 'oc_session')!;
    const genuine = await hop(jar, `${cp.url}/api/v1/departments`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfTokenFor(secret), origin: cp.url }, body: JSON.stringify({ name: 'Genuine' }),
    });
    expect(genuine.response.status).toBe(201);
  });

  it('suspending a person ends their open sessions at once, and they cannot sign in again', async () => {
    const bob = await personByEmail('bob@example.com');
    idp.accounts.find((a) => a.email === 'bob@example.com')!.roles = ['opencrane-auditor'];
    const { jar } = await signIn('bob@example.com');
    expect((await hop(jar, `${cp.url}/api/v1/people?limit=1`)).response.status).toBe(200);
    await fetch(`${cp.url}/api/v1/people/${bob!.id}`, { method: 'PATCH', headers: admin, body: JSON.stringify({ status: 'suspended' }) });
    expect((await hop(jar, `${cp.url}/api/v1/people?limit=1`)).response.status).toBe(401);
    const { response, body } = await signIn('bob@example.com');
    expect(response.status).toBe(403);
    expect(body).toContain('suspended');
  });

  it('sign-out ends the session at the control plane and sends the browser to the provider\'s end-session endpoint', async () => {
    const { jar } = await signIn('ada@example.com');
    const secret = jar.get(cp.url, 'oc_session')!;
    const logout = await hop(jar, `${cp.url}/auth/logout`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${csrfTokenFor(secret)}`,
    });
    expect(logout.response.status).toBe(302);
    expect(logout.response.headers.get('location')).toMatch(new RegExp(`^${idp.issuer}/session/end\\?`));
    jar.set(cp.url, 'oc_session', secret);
    const after = await hop(jar, `${cp.url}/api/v1/people?limit=1`);
    expect(after.response.status).toBe(401);
  });
});
