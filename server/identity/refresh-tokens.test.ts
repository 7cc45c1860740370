// The rules for a presented refresh token. Rotation and reuse detection over HTTP and a real database
// are in server/routes/oauth-device.test.ts.
import { describe, expect, it } from 'vitest';
import { checkRefreshToken, type RefreshToken } from './refresh-tokens.ts';

const now = new Date('2026-01-01T12:00:00Z');
const token = (overrides: Partial<RefreshToken> = {}): RefreshToken => ({
  id: 'rft_1', familyId: 'rft_f', secretHash: 'h', personId: 'prs_1', role: 'member', createdAt: new Date(now.getTime() - 60_000),
  expiresAt: new Date(now.getTime() + 86_400_000), usedAt: null, revokedAt: null, ...overrides,
});
const active = { status: 'active' as const };

describe('checking a refresh token', () => {
  it('an unused, unexpired token of an active person may be exchanged', () => {
    expect(checkRefreshToken(token(), active, now)).toEqual({ ok: true });
  });

  it('a token that was already used is a reuse (the caller revokes the family)', () => {
    expect(checkRefreshToken(token({ usedAt: new Date(now.getTime() - 1_000) }), active, now)).toEqual({ ok: false, reason: 'reused' });
  });

  it('a token of a revoked family is refused without counting as a new reuse', () => {
    const revoked = token({ usedAt: new Date(now.getTime() - 2_000), revokedAt: new Date(now.getTime() - 1_000) });
    expect(checkRefreshToken(revoked, active, now)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('an expired token is refused', () => {
    expect(checkRefreshToken(token({ expiresAt: now }), active, now)).toEqual({ ok: false, reason: 'expired' });
  });

  it('a suspended or deleted person cannot refresh', () => {
    expect(checkRefreshToken(token(), { status: 'suspended' }, now)).toEqual({ ok: false, reason: 'person-inactive' });
    expect(checkRefreshToken(token(), undefined, now)).toEqual({ ok: false, reason: 'person-inactive' });
  });
});
