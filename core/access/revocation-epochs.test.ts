// The revocation epoch feed on the real databases: epochs only rise, people come and go with the
// directory feed, and a feed that stops hearing its listening connection fails closed after the bound.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { sql } from 'drizzle-orm';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { createTokenVerifier, TokenVerificationError } from '../../token-service/token-verifier.ts';
import { testDatabases, type OpenTestDatabase } from '../../test/support/databases.ts';
import { newId, notify, repositories, type Database } from '../index.ts';
import { publishChange } from './changes.ts';
import { createEpochFeed, parseRevocationMessage, REVOCATIONS_CHANNEL, type EpochFeed } from './revocation-epochs.ts';

const logger = pino({ level: 'silent' });

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/**
 * The database seen through a listening connection that can be cut: while cut, no notification
 * reaches the feed (as when the connection is lost), though the feed's queries and heartbeats still go out.
 */
function cuttable(database: Database) {
  const link = { cut: false };
  const listen: Database['listen'] = (channel, onMessage, onReconnect) =>
    database.listen(channel, (payload) => { if (!link.cut) onMessage(payload); }, onReconnect);
  return { link, database: { listen } };
}

describe('parseRevocationMessage', () => {
  it('reads epochs and heartbeats and refuses anything else', () => {
    expect(parseRevocationMessage('{"kind":"epoch","personId":"person_1","epoch":2}')).toEqual({ kind: 'epoch', personId: 'person_1', epoch: 2 });
    expect(parseRevocationMessage('{"kind":"heartbeat","replica":"r","sentAt":5}')).toEqual({ kind: 'heartbeat', replica: 'r', sentAt: 5 });
    for (const bad of ['', 'null', '[]', '{"kind":"epoch","personId":"p","epoch":-1}', '{"kind":"epoch","personId":"p","epoch":1.5}',
      `{"kind":"epoch","personId":"${'x'.repeat(65)}","epoch":1}`, '{"kind":"heartbeat","replica":"r"}', '{"kind":"other"}']) {
      expect(parseRevocationMessage(bad), bad).toBeUndefined();
    }
  });
});

describe.each(testDatabases)('revocation epoch feed on $name', (target) => {
  let database: OpenTestDatabase;
  const feeds: EpochFeed[] = [];

  const person = async () => {
    const row = await repositories.people.insert(database.db, { id: newId('person'), email: `${randomUUID()}@example.com`, displayName: 'P' });
    await publishChange(database.db, { entity: 'person', id: row.id });
    return row.id;
  };
  const feed = (options: Partial<Parameters<typeof createEpochFeed>[0]> = {}) => {
    const created = createEpochFeed({ database, db: database.db, logger, stalenessMs: 10_000, ...options });
    feeds.push(created);
    return created;
  };

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    for (const f of feeds) await f.stop();
    await database?.dispose();
  });

  it('is stale before it starts and after it stops, and knows every existing person at epoch 0 once started', async () => {
    const existing = await person();
    const epochs = feed();
    expect(epochs.currentEpoch(existing)).toBe('stale');
    await epochs.start();
    expect(epochs.currentEpoch(existing)).toBe(0);
    expect(epochs.currentEpoch(newId('person'))).toBeUndefined();
    await epochs.stop();
    expect(epochs.currentEpoch(existing)).toBe('stale');
  });

  it('an epoch only rises: a late, lower notification does not lower it, and a reload keeps the higher one', async () => {
    const epochs = feed();
    await epochs.start();
    const id = await person();
    await until(() => epochs.currentEpoch(id) === 0);
    await notify(database.db, REVOCATIONS_CHANNEL, JSON.stringify({ kind: 'epoch', personId: id, epoch: 3 }));
    await until(() => epochs.currentEpoch(id) === 3);
    await notify(database.db, REVOCATIONS_CHANNEL, JSON.stringify({ kind: 'epoch', personId: id, epoch: 2 }));
    await epochs.reload();
    expect(epochs.currentEpoch(id)).toBe(3);
  });

  it('a person created after start is learned from the directory feed, and a deleted one is forgotten', async () => {
    const epochs = feed();
    await epochs.start();
    const id = await person();
    await until(() => epochs.currentEpoch(id) === 0);
    await repositories.people.delete(database.db, id);
    await publishChange(database.db, { entity: 'subject-deleted', kind: 'person', id });
    await until(() => epochs.currentEpoch(id) === undefined);
  });

  it('a feed that loses its listening connection turns stale just after the bound, its verifier refuses with ERR_TOKEN_UNAVAILABLE, and it recovers', async () => {
    const id = await person();
    let clock = 1_000_000;
    const { link, database: listening } = cuttable(database);
    const epochs = createEpochFeed({ database: listening, db: database.db, logger, stalenessMs: 1000, heartbeatMs: 20, now: () => clock });
    feeds.push(epochs);
    await epochs.start();

    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const verifier = createTokenVerifier({
      issuer: 'https://issuer.test', audience: 'https://gateway.test', jwks: { keys: [{ ...jwk, kid, alg: 'ES256' }] },
      currentEpoch: epochs.currentEpoch,
    });
    const iat = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ owner: id, sv: 0 }).setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer('https://issuer.test').setAudience('https://gateway.test').setSubject(newId('assistant')).setJti(randomUUID())
      .setIssuedAt(iat).setExpirationTime(iat + 300).sign(privateKey);
    await until(() => epochs.currentEpoch(id) === 0);
    await expect(verifier.verify(token)).resolves.toMatchObject({ owner: id, epoch: 0 });

    link.cut = true;
    // Let any heartbeat that was already on its way be dropped, then move the clock to the bound.
    await sleep(60);
    clock += 1000;
    expect(epochs.currentEpoch(id), 'still fresh at the bound').toBe(0);
    clock += 1;
    expect(epochs.currentEpoch(id), 'stale past the bound').toBe('stale');
    const refusal = await verifier.verify(token).then(() => null, (e: unknown) => e);
    expect(refusal).toBeInstanceOf(TokenVerificationError);
    expect((refusal as TokenVerificationError).code).toBe('ERR_TOKEN_UNAVAILABLE');

    link.cut = false;
    await until(() => epochs.currentEpoch(id) === 0);
    await expect(verifier.verify(token)).resolves.toMatchObject({ owner: id });
  });

  it('a revocation committed while the listener was cut is picked up by the reload that makes the feed fresh again', async () => {
    const id = await person();
    let clock = 5_000_000;
    const { link, database: listening } = cuttable(database);
    const epochs = createEpochFeed({ database: listening, db: database.db, logger, stalenessMs: 1000, heartbeatMs: 20, now: () => clock });
    feeds.push(epochs);
    await epochs.start();
    await until(() => epochs.currentEpoch(id) === 0);
    link.cut = true;
    await database.db.execute(sql`insert into revocation_epochs (person_id, epoch) values (${id}, 4)`);
    clock += 1001;
    expect(epochs.currentEpoch(id)).toBe('stale');
    await epochs.reload();
    expect(epochs.currentEpoch(id)).toBe(4);
  });
});
