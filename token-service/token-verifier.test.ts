// A resource server's checks on an OpenCrane access token. Each attack test names the attack it tries.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  SignJWT, base64url, createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair,
  type CryptoKey, type JSONWebKeySet, type JWTVerifyGetKey,
} from 'jose';
import {
  createTokenVerifier, TokenVerificationError, type TokenVerificationErrorCode, type TokenVerifierOptions,
} from './token-verifier.ts';

const ISSUER = 'https://opencrane.example.com';
const GATEWAY = 'https://opencrane.example.com/mcp';
const SKILLS = 'opencrane:skills';
const ASSISTANT = `assistant_${randomUUID()}`;
const OWNER = `person_${randomUUID()}`;

const signer = async (kid: string, alg = 'ES256') => {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, publicKey, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
};
const trusted = await signer('trusted-key');
const jwks: JSONWebKeySet = { keys: [trusted.publicJwk] };
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Overrides {
  iss?: string; aud?: string | string[]; sub?: string; owner?: string | null; sv?: unknown; scope?: string;
  iat?: number; nbf?: number; exp?: number; jti?: string;
  header?: Record<string, unknown>; key?: CryptoKey | Uint8Array;
}

/** An access token as the token service signs it, with any claim or header changed. */
async function accessToken(o: Overrides = {}): Promise<string> {
  const iat = o.iat ?? nowSeconds();
  const claims: Record<string, unknown> = { sv: 'sv' in o ? o.sv : 3 };
  if (o.owner !== null) claims.owner = o.owner ?? OWNER;
  if (o.scope !== undefined) claims.scope = o.scope;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: trusted.kid, typ: 'at+jwt', ...o.header })
    .setIssuer(o.iss ?? ISSUER).setAudience(o.aud ?? GATEWAY).setSubject(o.sub ?? ASSISTANT)
    .setIssuedAt(iat).setNotBefore(o.nbf ?? iat).setExpirationTime(o.exp ?? iat + 300).setJti(o.jti ?? randomUUID())
    .sign(o.key ?? trusted.privateKey);
}

/** The owner's epochs as the revocation feed would hold them; the default owner is at epoch 3. */
const epochFeed = (entries: [string, number | 'stale'][] = [[OWNER, 3]]) => {
  const epochs = new Map(entries);
  return { epochs, currentEpoch: (personId: string) => epochs.get(personId) };
};

const verifierWith = (extra: Partial<TokenVerifierOptions> = {}) => createTokenVerifier({
  issuer: ISSUER, audience: [GATEWAY, SKILLS], jwks, currentEpoch: epochFeed().currentEpoch, ...extra,
});

async function refusal(promise: Promise<unknown>): Promise<TokenVerificationErrorCode> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error, 'the token was accepted').toBeInstanceOf(TokenVerificationError);
  return (error as TokenVerificationError).code;
}

/** A key resolver that counts how often a signature check needed a key. */
function countingKeys(set: JSONWebKeySet = jwks): { keys: JWTVerifyGetKey; lookups: () => number } {
  const local = createLocalJWKSet(set);
  let lookups = 0;
  return {
    keys: (header, token) => {
      lookups += 1;
      return local(header, token);
    },
    lookups: () => lookups,
  };
}

