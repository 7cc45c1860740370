// Client authentication for the token service's endpoints (RFC 6749 §2.3.1). Each test names the
// misuse or attack it tries; every refusal is a null, never an exception.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, schema } from '../core/index.ts';
import { testDatabases, type OpenTestDatabase } from '../test/support/databases.ts';
import {
  authenticateClient, CLIENT_SECRET_PATTERN, generateClientSecret, hashClientSecret, type ClientAuthenticationInput,
} from './client-authentication.ts';

/** RFC 6749 §2.3.1 as a careful client does it: form-urlencode each part, then base64 `id:secret`. */
const formEncode = (value: string) => encodeURIComponent(value).replaceAll('%20', '+');
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
const rawBasic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('client secrets', () => {
  it('are occs_ and 32 random bytes, different every time, and hash to SHA-256 hex', () => {
    const secrets = Array.from({ length: 20 }, generateClientSecret);
    for (const secret of secrets) expect(secret).toMatch(CLIENT_SECRET_PATTERN);
    expect(new Set(secrets).size).toBe(secrets.length);
    expect(hashClientSecret(secrets[0]!)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashClientSecret(secrets[0]!)).not.toBe(hashClientSecret(secrets[1]!));
  });
});

describe.each(testDatabases)('authenticateClient on $name', (target) => {
  let database: OpenTestDatabase;
  const audiences = ['https://mcp.example.com/mcp', 'https://skills.example.com/skills'];

  async function registerClient(secret = generateClientSecret(), revokedAt: Date | null = null) {
    const id = newId('oauthClient');
    await database.db.insert(schema.oauthClients).values({
      id, name: `client ${id}`, secretHash: hashClientSecret(secret), audiences, createdBy: 'test', revokedAt,
    });
    return { id, secret };
  }
  const authenticate = (input: ClientAuthenticationInput) => authenticateClient(database.db, input);

  let client: { id: string; secret: string };

  beforeAll(async () => {
    database = await target.open();
    client = await registerClient();
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it('client_secret_basic: the right id and secret in the Authorization header authenticate the client', async () => {
    expect(await authenticate({ authorization: basic(client.id, client.secret), form: {} })).toEqual({ id: client.id, audiences });
  });

  it('client_secret_post: the right id and secret in the form body authenticate the client', async () => {
    expect(await authenticate({ form: { client_id: client.id, client_secret: client.secret } })).toEqual({ id: client.id, audiences });
  });

  it('the Basic scheme name is case-insensitive and may be followed by several spaces', async () => {
    const token = Buffer.from(`${client.id}:${client.secret}`).toString('base64');
    expect(await authenticate({ authorization: `basic ${token}`, form: {} })).not.toBeNull();
    expect(await authenticate({ authorization: `BASIC   ${token}`, form: {} })).not.toBeNull();
  });

  it('both methods at once are refused, even when both carry the right secret', async () => {
    expect(await authenticate({
      authorization: basic(client.id, client.secret), form: { client_id: client.id, client_secret: client.secret },
    })).toBeNull();
    expect(await authenticate({ authorization: basic(client.id, client.secret), form: { client_secret: client.secret } })).toBeNull();
  });

  it('empty form parameters count as absent (RFC 6749 §3.1), so they do not make a second method', async () => {
    expect(await authenticate({ authorization: basic(client.id, client.secret), form: { client_id: '', client_secret: '' } }))
      .toEqual({ id: client.id, audiences });
  });

  it('a client_id in the body beside Basic is accepted only when it names the same client (no client confusion)', async () => {
    const other = await registerClient();
    expect(await authenticate({ authorization: basic(client.id, client.secret), form: { client_id: client.id } })).not.toBeNull();
    expect(await authenticate({ authorization: basic(client.id, client.secret), form: { client_id: other.id } })).toBeNull();
  });

  it('a wrong secret is refused by either method, including another client\'s secret', async () => {
    const other = await registerClient();
    const wrong = generateClientSecret();
    expect(await authenticate({ authorization: basic(client.id, wrong), form: {} })).toBeNull();
    expect(await authenticate({ form: { client_id: client.id, client_secret: wrong } })).toBeNull();
    expect(await authenticate({ form: { client_id: client.id, client_secret: other.secret } })).toBeNull();
    expect(await authenticate({ form: { client_id: client.id, client_secret: client.secret.slice(0, -1) } })).toBeNull();
    expect(await authenticate({ form: { client_id: client.id, client_secret: `${client.secret}A` } })).toBeNull();
  });

  it('the stored hash is not a credential: presenting it as the secret is refused', async () => {
    expect(await authenticate({ form: { client_id: client.id, client_secret: hashClientSecret(client.secret) } })).toBeNull();
  });

  it('a revoked client is refused even with its right secret', async () => {
    const revoked = await registerClient(generateClientSecret(), new Date());
    expect(await authenticate({ authorization: basic(revoked.id, revoked.secret), form: {} })).toBeNull();
    expect(await authenticate({ form: { client_id: revoked.id, client_secret: revoked.secret } })).toBeNull();
  });

  it('an unknown client, or an id of another kind, is refused', async () => {
    expect(await authenticate({ form: { client_id: newId('oauthClient'), client_secret: client.secret } })).toBeNull();
    expect(await authenticate({ form: { client_id: newId('apiToken'), client_secret: client.secret } })).toBeNull();
    expect(await authenticate({ authorization: basic(`${client.id} `, client.secret), form: {} })).toBeNull();
  });

  it('missing credentials and a public client (an id without a secret) are refused', async () => {
    expect(await authenticate({ form: {} })).toBeNull();
    expect(await authenticate({ form: { client_id: client.id } })).toBeNull();
    expect(await authenticate({ form: { client_secret: client.secret } })).toBeNull();
    expect(await authenticate({ form: { client_id: client.id, client_secret: '' } })).toBeNull();
    expect(await authenticate({ authorization: basic(client.id, ''), form: {} })).toBeNull();
  });

  it('form fields that are not single strings (repeated parameters, objects) are refused', async () => {
    expect(await authenticate({ form: { client_id: [client.id, client.id], client_secret: client.secret } })).toBeNull();
    expect(await authenticate({ form: { client_id: client.id, client_secret: [client.secret] } })).toBeNull();
    expect(await authenticate({ form: { client_id: { toString: () => client.id }, client_secret: client.secret } })).toBeNull();
    expect(await authenticate({ authorization: basic(client.id, client.secret), form: { client_id: [client.id] } })).toBeNull();
  });

  it('malformed Authorization headers are refused without throwing', async () => {
    const token = Buffer.from(`${client.id}:${client.secret}`).toString('base64');
    const malformed = [
      '', 'Basic', 'Basic ', `Basic${token}`, `Bearer ${token}`, `Basic ${token} extra`, `Basic ${token}\n`,
      `Basic ${token.replace(/=+$/, '')}`, // unpadded
      `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64url')}`, // the URL-safe alphabet
      `Basic ${token.slice(0, 10)}!${token.slice(11)}`, // outside the alphabet
      'Basic ====', 'Basic A===',
      rawBasic(`${client.id}${client.secret}`), // no colon
      `Basic ${Buffer.from([0xc3, 0x28, 0x3a, 0x61]).toString('base64')}`, // not UTF-8
      rawBasic(`${client.id}:%E0%A4%A`), // a broken percent escape
      rawBasic(`${client.id}:%FF`), // percent-encoded bytes that are not UTF-8
      `Basic ${'A'.repeat(4000)}`,
    ];
    for (const authorization of malformed) {
      await expect(authenticate({ authorization, form: {} }), JSON.stringify(authorization)).resolves.toBeNull();
    }
  });

  it('the id and secret are form-urlencoded inside Basic and decoded before they are compared', async () => {
    const secret = 'pa ss:w+rd/&=%é😀';
    const special = await registerClient(secret);
    expect(await authenticate({ authorization: basic(special.id, secret), form: {} })).toMatchObject({ id: special.id });
    // Encoding characters that need no encoding is still valid form encoding.
    const encodedId = special.id.replace('_', '%5F').replace('occ', '%6Fcc');
    expect(await authenticate({ authorization: rawBasic(`${encodedId}:${formEncode(secret)}`), form: {} })).toMatchObject({ id: special.id });
    // '+' means a space and '%2B' a plus; mixing them up is a different secret.
    expect(await authenticate({ authorization: rawBasic(`${special.id}:${formEncode(secret).replace('%2B', '+')}`), form: {} })).toBeNull();
    expect(await authenticate({ authorization: rawBasic(`${special.id}:${formEncode(secret).replace('+', '%20')}`), form: {} })).not.toBeNull();
    // The body is already decoded by the form parser; its value is compared as it is.
    expect(await authenticate({ form: { client_id: special.id, client_secret: secret } })).toMatchObject({ id: special.id });
    expect(await authenticate({ form: { client_id: special.id, client_secret: formEncode(secret) } })).toBeNull();
  });

  it('a client that sends its secret without form-encoding it still authenticates when nothing needed encoding', async () => {
    expect(await authenticate({ authorization: rawBasic(`${client.id}:${client.secret}`), form: {} })).toMatchObject({ id: client.id });
  });

  it('an over-long secret is refused before it is hashed', async () => {
    expect(await authenticate({ form: { client_id: client.id, client_secret: 'x'.repeat(100_000) } })).toBeNull();
    expect(await authenticate({ form: { client_id: 'x'.repeat(100_000), client_secret: client.secret } })).toBeNull();
  });

  it('a database failure is an error, not a refused client', async () => {
    const broken = await target.open();
    await broken.dispose();
    await expect(authenticateClient(broken.db, { form: { client_id: client.id, client_secret: client.secret } })).rejects.toThrow();
  });
});
