// Cookie names and options. Over TLS the session cookie is `__Host-` prefixed (Secure, Path=/, no
// Domain), so no other host or path can set or shadow it.
import type { CookieSerializeOptions } from '@fastify/cookie';

export const sessionCookieName = (secure: boolean) => (secure ? '__Host-oc_session' : 'oc_session');

export function sessionCookieOptions(secure: boolean, maxAgeSeconds: number): CookieSerializeOptions {
  return { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: maxAgeSeconds };
}
