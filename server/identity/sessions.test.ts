import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, newId, type Store } from '../../core/index.ts';
import { testDatabases } from '../../test/support/databases.ts';
import { createSession, findSession, revokeSession, revokeSessionsOf } from './sessions.ts';

const policy = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 };

describe('sessions', () => {
  let database: Awaited<ReturnType<(typeof testDatabases)[number]['open']>>;
  let store: Store;
  let personId: string;

  beforeAll(async () => {
    database = await testDatabases[0]!.open();
    store = createStore(database);
    personId = (await store.people.insert(store.db, { id: newId('person'), email: 's@example.com', displayName: 'S' })).id;
  });
  afterAll(async () => {
    await database?.dispose();
  });

  const start = (kind: 'browser' | 'cli' = 'browser') =>
    createSession(store.db, { personId, role: 'member', kind, absoluteMs: policy.absoluteMs });

  it('stores only a hash of the secret', async () => {
    const { secret, session } = await start();
    expect(session.secretHash).not.toContain(secret.slice(4));
    expect(session.secretHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds a live session and refuses an unknown or malformed secret', async () => {
    const { secret, session } = await start();
    expect(await findSession(store.db, secret, policy)).toMatchObject({ ok: true, session: { id: session.id } });
    expect(await findSession(store.db, `${secret.slice(0, -1)}x`, policy)).toEqual({ ok: false, reason: 'unknown' });
    expect(await findSession(store.db, 'not-a-session', policy)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('a browser session ends after the idle timeout', async () => {
    const { secret } = await start();
    const later = new Date(Date.now() + policy.idleMs + 1000);
    expect(await findSession(store.db, secret, policy, later)).toEqual({ ok: false, reason: 'idle' });
  });

  it('activity keeps a browser session alive until its absolute end, and no further', async () => {
    const { secret } = await start();
    for (let t = policy.idleMs / 2; t < policy.absoluteMs; t += policy.idleMs / 2) {
      expect((await findSession(store.db, secret, policy, new Date(Date.now() + t))).ok).toBe(true);
    }
    expect(await findSession(store.db, secret, policy, new Date(Date.now() + policy.absoluteMs + 1000))).toEqual({ ok: false, reason: 'expired' });
  });

  it('a revoked session is refused, and revoking a person ends all their sessions', async () => {
    const one = await start();
    await revokeSession(store.db, one.session.id);
    expect(await findSession(store.db, one.secret, policy)).toEqual({ ok: false, reason: 'revoked' });
    const two = await start();
    const three = await start('cli');
    await revokeSessionsOf(store.db, personId);
    expect((await findSession(store.db, two.secret, policy)).ok).toBe(false);
    expect((await findSession(store.db, three.secret, policy)).ok).toBe(false);
  });
});
