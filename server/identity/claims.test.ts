import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/index.ts';
import { ClaimsError, identityFromClaims } from './claims.ts';
import { safeReturnTo } from './return-to.ts';

const oidc = (env: NodeJS.ProcessEnv = {}) => loadConfig({ OPENCRANE_HOME: '/tmp/x', ...env }).oidc;
const ISSUER = 'https://idp.example.com';

describe('claims to a person', () => {
  it('maps subject, email, name, groups, department and the admin role', () => {
    expect(identityFromClaims({
      sub: 'u1', email: 'ada@example.com', name: 'Ada', groups: ['Platform', 'Data'], department: 'Engineering', roles: ['opencrane-admin'],
    }, ISSUER, oidc())).toEqual({
      subject: `${ISSUER}|u1`, email: 'ada@example.com', displayName: 'Ada', groups: ['Platform', 'Data'], department: 'Engineering', role: 'admin',
    });
  });

  it('reads configured claim names and role values', () => {
    const identity = identityFromClaims({ oid: 'u2', upn: 'bob@corp.example', teams: 'A, B', grp: ['sec'] }, ISSUER,
      oidc({ OIDC_CLAIM_SUBJECT: 'oid', OIDC_CLAIM_EMAIL: 'upn', OIDC_CLAIM_GROUPS: 'teams', OIDC_CLAIM_ROLES: 'grp', OIDC_ROLE_SECURITY: 'sec' }));
    expect(identity).toMatchObject({ subject: `${ISSUER}|u2`, email: 'bob@corp.example', groups: ['A', 'B'], role: 'security', displayName: 'bob' });
  });

  it('gives the member role when no role claim matches', () => {
    expect(identityFromClaims({ sub: 'u', email: 'x@example.com', roles: ['something'] }, ISSUER, oidc()).role).toBe('member');
  });

  it('refuses a disallowed email domain', () => {
    expect(() => identityFromClaims({ sub: 'u', email: 'eve@evil.example' }, ISSUER, oidc({ OIDC_ALLOWED_EMAIL_DOMAINS: 'example.com, example.org' })))
      .toThrow(ClaimsError);
    expect(identityFromClaims({ sub: 'u', email: 'ok@EXAMPLE.org' }, ISSUER, oidc({ OIDC_ALLOWED_EMAIL_DOMAINS: 'example.com,example.org' })).email)
      .toBe('ok@EXAMPLE.org');
  });

  it('refuses an unverified email and a missing email or subject', () => {
    expect(() => identityFromClaims({ sub: 'u', email: 'a@example.com', email_verified: false }, ISSUER, oidc())).toThrow(/not verified/);
    expect(() => identityFromClaims({ sub: 'u' }, ISSUER, oidc())).toThrow(/email/);
    expect(() => identityFromClaims({ email: 'a@example.com' }, ISSUER, oidc())).toThrow(/sub/);
  });
});

describe('returnTo after sign-in (open redirects)', () => {
  const base = 'https://opencrane.example.com';
  it.each([
    ['https://evil.example/steal', '/'],
    ['//evil.example/steal', '/'],
    ['/\\evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['http://opencrane.example.com/x', '/'],
    ['/%0d%0aSet-Cookie:x', '/%0d%0aSet-Cookie:x'],
    ['/auth/device?user_code=ABCD-EFGH', '/auth/device?user_code=ABCD-EFGH'],
    ['', '/'],
  ])('%s goes to %s', (input, expected) => {
    expect(safeReturnTo(input, base)).toBe(expected);
  });
});

describe('configuration', () => {
  it('refuses the development identity provider in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://oc.example.com' })).toThrow(/OIDC_ISSUER is required/);
  });
  it('makes cookies Secure when served over TLS', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://oc.example.com' }).secureCookies).toBe(true);
    expect(loadConfig({}).secureCookies).toBe(false);
  });
});
