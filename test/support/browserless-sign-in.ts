// Signs a person in through the real sign-in flow without a browser: follows the redirects between
// the control plane and the OpenID provider by hand, keeps each origin's cookies, and fills in the
// provider's development login form.
export class CookieJar {
  private readonly jars = new Map<string, Map<string, string>>();

  store(url: string, response: Response): void {
    const origin = new URL(url).origin;
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  header(url: string): string {
    const jar = this.jars.get(new URL(url).origin);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  get(url: string, name: string): string | undefined {
    return this.jars.get(new URL(url).origin)?.get(name);
  }

  set(url: string, name: string, value: string): void {
    const origin = new URL(url).origin;
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    jar.set(name, value);
    this.jars.set(origin, jar);
  }
}

export interface Hop { url: string; status: number; location: string | null }

/** Requests a URL with the jar's cookies, without following redirects. */
export async function hop(jar: CookieJar, url: string, init: RequestInit = {}): Promise<{ response: Response; body: string }> {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie) headers.set('cookie', cookie);
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(url, response);
  return { response, body: await response.text() };
}

/** Follows redirects from `start` to the first page that is not a redirect, filling the provider's login form with `email` on the way. */
export async function followSignIn(jar: CookieJar, start: string, email: string): Promise<{ hops: Hop[]; url: string; response: Response; body: string }> {
  const hops: Hop[] = [];
  let url = start;
  let init: RequestInit = {};
  for (let step = 0; step < 20; step++) {
    const { response, body } = await hop(jar, url, init);
    const location = response.headers.get('location');
    hops.push({ url, status: response.status, location });
    if (location && response.status >= 300 && response.status < 400) {
      url = new URL(location, url).toString();
      init = {};
      continue;
    }
    const form = /<form[^>]*action="([^"]+)"[^>]*>/i.exec(body);
    if (response.status === 200 && form && /name="login"/.test(body)) {
      const fields = new URLSearchParams();
      for (const match of body.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) fields.set(match[1]!, match[2]!);
      fields.set('login', email);
      fields.set('password', 'any');
      url = new URL(form[1]!.replaceAll('&amp;', '&'), url).toString();
      init = { method: 'POST', body: fields.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
      continue;
    }
    return { hops, url, response, body };
  }
  throw new Error(`sign-in did not finish: ${JSON.stringify(hops)}`);
}