describe('token verifier', () => {
  it('accepts a fresh token for one of its audiences and returns who it is for', async () => {
    const jti = randomUUID();
    const iat = nowSeconds();
    const result = await verifierWith().verify(await accessToken({ jti, iat, exp: iat + 120, aud: SKILLS, scope: 'tools:read' }));
    expect(result).toEqual({
      subject: ASSISTANT, owner: OWNER, audience: SKILLS, scope: 'tools:read', jti, issuedAt: new Date(iat * 1000), expiresAt: new Date((iat + 120) * 1000), epoch: 3,
    });
  });

  it('attack: alg none is refused', async () => {
    const signed = await accessToken();
    const [, payload] = signed.split('.');
    const header = base64url.encode(JSON.stringify({ alg: 'none', kid: trusted.kid }));
    expect(await refusal(verifierWith().verify(`${header}.${payload}.`))).toBe('ERR_TOKEN_ALGORITHM');
  });

  it('attack: HS256 signed with the public key as the secret is refused', async () => {
    for (const secret of [JSON.stringify(trusted.publicJwk), await exportSPKI(trusted.publicKey)]) {
      const forged = await accessToken({ header: { alg: 'HS256' }, key: new TextEncoder().encode(secret) });
      expect(await refusal(verifierWith().verify(forged))).toBe('ERR_TOKEN_ALGORITHM');
    }
  });

  it('attack: RS/ES confusion, an RS256 token when only ES256 is allowed, is refused even if its key is published', async () => {
    const rsa = await signer('rsa-key', 'RS256');
    const verifier = verifierWith({ jwks: { keys: [trusted.publicJwk, rsa.publicJwk] } });
    const forged = await accessToken({ header: { alg: 'RS256', kid: rsa.kid }, key: rsa.privateKey });
    expect(await refusal(verifier.verify(forged))).toBe('ERR_TOKEN_ALGORITHM');
  });

  it('attack: a token from another issuer is refused', async () => {
    expect(await refusal(verifierWith().verify(await accessToken({ iss: 'https://evil.example.com' })))).toBe('ERR_TOKEN_ISSUER');
  });

  it('attack: a token for another audience is refused', async () => {
    expect(await refusal(verifierWith().verify(await accessToken({ aud: 'opencrane:knowledge' })))).toBe('ERR_TOKEN_AUDIENCE');
  });

  it('an audience function accepts a family of audiences (every tool behind the gateway) and nothing else', async () => {
    const verifier = verifierWith({ audience: (aud) => aud.startsWith(`${GATEWAY}/`) });
    expect((await verifier.verify(await accessToken({ aud: `${GATEWAY}/github` }))).audience).toBe(`${GATEWAY}/github`);
    for (const aud of [GATEWAY, SKILLS, 'https://evil.example.com/mcp/github']) {
      expect(await refusal(verifier.verify(await accessToken({ aud }))), aud).toBe('ERR_TOKEN_AUDIENCE');
    }
    expect(await refusal(verifier.verify(await accessToken({ aud: [`${GATEWAY}/a`, `${GATEWAY}/b`] })))).toBe('ERR_TOKEN_AUDIENCE');
  });

  it('attack: a token naming multiple audiences is refused, even when all are accepted here', async () => {
    expect(await refusal(verifierWith().verify(await accessToken({ aud: [GATEWAY, 'opencrane:knowledge'] })))).toBe('ERR_TOKEN_AUDIENCE');
    expect(await refusal(verifierWith().verify(await accessToken({ aud: [GATEWAY, SKILLS] })))).toBe('ERR_TOKEN_AUDIENCE');
  });

  it('attack: an expired token is refused', async () => {
    const iat = nowSeconds() - 400;
    expect(await refusal(verifierWith().verify(await accessToken({ iat, exp: iat + 300 })))).toBe('ERR_TOKEN_EXPIRED');
  });

  it('attack: a token whose nbf is in the future is refused', async () => {
    expect(await refusal(verifierWith().verify(await accessToken({ nbf: nowSeconds() + 60 })))).toBe('ERR_TOKEN_NOT_YET_VALID');
  });

  it('attack: a token issued in the future (stretching its lifetime) is refused', async () => {
    const iat = nowSeconds() + 3600;
    expect(await refusal(verifierWith().verify(await accessToken({ iat, nbf: nowSeconds(), exp: iat + 300 })))).toBe('ERR_TOKEN_NOT_YET_VALID');
  });

  it('attack: a token signed by an unknown kid is refused', async () => {
    const stranger = await signer('unknown-key');
    expect(await refusal(verifierWith().verify(await accessToken({ header: { kid: stranger.kid }, key: stranger.privateKey })))).toBe('ERR_TOKEN_SIGNATURE');
  });

  it('attack: a jku header pointing elsewhere is refused before any key is fetched', async () => {
    const stranger = await signer('trusted-key');
    const { keys, lookups } = countingKeys();
    for (const header of [{ jku: 'https://evil.example.com/jwks.json' }, { x5u: 'https://evil.example.com/cert.pem' }, { jwk: stranger.publicJwk }]) {
      const forged = await accessToken({ header, key: stranger.privateKey });
      expect(await refusal(verifierWith({ jwks: keys }).verify(forged)), Object.keys(header)[0]).toBe('ERR_TOKEN_MALFORMED');
    }
    expect(lookups()).toBe(0);
  });

  it('attack: a kid header that is not ours or is path-like is refused', async () => {
    for (const kid of ['../../../etc/passwd', 'https://evil.example.com/key', "x' OR '1'='1", '']) {
      expect(await refusal(verifierWith().verify(await accessToken({ header: { kid } }))), kid).toBe('ERR_TOKEN_MALFORMED');
    }
    expect(await refusal(verifierWith().verify(await accessToken({ header: { kid: undefined } })))).toBe('ERR_TOKEN_MALFORMED');
    const impostor = await signer('trusted-key');
    expect(await refusal(verifierWith().verify(await accessToken({ key: impostor.privateKey })))).toBe('ERR_TOKEN_SIGNATURE');
  });

  it('attack: a token of another type (a pairing link, an untyped JWT) signed by a trusted key is refused', async () => {
    for (const typ of ['opencrane-pairing+jwt', 'JWT', undefined]) {
      const other = await accessToken({ header: { typ } });
      expect(await refusal(verifierWith().verify(other)), String(typ)).toBe('ERR_TOKEN_MALFORMED');
    }
    expect((await verifierWith().verify(await accessToken({ header: { typ: 'application/at+jwt' } }))).owner).toBe(OWNER);
  });

  it('attack: a tampered payload is refused', async () => {
    const [header, payload, signature] = (await accessToken()).split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload ?? ''))) as Record<string, unknown>;
    const tampered = base64url.encode(JSON.stringify({ ...claims, owner: `person_${randomUUID()}` }));
    expect(await refusal(verifierWith().verify(`${header}.${tampered}.${signature}`))).toBe('ERR_TOKEN_SIGNATURE');
  });

  it('attack: a token over the size limit is refused before any parsing', async () => {
    const { keys, lookups } = countingKeys();
    const padded = await new SignJWT({ pad: 'x'.repeat(5000) })
      .setProtectedHeader({ alg: 'ES256', kid: trusted.kid }).sign(trusted.privateKey);
    expect(await refusal(verifierWith({ jwks: keys }).verify(padded))).toBe('ERR_TOKEN_TOO_LARGE');
    expect(await refusal(verifierWith({ maxTokenLength: 100 }).verify(await accessToken()))).toBe('ERR_TOKEN_TOO_LARGE');
    expect(lookups()).toBe(0);
  });

  it('attack: a token whose lifetime is over the maximum is refused', async () => {
    const iat = nowSeconds();
    expect(await refusal(verifierWith().verify(await accessToken({ iat, exp: iat + 301 })))).toBe('ERR_TOKEN_LIFETIME');
    expect(await refusal(verifierWith({ maxLifetimeSeconds: 60 }).verify(await accessToken({ iat, exp: iat + 120 })))).toBe('ERR_TOKEN_LIFETIME');
  });

  it('attack: a token with a revoked epoch (sv older than the current epoch) is refused', async () => {
    const feed = epochFeed([[OWNER, 4]]);
    expect(await refusal(verifierWith({ currentEpoch: feed.currentEpoch }).verify(await accessToken({ sv: 3 })))).toBe('ERR_TOKEN_REVOKED');
  });

  it('attack: a token for an unknown person is refused', async () => {
    expect(await refusal(verifierWith().verify(await accessToken({ owner: `person_${randomUUID()}` })))).toBe('ERR_TOKEN_REVOKED');
  });

  it('attack: a token presented while the revocation feed is stale is refused (fail closed)', async () => {
    const feed = epochFeed([[OWNER, 'stale']]);
    expect(await refusal(verifierWith({ currentEpoch: feed.currentEpoch }).verify(await accessToken()))).toBe('ERR_TOKEN_UNAVAILABLE');
  });

  it('attack: a token without owner or with a non-integer sv is refused', async () => {
    expect(await refusal(verifierWith().verify(await accessToken({ owner: null })))).toBe('ERR_TOKEN_MALFORMED');
    for (const sv of [undefined, '3', 3.5, -1]) {
      expect(await refusal(verifierWith().verify(await accessToken({ sv }))), String(sv)).toBe('ERR_TOKEN_MALFORMED');
    }
  });

  it('whatever a key resolver or the revocation feed throws, the refusal is a TokenVerificationError', async () => {
    const throwingKeys: JWTVerifyGetKey = () => Promise.reject(new Error('socket hang up'));
    expect(await refusal(verifierWith({ jwks: throwingKeys }).verify(await accessToken()))).toBe('ERR_TOKEN_UNAVAILABLE');
    const throwingFeed = () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: third-party code that throws a non-Error
      throw 'feed exploded';
    };
    expect(await refusal(verifierWith({ currentEpoch: throwingFeed }).verify(await accessToken()))).toBe('ERR_TOKEN_UNAVAILABLE');
  });

  it('garbage is refused as malformed', async () => {
    for (const bad of ['', 'not-a-jwt', 'a.b', 'a.b.c.d', '..', '!!.??.**', 'e30.e30.']) {
      expect(await refusal(verifierWith().verify(bad)), bad).toBe('ERR_TOKEN_MALFORMED');
    }
  });

  it('refuses a configuration that allows a symmetric algorithm or none', () => {
    expect(() => verifierWith({ algorithms: ['ES256', 'HS256'] })).toThrow(TypeError);
    expect(() => verifierWith({ algorithms: ['none'] })).toThrow(TypeError);
    expect(() => verifierWith({ algorithms: [] })).toThrow(TypeError);
  });
});

