import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose';
import { schema } from '../core/index.ts';
import { testDatabases, type TestDatabase } from '../test/support/databases.ts';
import { createLocalKeyEncryptor } from './key-encryption.ts';
import { createSigningKeyStore, SigningKeyUnavailableError, type SigningKeyStoreOptions } from './signing-keys.ts';

type Opened = Awaited<ReturnType<TestDatabase['open']>>;

const HOUR = 3_600_000;
/** Short enough to move through in a test, with the production relations between the periods. */
const timing = { rotationMs: HOUR, prepublishMs: 300_000, retiredPublishMs: 360_000, jwksCacheMs: 0 };

/** A clock the test moves by hand. */
function manualClock(start = new Date('2030-01-01T00:00:00Z')) {
  let at = start.getTime();
  return {
    now: () => new Date(at),
    set(to: number | Date) { at = new Date(to).getTime(); },
  };
}

/** Records what a store logs instead of printing it. */
function recordingLogger() {
  const lines: { level: 'warn' | 'error'; details: object; message: string }[] = [];
  return {
    lines,
    warn: (details: object, message: string) => { lines.push({ level: 'warn', details, message }); },
    error: (details: object, message: string) => { lines.push({ level: 'error', details, message }); },
  };
}

describe.each(testDatabases)('signing keys on $name', (target) => {
  let database: Opened;
  const encryptor = createLocalKeyEncryptor(randomBytes(32));

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database?.dispose();
  });

  const keyRows = () => database.db.select().from(schema.signingKeys);
  const clear = () => database.db.delete(schema.signingKeys);

  const kidsOf = (jwks: { keys: { kid: string }[] }) => jwks.keys.map((k) => k.kid).sort();
  const rowOf = async (kid: string) => (await keyRows()).find((r) => r.kid === kid)!;
  /** The store options every rotation test shares, on a clock of its own. */
  const rotating = (clock: ReturnType<typeof manualClock>, more: Partial<SigningKeyStoreOptions> = {}) =>
    createSigningKeyStore({ db: database.db, encryptor, now: clock.now, ...timing, ...more });
  /** The keys that sign at `at` (one, when the schedule holds), and the keys due to sign later. */
  const scheduleAt = async (at: Date) => {
    const rows = await keyRows();
    const t = at.getTime();
    return {
      signing: rows.filter((r) => r.activatesAt.getTime() <= t && (r.retiresAt === null || r.retiresAt.getTime() > t)),
      upcoming: rows.filter((r) => r.activatesAt.getTime() > t && r.retiresAt === null),
    };
  };

  it('replicas starting together create exactly one key that signs and one next key', async () => {
    await clear();
    const replicas = Array.from({ length: 4 }, () => createSigningKeyStore({ db: database.db, encryptor }));
    await Promise.all(replicas.map((r) => r.ensureSigningKey()));
    const { signing, upcoming } = await scheduleAt(new Date());
    expect(signing).toHaveLength(1);
    expect(upcoming).toHaveLength(1);
    const kids = await Promise.all(replicas.map(async (r) => (await r.currentSigningKey()).kid));
    expect(new Set(kids)).toEqual(new Set([signing[0]!.kid]));
    await replicas[0]!.ensureSigningKey();
    expect(await keyRows()).toHaveLength(2);
  });

  it('the private key is stored only sealed, with the kid as authenticated data', async () => {
    const [row] = await keyRows();
    expect(row!.alg).toBe('ES256');
    expect(row!.privateJwkEncrypted).toMatch(/^v1\./);
    expect(row!.publicJwk).not.toHaveProperty('d');
    const opened = JSON.parse(await encryptor.decrypt(row!.privateJwkEncrypted, row!.kid)) as Record<string, unknown>;
    expect(opened).toHaveProperty('d');
    await expect(encryptor.decrypt(row!.privateJwkEncrypted, 'another-kid')).rejects.toThrow();
  });

  it('the published JWKS carries only public members (no "d") and verifies what the current key signs', async () => {
    const store = createSigningKeyStore({ db: database.db, encryptor });
    const jwks = await store.publishedJwks();
    expect(jwks.keys).toHaveLength(2);
    for (const key of jwks.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    }
    const current = await store.currentSigningKey();
    const jwt = await new SignJWT({ hello: 'world' }).setProtectedHeader({ alg: 'ES256', kid: current.kid }).sign(current.privateKey);
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks), { algorithms: ['ES256'] });
    expect(payload.hello).toBe('world');
  });

  it('the current key is decrypted once and then served from memory', async () => {
    let decryptions = 0;
    const counting = { ...encryptor, decrypt: (e: string, c: string) => { decryptions++; return encryptor.decrypt(e, c); } };
    const store = createSigningKeyStore({ db: database.db, encryptor: counting });
    const keys = await Promise.all([store.currentSigningKey(), store.currentSigningKey(), store.currentSigningKey()]);
    await store.currentSigningKey();
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(decryptions).toBe(1);
  });

  it('a store with the wrong key-encryption key cannot sign, and says why', async () => {
    const store = createSigningKeyStore({ db: database.db, encryptor: createLocalKeyEncryptor(randomBytes(32)) });
    await expect(store.currentSigningKey()).rejects.toThrow(SigningKeyUnavailableError);
    await expect(store.currentSigningKey()).rejects.toThrow(/key-encryption key/);
  });

  it('after ensureSigningKey on an empty table the JWKS holds exactly the current and the next key, and only the current signs', async () => {
    await clear();
    const clock = manualClock();
    const store = rotating(clock);
    await store.ensureSigningKey();
    const { signing, upcoming } = await scheduleAt(clock.now());
    expect(signing).toHaveLength(1);
    expect(upcoming).toHaveLength(1);
    const [current, next] = [signing[0]!, upcoming[0]!];
    expect(kidsOf(await store.publishedJwks())).toEqual([current.kid, next.kid].sort());
    expect((await store.currentSigningKey()).kid).toBe(current.kid);
    // The handover: the current key retires the instant the next activates, and stays published after.
    expect(current.retiresAt).toEqual(next.activatesAt);
    expect(current.unpublishAt!.getTime()).toBe(next.activatesAt.getTime() + timing.retiredPublishMs);
    expect(next.activatesAt.getTime()).toBe(current.activatesAt.getTime() + timing.rotationMs);
  });

  it('the next key is published at least prepublishMs (plus the JWKS memory cache) before it signs, even when rotation runs late', async () => {
    await clear();
    const clock = manualClock();
    const store = rotating(clock, { jwksCacheMs: 2_000 });
    await store.ensureSigningKey();
    const first = (await scheduleAt(clock.now())).upcoming[0]!;
    expect(first.activatesAt.getTime() - first.createdAt.getTime()).toBeGreaterThanOrEqual(timing.prepublishMs);

    // The rotation after `first` activates runs almost a whole rotation late: its successor cannot
    // keep to the rotation period without being published too late, so it activates a lead time on.
    clock.set(first.activatesAt.getTime() + timing.rotationMs - 60_000);
    await store.rotate();
    const late = (await scheduleAt(clock.now())).upcoming[0]!;
    expect(late.createdAt).toEqual(clock.now());
    expect(late.activatesAt.getTime() - late.createdAt.getTime()).toBe(timing.prepublishMs + 2_000);
    expect((await rowOf(first.kid)).retiresAt).toEqual(late.activatesAt);
  });

  it('past activation the next key signs, a new next key appears, and the retired key stays published exactly retiredPublishMs', async () => {
    await clear();
    const clock = manualClock();
    const store = rotating(clock);
    const otherReplica = rotating(clock);
    await store.ensureSigningKey();
    const { signing: [old], upcoming: [next] } = await scheduleAt(clock.now());
    const handover = next!.activatesAt.getTime();

    clock.set(handover - 1000);
    const oldKey = await store.currentSigningKey();
    expect(oldKey.kid).toBe(old!.kid);
    expect((await otherReplica.currentSigningKey()).kid).toBe(old!.kid);
    const lastOldToken = await new SignJWT({ hello: 'world' }).setProtectedHeader({ alg: 'ES256', kid: oldKey.kid })
      .setIssuedAt(clock.now()).setExpirationTime(new Date(handover + 299_000)).sign(oldKey.privateKey);

    // Both replicas switch at the handover from their cached retire time, before anyone rotates.
    clock.set(handover);
    expect((await store.currentSigningKey()).kid).toBe(next!.kid);
    expect((await otherReplica.currentSigningKey()).kid).toBe(next!.kid);

    clock.set(handover + 1000);
    await store.rotate();
    const { upcoming: [following] } = await scheduleAt(clock.now());
    expect(following!.activatesAt.getTime()).toBe(handover + timing.rotationMs);
    expect((await rowOf(next!.kid)).retiresAt).toEqual(following!.activatesAt);
    const jwksJustAfter = await store.publishedJwks();
    expect(kidsOf(jwksJustAfter)).toEqual([old!.kid, next!.kid, following!.kid].sort());
    const { payload } = await jwtVerify(lastOldToken, createLocalJWKSet(jwksJustAfter), { algorithms: ['ES256'], currentDate: clock.now() });
    expect(payload.hello).toBe('world');

    clock.set(handover + timing.retiredPublishMs - 1);
    expect(kidsOf(await store.publishedJwks())).toContain(old!.kid);
    clock.set(handover + timing.retiredPublishMs);
    expect(kidsOf(await store.publishedJwks())).toEqual([next!.kid, following!.kid].sort());
  });

  it('a replica that cached the signing key before its successor existed switches exactly at the successor\'s activation', async () => {
    await clear();
    const clock = manualClock();
    const store = rotating(clock);
    const otherReplica = rotating(clock);
    await store.ensureSigningKey();
    const signer = (await scheduleAt(clock.now())).upcoming[0]!;
    clock.set(signer.activatesAt);
    // Cached while its retire time is still unknown: no successor has been made yet.
    expect((await otherReplica.currentSigningKey()).kid).toBe(signer.kid);
    clock.set(signer.activatesAt.getTime() + 30_000);
    await store.rotate();
    const successor = (await scheduleAt(clock.now())).upcoming[0]!;

    clock.set(successor.activatesAt.getTime() - 1);
    expect((await otherReplica.currentSigningKey()).kid).toBe(signer.kid);
    clock.set(successor.activatesAt);
    expect((await otherReplica.currentSigningKey()).kid).toBe(successor.kid);
  });

  it('a replica publishes the key its own rotation made at once, whatever its JWKS memory cache', async () => {
    await clear();
    const clock = manualClock();
    const store = rotating(clock, { jwksCacheMs: 60_000 });
    await store.ensureSigningKey();
    const next = (await scheduleAt(clock.now())).upcoming[0]!;
    clock.set(next.activatesAt);
    expect(await store.publishedJwks()).toHaveProperty('keys.length', 2);
    await store.rotate();
    const following = (await scheduleAt(clock.now())).upcoming[0]!;
    expect(kidsOf(await store.publishedJwks())).toContain(following.kid);
  });

  it('several replicas rotating at once create exactly one next key', async () => {
    await clear();
    const clock = manualClock();
    await rotating(clock).ensureSigningKey();
    const next = (await scheduleAt(clock.now())).upcoming[0]!;
    clock.set(next.activatesAt.getTime() + 1000);
    const replicas = Array.from({ length: 5 }, () => rotating(clock));
    await Promise.all(replicas.map((r) => r.rotate()));
    const { signing, upcoming } = await scheduleAt(clock.now());
    expect(signing.map((r) => r.kid)).toEqual([next.kid]);
    expect(upcoming).toHaveLength(1);
    expect(await keyRows()).toHaveLength(3);
    await Promise.all(replicas.map((r) => r.rotate()));
    expect(await keyRows()).toHaveLength(3);
  });

  it('after an outage of many rotations the last key signs on until a new next key has been published a lead time, and long-unpublished keys are deleted', async () => {
    await clear();
    const clock = manualClock();
    const store = rotating(clock);
    await store.ensureSigningKey();
    const { signing: [first], upcoming: [second] } = await scheduleAt(clock.now());
    clock.set(second!.activatesAt);
    await store.rotate();

    clock.set(second!.activatesAt.getTime() + 30 * 24 * HOUR);
    const restarted = rotating(clock);
    await restarted.ensureSigningKey();
    const { signing, upcoming } = await scheduleAt(clock.now());
    // The key made last before the outage never got a retire time, so it still signs: no key has to
    // sign before verifiers have seen it.
    const third = signing[0]!;
    expect(signing).toHaveLength(1);
    expect(third.createdAt).toEqual(second!.activatesAt);
    expect(upcoming).toHaveLength(1);
    expect(upcoming[0]!.activatesAt.getTime()).toBe(clock.now().getTime() + timing.prepublishMs);
    expect(third.retiresAt).toEqual(upcoming[0]!.activatesAt);
    expect((await restarted.currentSigningKey()).kid).toBe(third.kid);
    const kids = (await keyRows()).map((r) => r.kid);
    expect(kids).not.toContain(first!.kid);
    expect(kids).not.toContain(second!.kid);
  });

  it('when no key can sign at all (every key retired) a key that signs at once is made, with a next key, and a warning', async () => {
    await clear();
    const clock = manualClock();
    await rotating(clock).ensureSigningKey();
    await database.db.update(schema.signingKeys)
      .set({ retiresAt: new Date(clock.now().getTime() - 1000), unpublishAt: new Date(clock.now().getTime() + 60_000) });
    const before = (await keyRows()).map((r) => r.kid);
    const logger = recordingLogger();
    const store = rotating(clock, { logger });
    await expect(store.currentSigningKey()).rejects.toThrow(SigningKeyUnavailableError);

    await store.rotate();
    const { signing, upcoming } = await scheduleAt(clock.now());
    expect(signing).toHaveLength(1);
    expect(before).not.toContain(signing[0]!.kid);
    expect(signing[0]!.activatesAt).toEqual(clock.now());
    // The withdrawn next key is no successor: a new one is published a whole rotation ahead.
    expect(upcoming).toHaveLength(1);
    expect(before).not.toContain(upcoming[0]!.kid);
    expect(upcoming[0]!.activatesAt.getTime()).toBe(clock.now().getTime() + timing.rotationMs);
    expect(signing[0]!.retiresAt).toEqual(upcoming[0]!.activatesAt);
    expect((await store.currentSigningKey()).kid).toBe(signing[0]!.kid);
    expect(logger.lines).toEqual([expect.objectContaining({ level: 'warn', details: { kid: signing[0]!.kid } })]);
  });

  it('the rotation timer makes the next key once the clock passes activation, and logs a failing rotation instead of throwing', async () => {
    await clear();
    const clock = manualClock();
    const logger = recordingLogger();
    const store = rotating(clock, { logger });
    await store.ensureSigningKey();
    const next = (await scheduleAt(clock.now())).upcoming[0]!;
    clock.set(next.activatesAt.getTime() + 1000);
    store.startRotation(10);
    await expect.poll(async () => (await scheduleAt(clock.now())).upcoming.length, { timeout: 5_000 }).toBe(1);
    await store.stopRotation();

    const failing = rotating(clock, { logger, encryptor: { ...encryptor, encrypt: () => Promise.reject(new Error('kms unreachable')) } });
    clock.set((await scheduleAt(clock.now())).upcoming[0]!.activatesAt.getTime() + 1000);
    failing.startRotation(10);
    await expect.poll(() => logger.lines.filter((l) => l.level === 'error').length, { timeout: 5_000 }).toBeGreaterThan(0);
    await failing.stopRotation();
    expect(logger.lines[0]).toMatchObject({ level: 'error', details: { err: expect.objectContaining({ message: 'kms unreachable' }) as unknown } });
  });

  it('options that would break the schedule are refused', () => {
    const store = (more: Partial<SigningKeyStoreOptions>) => () => createSigningKeyStore({ db: database.db, encryptor, ...timing, ...more });
    // A key must sign for longer than its successor is published ahead of it.
    expect(store({ rotationMs: timing.prepublishMs })).toThrow(/rotationMs must exceed/);
    expect(store({ rotationMs: timing.prepublishMs + 1000, jwksCacheMs: 1000 })).toThrow(/rotationMs must exceed/);
    // A replica must learn its key's retire time before the successor activates.
    expect(store({ recheckMs: timing.prepublishMs + 1 })).toThrow(/recheckMs must not exceed/);
    for (const name of ['rotationMs', 'prepublishMs', 'retiredPublishMs', 'recheckMs'] as const) {
      for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(store({ [name]: value })).toThrow(RangeError);
    }
    expect(store({ jwksCacheMs: -1 })).toThrow(RangeError);
    expect(() => store({})().startRotation(0)).toThrow(RangeError);
  });

  it('with no signing key at all, signing fails closed', async () => {
    await clear();
    await expect(createSigningKeyStore({ db: database.db, encryptor }).currentSigningKey()).rejects.toThrow(/no signing key is active/);
  });
});
