// Revocation across replicas: the control plane revokes, and two other replicas (each with its own
// database connection, epoch feed and token verifier) refuse the person's older tokens as soon as the
// revoke call returns: the endpoint answers only once every registered replica has acknowledged.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { and, eq, isNull } from 'drizzle-orm';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { createEpochFeed, newId, schema, type Database, type EpochFeed } from '../core/index.ts';
import { createTokenVerifier, TokenVerificationError, type TokenVerifier } from '../token-service/index.ts';
import { testDatabases } from '../test/support/databases.ts';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.ts';
import { apiClient, expectProblem, type ApiClient } from '../test/support/api.ts';
import { apiFixtures, type ApiFixtures } from '../test/support/api-fixtures.ts';
import { createSession } from './identity/sessions.ts';
import { issueCliTokens } from './identity/refresh-tokens.ts';

const ISSUER = 'https://opencrane.test';
const AUDIENCE = 'https://opencrane.test/mcp';
/**
 * One staleness bound for the control plane and both replicas, as in a deployment. Staleness has its own
 * tests; here it is long so that a loaded test machine does not turn a replica stale.
 */
const STALENESS_MS = 10_000;
/** How long the fixtures wait for a new person to reach every replica's feed. */
const DIRECTORY_WAIT_MS = 2000;

interface Replica {
  connection: Database;
  feed: EpochFeed;
  verifier: TokenVerifier;
}

async function signingKey(): Promise<{ privateKey: CryptoKey; publicJwk: JWK; kid: string }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, kid, publicJwk: { ...jwk, kid, alg: 'ES256', use: 'sig' } };
}

/** 'accepted' when the verifier accepts the token, the refusal's code otherwise. */
async function outcome(verifier: TokenVerifier, token: string): Promise<string> {
  try {
    await verifier.verify(token);
    return 'accepted';
  } catch (err) {
    if (err instanceof TokenVerificationError) return err.code;
    throw err;
  }
}

