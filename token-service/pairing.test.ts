import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { eq } from 'drizzle-orm';
import { newId, repositories, schema, type Assistant, type Person } from '../core/index.ts';
import { testDatabases, type TestDatabase } from '../test/support/databases.ts';
import { createLocalKeyEncryptor } from './key-encryption.ts';
import { createSigningKeyStore } from './signing-keys.ts';
import {
  createPairingService, isPairingLinkRevoked, pairingRefusal, pairingUrl, recordPairingLink, revokePairingLinksOf,
} from './pairing.ts';
import { createMemorySeenLinks, createPairingVerifier } from './pairing-verifier.ts';

const ISSUER = 'https://opencrane.example.com';
const person = (over: Partial<Person> = {}) => ({ id: newId('person'), status: 'active' as const, ...over });
const assistantOf = (p: { id: string }, over: Partial<Assistant> = {}) => ({
  id: newId('assistant'), personId: p.id, status: 'ready' as const, endpoint: 'https://ast.example.com', ...over,
});

describe('who may be paired with which assistant', () => {
  it('an active person with their own ready assistant that has an address can pair', () => {
    const p = person();
    expect(pairingRefusal(p, assistantOf(p))).toBeNull();
  });

  it('refuses a suspended person, someone else\'s assistant, an assistant not ready or suspended, and one without an address', () => {
    const p = person();
    expect(pairingRefusal(person({ id: p.id, status: 'suspended' }), assistantOf(p))).toMatch(/suspended/);
    expect(pairingRefusal(p, assistantOf(person()))).toMatch(/someone else/);
    expect(pairingRefusal(p, assistantOf(p, { status: 'provisioning' }))).toMatch(/not ready/);
    expect(pairingRefusal(p, assistantOf(p, { status: 'suspended' }))).toMatch(/suspended/);
    expect(pairingRefusal(p, assistantOf(p, { endpoint: null }))).toMatch(/no address/);
    expect(pairingRefusal(p, assistantOf(p, { endpoint: 'javascript:alert(1)' }))).toMatch(/no address/);
  });

  it('the link puts the token in the fragment, after the assistant\'s pairing path', () => {
    expect(pairingUrl('https://ast.example.com', 'T')).toBe('https://ast.example.com/opencrane/pair#token=T');
    expect(pairingUrl('https://ast.example.com/base/?q=1', 'T')).toBe('https://ast.example.com/base/opencrane/pair#token=T');
  });
});

type Opened = Awaited<ReturnType<TestDatabase['open']>>;

describe.each(testDatabases)('minting and revoking pairing links on $name', (target) => {
  let database: Opened;
  const keys = () => createSigningKeyStore({ db: database.db, encryptor });
  const encryptor = createLocalKeyEncryptor(randomBytes(32));
  let pairing: ReturnType<typeof createPairingService>;
  let owner: Person;
  let assistant: Assistant;

  beforeAll(async () => {
    database = await target.open();
    const store = keys();
    await store.ensureSigningKey();
    pairing = createPairingService({ keys: store });
    owner = await repositories.people.insert(database.db, { id: newId('person'), email: `${newId('person')}@example.com`, displayName: 'Owner' });
    assistant = await repositories.assistants.insert(database.db, {
      id: newId('assistant'), personId: owner.id, status: 'ready', endpoint: 'https://ast.example.com',
    });
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it('a link carries iss, aud = the assistant, sub = the person, a 60 s lifetime, a jti, the kid and the pairing typ', async () => {
    const link = await pairing.mintPairingLink({ person: owner, assistant, issuer: ISSUER });
    const token = new URL(link.url).hash.replace(/^#token=/, '');
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'opencrane-pairing+jwt', kid: expect.any(String) as unknown });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: ISSUER, aud: `opencrane:assistant:${assistant.id}`, sub: owner.id, jti: link.jti });
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(claims.nbf).toBe(claims.iat);
    expect(link.expiresAt.getTime()).toBe(claims.exp! * 1000);
  });

  it('a lifetime over 60 seconds is refused', async () => {
    await expect(pairing.mintPairingLink({ person: owner, assistant, issuer: ISSUER, ttlSeconds: 61 })).rejects.toThrow(/between 1 and 60/);
    const short = await pairing.mintPairingLink({ person: owner, assistant, issuer: ISSUER, ttlSeconds: 10 });
    expect(short.expiresAt.getTime() - short.issuedAt.getTime()).toBe(10_000);
  });

  it('minting refuses with a 409 when the assistant is not ready', async () => {
    await expect(pairing.mintPairingLink({ person: owner, assistant: { ...assistant, status: 'provisioning' }, issuer: ISSUER }))
      .rejects.toMatchObject({ code: 'ERR_CONFLICT', status: 409 });
  });

  it('recording checks the records again: a person suspended after minting gets no recorded link', async () => {
    const link = await pairing.mintPairingLink({ person: owner, assistant, issuer: ISSUER });
    await repositories.people.update(database.db, owner.id, { status: 'suspended' });
    try {
      await expect(recordPairingLink(database.db, link)).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
      expect(await database.db.select().from(schema.pairingLinks).where(eq(schema.pairingLinks.jti, link.jti))).toHaveLength(0);
    } finally {
      await repositories.people.update(database.db, owner.id, { status: 'active' });
    }
  });

  it('a recorded link verifies with the published keys; revoking the person\'s links makes the verifier refuse it', async () => {
    const store = keys();
    const link = await pairing.mintPairingLink({ person: owner, assistant, issuer: ISSUER });
    await recordPairingLink(database.db, link);
    const verifier = createPairingVerifier({
      issuer: ISSUER, assistantId: assistant.id, ownerId: owner.id, jwks: await store.publishedJwks(),
      seen: createMemorySeenLinks(), isRevoked: (jti) => isPairingLinkRevoked(database.db, jti),
    });
    const token = new URL(link.url).hash.replace(/^#token=/, '');
    expect(await isPairingLinkRevoked(database.db, link.jti)).toBe(false);
    expect(await revokePairingLinksOf(database.db, owner.id)).toBeGreaterThanOrEqual(1);
    expect(await isPairingLinkRevoked(database.db, link.jti)).toBe(true);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'ERR_PAIRING_REVOKED' });
    expect(await revokePairingLinksOf(database.db, owner.id)).toBe(0);
  });

  it('a link that was never recorded counts as revoked (fail closed)', async () => {
    expect(await isPairingLinkRevoked(database.db, newId('pairingLink'))).toBe(true);
  });
});
