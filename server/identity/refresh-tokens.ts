// Tokens for `oc`: a short-lived access token (a CLI session, `ocs_…`) and a rotating refresh token
// (`rft_…`). Every refresh token belongs to a family started by one device sign-in; each use marks
// the presented token used and issues its successor. A used token presented again means two parties
// hold the family (one of them stole it), so the whole family and every access token minted from it
// are revoked at once.
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { newId, repositories, schema, type Db, type Person, type Store } from '../../core/index.ts';
import { createSession, type SessionRole } from './sessions.ts';

export type RefreshToken = typeof schema.refreshTokens.$inferSelect;

export const REFRESH_TOKEN_PREFIX = 'rft_';
export const REFRESH_TOKEN_PATTERN = /^rft_[A-Za-z0-9_-]{43}$/;
export const ACCESS_TOKEN_LIFETIME_SECONDS = 15 * 60;
/** A family's absolute lifetime: after it, `oc` signs in again and the role is read afresh. */
export const REFRESH_FAMILY_LIFETIME_MS = 30 * 86_400_000;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export interface CliTokens {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
}

/**
 * Issues an access token and a refresh token for a person. Without `family` a new family starts
 * (a device sign-in); with it the refresh token joins that family and keeps its end (a rotation).
 */
export async function issueCliTokens(
  tx: Db,
  spec: { personId: string; role: SessionRole; family?: { id: string; expiresAt: Date } },
  now = new Date(),
): Promise<CliTokens> {
  const familyId = spec.family?.id ?? newId('refreshToken');
  const refreshToken = REFRESH_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  await tx.insert(schema.refreshTokens).values({
    id: newId('refreshToken'), familyId, secretHash: sha256(refreshToken), personId: spec.personId, role: spec.role,
    createdAt: now, expiresAt: spec.family?.expiresAt ?? new Date(now.getTime() + REFRESH_FAMILY_LIFETIME_MS),
  });
  const { secret } = await createSession(tx, {
    personId: spec.personId, role: spec.role, kind: 'cli', absoluteMs: ACCESS_TOKEN_LIFETIME_SECONDS * 1000, refreshFamilyId: familyId,
  });
  return { accessToken: secret, expiresIn: ACCESS_TOKEN_LIFETIME_SECONDS, refreshToken };
}

export type RefreshCheck =
  | { ok: true }
  | { ok: false; reason: 'revoked' | 'expired' | 'person-inactive' | 'reused' };

/** The rules for a presented refresh token, in the order they apply. Pure, for unit tests. */
export function checkRefreshToken(token: RefreshToken, person: Pick<Person, 'status'> | undefined, now: Date): RefreshCheck {
  if (token.revokedAt) return { ok: false, reason: 'revoked' };
  if (token.usedAt) return { ok: false, reason: 'reused' };
  if (token.expiresAt <= now) return { ok: false, reason: 'expired' };
  if (!person || person.status !== 'active') return { ok: false, reason: 'person-inactive' };
  return { ok: true };
}

/** Revokes every refresh token of a family and every CLI session minted from it. */
export async function revokeRefreshFamily(tx: Db, familyId: string, now = new Date()): Promise<void> {
  await tx.update(schema.refreshTokens).set({ revokedAt: now })
    .where(and(eq(schema.refreshTokens.familyId, familyId), isNull(schema.refreshTokens.revokedAt)));
  await tx.update(schema.sessions).set({ revokedAt: now })
    .where(and(eq(schema.sessions.refreshFamilyId, familyId), isNull(schema.sessions.revokedAt)));
}

/** Revokes every refresh-token family of a person and every CLI session minted from them (a revoke). */
export async function revokeRefreshFamiliesOf(tx: Db, personId: string, now = new Date()): Promise<void> {
  const families = await tx.selectDistinct({ familyId: schema.refreshTokens.familyId }).from(schema.refreshTokens)
    .where(and(eq(schema.refreshTokens.personId, personId), isNull(schema.refreshTokens.revokedAt)));
  for (const { familyId } of families) await revokeRefreshFamily(tx, familyId, now);
}

export type RotationResult =
  | { ok: true; tokens: CliTokens }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'person-inactive' | 'reused' };

/**
 * Exchanges a refresh token for its successor and a new access token, in one transaction that locks
 * the presented token's row, so two concurrent uses cannot both succeed: the second one is a reuse.
 */
export async function rotateRefreshToken(
  store: Pick<Store, 'transaction' | 'audit'>,
  presented: string,
  context: { requestId: string },
  now = new Date(),
): Promise<RotationResult> {
  if (!REFRESH_TOKEN_PATTERN.test(presented)) return { ok: false, reason: 'unknown' };
  return await store.transaction(async (tx): Promise<RotationResult> => {
    const [token] = await tx.select().from(schema.refreshTokens)
      .where(eq(schema.refreshTokens.secretHash, sha256(presented))).limit(1).for('update');
    if (!token) return { ok: false, reason: 'unknown' };
    const person = await repositories.people.get(tx, token.personId);
    const check = checkRefreshToken(token, person, now);
    if (!check.ok) {
      if (check.reason === 'reused') {
        await revokeRefreshFamily(tx, token.familyId, now);
        await store.audit.insert(tx, {
          id: newId('audit'), actor: `person:${token.personId}`, action: 'refresh.reuse-detected', targetKind: 'refreshTokenFamily',
          targetId: token.familyId, after: { presentedTokenId: token.id, usedAt: token.usedAt?.toISOString() ?? null },
          requestId: context.requestId,
        });
      }
      return check;
    }
    await tx.update(schema.refreshTokens).set({ usedAt: now }).where(eq(schema.refreshTokens.id, token.id));
    const tokens = await issueCliTokens(tx, {
      personId: token.personId, role: token.role, family: { id: token.familyId, expiresAt: token.expiresAt },
    }, now);
    return { ok: true, tokens };
  });
}
