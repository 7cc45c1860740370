// The revocation epoch feed on the real databases: epochs only rise, people come and go with the
// directory feed, a feed that stops hearing its listening connection fails closed after the bound, and
// a revoke propagates once every registered replica has acknowledged it or been waited out.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import postgres from 'postgres';
import { eq, inArray, sql } from 'drizzle-orm';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { createTokenVerifier, TokenVerificationError } from '../../token-service/token-verifier.ts';
import { testDatabases, type OpenTestDatabase } from '../../test/support/databases.ts';
import { newId, notify, repositories, schema, type Database, type Db } from '../index.ts';
import { publishChange } from './changes.ts';
import {
  createEpochFeed, parseRevocationMessage, publishEpoch, raiseRevocationEpoch, REVOCATIONS_CHANNEL, type EpochFeed, type RevocationMessage,
} from './revocation-epochs.ts';

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
  it('reads epochs, heartbeats and acknowledgements and refuses anything else', () => {
    expect(parseRevocationMessage('{"kind":"epoch","personId":"person_1","epoch":2}')).toEqual({ kind: 'epoch', personId: 'person_1', epoch: 2 });
    expect(parseRevocationMessage('{"kind":"heartbeat","replica":"r","sentAt":5}')).toEqual({ kind: 'heartbeat', replica: 'r', sentAt: 5 });
    expect(parseRevocationMessage('{"kind":"ack","replica":"r","personId":"person_1","epoch":2}'))
      .toEqual({ kind: 'ack', replica: 'r', personId: 'person_1', epoch: 2 });
    for (const bad of ['', 'null', '[]', '{"kind":"epoch","personId":"p","epoch":-1}', '{"kind":"epoch","personId":"p","epoch":1.5}',
      `{"kind":"epoch","personId":"${'x'.repeat(65)}","epoch":1}`, '{"kind":"epoch","personId":"","epoch":1}',
      '{"kind":"heartbeat","replica":"r"}', '{"kind":"other"}']) {
      expect(parseRevocationMessage(bad), bad).toBeUndefined();
    }
  });

  it('refuses an acknowledgement without a bounded replica, a bounded person or a whole epoch', () => {
    for (const bad of [
      '{"kind":"ack","personId":"p","epoch":1}', '{"kind":"ack","replica":"","personId":"p","epoch":1}',
      `{"kind":"ack","replica":"${'r'.repeat(65)}","personId":"p","epoch":1}`, '{"kind":"ack","replica":"r","epoch":1}',
      `{"kind":"ack","replica":"r","personId":"${'x'.repeat(65)}","epoch":1}`, '{"kind":"ack","replica":"r","personId":"p"}',
      '{"kind":"ack","replica":"r","personId":"p","epoch":-1}', '{"kind":"ack","replica":"r","personId":"p","epoch":"1"}',
      '{"kind":"ack","replica":"r","personId":"p","epoch":1e300}', '{"kind":"ack","replica":7,"personId":"p","epoch":1}',
    ]) {
      expect(parseRevocationMessage(bad), bad).toBeUndefined();
    }
  });

  it('an acknowledgement survives the round trip through the channel\'s JSON', () => {
    const ack: RevocationMessage = { kind: 'ack', replica: 'abc_DEF-123', personId: newId('person'), epoch: 41 };
    expect(parseRevocationMessage(JSON.stringify(ack))).toEqual(ack);
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
    const token = await new SignJWT({ owner: id, sv: 0 }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
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

/** Raises and publishes a person's epoch in one transaction, as the revoke endpoint does. */
function revoke(db: Db, personId: string): Promise<number> {
  return db.transaction(async (tx) => {
    const epoch = await raiseRevocationEpoch(tx, personId);
    await publishEpoch(tx, personId, epoch);
    return epoch;
  });
}

const sorted = (ids: string[]) => [...ids].sort();
// postgres.js returns the rows as the result; PGlite wraps them in `{ rows }`.
const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result as T[] : (result as { rows: T[] }).rows);

describe.each(testDatabases)('revocation acknowledgements on $name', (target) => {
  const STALENESS_MS = 400;
  const CLOCK_SKEW_MS = 50;
  const BOUND_MS = STALENESS_MS + CLOCK_SKEW_MS;
  let database: OpenTestDatabase;
  let cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    database = await target.open();
  });
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });
  afterAll(async () => {
    await database?.dispose();
  });

  /** A replica on a connection of its own (on PGlite, the one database), whose listener can be cut. */
  async function replica(options: { service?: string; listen?: Database['listen'] } = {}) {
    const connection = await database.connectAgain();
    const { link, database: listening } = cuttable(connection);
    const feed = createEpochFeed({
      database: options.listen ? { listen: options.listen } : listening, db: connection.db, logger,
      stalenessMs: STALENESS_MS, clockSkewMs: CLOCK_SKEW_MS, ...(options.service ? { service: options.service } : {}),
    });
    cleanup.push(async () => {
      await feed.stop();
      await connection.close();
    });
    await feed.start();
    return { feed, link, db: connection.db };
  }

  const registered = (id: string) =>
    database.db.select().from(schema.serviceReplicas).where(eq(schema.serviceReplicas.id, id));

  /** A person every given feed knows at epoch 0. */
  async function person(feeds: EpochFeed[]): Promise<string> {
    const row = await repositories.people.insert(database.db, { id: newId('person'), email: `${randomUUID()}@example.com`, displayName: 'P' });
    await publishChange(database.db, { entity: 'person', id: row.id });
    await until(() => feeds.every((f) => f.currentEpoch(row.id) === 0));
    return row.id;
  }

  it('a replica registers under its service before it listens, and stopping removes its row', async () => {
    const rowsWhenListening: unknown[][] = [];
    const listen: Database['listen'] = async (channel, onMessage, onReconnect) => {
      rowsWhenListening.push(await database.db.select().from(schema.serviceReplicas).where(eq(schema.serviceReplicas.service, 'mcp-gateway')));
      return database.listen(channel, onMessage, onReconnect);
    };
    const { feed } = await replica({ service: 'mcp-gateway', listen });
    const feedId = feed.replica;
    expect(rowsWhenListening.length).toBeGreaterThan(0);
    for (const rows of rowsWhenListening) expect(rows).toMatchObject([{ id: feedId, service: 'mcp-gateway' }]);
    expect(await registered(feedId)).toMatchObject([{ service: 'mcp-gateway' }]);
    await feed.stop();
    expect(await registered(feedId)).toEqual([]);
  });

  it('two replicas on their own connections both acknowledge a revoke, and propagated() resolves well under the staleness bound', async () => {
    const a = await replica();
    const b = await replica({ service: 'token-service' });
    const id = await person([a.feed, b.feed]);

    const epoch = await revoke(a.db, id);
    a.feed.apply(id, epoch);
    const calledAt = performance.now();
    const propagation = await a.feed.propagated(id, epoch);
    const tookMs = performance.now() - calledAt;
    expect(sorted(propagation.acknowledged)).toEqual(sorted([a.feed.replica, b.feed.replica]));
    expect(propagation.waitedOut).toEqual([]);
    expect(tookMs).toBeLessThan(STALENESS_MS / 2);
    expect(b.feed.currentEpoch(id)).toBe(epoch);
  });

  it('acknowledgements that arrive before propagated() is called still count, and a lower epoch is covered by a higher one', async () => {
    const a = await replica();
    const b = await replica({ service: 'token-service' });
    const id = await person([a.feed, b.feed]);
    const first = await revoke(a.db, id);
    const second = await revoke(a.db, id);
    await until(() => a.feed.currentEpoch(id) === second && b.feed.currentEpoch(id) === second);
    await sleep(50);

    for (const epoch of [second, first]) {
      const calledAt = performance.now();
      const propagation = await a.feed.propagated(id, epoch);
      expect(sorted(propagation.acknowledged)).toEqual(sorted([a.feed.replica, b.feed.replica]));
      expect(performance.now() - calledAt).toBeLessThan(STALENESS_MS / 2);
    }
  });

  it('a registered replica that stopped hearing the channel is waited out: propagated() resolves after the bound, when that replica already refuses', async () => {
    const a = await replica();
    const b = await replica({ service: 'token-service' });
    const id = await person([a.feed, b.feed]);
    b.link.cut = true;

    const epoch = await revoke(a.db, id);
    a.feed.apply(id, epoch);
    const calledAt = performance.now();
    const propagation = await a.feed.propagated(id, epoch);
    const tookMs = performance.now() - calledAt;
    expect(propagation).toEqual({ acknowledged: [a.feed.replica], waitedOut: [b.feed.replica] });
    // Timers may fire a millisecond early; the wait must not end meaningfully before the bound, nor hang.
    expect(tookMs).toBeGreaterThanOrEqual(BOUND_MS - 2);
    expect(tookMs).toBeLessThan(BOUND_MS + 500);
    expect(b.feed.currentEpoch(id), 'the silent replica').toBe('stale');
    expect(a.feed.currentEpoch(id)).toBe(epoch);
  });

  it('a replica that crashed a moment ago is waited out, one gone for ten bounds is not waited for, and a heartbeat deletes the old row', async () => {
    const longAgo = new Date(Date.now() - 3_600_000);
    await database.db.insert(schema.serviceReplicas).values([
      { id: 'crashed-long-ago', service: 'mcp-gateway', startedAt: longAgo, lastSeenAt: longAgo },
      { id: 'crashed-just-now', service: 'mcp-gateway' },
    ]);
    cleanup.push(async () => {
      await database.db.delete(schema.serviceReplicas).where(inArray(schema.serviceReplicas.id, ['crashed-long-ago', 'crashed-just-now']));
    });
    const a = await replica();
    const id = await person([a.feed]);

    const epoch = await revoke(a.db, id);
    a.feed.apply(id, epoch);
    const propagation = await a.feed.propagated(id, epoch);
    expect(propagation).toEqual({ acknowledged: [a.feed.replica], waitedOut: ['crashed-just-now'] });

    const remaining = async () => (await database.db.select({ id: schema.serviceReplicas.id }).from(schema.serviceReplicas)).map((r) => r.id);
    const deadline = Date.now() + 3000;
    while ((await remaining()).includes('crashed-long-ago')) {
      if (Date.now() > deadline) throw new Error('the long-gone replica was never swept');
      await sleep(20);
    }
    expect(await remaining()).toContain('crashed-just-now');
  });
});

