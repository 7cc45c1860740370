// Server-side sessions. A browser holds an opaque cookie and `oc` an opaque bearer token (`ocs_…`);
// either carries a secret whose SHA-256 names a session row, so a session is revoked by updating
// its row. Sessions end after an idle period and, whatever the activity, at an absolute time.
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { newId, schema, type Db } from '../../core/index.ts';

export type SessionRole = 'admin' | 'security' | 'auditor' | 'member';
export type SessionKind = 'browser' | 'cli';
export type Session = typeof schema.sessions.$inferSelect;

export const SESSION_TOKEN_PREFIX = 'ocs_';
export const SESSION_SECRET_PATTERN = /^ocs_[A-Za-z0-9_-]{43}$/;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The CSRF token for a session: derived from its secret, so it needs no storage and dies with it. */
export const csrfTokenFor = (secret: string) => createHash('sha256').update(`csrf:${secret}`).digest('base64url');

export interface SessionPolicy {
  idleMs: number;
  absoluteMs: number;
}

export async function createSession(
  db: Db,
  spec: { personId: string; role: SessionRole; kind: SessionKind; absoluteMs: number; refreshFamilyId?: string },
): Promise<{ secret: string; session: Session }> {
  const secret = SESSION_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const now = new Date();
  const [session] = await db.insert(schema.sessions).values({
    id: newId('session'), secretHash: sha256(secret), kind: spec.kind, personId: spec.personId, role: spec.role,
    lastSeenAt: now, expiresAt: new Date(now.getTime() + spec.absoluteMs), refreshFamilyId: spec.refreshFamilyId ?? null,
  }).returning();
  return { secret, session: session! };
}

export type SessionLookup =
  | { ok: true; session: Session }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'idle' };

/**
 * Finds the live session for a secret and records activity (at most once a minute). CLI sessions are
 * short-lived access tokens and have no idle limit of their own.
 */
export async function findSession(db: Db, secret: string, policy: SessionPolicy, now = new Date()): Promise<SessionLookup> {
  if (!SESSION_SECRET_PATTERN.test(secret)) return { ok: false, reason: 'unknown' };
  const [session] = await db.select().from(schema.sessions).where(eq(schema.sessions.secretHash, sha256(secret))).limit(1);
  if (!session) return { ok: false, reason: 'unknown' };
  if (session.revokedAt) return { ok: false, reason: 'revoked' };
  if (session.expiresAt <= now) return { ok: false, reason: 'expired' };
  if (session.kind === 'browser' && now.getTime() - session.lastSeenAt.getTime() > policy.idleMs) return { ok: false, reason: 'idle' };
  if (now.getTime() - session.lastSeenAt.getTime() > 60_000) {
    await db.update(schema.sessions).set({ lastSeenAt: now }).where(eq(schema.sessions.id, session.id));
  }
  return { ok: true, session };
}

export async function revokeSession(db: Db, id: string): Promise<void> {
  await db.update(schema.sessions).set({ revokedAt: new Date() })
    .where(and(eq(schema.sessions.id, id), isNull(schema.sessions.revokedAt)));
}

/** Ends every session of a person (suspension, deletion, revocation). */
export async function revokeSessionsOf(db: Db, personId: string): Promise<void> {
  await db.update(schema.sessions).set({ revokedAt: new Date() })
    .where(and(eq(schema.sessions.personId, personId), isNull(schema.sessions.revokedAt)));
}
