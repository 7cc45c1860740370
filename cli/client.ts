// The REST API client `oc` uses: openapi-fetch over the types generated from the control plane's
// OpenAPI document (cli/api/schema.ts), so every path, parameter and body is checked at compile time.
// Sign-in tokens from `oc login` are refreshed before they expire and the new ones saved.
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './api/schema.ts';
import { CliError, EXIT, problemToError } from './errors.ts';
import { loadCliConfig, saveCliConfig, type CliContext } from './config-store.ts';

export type ApiClient = Client<paths>;

export interface Session {
  url: string;
  /** The context the credentials came from, when they came from the config file. */
  context?: string;
  token?: string;
}

/** Where `oc` talks to and as whom: --url/--token first, then OPENCRANE_URL/OPENCRANE_TOKEN, then the context. */
export async function resolveSession(options: { url?: string; token?: string; context?: string }, env: NodeJS.ProcessEnv): Promise<Session> {
  const config = await loadCliConfig(env);
  const name = options.context ?? env.OPENCRANE_CONTEXT ?? config.current;
  if (options.context && !config.contexts[options.context]) {
    throw new CliError(`there is no context named ${options.context}`, EXIT.usage, 'List them with `oc context list`.');
  }
  const saved: CliContext | undefined = name ? config.contexts[name] : undefined;
  const url = options.url ?? env.OPENCRANE_URL ?? saved?.url;
  if (!url) throw new CliError('no control plane is configured', EXIT.usage, 'Run `oc login --url https://opencrane.example.com`, or set OPENCRANE_URL.');
  const token = options.token ?? env.OPENCRANE_TOKEN ?? (saved && (!options.url || options.url === saved.url) ? saved.token : undefined);
  return { url: url.replace(/\/$/, ''), ...(name && saved ? { context: name } : {}), ...(token ? { token } : {}) };
}

async function refreshIfNeeded(session: Session, env: NodeJS.ProcessEnv, fetchImpl: typeof fetch): Promise<string | undefined> {
  if (!session.context) return session.token;
  const config = await loadCliConfig(env);
  const saved = config.contexts[session.context];
  if (!saved?.refreshToken || !saved.expiresAt || saved.token !== session.token) return session.token;
  if (Date.parse(saved.expiresAt) - Date.now() > 60_000) return session.token;
  const response = await fetchImpl(`${session.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: saved.refreshToken, client_id: 'oc' }),
  });
  if (!response.ok) throw new CliError('your sign-in has expired', EXIT.auth, 'Sign in again with `oc login`.');
  const tokens = await response.json() as { access_token: string; refresh_token: string; expires_in: number };
  config.contexts[session.context] = {
    ...saved, token: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: new Date(Date.now() + tokens.expires_in * 1000).toISOString(),
  };
  await saveCliConfig(env, config);
  return tokens.access_token;
}

export function createApiClient(session: Session, env: NodeJS.ProcessEnv, fetchImpl: typeof fetch = fetch): ApiClient {
  const client = createClient<paths>({ baseUrl: session.url, fetch: fetchImpl });
  const auth: Middleware = {
    async onRequest({ request }) {
      const token = await refreshIfNeeded(session, env, fetchImpl);
      if (token) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

/** The data of a call, or a CliError made from its problem+json; a network failure says where it could not connect. */
export async function call<T>(what: string, request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    throw new CliError(`${what} failed: cannot reach the control plane (${reason})`, EXIT.failure, 'Check --url or OPENCRANE_URL, and that the control plane is running.');
  }
  if (result.error !== undefined || !result.response.ok) throw problemToError(result.response.status, result.error, what);
  return result.data as T;
}
