// One token request against token endpoints that misbehave on purpose: echoing the client secret
// back, redirecting elsewhere, answering too much or something that is not a bearer token. None of
// it may reach the error message, and a redirect must not carry the credentials anywhere.
import http from 'node:http';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { loggerOptions } from '../../core/index.ts';
import { cacheLifetimeMs } from './credential-injector.ts';
import { CredentialUnavailableError } from './errors.ts';
import {
  clientSecretBasic, DEFAULT_TOKEN_LIFETIME_MS, parseTokenResponse, requestToken, TOKEN_EXCHANGE_GRANT_TYPE, type TokenRequest,
} from './token-endpoint.ts';

interface Seen {
  authorization: string | undefined;
  contentType: string | undefined;
  form: URLSearchParams;
}
type Handler = (seen: Seen, res: http.ServerResponse) => void;

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => {
    s.closeAllConnections();
    s.close(() => resolve());
  })));
});

/** A token endpoint that answers with `handler` and records what it was sent. */
async function endpoint(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { authorization: req.headers.authorization, contentType: req.headers['content-type'], form: new URLSearchParams(Buffer.concat(chunks).toString()) };
      seen.push(entry);
      handler(entry, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`, seen };
}

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};
const decodeBasic = (header: string) => Buffer.from(header.replace(/^Basic /, ''), 'base64').toString().split(':')
  .map((part) => decodeURIComponent(part.replace(/\+/g, '%20')));

function harness() {
  const lines: string[] = [];
  const logger = pino(loggerOptions('trace'), { write: (line: string) => void lines.push(line) });
  const secret = `canary:${randomBytes(12).toString('base64url')}% +&=`;
  const request = (url: string, form: Record<string, string | undefined> = { grant_type: 'client_credentials' }): TokenRequest =>
    ({ toolId: 'tool_test', tokenUrl: url, clientId: 'gateway:one', clientSecret: secret, form });
  const call = (url: string, form?: Record<string, string | undefined>, timeoutMs = 2_000) =>
    requestToken(request(url, form), { fetch, timeoutMs, logger });
  const failure = async (url: string, form?: Record<string, string | undefined>) => {
    const error = await call(url, form).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(CredentialUnavailableError);
    const unavailable = error as CredentialUnavailableError;
    expect(unavailable.code).toBe('ERR_CREDENTIAL_UPSTREAM');
    expect(unavailable.message).not.toContain(secret);
    expect(lines.join('\n')).not.toContain(secret);
    return unavailable;
  };
  return { lines, secret, call, failure };
}

describe('the token request', () => {
  it('posts the grant\'s fields as a form, leaves out unset ones, and authenticates with client_secret_basic (reserved characters encoded)', async () => {
    const { call, secret } = harness();
    const upstream = await endpoint((_seen, res) => json(res, 200, { access_token: 'tok-1', token_type: 'Bearer', expires_in: 60 }));
    expect(await call(upstream.url, { grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: 'st', audience: 'api', resource: undefined }))
      .toEqual({ accessToken: 'tok-1', lifetimeMs: 60_000 });
    const [seen] = upstream.seen;
    expect(seen!.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(seen!.form)).toEqual({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: 'st', audience: 'api' });
    expect(decodeBasic(seen!.authorization!)).toEqual(['gateway:one', secret]);
    expect(seen!.form.has('client_secret')).toBe(false);
  });

  it('an error answer that echoes the client secret stays out of the message; the log gets the status and the OAuth error code only', async () => {
    const { failure, lines } = harness();
    const upstream = await endpoint((seen, res) => json(res, 400, { error: 'invalid_client', error_description: `bad secret ${decodeBasic(seen.authorization!)[1]}` }));
    const error = await failure(upstream.url);
    expect(error.message).toBe('the token endpoint of tool tool_test refused the request (HTTP 400)');
    expect(lines.join('\n')).toContain('"oauthError":"invalid_client"');
    expect(lines.join('\n')).not.toContain('bad secret');
  });

  it('an error code that is not a plain OAuth code is not logged (log injection)', async () => {
    const { failure, lines } = harness();
    const upstream = await endpoint((seen, res) => json(res, 401, { error: `x\n${decodeBasic(seen.authorization!)[1]}` }));
    await failure(upstream.url);
    expect(lines.join('\n')).not.toContain('oauthError');
  });

  it('a redirect is not followed, so the credentials never reach the other host', async () => {
    const { failure } = harness();
    const elsewhere = await endpoint((_seen, res) => json(res, 200, { access_token: 'stolen', token_type: 'Bearer' }));
    const upstream = await endpoint((_seen, res) => res.writeHead(307, { location: elsewhere.url }).end());
    expect((await failure(upstream.url)).message).toContain('could not be reached');
    expect(elsewhere.seen).toEqual([]);
  });

  it('a response over 64 KiB is refused as unusable', async () => {
    const { failure } = harness();
    const upstream = await endpoint((_seen, res) => json(res, 200, { access_token: 'tok', token_type: 'Bearer', padding: 'p'.repeat(70_000) }));
    expect((await failure(upstream.url)).message).toContain('unusable');
    const chunked = await endpoint((_seen, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 70; i++) res.write(' '.repeat(1024));
      res.end('{}');
    });
    expect((await failure(chunked.url)).message).toContain('unusable');
  });

  it('a success that is not JSON, not a bearer token, or a token with a CR LF (header injection) is unusable', async () => {
    const { failure } = harness();
    for (const body of ['<html>', JSON.stringify({ access_token: 'tok', token_type: 'DPoP' }),
      JSON.stringify({ access_token: 'tok\r\nX-Admin: 1', token_type: 'Bearer' }), JSON.stringify({ token_type: 'Bearer' })]) {
      const upstream = await endpoint((_seen, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
      expect((await failure(upstream.url)).message, body).toContain('unusable');
    }
  });

  it('an endpoint that does not answer in time is abandoned', async () => {
    const { call } = harness();
    const upstream = await endpoint(() => undefined);
    const error = await call(upstream.url, undefined, 100).then(() => undefined, (err: unknown) => err as CredentialUnavailableError);
    expect(error?.message).toBe('the token endpoint of tool tool_test did not answer within 100 ms');
  });
});

describe('token responses and lifetimes', () => {
  it('reads expires_in in seconds, as a number or a numeric string, with a default when it is left out', () => {
    expect(parseTokenResponse({ access_token: 't', token_type: 'bearer', expires_in: 3600 })).toEqual({ accessToken: 't', lifetimeMs: 3_600_000 });
    expect(parseTokenResponse({ access_token: 't', token_type: 'Bearer', expires_in: '90' })).toEqual({ accessToken: 't', lifetimeMs: 90_000 });
    expect(parseTokenResponse({ access_token: 't', token_type: 'Bearer' })).toEqual({ accessToken: 't', lifetimeMs: DEFAULT_TOKEN_LIFETIME_MS });
    for (const expiresIn of [0, -5, 'soon', null, Number.NaN]) {
      expect(parseTokenResponse({ access_token: 't', token_type: 'Bearer', expires_in: expiresIn }), String(expiresIn)).toHaveProperty('unusable');
    }
    for (const body of [null, [], 'token', { access_token: '', token_type: 'Bearer' }, { access_token: 'a b', token_type: 'Bearer' }, { access_token: 't', token_type: 'N_A' }]) {
      expect(parseTokenResponse(body), JSON.stringify(body)).toHaveProperty('unusable');
    }
  });

  it('a token is refreshed 10% of its life early, at most 30 seconds early', () => {
    expect(cacheLifetimeMs(120_000)).toBe(108_000);
    expect(cacheLifetimeMs(3_600_000)).toBe(3_570_000);
    expect(cacheLifetimeMs(1_000)).toBe(900);
    expect(cacheLifetimeMs(1)).toBe(1);
  });

  it('client_secret_basic form-encodes the client id and secret before base64 (RFC 6749 §2.3.1)', () => {
    expect(clientSecretBasic('a:b', 'c d%')).toBe(`Basic ${Buffer.from('a%3Ab:c%20d%25').toString('base64')}`);
  });
});
