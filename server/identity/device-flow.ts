// The OAuth 2.0 device authorization grant (RFC 8628) for `oc login`. The CLI gets a device code
// (kept secret, polled with) and a user code (shown to the person, typed or confirmed in the browser).
// The person approves the user code while signed in; the next poll then turns the device code into
// CLI tokens, once. Only hashes of device codes are stored.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { newId, repositories, schema, type Db, type Store } from '../../core/index.ts';
import { issueCliTokens, type CliTokens } from './refresh-tokens.ts';
import type { SessionRole } from './sessions.ts';

export type DeviceAuthorization = typeof schema.deviceAuthorizations.$inferSelect;

export const DEVICE_CODE_LIFETIME_SECONDS = 600;
export const POLL_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: each slow_down adds five seconds to the interval, for good. */
export const SLOW_DOWN_STEP_SECONDS = 5;

/** Consonants only (no vowels, so no words; no look-alikes such as 0/O or 1/I). */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;
const USER_CODE_PATTERN = new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}}$`);
export const DEVICE_CODE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export function generateUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** `BCDFGHJK` → `BCDF-GHJK`, the way people see and type it. */
export const formatUserCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;

/** The stored form of what a person typed (any case, dashes and spaces ignored), or null if it cannot be a code. */
export function normalizeUserCode(input: string): string | null {
  const code = input.replace(/[\s-]/g, '').toUpperCase();
  return USER_CODE_PATTERN.test(code) ? code : null;
}

export interface NewDeviceAuthorization {
  deviceCode: string;
  userCode: string;
  expiresIn: number;
  interval: number;
}

export async function createDeviceAuthorization(
  db: Db,
  request: { clientId: string; scope: string | null },
  now = new Date(),
): Promise<NewDeviceAuthorization> {
  // A fresh user code collides with a stored one about once in billions; then draw again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const deviceCode = randomBytes(32).toString('base64url');
    const userCode = generateUserCode();
    const inserted = await db.insert(schema.deviceAuthorizations).values({
      id: newId('deviceAuthorization'), deviceCodeHash: sha256(deviceCode), userCode, clientId: request.clientId,
      scope: request.scope, status: 'pending', createdAt: now,
      expiresAt: new Date(now.getTime() + DEVICE_CODE_LIFETIME_SECONDS * 1000), intervalSeconds: POLL_INTERVAL_SECONDS,
    }).onConflictDoNothing().returning({ id: schema.deviceAuthorizations.id });
    if (inserted.length) return { deviceCode, userCode, expiresIn: DEVICE_CODE_LIFETIME_SECONDS, interval: POLL_INTERVAL_SECONDS };
  }
  throw new Error('could not draw an unused user code');
}

export type DecisionResult =
  | { ok: true; id: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'decided' };

/** The person's answer to a user code: approval binds them (and their session's role) to it. */
export async function decideDeviceAuthorization(
  store: Pick<Store, 'transaction' | 'audit'>,
  decision: { userCode: string; approve: boolean; personId: string; role: SessionRole; requestId: string },
  now = new Date(),
): Promise<DecisionResult> {
  const userCode = normalizeUserCode(decision.userCode);
  if (!userCode) return { ok: false, reason: 'unknown' };
  return await store.transaction(async (tx): Promise<DecisionResult> => {
    const [authorization] = await tx.select().from(schema.deviceAuthorizations)
      .where(eq(schema.deviceAuthorizations.userCode, userCode)).limit(1).for('update');
    if (!authorization) return { ok: false, reason: 'unknown' };
    if (authorization.status !== 'pending') return { ok: false, reason: 'decided' };
    if (authorization.expiresAt <= now) return { ok: false, reason: 'expired' };
    await tx.update(schema.deviceAuthorizations).set(decision.approve
      ? { status: 'approved', personId: decision.personId, role: decision.role }
      : { status: 'denied', personId: decision.personId })
      .where(eq(schema.deviceAuthorizations.id, authorization.id));
    await store.audit.insert(tx, {
      id: newId('audit'), actor: `person:${decision.personId}`, action: decision.approve ? 'device.approve' : 'device.deny',
      targetKind: 'deviceAuthorization', targetId: authorization.id,
      after: { clientId: authorization.clientId, scope: authorization.scope, ...(decision.approve ? { role: decision.role } : {}) },
      requestId: decision.requestId,
    });
    return { ok: true, id: authorization.id };
  });
}

export type PollOutcome =
  | { kind: 'invalid_grant' | 'expired_token' | 'access_denied' | 'authorization_pending' }
  | { kind: 'slow_down'; intervalSeconds: number }
  | { kind: 'issue'; personId: string; role: SessionRole };

/**
 * What a poll with this device code gets, in the order the rules apply. Pure, for unit tests. Polling
 * too fast only matters while the answer is still pending (slow_down is a kind of authorization_pending).
 */
export function pollOutcome(authorization: DeviceAuthorization, clientId: string, now: Date): PollOutcome {
  if (authorization.clientId !== clientId || authorization.status === 'consumed') return { kind: 'invalid_grant' };
  if (authorization.expiresAt <= now) return { kind: 'expired_token' };
  if (authorization.status === 'denied') return { kind: 'access_denied' };
  if (authorization.status === 'approved') {
    return authorization.personId && authorization.role
      ? { kind: 'issue', personId: authorization.personId, role: authorization.role }
      : { kind: 'invalid_grant' };
  }
  const last = authorization.lastPolledAt;
  if (last && now.getTime() - last.getTime() < authorization.intervalSeconds * 1000) {
    return { kind: 'slow_down', intervalSeconds: authorization.intervalSeconds + SLOW_DOWN_STEP_SECONDS };
  }
  return { kind: 'authorization_pending' };
}

export type RedeemResult =
  | { ok: true; tokens: CliTokens; scope: string | null }
  | { ok: false; error: 'invalid_grant' | 'expired_token' | 'access_denied' | 'authorization_pending' | 'slow_down' };

/**
 * One poll of the token endpoint with a device code. The row is locked for the poll, so an approved
 * authorization is consumed by exactly one poll, in the same transaction that issues the tokens.
 */
export async function redeemDeviceCode(
  store: Pick<Store, 'transaction'>,
  request: { deviceCode: string; clientId: string },
  now = new Date(),
): Promise<RedeemResult> {
  if (!DEVICE_CODE_PATTERN.test(request.deviceCode)) return { ok: false, error: 'invalid_grant' };
  return await store.transaction(async (tx): Promise<RedeemResult> => {
    const [authorization] = await tx.select().from(schema.deviceAuthorizations)
      .where(eq(schema.deviceAuthorizations.deviceCodeHash, sha256(request.deviceCode))).limit(1).for('update');
    if (!authorization) return { ok: false, error: 'invalid_grant' };
    const outcome = pollOutcome(authorization, request.clientId, now);
    const id = authorization.id;
    switch (outcome.kind) {
      case 'slow_down':
        await tx.update(schema.deviceAuthorizations).set({ lastPolledAt: now, intervalSeconds: outcome.intervalSeconds })
          .where(eq(schema.deviceAuthorizations.id, id));
        return { ok: false, error: 'slow_down' };
      case 'authorization_pending':
        await tx.update(schema.deviceAuthorizations).set({ lastPolledAt: now }).where(eq(schema.deviceAuthorizations.id, id));
        return { ok: false, error: 'authorization_pending' };
      case 'issue': {
        await tx.update(schema.deviceAuthorizations).set({ status: 'consumed', lastPolledAt: now })
          .where(eq(schema.deviceAuthorizations.id, id));
        const person = await repositories.people.get(tx, outcome.personId);
        if (person?.status !== 'active') return { ok: false, error: 'invalid_grant' };
        const tokens = await issueCliTokens(tx, { personId: outcome.personId, role: outcome.role }, now);
        return { ok: true, tokens, scope: authorization.scope };
      }
      default:
        return { ok: false, error: outcome.kind };
    }
  });
}