describe('token verifier cache', () => {
  it('a second verify of the same token skips the signature check, yet a revoke after caching is refused', async () => {
    const { keys, lookups } = countingKeys();
    const feed = epochFeed();
    const verifier = verifierWith({ jwks: keys, currentEpoch: feed.currentEpoch });
    const token = await accessToken();
    const first = await verifier.verify(token);
    const second = await verifier.verify(token);
    expect(second).toEqual(first);
    expect(lookups()).toBe(1);

    feed.epochs.set(OWNER, 4);
    expect(await refusal(verifier.verify(token))).toBe('ERR_TOKEN_REVOKED');
    feed.epochs.set(OWNER, 'stale');
    expect(await refusal(verifier.verify(token))).toBe('ERR_TOKEN_UNAVAILABLE');
    expect(lookups()).toBe(1);
  });

  it('a caller changing its result does not change what the cache serves', async () => {
    const verifier = verifierWith();
    const token = await accessToken();
    const first = await verifier.verify(token);
    first.expiresAt.setTime(0);
    first.owner = 'someone-else';
    const second = await verifier.verify(token);
    expect(second.owner).toBe(OWNER);
    expect(second.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  it('a cached entry is not served after the token expires', async () => {
    let now = Date.now();
    const { keys, lookups } = countingKeys();
    const verifier = verifierWith({ jwks: keys, now: () => now });
    const iat = Math.floor(now / 1000);
    const token = await accessToken({ iat, exp: iat + 60 });
    await verifier.verify(token);
    now += 30_000;
    await verifier.verify(token);
    expect(lookups()).toBe(1);

    // Past exp but inside the clock tolerance: the cache has let go, so the token is checked afresh.
    now = (iat + 62) * 1000;
    await verifier.verify(token);
    expect(lookups()).toBe(2);

    now = (iat + 66) * 1000;
    expect(await refusal(verifier.verify(token))).toBe('ERR_TOKEN_EXPIRED');
    expect(lookups()).toBe(3);
  });
});

describe('token verifier with a remote JWKS', () => {
  it('an unknown kid triggers one refetch after the cooldown, and the rotated key then verifies', async () => {
    const next = await signer('next-key');
    let published: JSONWebKeySet = { keys: [trusted.publicJwk] };
    let fetches = 0;
    const server = createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const verifier = verifierWith({ jwks: new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`), jwksCooldownSeconds: 0.5 });
      await verifier.verify(await accessToken());
      expect(fetches).toBe(1);

      published = { keys: [trusted.publicJwk, next.publicJwk] };
      const rotated = await accessToken({ header: { kid: next.kid }, key: next.privateKey });
      // Within the cooldown an unknown kid does not hit the JWKS endpoint: a flood of made-up kids costs nothing.
      expect(await refusal(verifier.verify(rotated))).toBe('ERR_TOKEN_SIGNATURE');
      expect(fetches).toBe(1);

      await sleep(600);
      expect((await verifier.verify(rotated)).owner).toBe(OWNER);
      expect(fetches).toBe(2);
      await verifier.verify(await accessToken({ header: { kid: next.kid }, key: next.privateKey }));
      expect(fetches).toBe(2);
    } finally {
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    }
  });

  it('unreachable keys make the verifier answer "unavailable", never accept', async () => {
    const server = createServer((_request, response) => response.writeHead(500).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const verifier = verifierWith({ jwks: new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`) });
      expect(await refusal(verifier.verify(await accessToken()))).toBe('ERR_TOKEN_UNAVAILABLE');
    } finally {
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    }
  });
});