async function until(condition: () => boolean, timeoutMs = DIRECTORY_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe.each(testDatabases)('revocation epochs across replicas on $name', (target) => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;
  let key: Awaited<ReturnType<typeof signingKey>>;
  const replicas: Replica[] = [];

  const token = (assistantId: string, owner: string, sv: number) => {
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({ owner, sv })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(assistantId).setJti(randomUUID())
      .setIssuedAt(iat).setExpirationTime(iat + 300)
      .sign(key.privateKey);
  };

  /** A person with an assistant, known to every replica's feed. */
  async function person(): Promise<{ personId: string; assistantId: string }> {
    const created = await f.person();
    const listed = await api({ method: 'GET', url: `/api/v1/assistants?personId=${created.id}` });
    const assistantId = (listed.json<{ items: { id: string }[] }>().items[0]!).id;
    await until(() => [control.plane.epochs, ...replicas.map((r) => r.feed)].every((feed) => feed.currentEpoch(created.id) === 0));
    return { personId: created.id, assistantId };
  }

  beforeAll(async () => {
    control = await startTestControlPlane(target, { OPENCRANE_REVOCATION_STALENESS_MS: String(STALENESS_MS) });
    api = apiClient(control);
    f = apiFixtures(api);
    key = await signingKey();
    for (let i = 0; i < 2; i++) {
      const connection = await control.database.connectAgain();
      const feed = createEpochFeed({
        database: connection, db: connection.db, logger: pino({ level: 'silent' }), stalenessMs: STALENESS_MS,
        service: i === 0 ? 'token-service' : 'mcp-gateway',
      });
      await feed.start();
      const verifier = createTokenVerifier({
        issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.publicJwk] }, currentEpoch: feed.currentEpoch,
      });
      replicas.push({ connection, feed, verifier });
    }
  });
  afterAll(async () => {
    for (const replica of replicas) {
      await replica.feed.stop();
      await replica.connection.close();
    }
    await control?.close();
  });

  it('once a revoke call returns, not one replica accepts an older token: 20 rounds, two replicas on their own connections', async () => {
    const { personId, assistantId } = await person();
    const accepted: string[] = [];
    for (let round = 0; round < 20; round++) {
      const current = await token(assistantId, personId, round);
      for (const [i, replica] of replicas.entries()) {
        expect(await outcome(replica.verifier, current), `round ${round}: replica ${i} before the revoke`).toBe('accepted');
      }
      const response = await api({ method: 'POST', url: `/api/v1/people/${personId}/revoke`, body: {} });
      // Read before the event loop turns again: nothing that arrives after the answer may count.
      const epochsAtAnswer = replicas.map((r) => r.feed.currentEpoch(personId));
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({ personId, epoch: round + 1 });
      expect(epochsAtAnswer, `round ${round}: every replica's epoch when the call returned`).toEqual([round + 1, round + 1]);
      for (const [i, replica] of replicas.entries()) {
        const result = await outcome(replica.verifier, current);
        if (result !== 'ERR_TOKEN_REVOKED') accepted.push(`round ${round}: replica ${i} answered ${result}`);
      }
    }
    expect(accepted, 'an older token after the revoke call returned').toEqual([]);

    const fresh = await token(assistantId, personId, 20);
    for (const replica of replicas) expect(await outcome(replica.verifier, fresh)).toBe('accepted');
    expect(control.plane.epochs.currentEpoch(personId)).toBe(20);
  });

  it('revoking an assistant revokes its owner\'s tokens everywhere and is audited as assistant.revoke', async () => {
    const { personId, assistantId } = await person();
    const older = await token(assistantId, personId, 0);
    const response = await api({ method: 'POST', url: `/api/v1/assistants/${assistantId}/revoke`, body: {} });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ personId, epoch: 1 });
    for (const replica of replicas) expect(await outcome(replica.verifier, older)).toBe('ERR_TOKEN_REVOKED');

    const again = await api({ method: 'POST', url: `/api/v1/assistants/${assistantId}/revoke`, body: {} });
    expect(again.json()).toEqual({ personId, epoch: 2 });
    const audit = await api({ method: 'GET', url: `/api/v1/audit?action=assistant.revoke&targetId=${assistantId}` });
    const events = audit.json<{ items: { actor: string; before: unknown; after: unknown }[] }>().items;
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ before: { personId, epoch: 1 }, after: { personId, epoch: 2 } });
  });

  it('a revoke ends the person\'s sessions, refresh-token families and pending pairing links, and is audited', async () => {
    const { personId, assistantId } = await person();
    const { db } = control.plane.store;
    await createSession(db, { personId, role: 'member', kind: 'browser', absoluteMs: 3_600_000 });
    await issueCliTokens(db, { personId, role: 'member' });
    const jti = randomUUID();
    const issuedAt = new Date();
    await db.insert(schema.pairingLinks).values({ jti, assistantId, personId, issuedAt, expiresAt: new Date(issuedAt.getTime() + 300_000) });

    const response = await api({ method: 'POST', url: `/api/v1/people/${personId}/revoke`, body: { reason: 'laptop stolen' } });
    expect(response.statusCode, response.body).toBe(200);

    const liveSessions = await db.select().from(schema.sessions)
      .where(and(eq(schema.sessions.personId, personId), isNull(schema.sessions.revokedAt)));
    const liveRefresh = await db.select().from(schema.refreshTokens)
      .where(and(eq(schema.refreshTokens.personId, personId), isNull(schema.refreshTokens.revokedAt)));
    const liveLinks = await db.select().from(schema.pairingLinks)
      .where(and(eq(schema.pairingLinks.personId, personId), isNull(schema.pairingLinks.revokedAt)));
    expect(liveSessions).toEqual([]);
    expect(liveRefresh).toEqual([]);
    expect(liveLinks).toEqual([]);

    const audit = await api({ method: 'GET', url: `/api/v1/audit?action=person.revoke&targetId=${personId}` });
    const events = audit.json<{ items: { actor: string; targetKind: string; before: unknown; after: unknown }[] }>().items;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ targetKind: 'person', before: { epoch: 0 }, after: { epoch: 1, reason: 'laptop stolen' } });
  });

  it('only an admin may revoke: an auditor or security token is refused with 403 and nothing changes', async () => {
    const { personId, assistantId } = await person();
    for (const role of ['auditor', 'security'] as const) {
      const { token: roleToken } = await f.apiToken(role);
      expectProblem(await api({ method: 'POST', url: `/api/v1/people/${personId}/revoke`, body: {}, token: roleToken }), 403);
      expectProblem(await api({ method: 'POST', url: `/api/v1/assistants/${assistantId}/revoke`, body: {}, token: roleToken }), 403);
    }
    expectProblem(await api({ method: 'POST', url: `/api/v1/people/${personId}/revoke`, body: {}, token: null }), 401);
    await sleep(50);
    for (const replica of replicas) expect(replica.feed.currentEpoch(personId)).toBe(0);
  });

  it('revoking an unknown person or assistant is a 404 and audits nothing', async () => {
    const ghost = newId('person');
    expectProblem(await api({ method: 'POST', url: `/api/v1/people/${ghost}/revoke`, body: {} }), 404, 'ERR_NOT_FOUND');
    const ghostAssistant = newId('assistant');
    expectProblem(await api({ method: 'POST', url: `/api/v1/assistants/${ghostAssistant}/revoke`, body: {} }), 404, 'ERR_NOT_FOUND');
    expectProblem(await api({ method: 'POST', url: '/api/v1/people/not-an-id/revoke', body: {} }), 400);
    const audit = await api({ method: 'GET', url: `/api/v1/audit?targetId=${ghost}` });
    expect(audit.json<{ items: unknown[] }>().items).toEqual([]);
  });

  it('a person unknown to a replica is refused there, never accepted at epoch 0', async () => {
    const ghost = newId('person');
    for (const replica of replicas) {
      expect(replica.feed.currentEpoch(ghost)).toBeUndefined();
      expect(await outcome(replica.verifier, await token(newId('assistant'), ghost, 0))).toBe('ERR_TOKEN_REVOKED');
    }
  });
});
