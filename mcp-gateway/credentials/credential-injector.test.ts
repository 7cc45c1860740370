// The gateway's credential injection against the real things: credentials sealed into PostgreSQL (and
// PGlite) the way the REST API writes them, and a real oidc-provider as the upstream authorization
// server for client credentials and RFC 8693 token exchange. The clock is injected, so expiry and the
// secret cache window are stepped through rather than waited for.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import pino from 'pino';
import { loggerOptions, newId, schema, type Db } from '../../core/index.ts';
import { createLocalKeyEncryptor } from '../../token-service/index.ts';
import { testDatabases, type OpenTestDatabase } from '../../test/support/databases.ts';
import { startUpstreamAuthorizationServer, TOKEN_EXCHANGE_GRANT_TYPE, type UpstreamAuthorizationServer } from '../../test/support/upstream-authorization-server.ts';
import {
  addCredentialVersion, createCredentialInjector, CredentialUnavailableError, lockTool, sealSecret,
  type CredentialErrorCode, type CredentialInjectorDependencies, type ToolAuth, type ToolAuthConfig, type ToolAuthKind,
} from './index.ts';

/** A decrypted secret is reused for 30 s; lru-cache counts an entry stale once it is older than its TTL. */
const SECRET_WINDOW_MS = 30_000;
const PAST_WINDOW_MS = SECRET_WINDOW_MS + 1;
const canary = () => `canary-${randomBytes(18).toString('base64url')}`;

async function expectUnavailable(work: Promise<unknown>, code: CredentialErrorCode, secrets: string[] = []): Promise<CredentialUnavailableError> {
  const error = await work.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(CredentialUnavailableError);
  const unavailable = error as CredentialUnavailableError;
  expect(unavailable.code, unavailable.message).toBe(code);
  for (const secret of secrets) {
    expect(unavailable.message).not.toContain(secret);
    expect(String(unavailable.stack)).not.toContain(secret);
    expect(JSON.stringify(unavailable)).not.toContain(secret);
  }
  return unavailable;
}