const server = testDatabases.find((t) => t.name === 'postgres');

describe.runIf(server)('the listening connection on the real PostgreSQL server', () => {
  const STALENESS_MS = 400;
  const CLOCK_SKEW_MS = 50;

  it('killed and kept away, the feed turns stale within the bound, never accepts a revocation committed meanwhile, and the reload after the reconnect applies it', async () => {
    const database = await server!.open();
    const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    const connection = await database.connectAgain();
    const feeds: EpochFeed[] = [];
    let connectionsBlocked = false;
    const current = rowsOf<{ name: string }>(await database.db.execute(sql`select current_database() as name`))[0]!.name;
    try {
      const listenerPids = async () => (await admin<{ pid: number }[]>`
        select pid from pg_stat_activity where datname = ${current} and query ilike 'listen %'`).map((r) => r.pid);

      const a = createEpochFeed({ database, db: database.db, logger, stalenessMs: STALENESS_MS, clockSkewMs: CLOCK_SKEW_MS });
      feeds.push(a);
      await a.start();
      const before = await listenerPids();
      const warnings: unknown[] = [];
      const recording = { warn: (...args: unknown[]) => { warnings.push(...args); }, error: () => {} };
      const b = createEpochFeed({
        database: connection, db: connection.db, logger: recording, stalenessMs: STALENESS_MS, clockSkewMs: CLOCK_SKEW_MS, service: 'mcp-gateway',
      });
      feeds.push(b);
      await b.start();
      const listeners = (await listenerPids()).filter((pid) => !before.includes(pid));
      expect(listeners, 'the one listening connection of the second replica').toHaveLength(1);

      const row = await repositories.people.insert(database.db, { id: newId('person'), email: `${randomUUID()}@example.com`, displayName: 'P' });
      await publishChange(database.db, { entity: 'person', id: row.id });
      const id = row.id;
      await until(() => a.currentEpoch(id) === 0 && b.currentEpoch(id) === 0);
      // Open every pooled connection now: while new connections are refused, only the listener's are needed.
      await Promise.all(Array.from({ length: 4 }, () => database.db.execute(sql`select pg_sleep(0.02)`)));
      await Promise.all(Array.from({ length: 2 }, () => connection.db.execute(sql`select pg_sleep(0.02)`)));

      const samples: { at: number; value: number | undefined | 'stale' }[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          samples.push({ at: performance.now(), value: b.currentEpoch(id) });
          await sleep(2);
        }
      })();

      // The listener is killed and cannot reconnect until the database accepts connections again.
      await admin`alter database ${admin(current)} with allow_connections false`;
      connectionsBlocked = true;
      const killedAt = performance.now();
      await admin`select pg_terminate_backend(${listeners[0]!})`;
      const epoch = await revoke(database.db, id);
      a.apply(id, epoch);
      const propagation = await a.propagated(id, epoch);
      const resolvedAt = performance.now();
      const atResolution = b.currentEpoch(id);
      await admin`alter database ${admin(current)} with allow_connections true`;
      connectionsBlocked = false;

      await until(() => b.currentEpoch(id) === epoch, 10_000);
      sampling = false;
      await sampler;

      expect(propagation).toEqual({ acknowledged: [a.replica], waitedOut: [b.replica] });
      expect(atResolution, 'the waited-out replica when propagated() resolved').toBe('stale');
      const firstStale = samples.find((s) => s.at >= killedAt && s.value === 'stale');
      expect(firstStale, 'the feed turned stale').toBeDefined();
      expect(firstStale!.at - killedAt).toBeLessThanOrEqual(STALENESS_MS + 150);
      const acceptedLate = samples.filter((s) => s.value === 0 && (s.at >= firstStale!.at || s.at >= resolvedAt));
      expect(acceptedLate, 'the old epoch after the feed turned stale or after propagated() resolved').toEqual([]);
      expect(samples.filter((s) => ![0, 'stale', epoch].includes(s.value as number | 'stale')), 'unexpected answers').toEqual([]);
      expect(warnings, 'postgres.js reconnected the listener').toContain('revocation listener reconnected; reloading every epoch');
    } finally {
      if (connectionsBlocked) await admin`alter database ${admin(current)} with allow_connections true`;
      for (const feed of feeds) await feed.stop();
      await connection.close();
      await database.dispose();
      await admin.end();
    }
  });
});
