// One request to an upstream OAuth 2.0 token endpoint (RFC 6749 §4.4 client credentials, RFC 8693
// token exchange), authenticated with client_secret_basic. Failures become ERR_CREDENTIAL_UPSTREAM
// with a message that names the tool and the kind of failure only: the client secret, the subject
// token and whatever the upstream answered stay out of it (the log gets the status and the standard
// OAuth error code).
import type { Logger } from '../../core/index.ts';
import { CredentialUnavailableError } from './errors.ts';

export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Used when the token endpoint leaves `expires_in` out (RFC 6749 makes it only RECOMMENDED). */
export const DEFAULT_TOKEN_LIFETIME_MS = 60_000;
const MAX_TOKEN_LIFETIME_MS = 365 * 86_400_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
/** A token that goes into an HTTP header: visible ASCII, no spaces, bounded. */
const ACCESS_TOKEN = /^[\x21-\x7e]{1,16384}$/;
const OAUTH_ERROR_CODE = /^[a-z_]{1,64}$/;

export interface TokenRequest {
  toolId: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** The grant's form fields; undefined ones are left out. */
  form: Record<string, string | undefined>;
}

export interface UpstreamToken {
  accessToken: string;
  lifetimeMs: number;
}

export interface TokenEndpointDependencies {
  fetch: typeof fetch;
  timeoutMs: number;
  logger: Pick<Logger, 'warn'>;
}

/** RFC 6749 §2.3.1: each part form-encoded, then `id:secret` in base64. */
export function clientSecretBasic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

/** The usable part of a successful token response, or why it is unusable. */
export function parseTokenResponse(body: unknown): UpstreamToken | { unusable: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { unusable: 'the response is not a JSON object' };
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn } = body as Record<string, unknown>;
  if (typeof accessToken !== 'string' || !ACCESS_TOKEN.test(accessToken)) return { unusable: 'access_token is missing or malformed' };
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') return { unusable: 'token_type is not Bearer' };
  if (expiresIn === undefined) return { accessToken, lifetimeMs: DEFAULT_TOKEN_LIFETIME_MS };
  const seconds = typeof expiresIn === 'string' && /^\d{1,10}$/.test(expiresIn) ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return { unusable: 'expires_in is not a positive number' };
  return { accessToken, lifetimeMs: Math.min(seconds * 1000, MAX_TOKEN_LIFETIME_MS) };
}

async function readBounded(response: Response): Promise<string | null> {
  if (Number(response.headers.get('content-length') ?? 0) > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    return null;
  }
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const parseJson = (text: string | null): unknown => {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

export async function requestToken(request: TokenRequest, deps: TokenEndpointDependencies): Promise<UpstreamToken> {
  const { toolId } = request;
  const fail = (reason: string, log: Record<string, unknown>) => {
    deps.logger.warn({ toolId, ...log }, `upstream token request failed: ${reason}`);
    return new CredentialUnavailableError('ERR_CREDENTIAL_UPSTREAM', toolId, `the token endpoint of tool ${toolId} ${reason}`);
  };
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(request.form)) if (value !== undefined) form.set(name, value);

  let response: Response;
  let text: string | null;
  try {
    response = await deps.fetch(request.tokenUrl, {
      method: 'POST',
      headers: {
        authorization: clientSecretBasic(request.clientId, request.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form.toString(),
      // A redirect would carry the client's credentials somewhere else.
      redirect: 'error',
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
    text = await readBounded(response);
  } catch (err) {
    const name = (err as Error | undefined)?.name;
    if (name === 'TimeoutError') throw fail(`did not answer within ${deps.timeoutMs} ms`, { reason: 'timeout' });
    const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
    throw fail('could not be reached', { reason: 'network', error: name, ...(typeof cause === 'string' ? { cause } : {}) });
  }
  const body = parseJson(text);
  if (response.status !== 200) {
    const code = (body as { error?: unknown } | undefined)?.error;
    throw fail(`refused the request (HTTP ${response.status})`, {
      reason: 'refused', status: response.status, ...(typeof code === 'string' && OAUTH_ERROR_CODE.test(code) ? { oauthError: code } : {}),
    });
  }
  const parsed = parseTokenResponse(body);
  if ('unusable' in parsed) throw fail('answered with an unusable token response', { reason: 'unusable', detail: parsed.unusable });
  return parsed;
}
