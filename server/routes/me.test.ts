// The signed-in person's routes and the public JWKS: a pairing link for your own assistant, verified
// end to end with the verifier library against the served key set. Each refusal test names the
// attack or misuse it tries, and checks that nothing was written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createMemorySeenLinks, createPairingVerifier, type PublishedJwk } from '../../token-service/index.ts';
import { schema } from '../../core/index.ts';
import { testDatabases } from '../../test/support/databases.ts';
import { startTestControlPlane, type TestControlPlane } from '../../test/support/control-plane.ts';
import { apiClient, expectNoLeaks, expectProblem, rowCounts, type ApiClient } from '../../test/support/api.ts';
import { apiFixtures, type ApiFixtures } from '../../test/support/api-fixtures.ts';
import { createSession, csrfTokenFor } from '../identity/sessions.ts';

type Row = Record<string, unknown> & { id: string };

/** The control plane's public URL, which is also the issuer of its pairing links. */
const ISSUER = 'http://opencrane.test:8080';

describe.each(testDatabases)('me, pairing links and the JWKS on $name', (target) => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;

  beforeAll(async () => {
    control = await startTestControlPlane(target, { PUBLIC_URL: ISSUER });
    api = apiClient(control);
    f = apiFixtures(api);
  });
  afterAll(async () => {
    await control?.close();
  });

  /** A person with an assistant in the given state, and a browser session for them. */
  async function signedInPerson(assistant: { status?: string; endpoint?: string | null } | null = { status: 'ready', endpoint: 'https://ast-1.example.com' }) {
    const person = await f.person();
    // Creating a person provisions their assistant record; a test that needs none deletes it.
    const listed = await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` });
    let assistantRow = listed.json<{ items: Row[] }>().items[0];
    if (!assistantRow) {
      const created = await api({ method: 'POST', url: '/api/v1/assistants', body: { personId: person.id } });
      expect(created.statusCode, created.body).toBe(201);
      assistantRow = created.json<Row>();
    }
    if (!assistant) {
      expect((await api({ method: 'DELETE', url: `/api/v1/assistants/${assistantRow.id}` })).statusCode).toBe(204);
      assistantRow = undefined;
    } else {
      const patch = Object.fromEntries(Object.entries(assistant).filter(([, v]) => v !== undefined));
      if (Object.keys(patch).length) {
        const updated = await api({ method: 'PATCH', url: `/api/v1/assistants/${assistantRow.id}`, body: patch });
        expect(updated.statusCode, updated.body).toBe(200);
      }
    }
    const { secret } = await createSession(control.plane.store.db, { personId: person.id, role: 'member', kind: 'browser', absoluteMs: 3_600_000 });
    const browser = (extra: Record<string, string> = {}) => ({ cookie: `oc_session=${secret}`, 'x-csrf-token': csrfTokenFor(secret), ...extra });
    return { person, assistant: assistantRow, secret, browser };
  }

  const pairingRows = async () => Number((await control.plane.store.db.select({ n: sql<number>`count(*)::int` }).from(schema.pairingLinks))[0]?.n ?? 0);
  const writes = async () => ({ ...(await rowCounts(control)), pairingLinks: await pairingRows() });
  const auditActions = async (action: string) => Number((await control.plane.store.db.select({ n: sql<number>`count(*)::int` })
    .from(schema.auditEvents).where(sql`${schema.auditEvents.action} = ${action}`))[0]?.n ?? 0);

  describe('GET /.well-known/jwks.json', () => {
    it('is public, cacheable for five minutes, and carries only public key members', async () => {
      const response = await api({ method: 'GET', url: '/.well-known/jwks.json', token: null });
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('public, max-age=300');
      const { keys } = response.json<{ keys: PublishedJwk[] }>();
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key).not.toHaveProperty('d');
        expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) as unknown });
      }
    });
  });

  describe('GET /api/v1/me', () => {
    it('shows the signed-in person, their role and teams, and their assistant\'s status', async () => {
      const { person, assistant, browser } = await signedInPerson();
      const team = await f.team();
      await f.join(team.id, person.id);
      const response = await api({ method: 'GET', url: '/api/v1/me', token: null, headers: browser() });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({
        id: person.id, email: person.email, displayName: person.displayName, status: 'active', role: 'member',
        teams: [{ id: team.id, name: team.name }],
        assistant: { id: assistant!.id, status: 'ready', statusMessage: null, pairable: true },
      });
    });

    it('a person without an assistant sees assistant: null', async () => {
      const { browser } = await signedInPerson(null);
      const response = await api({ method: 'GET', url: '/api/v1/me', token: null, headers: browser() });
      expect(response.json<{ assistant: unknown }>().assistant).toBeNull();
    });

    it('a CLI session (bearer ocs_…) works too', async () => {
      const { person } = await signedInPerson();
      const { secret } = await createSession(control.plane.store.db, { personId: person.id, role: 'member', kind: 'cli', absoluteMs: 600_000 });
      const response = await api({ method: 'GET', url: '/api/v1/me', token: secret });
      expect(response.json<{ id: string }>().id).toBe(person.id);
    });

    it('an API token has no person: 404 "this is for signed-in people"', async () => {
      const problem = expectProblem(await api({ method: 'GET', url: '/api/v1/me' }), 404, 'ERR_NOT_FOUND');
      expect(problem.detail).toMatch(/signed-in people/);
    });

    it('without credentials it is a 401', async () => {
      expectProblem(await api({ method: 'GET', url: '/api/v1/me', token: null }), 401, 'ERR_UNAUTHENTICATED');
    });
  });

  describe('POST /api/v1/me/assistant/pairing', () => {
    const pair = (headers: Record<string, string>, body: unknown = {}) =>
      api({ method: 'POST', url: '/api/v1/me/assistant/pairing', token: null, headers, body });

    it('gives the signed-in person a link to their own assistant that the assistant\'s verifier accepts once', async () => {
      const { person, assistant, browser } = await signedInPerson();
      const before = await auditActions('pairing.mint');
      const response = await pair(browser());
      expect(response.statusCode, response.body).toBe(201);
      expect(response.headers['cache-control']).toBe('no-store');
      const { url, expiresAt } = response.json<{ url: string; expiresAt: string }>();
      const link = new URL(url);
      expect(`${link.origin}${link.pathname}`).toBe('https://ast-1.example.com/opencrane/pair');
      expect(link.hash).toMatch(/^#token=[\w-]+\.[\w-]+\.[\w-]+$/);
      const lifetime = new Date(expiresAt).getTime() - Date.now();
      expect(lifetime).toBeGreaterThan(0);
      expect(lifetime).toBeLessThanOrEqual(60_000);

      const jwks = (await api({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json<{ keys: PublishedJwk[] }>();
      const verifier = createPairingVerifier({
        issuer: ISSUER, assistantId: assistant!.id, ownerId: person.id,
        jwks, seen: createMemorySeenLinks(),
      });
      const token = link.hash.slice('#token='.length);
      const verified = await verifier.verify(token);
      expect(verified.personId).toBe(person.id);
      expect(verified.expiresAt.toISOString()).toBe(expiresAt);
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'ERR_PAIRING_REPLAYED' });

      expect(await auditActions('pairing.mint')).toBe(before + 1);
      const audit = await api({ method: 'GET', url: `/api/v1/audit?action=pairing.mint&targetId=${assistant!.id}` });
      const events = audit.json<{ items: { actor: string; after: Record<string, unknown> }[] }>().items;
      expect(events).toHaveLength(1);
      expect(events[0]!.actor).toBe(`person:${person.id}`);
      expect(events[0]!.after).toMatchObject({ jti: verified.jti, personId: person.id });
      expect(audit.body.includes(token)).toBe(false);
      expect(audit.body.includes(token.split('.')[2]!)).toBe(false);
    });

    it('attack: the link is not usable for another person\'s assistant (its verifier refuses it)', async () => {
      const mine = await signedInPerson();
      const theirs = await signedInPerson({ status: 'ready', endpoint: 'https://ast-2.example.com' });
      const { url } = (await pair(mine.browser())).json<{ url: string }>();
      const jwks = (await api({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json<{ keys: PublishedJwk[] }>();
      const theirVerifier = createPairingVerifier({
        issuer: ISSUER, assistantId: theirs.assistant!.id, ownerId: theirs.person.id, jwks, seen: createMemorySeenLinks(),
      });
      await expect(theirVerifier.verify(new URL(url).hash.slice('#token='.length))).rejects.toMatchObject({ code: 'ERR_PAIRING_WRONG_ASSISTANT' });
    });

    it('attack: naming another assistant in the body is refused; the route takes no parameters', async () => {
      const { browser } = await signedInPerson();
      const other = await signedInPerson();
      const before = await writes();
      expectProblem(await pair(browser(), { assistantId: other.assistant!.id }), 400, 'ERR_VALIDATION');
      expectProblem(await pair(browser(), { personId: other.person.id }), 400, 'ERR_VALIDATION');
      expect(await writes()).toEqual(before);
    });

    it('attack: an API token caller gets a 404 (no person behind it) and nothing is written', async () => {
      const before = await writes();
      const response = await api({ method: 'POST', url: '/api/v1/me/assistant/pairing', body: {} });
      expect(expectProblem(response, 404, 'ERR_NOT_FOUND').detail).toMatch(/signed-in people/);
      expect(await writes()).toEqual(before);
    });

    it('attack: CSRF — a cookie session without the CSRF header gets 403 and no link', async () => {
      const { secret, browser } = await signedInPerson();
      const before = await pairingRows();
      expectProblem(await pair({ cookie: `oc_session=${secret}` }), 403, 'ERR_FORBIDDEN');
      expectProblem(await pair(browser({ 'x-csrf-token': 'forged' })), 403, 'ERR_FORBIDDEN');
      expectProblem(await pair(browser({ origin: 'https://evil.example.com' })), 403, 'ERR_FORBIDDEN');
      expect(await pairingRows()).toBe(before);
    });

    it('an assistant without an endpoint gives a 409 and nothing is written', async () => {
      const { browser } = await signedInPerson({ status: 'ready', endpoint: null });
      const before = await writes();
      const problem = expectProblem(await pair(browser()), 409, 'ERR_CONFLICT');
      expect(problem.detail).toMatch(/no address/);
      expect(await writes()).toEqual(before);
    });

    it('an assistant that is not ready, is suspended, or does not exist gives a 409 and nothing is written', async () => {
      for (const state of [{ status: 'provisioning' }, { status: 'suspended' }]) {
        const { browser } = await signedInPerson({ ...state, endpoint: 'https://ast-3.example.com' });
        const before = await writes();
        expectProblem(await pair(browser()), 409, 'ERR_CONFLICT');
        expect(await writes()).toEqual(before);
      }
      const { browser } = await signedInPerson(null);
      const before = await writes();
      expect(expectProblem(await pair(browser()), 409, 'ERR_CONFLICT').detail).toMatch(/do not have one/);
      expect(await writes()).toEqual(before);
    });

    it('a suspended person gets a 409 and nothing is written', async () => {
      const { person, browser } = await signedInPerson();
      await control.plane.store.people.update(control.plane.store.db, person.id, { status: 'suspended' });
      const before = await writes();
      expect(expectProblem(await pair(browser()), 409, 'ERR_CONFLICT').detail).toMatch(/suspended/);
      expect(await writes()).toEqual(before);
    });

    it('the response never carries anything but the link and its expiry', async () => {
      const { browser } = await signedInPerson();
      const response = await pair(browser());
      expectNoLeaks(response, control.adminToken);
      expect(Object.keys(response.json<Record<string, unknown>>()).sort()).toEqual(['expiresAt', 'url']);
    });
  });
});
