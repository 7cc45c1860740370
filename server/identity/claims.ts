// Maps an ID token's claims to an OpenCrane person, with configurable claim names. Pure: the sign-in
// route does the I/O.
import type { Config } from '../../core/index.ts';
import type { SessionRole } from './sessions.ts';

export interface SignInIdentity {
  /** `issuer|sub`: stable across email changes. */
  subject: string;
  email: string;
  displayName: string;
  groups: string[];
  department: string | null;
  role: SessionRole;
}

export class ClaimsError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ClaimsError';
  }
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}$/;

const stringList = (value: unknown): string[] =>
  (Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [])
    .filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter((v) => v.length > 0 && v.length <= 120).slice(0, 200);

export function identityFromClaims(claims: Record<string, unknown>, issuer: string, oidc: Config['oidc']): SignInIdentity {
  const names = oidc.claims;
  const sub = claims[names.subject];
  const email = claims[names.email];
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) throw new ClaimsError(`the ${names.subject} claim is missing`);
  if (typeof email !== 'string' || !EMAIL.test(email)) throw new ClaimsError(`the ${names.email} claim is missing or not an email address`);
  if (claims.email_verified === false) throw new ClaimsError('the email address is not verified by the identity provider');
  const domain = email.split('@')[1]!.toLowerCase();
  if (oidc.allowedEmailDomains.length > 0 && !oidc.allowedEmailDomains.includes(domain)) {
    throw new ClaimsError(`people from ${domain} may not sign in here`);
  }
  const rawName = claims[names.name];
  const displayName = typeof rawName === 'string' && rawName.trim() ? rawName.trim().slice(0, 120) : email.split('@')[0]!;
  const department = stringList(claims[names.department])[0] ?? null;
  const roles = stringList(claims[names.roles]);
  const has = (values: string[]) => roles.some((r) => values.includes(r));
  const role: SessionRole = has(oidc.roleValues.admin) ? 'admin'
    : has(oidc.roleValues.security) ? 'security' : has(oidc.roleValues.auditor) ? 'auditor' : 'member';
  return { subject: `${issuer}|${sub}`, email, displayName, groups: stringList(claims[names.groups]), department, role };
}
