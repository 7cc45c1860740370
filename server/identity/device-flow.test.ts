// The device flow's pure rules: user codes and what a poll gets. The whole flow over HTTP and a real
// database is in server/routes/oauth-device.test.ts.
import { describe, expect, it } from 'vitest';
import {
  formatUserCode, generateUserCode, normalizeUserCode, pollOutcome, USER_CODE_ALPHABET, type DeviceAuthorization,
} from './device-flow.ts';

const now = new Date('2026-01-01T12:00:00Z');
const authorization = (overrides: Partial<DeviceAuthorization> = {}): DeviceAuthorization => ({
  id: 'dva_1', deviceCodeHash: 'h', userCode: 'BCDFGHJK', clientId: 'oc', scope: null, status: 'pending',
  personId: null, role: null, createdAt: new Date(now.getTime() - 60_000), expiresAt: new Date(now.getTime() + 540_000),
  intervalSeconds: 5, lastPolledAt: null, ...overrides,
});

describe('user codes', () => {
  it('are 8 letters from the unambiguous consonant alphabet', () => {
    for (let i = 0; i < 200; i++) {
      const code = generateUserCode();
      expect(code).toMatch(new RegExp(`^[${USER_CODE_ALPHABET}]{8}$`));
    }
    expect(USER_CODE_ALPHABET).not.toMatch(/[AEIOUY0-9]/);
  });

  it('are shown as XXXX-XXXX', () => {
    expect(formatUserCode('BCDFGHJK')).toBe('BCDF-GHJK');
  });

  it('are compared without regard to case, dashes or spaces', () => {
    expect(normalizeUserCode('bcdf-ghjk')).toBe('BCDFGHJK');
    expect(normalizeUserCode(' BCDF GHJK ')).toBe('BCDFGHJK');
    expect(normalizeUserCode('bcdfghjk')).toBe('BCDFGHJK');
  });

  it('that cannot have been issued are rejected before any lookup', () => {
    for (const input of ['', 'BCDF-GHJ', 'BCDF-GHJKL', 'ABCD-EFGH', 'BCDF-GHJ1', "BCDF' OR 1=1", 'BCDF\u0000GHJK']) {
      expect(normalizeUserCode(input), input).toBeNull();
    }
  });
});

describe('what a poll gets', () => {
  it('a pending authorization polled for the first time, or slowly enough, is authorization_pending', () => {
    expect(pollOutcome(authorization(), 'oc', now)).toEqual({ kind: 'authorization_pending' });
    expect(pollOutcome(authorization({ lastPolledAt: new Date(now.getTime() - 5_000) }), 'oc', now)).toEqual({ kind: 'authorization_pending' });
  });

  it('polling a pending authorization faster than its interval is slow_down with the interval 5 s longer', () => {
    expect(pollOutcome(authorization({ lastPolledAt: new Date(now.getTime() - 4_999) }), 'oc', now))
      .toEqual({ kind: 'slow_down', intervalSeconds: 10 });
    expect(pollOutcome(authorization({ intervalSeconds: 10, lastPolledAt: new Date(now.getTime() - 9_000) }), 'oc', now))
      .toEqual({ kind: 'slow_down', intervalSeconds: 15 });
  });

  it('an approved authorization issues tokens for the approving person and role, even on a quick poll', () => {
    const approved = authorization({ status: 'approved', personId: 'prs_1', role: 'member', lastPolledAt: new Date(now.getTime() - 1_000) });
    expect(pollOutcome(approved, 'oc', now)).toEqual({ kind: 'issue', personId: 'prs_1', role: 'member' });
  });

  it('a denied authorization is access_denied', () => {
    expect(pollOutcome(authorization({ status: 'denied', personId: 'prs_1' }), 'oc', now)).toEqual({ kind: 'access_denied' });
  });

  it('an expired authorization is expired_token, even when it was approved', () => {
    const expiresAt = now;
    expect(pollOutcome(authorization({ expiresAt }), 'oc', now)).toEqual({ kind: 'expired_token' });
    expect(pollOutcome(authorization({ expiresAt, status: 'approved', personId: 'prs_1', role: 'admin' }), 'oc', now))
      .toEqual({ kind: 'expired_token' });
  });

  it('a consumed authorization, or one issued to another client, is invalid_grant', () => {
    expect(pollOutcome(authorization({ status: 'consumed', personId: 'prs_1', role: 'admin' }), 'oc', now)).toEqual({ kind: 'invalid_grant' });
    expect(pollOutcome(authorization({ status: 'approved', personId: 'prs_1', role: 'admin' }), 'other', now)).toEqual({ kind: 'invalid_grant' });
  });
});
