import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
import { beforeAll, describe, expect, it } from 'vitest';
import { IdTokenError, newNonce, verifyIdToken } from './id-token.ts';

const ISSUER = 'https://idp.example.com';
const CLIENT = 'opencrane';
const nonce = newNonce();

describe('ID token validation', () => {
  let privateKey: KeyLike;
  let otherKey: KeyLike;
  let publicJwk: JWK;
  let jwks: ReturnType<typeof createLocalJWKSet>;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' };
    jwks = createLocalJWKSet({ keys: [publicJwk] });
  });

  const token = (claims: Record<string, unknown> = {}, key: KeyLike = privateKey, header: Record<string, unknown> = {}) =>
    new SignJWT({ nonce, email: 'ada@example.com', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', ...header })
      .setIssuer(ISSUER).setAudience(CLIENT).setSubject('user-1').setIssuedAt().setExpirationTime('5m')
      .sign(key);
  const verify = (idToken: string, overrides: Partial<Parameters<typeof verifyIdToken>[1]> = {}) =>
    verifyIdToken(idToken, { jwks, issuer: ISSUER, clientId: CLIENT, nonce, ...overrides });
  const refusedWith = async (promise: Promise<unknown>, reason: RegExp) => {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(IdTokenError);
    expect((error as IdTokenError).reason).toMatch(reason);
  };

  it('accepts a token signed by the provider for us, with our nonce', async () => {
    await expect(verify(await token())).resolves.toMatchObject({ sub: 'user-1', email: 'ada@example.com' });
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const body = Buffer.from(JSON.stringify({ iss: ISSUER, aud: CLIENT, sub: 'user-1', iat: now, exp: now + 300, nonce })).toString('base64url');
    await refusedWith(verify(`${header}.${body}.`), /algorithm|malformed/);
  });

  it('refuses an HS256 token keyed with the provider\'s public key (algorithm confusion)', async () => {
    const forged = await new SignJWT({ nonce }).setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISSUER).setAudience(CLIENT).setSubject('user-1').setIssuedAt().setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    await refusedWith(verify(forged), /algorithm|signature/);
  });

  it('refuses a token from another issuer', async () => {
    await refusedWith(verify(await token(), { issuer: 'https://other.example.com' }), /iss claim/);
  });

  it('refuses a token minted for another client (audience)', async () => {
    await refusedWith(verify(await token(), { clientId: 'someone-else' }), /aud claim/);
  });

  it('refuses an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ nonce }).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER).setAudience(CLIENT).setSubject('user-1').setIssuedAt(past - 300).setExpirationTime(past).sign(privateKey);
    await refusedWith(verify(expired), /expired/);
  });

  it('refuses a token whose nonce belongs to another sign-in', async () => {
    await refusedWith(verify(await token({ nonce: newNonce() })), /nonce/);
  });

  it('refuses a callback in a browser that holds no nonce, whatever nonce the token carries', async () => {
    await refusedWith(verify(await token({ nonce: '' }), { nonce: '' }), /no nonce/);
  });

  it('refuses a token without a nonce', async () => {
    await refusedWith(verify(await token({ nonce: undefined })), /nonce/);
  });

  it('refuses a token signed by a key the provider does not publish', async () => {
    await refusedWith(verify(await token({}, otherKey)), /signature/);
  });

  it('refuses a multi-audience token whose authorized party is someone else', async () => {
    const multi = await new SignJWT({ nonce, azp: 'other' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER).setAudience([CLIENT, 'other']).setSubject('user-1').setIssuedAt().setExpirationTime('5m').sign(privateKey);
    await refusedWith(verify(multi), /azp/);
  });
});