describe.each(testDatabases)('credential injection on $name', (target) => {
  let database: OpenTestDatabase;
  let db: Db;
  let upstream: UpstreamAuthorizationServer;
  const encryptor = createLocalKeyEncryptor(randomBytes(32));
  let clock = Date.now();
  let logLines: string[] = [];
  const logger = pino(loggerOptions('trace'), { write: (line: string) => void logLines.push(line) });

  beforeAll(async () => {
    database = await target.open();
    db = database.db;
    upstream = await startUpstreamAuthorizationServer();
  });
  afterAll(async () => {
    await upstream?.close();
    await database?.dispose();
  });
  beforeEach(() => {
    upstream.setDelay(0);
    upstream.setTokenLifetime(300);
    upstream.requests.length = 0;
    logLines = [];
  });

  const injector = (options: Partial<CredentialInjectorDependencies> = {}) =>
    createCredentialInjector({ db, encryptor, logger, now: () => clock, ...options });
  const advance = (ms: number) => {
    clock += ms;
  };

  async function tool(kind: ToolAuthKind, config: ToolAuthConfig = {}): Promise<ToolAuth> {
    const id = newId('tool');
    await db.insert(schema.tools).values({ id, name: `tool-${id.slice(-10).toLowerCase()}`, url: 'https://mcp.example.com/mcp', authKind: kind, authConfig: config });
    return { toolId: id, kind, config };
  }
  async function person(): Promise<string> {
    const id = newId('person');
    await db.insert(schema.people).values({ id, email: `${id}@example.com`, displayName: id });
    return id;
  }
  /** Stores a secret exactly as the REST API does: sealed to a fresh row, next version, under the tool's lock. */
  async function store(toolId: string, secret: string, personId: string | null = null): Promise<string> {
    const id = newId('toolCredential');
    const sealed = await sealSecret(encryptor, id, secret);
    await db.transaction(async (tx) => {
      await lockTool(tx, toolId);
      await addCredentialVersion(tx, { id, toolId, personId, sealed, createdBy: 'test' });
    });
    return id;
  }
  const clientCredentials = (config: Partial<ToolAuthConfig> = {}) =>
    tool('client_credentials', { tokenUrl: upstream.tokenUrl, clientId: upstream.clientId, scope: 'mcp:read', ...config });
  const tokenExchange = (config: Partial<ToolAuthConfig> = {}) =>
    tool('token_exchange', { tokenUrl: upstream.tokenUrl, clientId: upstream.clientId, audience: 'issues-api', scope: 'mcp:read', ...config });
  const bearerOf = (headers: Record<string, string>) => {
    expect(Object.keys(headers)).toEqual(['authorization']);
    const match = /^Bearer (\S+)$/.exec(headers.authorization!);
    expect(match, headers.authorization).not.toBeNull();
    return match![1]!;
  };
  const tokenRequests = (grantType: string) => upstream.requests.filter((r) => r.grantType === grantType);

  describe('static secrets', () => {
    it('none adds no headers and reads nothing', async () => {
      expect(await injector().headersFor(await tool('none'), { personId: await person() })).toEqual({});
    });

    it('bearer sends the tool\'s secret as a bearer token; header sends it under its own (lower-cased) name', async () => {
      const bearer = await tool('bearer');
      const header = await tool('header', { headerName: 'X-Api-Key' });
      const [s1, s2] = [canary(), canary()];
      await store(bearer.toolId, s1);
      await store(header.toolId, s2);
      const gateway = injector();
      expect(await gateway.headersFor(bearer, { personId: 'prs_x' })).toEqual({ authorization: `Bearer ${s1}` });
      expect(await gateway.headersFor(header, { personId: 'prs_x' })).toEqual({ 'x-api-key': s2 });
    });

    it('a tool with no stored secret fails with ERR_CREDENTIAL_MISSING', async () => {
      const gateway = injector();
      for (const auth of [await tool('bearer'), await tool('header', { headerName: 'X-Key' }), await clientCredentials(), await tokenExchange()]) {
        await expectUnavailable(gateway.headersFor(auth, { personId: 'prs_x', subjectToken: 'x' }), 'ERR_CREDENTIAL_MISSING');
      }
      expect(upstream.requests).toEqual([]);
    });

    it('a new version is used once the 30-second cache window has passed, and a deleted secret stops being sent', async () => {
      const bearer = await tool('bearer');
      const [v1, v2] = [canary(), canary()];
      await store(bearer.toolId, v1);
      const gateway = injector();
      expect(await gateway.headersFor(bearer, { personId: 'prs_x' })).toEqual({ authorization: `Bearer ${v1}` });
      await store(bearer.toolId, v2);
      advance(SECRET_WINDOW_MS);
      expect(await gateway.headersFor(bearer, { personId: 'prs_x' })).toEqual({ authorization: `Bearer ${v1}` });
      advance(1);
      expect(await gateway.headersFor(bearer, { personId: 'prs_x' })).toEqual({ authorization: `Bearer ${v2}` });
      await db.delete(schema.toolCredentials).where(eq(schema.toolCredentials.toolId, bearer.toolId));
      advance(PAST_WINDOW_MS);
      await expectUnavailable(gateway.headersFor(bearer, { personId: 'prs_x' }), 'ERR_CREDENTIAL_MISSING', [v1, v2]);
    });

    it('a sealed secret copied onto another row does not open: ERR_CREDENTIAL_UNREADABLE, logged without the secret', async () => {
      const [victim, attacker] = [await tool('bearer'), await tool('bearer')];
      const secret = canary();
      const victimRow = await store(victim.toolId, secret);
      const attackerRow = await store(attacker.toolId, canary());
      const [sealed] = await db.select({ sealed: schema.toolCredentials.sealed }).from(schema.toolCredentials).where(eq(schema.toolCredentials.id, victimRow));
      await db.update(schema.toolCredentials).set({ sealed: sealed!.sealed }).where(eq(schema.toolCredentials.id, attackerRow));
      await expectUnavailable(injector().headersFor(attacker, { personId: 'prs_x' }), 'ERR_CREDENTIAL_UNREADABLE', [secret]);
      expect(logLines.join('\n')).toContain(attackerRow);
      expect(logLines.join('\n')).not.toContain(secret);
    });

    it('settings the API would refuse, or an unknown kind, fail closed with ERR_CREDENTIAL_MISCONFIGURED', async () => {
      const gateway = injector();
      const header = await tool('header');
      await store(header.toolId, canary());
      await expectUnavailable(gateway.headersFor(header, { personId: 'prs_x' }), 'ERR_CREDENTIAL_MISCONFIGURED');
      await expectUnavailable(gateway.headersFor({ ...header, config: { headerName: 'Host' } }, { personId: 'prs_x' }), 'ERR_CREDENTIAL_MISCONFIGURED');
      await expectUnavailable(gateway.headersFor({ ...header, kind: 'basic' as ToolAuthKind }, { personId: 'prs_x' }), 'ERR_CREDENTIAL_MISCONFIGURED');
      await expectUnavailable(gateway.headersFor({ ...(await clientCredentials()), config: { clientId: 'x' } }, { personId: 'prs_x' }), 'ERR_CREDENTIAL_MISCONFIGURED');
    });
  });

  describe('per-person secrets', () => {
    it('each person gets their own newest secret, never another person\'s, even when asked for at once', async () => {
      const perPerson = await tool('per_person');
      const [ada, bob, eve] = [await person(), await person(), await person()];
      const secrets = { [ada]: canary(), [bob]: canary() };
      await store(perPerson.toolId, canary(), ada);
      await store(perPerson.toolId, secrets[ada]!, ada);
      await store(perPerson.toolId, secrets[bob]!, bob);
      const gateway = injector();
      const order = Array.from({ length: 20 }, (_, i) => (i % 2 ? ada : bob));
      const answers = await Promise.all(order.map((personId) => gateway.headersFor(perPerson, { personId })));
      answers.forEach((headers, i) => expect(headers).toEqual({ authorization: `Bearer ${secrets[order[i]!]}` }));
      // Eve has stored nothing: she gets an error, not someone else's secret.
      const error = await expectUnavailable(gateway.headersFor(perPerson, { personId: eve }), 'ERR_CREDENTIAL_MISSING', Object.values(secrets));
      expect(error.message).toContain(eve);
    });

    it('a tool\'s own secret is never handed out as a person\'s', async () => {
      const perPerson = await tool('per_person');
      const toolSecret = canary();
      await store(perPerson.toolId, toolSecret);
      await expectUnavailable(injector().headersFor(perPerson, { personId: await person() }), 'ERR_CREDENTIAL_MISSING', [toolSecret]);
    });
  });

  describe('client credentials', () => {
    it('one token fetch, with client_secret_basic and the tool\'s scope and resource, serves many calls', async () => {
      const auth = await clientCredentials({ resource: 'https://api.example.com/mcp' });
      await store(auth.toolId, upstream.clientSecret);
      const gateway = injector();
      const tokens = new Set<string>();
      for (let i = 0; i < 20; i++) tokens.add(bearerOf(await gateway.headersFor(auth, { personId: `prs_${i}` })));
      expect(tokens.size).toBe(1);
      expect(upstream.requests).toEqual([{
        grantType: 'client_credentials', status: 200, authScheme: 'Basic',
        params: { grant_type: 'client_credentials', scope: 'mcp:read', resource: 'https://api.example.com/mcp' },
      }]);
      expect(await upstream.introspect([...tokens][0]!)).toMatchObject({ clientId: upstream.clientId, scope: 'mcp:read', sub: undefined });
    });

    it('concurrent calls share one in-flight token request (single flight)', async () => {
      const auth = await clientCredentials();
      await store(auth.toolId, upstream.clientSecret);
      upstream.setDelay(150);
      const gateway = injector();
      const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => gateway.headersFor(auth, { personId: `prs_${i}` })));
      expect(new Set(answers.map(bearerOf)).size).toBe(1);
      expect(tokenRequests('client_credentials')).toHaveLength(1);
    });

    it('the token is fetched again shortly before it expires, not after', async () => {
      upstream.setTokenLifetime(120);
      const auth = await clientCredentials();
      await store(auth.toolId, upstream.clientSecret);
      const gateway = injector();
      const first = bearerOf(await gateway.headersFor(auth, { personId: 'prs_x' }));
      // 120 s tokens are refreshed 12 s early (10% of their life).
      advance(108_000);
      expect(bearerOf(await gateway.headersFor(auth, { personId: 'prs_x' }))).toBe(first);
      advance(1);
      const second = bearerOf(await gateway.headersFor(auth, { personId: 'prs_x' }));
      expect(second).not.toBe(first);
      expect(tokenRequests('client_credentials')).toHaveLength(2);
      expect(await upstream.introspect(second)).toBeDefined();
    });

    it('a rotated client secret is used for the next fetch once the window has passed, instead of the token fetched with the old one', async () => {
      const auth = await clientCredentials();
      await store(auth.toolId, upstream.clientSecret);
      const gateway = injector();
      await gateway.headersFor(auth, { personId: 'prs_x' });
      const wrong = canary();
      await store(auth.toolId, wrong);
      advance(PAST_WINDOW_MS);
      await expectUnavailable(gateway.headersFor(auth, { personId: 'prs_x' }), 'ERR_CREDENTIAL_UPSTREAM', [wrong]);
      expect(tokenRequests('client_credentials').map((r) => r.status)).toEqual([200, 401]);
    });

    it('a refusal (a wrong client secret) is ERR_CREDENTIAL_UPSTREAM whose message carries neither the secret nor the upstream answer, and is not cached', async () => {
      const auth = await clientCredentials();
      const secret = canary();
      const row = await store(auth.toolId, secret);
      const gateway = injector();
      const error = await expectUnavailable(gateway.headersFor(auth, { personId: 'prs_x' }), 'ERR_CREDENTIAL_UPSTREAM', [secret]);
      expect(error.message).toBe(`the token endpoint of tool ${auth.toolId} refused the request (HTTP 401)`);
      expect(error.message).not.toMatch(/invalid_client|authentication/);
      expect(logLines.join('\n')).not.toContain(secret);
      expect(logLines.join('\n')).toContain('invalid_client');
      // Fixed upstream-side: the next call asks again rather than replaying the failure.
      await db.update(schema.toolCredentials).set({ sealed: await sealSecret(encryptor, row, upstream.clientSecret) }).where(eq(schema.toolCredentials.id, row));
      advance(PAST_WINDOW_MS);
      expect(bearerOf(await gateway.headersFor(auth, { personId: 'prs_x' }))).toBeTruthy();
    });

    it('a token endpoint that does not answer in time is ERR_CREDENTIAL_UPSTREAM', async () => {
      const auth = await clientCredentials();
      await store(auth.toolId, upstream.clientSecret);
      upstream.setDelay(1_000);
      const error = await expectUnavailable(injector({ tokenRequestTimeoutMs: 100 }).headersFor(auth, { personId: 'prs_x' }), 'ERR_CREDENTIAL_UPSTREAM', [upstream.clientSecret]);
      expect(error.message).toContain('did not answer within 100 ms');
    });

    it('an unreachable token endpoint is ERR_CREDENTIAL_UPSTREAM', async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as net.AddressInfo;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const auth = await clientCredentials({ tokenUrl: `http://127.0.0.1:${port}/token` });
      await store(auth.toolId, upstream.clientSecret);
      const error = await expectUnavailable(injector().headersFor(auth, { personId: 'prs_x' }), 'ERR_CREDENTIAL_UPSTREAM', [upstream.clientSecret]);
      expect(error.message).toContain('could not be reached');
    });
  });

  describe('token exchange', () => {
    it('exchanges once per (person, tool, audience): each person gets a token acting for them alone', async () => {
      const auth = await tokenExchange();
      await store(auth.toolId, upstream.clientSecret);
      const [ada, bob] = [await person(), await person()];
      const gateway = injector();
      const tokenOf = async (personId: string) => bearerOf(await gateway.headersFor(auth, { personId, subjectToken: await upstream.subjectToken(personId) }));
      const adaTokens = new Set([await tokenOf(ada), await tokenOf(ada), await tokenOf(ada)]);
      const bobToken = await tokenOf(bob);
      expect(adaTokens.size).toBe(1);
      const [adaToken] = [...adaTokens];
      expect(bobToken).not.toBe(adaToken);
      expect(await upstream.introspect(adaToken!)).toMatchObject({ sub: ada, aud: 'issues-api', clientId: upstream.clientId });
      expect(await upstream.introspect(bobToken)).toMatchObject({ sub: bob, aud: 'issues-api' });
      const exchanges = tokenRequests(TOKEN_EXCHANGE_GRANT_TYPE);
      expect(exchanges.map((r) => r.params.subject_token)).toEqual([`subject:${ada}`, `subject:${bob}`]);
      expect(exchanges[0]).toMatchObject({
        status: 200, authScheme: 'Basic',
        params: {
          grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          requested_token_type: 'urn:ietf:params:oauth:token-type:access_token', audience: 'issues-api', scope: 'mcp:read',
        },
      });
      // Another tool with another audience is another exchange, even for the same person.
      const other = await tokenExchange({ audience: 'wiki-api' });
      await store(other.toolId, upstream.clientSecret);
      const wikiToken = bearerOf(await gateway.headersFor(other, { personId: ada, subjectToken: await upstream.subjectToken(ada) }));
      expect(await upstream.introspect(wikiToken)).toMatchObject({ sub: ada, aud: 'wiki-api' });
      expect(tokenRequests(TOKEN_EXCHANGE_GRANT_TYPE)).toHaveLength(3);
    });

    it('concurrent calls for one person share one exchange (single flight), while each person gets their own', async () => {
      const auth = await tokenExchange({ audience: undefined, resource: 'https://issues.example.com/mcp' });
      await store(auth.toolId, upstream.clientSecret);
      const [ada, bob] = [await person(), await person()];
      const subject = { [ada]: await upstream.subjectToken(ada), [bob]: await upstream.subjectToken(bob) };
      upstream.setDelay(150);
      const gateway = injector();
      const order = Array.from({ length: 20 }, (_, i) => (i % 2 ? ada : bob));
      const tokens = (await Promise.all(order.map((personId) => gateway.headersFor(auth, { personId, subjectToken: subject[personId] })))).map(bearerOf);
      expect(tokenRequests(TOKEN_EXCHANGE_GRANT_TYPE)).toHaveLength(2);
      const byPerson = new Map<string, Set<string>>();
      order.forEach((personId, i) => byPerson.set(personId, (byPerson.get(personId) ?? new Set()).add(tokens[i]!)));
      expect(byPerson.get(ada)!.size).toBe(1);
      expect(byPerson.get(bob)!.size).toBe(1);
      for (const [personId, set] of byPerson) expect(await upstream.introspect([...set][0]!)).toMatchObject({ sub: personId, aud: 'https://issues.example.com/mcp' });
    });

    it('an exchanged token is exchanged again after it expires', async () => {
      upstream.setTokenLifetime(10);
      const auth = await tokenExchange();
      await store(auth.toolId, upstream.clientSecret);
      const ada = await person();
      const gateway = injector();
      const call = async () => bearerOf(await gateway.headersFor(auth, { personId: ada, subjectToken: await upstream.subjectToken(ada) }));
      const first = await call();
      advance(9_000);
      expect(await call()).toBe(first);
      advance(1);
      expect(await call()).not.toBe(first);
      expect(tokenRequests(TOKEN_EXCHANGE_GRANT_TYPE)).toHaveLength(2);
    });

    it('without a subject token nothing is sent upstream: ERR_CREDENTIAL_MISSING', async () => {
      const auth = await tokenExchange();
      await store(auth.toolId, upstream.clientSecret);
      await expectUnavailable(injector().headersFor(auth, { personId: await person() }), 'ERR_CREDENTIAL_MISSING', [upstream.clientSecret]);
      expect(upstream.requests).toEqual([]);
    });

    it('a forged subject token is refused upstream (ERR_CREDENTIAL_UPSTREAM), carries no secret, and the failure is not cached', async () => {
      const auth = await tokenExchange();
      const secret = upstream.clientSecret;
      await store(auth.toolId, secret);
      const ada = await person();
      const gateway = injector();
      const forged = await upstream.subjectToken(ada, { issuer: 'https://evil.example' });
      const error = await expectUnavailable(gateway.headersFor(auth, { personId: ada, subjectToken: forged }), 'ERR_CREDENTIAL_UPSTREAM', [secret, forged]);
      expect(error.message).not.toContain('invalid_grant');
      expect(logLines.join('\n')).not.toContain(forged);
      const token = bearerOf(await gateway.headersFor(auth, { personId: ada, subjectToken: await upstream.subjectToken(ada) }));
      expect(await upstream.introspect(token)).toMatchObject({ sub: ada });
    });
  });
});
