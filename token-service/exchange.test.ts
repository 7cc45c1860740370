// RFC 8693 token exchange, end to end through the control plane's /oauth2/token, with a workload
// issuer serving real OIDC discovery and a JWKS on loopback. Each attack test names the attack it tries.
import { createPublicKey, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, type JSONWebKeySet } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { newId } from '../core/index.ts';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.ts';
import { apiClient, type ApiClient } from '../test/support/api.ts';
import { apiFixtures, type ApiFixtures } from '../test/support/api-fixtures.ts';
import { testDatabases } from '../test/support/databases.ts';
import { startWorkloadIssuer, type TestWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { freePort } from '../test/support/ports.ts';
import { createTokenVerifier, type TokenVerificationError } from './token-verifier.ts';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT } from './exchange.ts';

const ISSUER = 'http://127.0.0.1:8080';
const GATEWAY = `${ISSUER}/mcp`;
const SKILLS = `${ISSUER}/skills`;
const KNOWLEDGE = `${ISSUER}/knowledge`;
const FORM = 'application/x-www-form-urlencoded';

interface TokenResponse { access_token: string; issued_token_type: string; token_type: string; expires_in: number; scope?: string }

describe.each(testDatabases)('token exchange on $name', (target) => {
  let issuer: TestWorkloadIssuer;
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;
  /** A person in a team whose grant allows one tool, and their assistant. */
  let alice: { personId: string; assistantId: string };
  let tool: { id: string; name: string };
  let otherTool: { id: string; name: string };

  const assistantOf = async (personId: string) => {
    const response = await api({ method: 'GET', url: `/api/v1/assistants?personId=${personId}` });
    return (response.json<{ items: { id: string }[] }>().items[0]!).id;
  };
  const newPerson = async (body: Record<string, unknown> = {}) => {
    const person = await f.person(body);
    return { personId: person.id, assistantId: await assistantOf(person.id) };
  };

  beforeAll(async () => {
    issuer = await startWorkloadIssuer({ audience: ISSUER });
    control = await startTestControlPlane(target, { OPENCRANE_WORKLOAD_ISSUER: issuer.url });
    api = apiClient(control);
    f = apiFixtures(api);
    const team = await f.team();
    alice = await newPerson();
    await f.join(team.id, alice.personId);
    tool = await f.tool() as unknown as { id: string; name: string };
    otherTool = await f.tool() as unknown as { id: string; name: string };
    await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
  });
  afterAll(async () => {
    await control?.close();
    await issuer?.close();
  });

  const post = (url: string, form: Record<string, string | string[]>, headers: Record<string, string> = {}) => {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(form)) for (const v of [value].flat()) body.append(key, v);
    return control.plane.app.inject({ method: 'POST', url, payload: body.toString(), headers: { 'content-type': FORM, ...headers } });
  };
  const exchange = (subjectToken: string, extra: Record<string, string | string[]> = {}) => post('/oauth2/token', {
    grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subjectToken, subject_token_type: TOKEN_TYPE_JWT, audience: GATEWAY, ...extra,
  });
  const expectOAuthError = (response: LightMyRequestResponse, error: string, status = 400) => {
    expect(response.statusCode, response.body).toBe(status);
    expect(response.json()).toEqual({ error, error_description: expect.any(String) as unknown });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).not.toMatch(/\n\s+at\s|node_modules|\.ts:\d+/);
  };
  const issued = (response: LightMyRequestResponse) => {
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    return response.json<TokenResponse>();
  };
  const jwks = async () => (await api({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json<JSONWebKeySet>();
  const verifierFor = async (audience: string) => createTokenVerifier({
    issuer: ISSUER, audience, jwks: createLocalJWKSet(await jwks()), currentEpoch: control.plane.epochs.currentEpoch,
  });

  it('an assistant\'s ServiceAccount token is exchanged for a gateway token naming the assistant, its owner and epoch', async () => {
    const before = Math.floor(Date.now() / 1000);
    const answer = issued(await exchange(await issuer.tokenFor(alice.assistantId)));
    expect(answer).toMatchObject({ issued_token_type: TOKEN_TYPE_ACCESS_TOKEN, token_type: 'Bearer' });
    expect(answer.expires_in).toBeGreaterThan(290);
    expect(answer.expires_in).toBeLessThanOrEqual(300);
    const header = decodeProtectedHeader(answer.access_token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect((await jwks()).keys.map((k) => k.kid)).toContain(header.kid);
    const claims = decodeJwt(answer.access_token);
    expect(claims).toMatchObject({ iss: ISSUER, sub: alice.assistantId, owner: alice.personId, aud: GATEWAY, sv: 0 });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.nbf).toBe(claims.iat);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
    expect(claims.jti).toEqual(expect.any(String));
    expect(claims.act).toBeUndefined();
    const verified = await (await verifierFor(GATEWAY)).verify(answer.access_token);
    expect(verified).toMatchObject({ subject: alice.assistantId, owner: alice.personId, audience: GATEWAY, epoch: 0 });
  });

  it('the audience may be named by resource (RFC 8707) or by the plane\'s short name; the token carries the URI', async () => {
    const subject = await issuer.tokenFor(alice.assistantId);
    const byResource = issued(await exchange(subject, { audience: [], resource: GATEWAY }));
    expect(decodeJwt(byResource.access_token).aud).toBe(GATEWAY);
    const byName = issued(await exchange(subject, { audience: 'mcp-gateway' }));
    expect(decodeJwt(byName.access_token).aud).toBe(GATEWAY);
    const both = issued(await exchange(subject, { audience: 'mcp-gateway', resource: GATEWAY }));
    expect(decodeJwt(both.access_token).aud).toBe(GATEWAY);
  });

  it('an exchanged token never outlives the subject token', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const answer = issued(await exchange(await issuer.tokenFor(alice.assistantId, { iat, exp: iat + 90 })));
    expect(answer.expires_in).toBeLessThanOrEqual(90);
    expect(decodeJwt(answer.access_token).exp).toBeLessThanOrEqual(iat + 90);
  });

  it('a gateway token is exchanged down to one granted tool, and only narrows', async () => {
    const gateway = issued(await exchange(await issuer.tokenFor(alice.assistantId), { scope: 'tools.list tools.call' }));
    expect(gateway.scope).toBe('tools.list tools.call');
    const down = (token: string, extra: Record<string, string>) => post('/oauth2/token', {
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: token, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, ...extra,
    });
    const toolUri = `${GATEWAY}/${tool.name}`;
    const narrowed = issued(await down(gateway.access_token, { resource: toolUri, scope: 'tools.call' }));
    const claims = decodeJwt(narrowed.access_token);
    expect(claims).toMatchObject({ aud: toolUri, sub: alice.assistantId, owner: alice.personId, scope: 'tools.call' });
    expect(claims.exp).toBeLessThanOrEqual(decodeJwt(gateway.access_token).exp!);
    expect((await (await verifierFor(toolUri)).verify(narrowed.access_token)).audience).toBe(toolUri);

    expectOAuthError(await down(gateway.access_token, { resource: toolUri, scope: 'tools.call admin' }), 'invalid_scope');
    expectOAuthError(await down(gateway.access_token, { audience: SKILLS }), 'invalid_target');
    expectOAuthError(await down(narrowed.access_token, { resource: toolUri }), 'invalid_grant');
    expectOAuthError(await down(gateway.access_token, { resource: `${GATEWAY}/${otherTool.name}` }), 'invalid_target');
    expectOAuthError(await down(gateway.access_token, { resource: `${GATEWAY}/no-such-tool` }), 'invalid_target');
  });

  it('deny by default at the door: no token for an audience the owner holds no allow grant on', async () => {
    const nobody = await newPerson();
    const subject = await issuer.tokenFor(nobody.assistantId);
    for (const audience of [GATEWAY, SKILLS, KNOWLEDGE]) expectOAuthError(await exchange(subject, { audience }), 'invalid_target');

    const skill = await f.skill();
    await f.grant({ subject: { kind: 'person', id: nobody.personId }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
    issued(await exchange(subject, { audience: SKILLS }));
    expectOAuthError(await exchange(subject, { audience: GATEWAY }), 'invalid_target');

    // A deny grant and an expired allow grant hold nothing.
    await f.grant({ subject: { kind: 'person', id: nobody.personId }, resource: { kind: 'tool', id: tool.id }, effect: 'deny' });
    await f.grant({
      subject: { kind: 'person', id: nobody.personId }, resource: { kind: 'tool', id: otherTool.id }, effect: 'allow',
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    });
    issued(await exchange(subject, { audience: GATEWAY }));
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expectOAuthError(await exchange(subject, { audience: GATEWAY }), 'invalid_target');
  });

  it('a department grant opens the door for everyone in the department', async () => {
    const department = await f.department();
    const knowledge = await f.knowledge();
    await f.grant({ subject: { kind: 'department', id: department.id }, resource: { kind: 'knowledge', id: knowledge.id }, effect: 'allow' });
    const member = await newPerson({ departmentId: department.id });
    issued(await exchange(await issuer.tokenFor(member.assistantId), { audience: KNOWLEDGE }));
  });

  describe('attacks on the subject token (each refused, nothing issued)', () => {
    const refusedWith = async (token: string, error = 'invalid_grant') => expectOAuthError(await exchange(token), error);

    it('attack: alg none', async () => {
      const claims = decodeJwt(await issuer.tokenFor(alice.assistantId));
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', kid: issuer.kid })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
      await refusedWith(unsigned);
    });

    it('attack: HS256 signed with the issuer\'s public key as the secret', async () => {
      const jwksResponse = await fetch(`${issuer.url}/openid/v1/jwks`);
      const { keys } = await jwksResponse.json() as { keys: object[] };
      const pem = createPublicKey({ key: keys[0] as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      await refusedWith(await issuer.tokenFor(alice.assistantId, { header: { alg: 'HS256' }, key: new TextEncoder().encode(String(pem)) }));
    });

    it('attack: RS/ES confusion (an ES256 token under the RSA key\'s kid)', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      await refusedWith(await issuer.tokenFor(alice.assistantId, { header: { alg: 'ES256' }, key: privateKey }));
    });

    it('attack: wrong issuer, wrong audience, several audiences', async () => {
      await refusedWith(await issuer.tokenFor(alice.assistantId, { iss: 'https://evil.example.com' }));
      await refusedWith(await issuer.tokenFor(alice.assistantId, { aud: ['https://kubernetes.default.svc'] }));
      await refusedWith(await issuer.tokenFor(alice.assistantId, { aud: [ISSUER, 'https://kubernetes.default.svc'] }));
    });

    it('attack: expired, and not valid yet', async () => {
      const now = Math.floor(Date.now() / 1000);
      await refusedWith(await issuer.tokenFor(alice.assistantId, { iat: now - 1200, exp: now - 600 }));
      await refusedWith(await issuer.tokenFor(alice.assistantId, { nbf: now + 600 }));
    });

    it('attack: an unknown kid, and a kid or jku pointing elsewhere', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      await refusedWith(await issuer.tokenFor(alice.assistantId, { header: { kid: 'somebody-elses-key' }, key: privateKey }));
      await refusedWith(await issuer.tokenFor(alice.assistantId, { key: privateKey }));
      await refusedWith(await issuer.tokenFor(alice.assistantId, { header: { jku: 'https://evil.example.com/jwks' }, key: privateKey }));
      await refusedWith(await issuer.tokenFor(alice.assistantId, { header: { kid: '../../openid/v1/jwks' } }));
    });

    it('attack: a tampered payload', async () => {
      const bob = await newPerson();
      const [header, , signature] = (await issuer.tokenFor(alice.assistantId)).split('.');
      const forgedClaims = decodeJwt(await issuer.tokenFor(bob.assistantId));
      await refusedWith(`${header}.${Buffer.from(JSON.stringify(forgedClaims)).toString('base64url')}.${signature}`);
    });

    it('attack: a token over the size limit', async () => {
      const huge = await issuer.tokenFor(alice.assistantId, { header: { pad: 'x'.repeat(9000) } });
      expectOAuthError(await exchange(huge), 'invalid_request');
    });

    it('attack: ServiceAccounts that map to no assistant', async () => {
      await refusedWith(await issuer.sign({ name: 'default' }));
      await refusedWith(await issuer.tokenFor(newId('assistant')));
      await refusedWith(await issuer.tokenFor(alice.assistantId, { namespace: 'kube-system' }));
      await refusedWith(await issuer.tokenFor(alice.assistantId, { sub: 'system:node:worker-1', plain: true }));
      await refusedWith(await issuer.sign({ sub: `system:serviceaccount:opencrane:${decodeJwt(await issuer.tokenFor(alice.assistantId)).sub!.split(':')[3]}`, name: 'default' }));
    });

    it('attack: an OpenCrane token for another audience, or a pairing-shaped token, as the subject', async () => {
      const skill = await f.skill();
      await f.grant({ subject: { kind: 'person', id: alice.personId }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      const skills = issued(await exchange(await issuer.tokenFor(alice.assistantId), { audience: SKILLS }));
      const down = await post('/oauth2/token', {
        grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: skills.access_token, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        resource: `${GATEWAY}/${tool.name}`,
      });
      expectOAuthError(down, 'invalid_grant');
      // A workload token presented as an access token, and an access token presented as a workload token.
      expectOAuthError(await post('/oauth2/token', {
        grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: await issuer.tokenFor(alice.assistantId), subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        resource: `${GATEWAY}/${tool.name}`,
      }), 'invalid_grant');
      await refusedWith(skills.access_token);
    });
  });

  it('a suspended person\'s assistant gets no token, and a token replayed after the suspension is refused', async () => {
    const team = await f.team();
    const carol = await newPerson();
    await f.join(team.id, carol.personId);
    await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
    const before = issued(await exchange(await issuer.tokenFor(carol.assistantId)));
    const verifier = await verifierFor(GATEWAY);
    await verifier.verify(before.access_token);

    const suspended = await api({ method: 'PATCH', url: `/api/v1/people/${carol.personId}`, body: { status: 'suspended' } });
    expect(suspended.statusCode, suspended.body).toBe(200);
    await expect.poll(() => verifier.verify(before.access_token).then(() => 'accepted', (e: unknown) => (e as TokenVerificationError).code))
      .toBe('ERR_TOKEN_REVOKED');
    expectOAuthError(await exchange(await issuer.tokenFor(carol.assistantId)), 'invalid_grant');

    await api({ method: 'PATCH', url: `/api/v1/people/${carol.personId}`, body: { status: 'active' } });
    const after = issued(await exchange(await issuer.tokenFor(carol.assistantId)));
    expect(decodeJwt(after.access_token).sv).toBe(1);
    await expect(verifier.verify(before.access_token)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
  });

  it('a revoked person\'s earlier token is refused; a new exchange carries the new epoch', async () => {
    const answer = issued(await exchange(await issuer.tokenFor(alice.assistantId)));
    const epoch = decodeJwt(answer.access_token).sv as number;
    const revoked = await api({ method: 'POST', url: `/api/v1/people/${alice.personId}/revoke`, body: {} });
    expect(revoked.statusCode, revoked.body).toBe(200);
    const verifier = await verifierFor(GATEWAY);
    await expect(verifier.verify(answer.access_token)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    const fresh = issued(await exchange(await issuer.tokenFor(alice.assistantId)));
    expect(decodeJwt(fresh.access_token).sv).toBe(epoch + 1);
    await verifier.verify(fresh.access_token);
  });

  it('malformed exchange requests get the RFC 6749 error that says what is wrong', async () => {
    const subject = await issuer.tokenFor(alice.assistantId);
    const cases: [Record<string, string | string[]>, string][] = [
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token_type: TOKEN_TYPE_JWT, audience: GATEWAY }, 'invalid_request'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, audience: GATEWAY }, 'invalid_request'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:saml2', audience: GATEWAY }, 'invalid_request'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: TOKEN_TYPE_JWT }, 'invalid_request'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: TOKEN_TYPE_JWT, audience: 'https://evil.example.com' }, 'invalid_target'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: TOKEN_TYPE_JWT, audience: [GATEWAY, SKILLS] }, 'invalid_target'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: TOKEN_TYPE_JWT, audience: GATEWAY, resource: SKILLS }, 'invalid_target'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: TOKEN_TYPE_JWT, audience: `${GATEWAY}/../admin` }, 'invalid_target'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: TOKEN_TYPE_JWT, audience: GATEWAY, actor_token: subject, actor_token_type: TOKEN_TYPE_JWT }, 'invalid_request'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: TOKEN_TYPE_JWT, audience: GATEWAY, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'invalid_request'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: TOKEN_TYPE_JWT, audience: GATEWAY, scope: 'bad\\scope' }, 'invalid_scope'],
      [{ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: 'not-a-jwt', subject_token_type: TOKEN_TYPE_JWT, audience: GATEWAY }, 'invalid_grant'],
    ];
    for (const [form, error] of cases) expectOAuthError(await post('/oauth2/token', form), error);
  });

  it('publishes RFC 8414 metadata that names the exchange, the JWKS and introspection', async () => {
    const response = await api({ method: 'GET', url: '/.well-known/oauth-authorization-server', token: null });
    expect(response.statusCode).toBe(200);
    const metadata = response.json<Record<string, unknown>>();
    expect(metadata).toMatchObject({
      issuer: ISSUER, token_endpoint: `${ISSUER}/oauth2/token`, jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      introspection_endpoint: `${ISSUER}/oauth2/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
    expect(metadata.grant_types_supported).toContain(TOKEN_EXCHANGE_GRANT_TYPE);
    const keys = await api({ method: 'GET', url: '/.well-known/jwks.json', token: null });
    expect(keys.headers['cache-control']).toBe('public, max-age=300');
    expect(keys.json<JSONWebKeySet>().keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys.json<JSONWebKeySet>().keys) expect(key).not.toHaveProperty('d');
  });

  describe('introspection (RFC 7662)', () => {
    let client: { id: string; clientSecret: string };
    beforeAll(async () => {
      const response = await api({ method: 'POST', url: '/api/v1/oauth-clients', body: { name: 'gateway', audiences: [GATEWAY] } });
      expect(response.statusCode, response.body).toBe(201);
      client = response.json();
    });
    const basic = () => `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
    const introspect = (token: string, authorization = basic()) => post('/oauth2/introspect', { token }, { authorization });

    it('an authenticated client learns the claims of an active token for its audience', async () => {
      const answer = issued(await exchange(await issuer.tokenFor(alice.assistantId)));
      const response = await introspect(answer.access_token);
      expect(response.statusCode, response.body).toBe(200);
      const claims = decodeJwt(answer.access_token);
      expect(response.json()).toEqual({
        active: true, iss: ISSUER, sub: alice.assistantId, client_id: alice.assistantId, owner: alice.personId, aud: GATEWAY,
        token_type: 'Bearer', iat: claims.iat, nbf: claims.nbf, exp: claims.exp, jti: claims.jti, sv: claims.sv,
      });
      const viaPost = await post('/oauth2/introspect', { token: answer.access_token, client_id: client.id, client_secret: client.clientSecret });
      expect(viaPost.json()).toMatchObject({ active: true });
    });

    it('tokens for other audiences, revoked tokens and garbage are inactive, with nothing else said', async () => {
      const skill = await f.skill();
      await f.grant({ subject: { kind: 'person', id: alice.personId }, resource: { kind: 'skill', id: skill.id }, effect: 'allow' });
      const skills = issued(await exchange(await issuer.tokenFor(alice.assistantId), { audience: SKILLS }));
      expect((await introspect(skills.access_token)).json()).toEqual({ active: false });
      expect((await introspect('garbage')).json()).toEqual({ active: false });
      const gateway = issued(await exchange(await issuer.tokenFor(alice.assistantId)));
      await api({ method: 'POST', url: `/api/v1/people/${alice.personId}/revoke`, body: {} });
      expect((await introspect(gateway.access_token)).json()).toEqual({ active: false });
    });

    it('a client with a wrong secret, no credentials or a revoked registration is refused with 401', async () => {
      const token = (issued(await exchange(await issuer.tokenFor(alice.assistantId)))).access_token;
      for (const authorization of [`Basic ${Buffer.from(`${client.id}:occs_${'A'.repeat(43)}`).toString('base64')}`, 'Bearer x', '']) {
        const response = await introspect(token, authorization);
        expectOAuthError(response, 'invalid_client', 401);
        expect(response.headers['www-authenticate']).toMatch(/^Basic/);
      }
      await api({ method: 'DELETE', url: `/api/v1/oauth-clients/${client.id}` });
      expectOAuthError(await introspect(token), 'invalid_client', 401);
    });
  });

  it('an unreachable cluster issuer fails the exchange closed with a 503, and the next one recovers', async () => {
    const port = await freePort();
    const down = await startTestControlPlane(target, { OPENCRANE_WORKLOAD_ISSUER: `http://127.0.0.1:${port}` });
    try {
      const response = await down.plane.app.inject({
        method: 'POST', url: '/oauth2/token', headers: { 'content-type': FORM },
        payload: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: await issuer.tokenFor(alice.assistantId), subject_token_type: TOKEN_TYPE_JWT, audience: GATEWAY,
        }).toString(),
      });
      expectOAuthError(response, 'temporarily_unavailable', 503);
    } finally {
      await down.close();
    }
  });
});

describe('the development workload issuer inside npm start', () => {
  it('mints a ServiceAccount token for a demo assistant that the token service exchanges over real HTTP', async () => {
    const target = testDatabases[0]!;
    const { startListeningControlPlane } = await import('../test/support/control-plane.ts');
    const control = await startListeningControlPlane(target, await freePort());
    try {
      const admin = { authorization: `Bearer ${control.adminToken}`, 'content-type': 'application/json' };
      const call = async (path: string, body?: unknown) => {
        const response = await fetch(`${control.url}${path}`, { method: body ? 'POST' : 'GET', headers: admin, ...(body ? { body: JSON.stringify(body) } : {}) });
        expect(response.status, `${path}: ${response.status}`).toBeLessThan(300);
        return await response.json() as Record<string, unknown>;
      };
      const person = await call('/api/v1/people', { email: `dev-${randomUUID()}@example.com`, displayName: 'Dev' });
      const toolRecord = await call('/api/v1/tools', { name: `dev-tool-${Date.now()}`, url: 'https://mcp.example.com/mcp' });
      await call('/api/v1/grants', { subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: toolRecord.id }, effect: 'allow' });
      const assistants = await call(`/api/v1/assistants?personId=${String(person.id)}`) as { items: { id: string }[] };
      const minted = await call('/dev-workload/serviceaccount-token', { assistantId: assistants.items[0]!.id });
      expect(decodeJwt(minted.token as string)).toMatchObject({ iss: `${control.url}/dev-workload`, aud: [control.url] });

      const discovery = await (await fetch(`${control.url}/dev-workload/.well-known/openid-configuration`)).json() as Record<string, unknown>;
      expect(discovery).toMatchObject({ issuer: `${control.url}/dev-workload`, jwks_uri: `${control.url}/dev-workload/openid/v1/jwks` });

      const unauthenticated = await fetch(`${control.url}/dev-workload/serviceaccount-token`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ assistantId: assistants.items[0]!.id }),
      });
      expect(unauthenticated.status).toBe(401);

      const response = await fetch(`${control.url}/oauth2/token`, {
        method: 'POST', headers: { 'content-type': FORM },
        body: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: minted.token as string, subject_token_type: TOKEN_TYPE_JWT, audience: 'mcp-gateway',
        }),
      });
      expect(response.status).toBe(200);
      const answer = await response.json() as TokenResponse;
      expect(decodeJwt(answer.access_token)).toMatchObject({ aud: `${control.url}/mcp`, owner: person.id, sub: assistants.items[0]!.id });
    } finally {
      await control.close();
    }
  });

  it('is refused when NODE_ENV=production', async () => {
    const { loadConfig } = await import('../core/index.ts');
    expect(() => loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://oc.example.com', OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'x', OIDC_CLIENT_SECRET: 'y' }))
      .toThrow(/OPENCRANE_WORKLOAD_ISSUER is required/);
    const { createDevWorkloadIssuer } = await import('./dev-workload-issuer.ts');
    await expect(createDevWorkloadIssuer({ publicUrl: 'https://oc.example.com', namespace: 'opencrane', audience: 'x', production: true }))
      .rejects.toThrow(/refused when NODE_ENV=production/);
  });
});
