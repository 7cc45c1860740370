// The assistant side's checks on a pairing link. Each test names the attack it tries.
import { describe, expect, it } from 'vitest';
import {
  SignJWT, UnsecuredJWT, base64url, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JSONWebKeySet,
} from 'jose';
import { newId } from '../core/index.ts';
import { createMemorySeenLinks, createPairingVerifier, PairingLinkError, type PairingLinkErrorCode } from './pairing-verifier.ts';

const ISSUER = 'https://opencrane.example.com';
const ASSISTANT = newId('assistant');
const OWNER = newId('person');

const signer = async (kid: string) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, publicKey, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
};
const trusted = await signer('trusted-key');
const jwks: JSONWebKeySet = { keys: [trusted.publicJwk] };

interface Overrides {
  iss?: string; aud?: string; sub?: string; jti?: string | null; iat?: number; exp?: number;
  typ?: string; kid?: string; key?: CryptoKey;
}

/** A pairing link as the control plane signs it, with any claim or header changed. */
async function link(o: Overrides = {}): Promise<string> {
  const iat = o.iat ?? Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: o.kid ?? trusted.kid, typ: o.typ ?? 'opencrane-pairing+jwt' })
    .setIssuer(o.iss ?? ISSUER).setAudience(o.aud ?? `opencrane:assistant:${ASSISTANT}`).setSubject(o.sub ?? OWNER)
    .setIssuedAt(iat).setNotBefore(iat).setExpirationTime(o.exp ?? iat + 60);
  if (o.jti !== null) jwt = jwt.setJti(o.jti ?? newId('pairingLink'));
  return jwt.sign(o.key ?? trusted.privateKey);
}

const verifierWith = (extra: Partial<Parameters<typeof createPairingVerifier>[0]> = {}) => createPairingVerifier({
  issuer: ISSUER, assistantId: ASSISTANT, ownerId: OWNER, jwks, seen: createMemorySeenLinks(), ...extra,
});

async function refusal(promise: Promise<unknown>): Promise<PairingLinkErrorCode> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error, 'the link was accepted').toBeInstanceOf(PairingLinkError);
  return (error as PairingLinkError).code;
}

