import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose';
import { schema } from '../core/index.ts';
import { testDatabases, type TestDatabase } from '../test/support/databases.ts';
import { createLocalKeyEncryptor } from './key-encryption.ts';
import { createSigningKeyStore, SigningKeyUnavailableError } from './signing-keys.ts';

type Opened = Awaited<ReturnType<TestDatabase['open']>>;

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

  it('two replicas starting together create exactly one signing key', async () => {
    await clear();
    const replicas = Array.from({ length: 4 }, () => createSigningKeyStore({ db: database.db, encryptor }));
    await Promise.all(replicas.map((r) => r.ensureSigningKey()));
    const rows = await keyRows();
    expect(rows).toHaveLength(1);
    const kids = await Promise.all(replicas.map(async (r) => (await r.currentSigningKey()).kid));
    expect(new Set(kids)).toEqual(new Set([rows[0]!.kid]));
    await replicas[0]!.ensureSigningKey();
    expect(await keyRows()).toHaveLength(1);
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
    expect(jwks.keys).toHaveLength(1);
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

  it('a retired key stops signing but stays published until its unpublish time', async () => {
    await clear();
    const now = new Date();
    const store = createSigningKeyStore({ db: database.db, encryptor, jwksCacheMs: 0 });
    await store.ensureSigningKey();
    const [old] = await keyRows();
    await database.db.update(schema.signingKeys)
      .set({ retiresAt: new Date(now.getTime() - 1000), unpublishAt: new Date(now.getTime() + 60_000) });
    await store.ensureSigningKey();
    const rows = await keyRows();
    expect(rows).toHaveLength(2);
    const fresh = createSigningKeyStore({ db: database.db, encryptor, jwksCacheMs: 0 });
    expect((await fresh.currentSigningKey()).kid).not.toBe(old!.kid);
    expect((await fresh.publishedJwks()).keys.map((k) => k.kid).sort()).toEqual(rows.map((r) => r.kid).sort());
    await database.db.update(schema.signingKeys).set({ unpublishAt: new Date(now.getTime() - 1000) })
      .where(sql`${schema.signingKeys.kid} = ${old!.kid}`);
    expect((await fresh.publishedJwks()).keys.map((k) => k.kid)).not.toContain(old!.kid);
  });

  it('with no signing key at all, signing fails closed', async () => {
    await clear();
    await expect(createSigningKeyStore({ db: database.db, encryptor }).currentSigningKey()).rejects.toThrow(/no signing key is active/);
  });
});
