// The token service as its own process, twice, beside a control plane, all on one database (the real
// PostgreSQL server when TEST_DATABASE_URL is set): tokens issued by either replica verify on both,
// and once the revoke call returns, not one request with an older token is accepted by any of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { decodeJwt } from 'jose';
import { loadConfig, type Database } from '../core/index.ts';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.ts';
import { apiClient } from '../test/support/api.ts';
import { apiFixtures } from '../test/support/api-fixtures.ts';
import { testDatabases } from '../test/support/databases.ts';
import { startWorkloadIssuer, type TestWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { startTokenService, type RunningTokenService } from './app.ts';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT } from './exchange.ts';

const ISSUER = 'http://127.0.0.1:8080';
const GATEWAY = `${ISSUER}/mcp`;
// The real server when there is one: PGlite is one in-process connection, which makes replicas trivially agree.
const target = testDatabases.find((d) => d.name === 'postgres') ?? testDatabases[0]!;

describe(`two token-service replicas on ${target.name}`, () => {
  let issuer: TestWorkloadIssuer;
  let control: TestControlPlane;
  const replicas: { service: RunningTokenService; database: Database }[] = [];
  let personId: string;
  let assistantId: string;
  let toolName: string;

  beforeAll(async () => {
    issuer = await startWorkloadIssuer({ audience: ISSUER });
    const env = { OPENCRANE_WORKLOAD_ISSUER: issuer.url, OPENCRANE_REVOCATION_STALENESS_MS: '10000' };
    control = await startTestControlPlane(target, env);
    for (let i = 0; i < 2; i++) {
      const database = await control.database.connectAgain();
      // The same OPENCRANE_HOME: the replicas share the control plane's key-encryption key, as pods share the secret.
      const config = loadConfig({ OPENCRANE_HOME: control.home, LOG_LEVEL: 'silent', ...env });
      replicas.push({ service: await startTokenService({ config, logger: pino({ level: 'silent' }), database }), database });
    }
    const f = apiFixtures(apiClient(control));
    const person = await f.person();
    personId = person.id;
    const tool = await f.tool();
    toolName = tool.name as string;
    await f.grant({ subject: { kind: 'person', id: personId }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
    const assistants = await apiClient(control)({ method: 'GET', url: `/api/v1/assistants?personId=${personId}` });
    assistantId = assistants.json<{ items: { id: string }[] }>().items[0]!.id;
  });
  afterAll(async () => {
    for (const { service, database } of replicas) {
      await service.close();
      await database.close();
    }
    await control?.close();
    await issuer?.close();
  });

  const post = (service: RunningTokenService, form: Record<string, string>) => service.app.inject({
    method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString(),
  });
  function exchangeAt(service: RunningTokenService, subject: string) {
    return post(service, { grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: TOKEN_TYPE_JWT, audience: GATEWAY });
  }
  const tokenFrom = async (service: RunningTokenService) => {
    const response = await exchangeAt(service, await issuer.tokenFor(assistantId));
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ access_token: string }>().access_token;
  };
  /** Every way a replica accepts a token: its verifier, and exchanging the token down to a tool. */
  const acceptedBy = async (service: RunningTokenService, token: string) => {
    const verified = await service.tokens.verifier.verify(token).then(() => true, () => false);
    const down = await post(service, {
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: token, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, resource: `${GATEWAY}/${toolName}`,
    });
    return { verified, exchangedDown: down.statusCode === 200 };
  };

  it('a token issued by either replica is accepted by both, signed with one shared key set', async () => {
    // Each replica hears the new person, assistant and grant through the change feed.
    for (const { service } of replicas) {
      await expect.poll(async () => (await exchangeAt(service, await issuer.tokenFor(assistantId))).statusCode, { timeout: 5000 }).toBe(200);
    }
    const [a, b] = [await tokenFrom(replicas[0]!.service), await tokenFrom(replicas[1]!.service)];
    for (const { service } of replicas) {
      for (const token of [a, b]) expect(await acceptedBy(service, token)).toEqual({ verified: true, exchangedDown: true });
    }
  });

  it('once the revoke call returns, not one replica accepts an older token (20 rounds)', async () => {
    const api = apiClient(control);
    for (let round = 0; round < 20; round++) {
      const older = [await tokenFrom(replicas[0]!.service), await tokenFrom(replicas[1]!.service)];
      const epochBefore = decodeJwt(older[0]!).sv as number;
      const revoked = await api({ method: 'POST', url: `/api/v1/people/${personId}/revoke`, body: { reason: `round ${round}` } });
      expect(revoked.statusCode, revoked.body).toBe(200);
      for (const [i, { service }] of replicas.entries()) {
        for (const token of older) {
          expect(await acceptedBy(service, token), `round ${round}, replica ${i}`).toEqual({ verified: false, exchangedDown: false });
        }
      }
      const newer = await tokenFrom(replicas[round % 2]!.service);
      expect(decodeJwt(newer).sv).toBe(epochBefore + 1);
      for (const { service } of replicas) expect((await acceptedBy(service, newer)).verified).toBe(true);
    }
  });

  it('each replica is ready only with its database, directory and revocation feed', async () => {
    for (const { service } of replicas) {
      const response = await service.app.inject({ method: 'GET', url: '/readyz' });
      expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok', directory: 'ok', revocations: 'ok' } });
    }
  });
});