describe('pairing link verifier', () => {
  it('accepts a fresh link for its own assistant and owner, once', async () => {
    const jti = newId('pairingLink');
    const result = await verifierWith().verify(await link({ jti }));
    expect(result.personId).toBe(OWNER);
    expect(result.jti).toBe(jti);
    expect(result.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  it('attack: a link for someone else\'s assistant is refused', async () => {
    const other = await link({ aud: `opencrane:assistant:${newId('assistant')}` });
    expect(await refusal(verifierWith().verify(other))).toBe('ERR_PAIRING_WRONG_ASSISTANT');
  });

  it('attack: a reused link is refused the second time', async () => {
    const verifier = verifierWith();
    const token = await link();
    await verifier.verify(token);
    expect(await refusal(verifier.verify(token))).toBe('ERR_PAIRING_REPLAYED');
  });

  it('attack: two concurrent uses of one link let exactly one through', async () => {
    const verifier = verifierWith();
    const token = await link();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => verifier.verify(token)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('attack: an expired link is refused', async () => {
    const iat = Math.floor(Date.now() / 1000) - 120;
    expect(await refusal(verifierWith().verify(await link({ iat, exp: iat + 60 })))).toBe('ERR_PAIRING_EXPIRED');
  });

  it('attack: a link signed by an unknown key is refused', async () => {
    const stranger = await signer('unknown-key');
    expect(await refusal(verifierWith().verify(await link({ kid: stranger.kid, key: stranger.privateKey })))).toBe('ERR_PAIRING_SIGNATURE');
  });

  it('attack: a link signed by another key that claims the trusted kid is refused', async () => {
    const stranger = await signer('trusted-key');
    expect(await refusal(verifierWith().verify(await link({ key: stranger.privateKey })))).toBe('ERR_PAIRING_SIGNATURE');
  });

  it('attack: a link from another issuer is refused', async () => {
    expect(await refusal(verifierWith().verify(await link({ iss: 'https://evil.example.com' })))).toBe('ERR_PAIRING_WRONG_ISSUER');
  });

  it('attack: a link for another person than the assistant\'s owner is refused', async () => {
    expect(await refusal(verifierWith().verify(await link({ sub: newId('person') })))).toBe('ERR_PAIRING_WRONG_OWNER');
  });

  it('attack: an unsigned link (alg none) is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = new UnsecuredJWT({ jti: newId('pairingLink') })
      .setIssuer(ISSUER).setAudience(`opencrane:assistant:${ASSISTANT}`).setSubject(OWNER)
      .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 60).encode();
    // UnsecuredJWT writes no typ; put the pairing typ in so only the algorithm is wrong.
    const [, payload] = unsigned.split('.');
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'opencrane-pairing+jwt', kid: trusted.kid }));
    expect(await refusal(verifierWith().verify(`${header}.${payload}.`))).toBe('ERR_PAIRING_SIGNATURE');
  });

  it('attack: an HS256 link using the public key as the HMAC secret is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISSUER, aud: `opencrane:assistant:${ASSISTANT}`, sub: OWNER, iat: now, nbf: now, exp: now + 60, jti: newId('pairingLink') };
    const header = { alg: 'HS256', kid: trusted.kid, typ: 'opencrane-pairing+jwt' };
    for (const secret of [JSON.stringify(trusted.publicJwk), await exportSPKI(trusted.publicKey)]) {
      const forged = await new SignJWT(claims).setProtectedHeader(header).sign(new TextEncoder().encode(secret));
      expect(await refusal(verifierWith().verify(forged))).toBe('ERR_PAIRING_SIGNATURE');
    }
  });

  it('attack: an oversized link is refused before any parsing', async () => {
    const huge = `${'a'.repeat(3000)}.${'b'.repeat(3000)}.c`;
    expect(await refusal(verifierWith().verify(huge))).toBe('ERR_PAIRING_MALFORMED');
    const padded = await new SignJWT({ pad: 'x'.repeat(5000) })
      .setProtectedHeader({ alg: 'ES256', kid: trusted.kid, typ: 'opencrane-pairing+jwt' }).sign(trusted.privateKey);
    expect(await refusal(verifierWith().verify(padded))).toBe('ERR_PAIRING_MALFORMED');
  });

  it('attack: a link that lives longer than 60 seconds is refused', async () => {
    const iat = Math.floor(Date.now() / 1000);
    expect(await refusal(verifierWith().verify(await link({ iat, exp: iat + 3600 })))).toBe('ERR_PAIRING_MALFORMED');
  });

  it('attack: a link without a jti (not trackable for single use) is refused', async () => {
    expect(await refusal(verifierWith().verify(await link({ jti: null })))).toBe('ERR_PAIRING_MALFORMED');
  });

  it('attack: another OpenCrane token type (typ) signed by the same key is refused as a pairing link', async () => {
    expect(await refusal(verifierWith().verify(await link({ typ: 'at+jwt' })))).toBe('ERR_PAIRING_MALFORMED');
  });

  it('attack: a revoked link is refused and not used up by the refusal', async () => {
    const revoked = new Set<string>();
    const seen = createMemorySeenLinks();
    const verifier = verifierWith({ seen, isRevoked: (jti) => Promise.resolve(revoked.has(jti)) });
    const jti = newId('pairingLink');
    revoked.add(jti);
    expect(await refusal(verifier.verify(await link({ jti })))).toBe('ERR_PAIRING_REVOKED');
    expect(seen.size).toBe(0);
  });

  it('when revocation cannot be checked, the link is refused (fail closed)', async () => {
    const verifier = verifierWith({ isRevoked: () => Promise.reject(new Error('control plane unreachable')) });
    expect(await refusal(verifier.verify(await link()))).toBe('ERR_PAIRING_UNAVAILABLE');
  });

  it('garbage is refused as malformed', async () => {
    for (const bad of ['', 'not-a-jwt', 'a.b', 'a.b.c.d', '..', '!!.??.**']) {
      expect(await refusal(verifierWith().verify(bad)), bad).toBe('ERR_PAIRING_MALFORMED');
    }
  });
});

describe('in-memory seen links', () => {
  it('remembers a link until the instant it would be refused anyway, then forgets it', () => {
    let now = 1_000_000;
    const seen = createMemorySeenLinks({ now: () => now });
    expect(seen.remember('a', new Date(now + 60_000))).toBe(true);
    expect(seen.remember('a', new Date(now + 60_000))).toBe(false);
    now += 59_000;
    expect(seen.remember('a', new Date(now + 60_000))).toBe(false);
    now += 2_000;
    expect(seen.remember('a', new Date(now + 60_000))).toBe(true);
  });

  it('when full of live links, refuses new ones rather than forget a live one', () => {
    let now = 1_000_000;
    const seen = createMemorySeenLinks({ max: 2, now: () => now });
    expect(seen.remember('a', new Date(now + 60_000))).toBe(true);
    expect(seen.remember('b', new Date(now + 60_000))).toBe(true);
    expect(() => seen.remember('c', new Date(now + 60_000))).toThrow(/live at once/);
    expect(seen.remember('a', new Date(now + 60_000))).toBe(false);
    now += 61_000;
    expect(seen.remember('c', new Date(now + 60_000))).toBe(true);
  });

  it('a full store makes the verifier answer "unavailable", never accept', async () => {
    const seen = createMemorySeenLinks({ max: 1 });
    const verifier = verifierWith({ seen });
    await verifier.verify(await link());
    expect(await refusal(verifier.verify(await link()))).toBe('ERR_PAIRING_UNAVAILABLE');
  });
});
