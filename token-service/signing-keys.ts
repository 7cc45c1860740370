// The token service's signing keys. Each key is one `signing_keys` row: the public JWK in clear, the
// private JWK sealed by the KeyEncryptor with the kid as context. A key is published from creation
// until `unpublishAt`, and signs from `activatesAt` until `retiresAt`; rotation (a later issue) adds a
// key that activates in the future and sets `retiresAt`/`unpublishAt` on the old one, and nothing
// here has to change for it.
import { and, desc, gt, isNull, lte, or, sql } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { schema, type Db } from '../core/index.ts';
import type { KeyEncryptor } from './key-encryption.ts';

export const SIGNING_ALG = 'ES256';

/** Any constant works; it only has to be the same for every replica. */
const SIGNING_KEY_LOCK = 4_207_731_901;
/** How long a replica signs with its cached key before looking again (a rotation elsewhere shows up within this). */
const DEFAULT_RECHECK_MS = 5 * 60_000;
/** How long the published key set is served from memory. */
const DEFAULT_JWKS_CACHE_MS = 30_000;

export interface SigningKey {
  kid: string;
  alg: typeof SIGNING_ALG;
  privateKey: CryptoKey;
}

/** A public verification key as published: only the members a verifier needs. */
export interface PublishedJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  kid: string;
  alg: string;
  use: 'sig';
}

export interface SigningKeyStore {
  /** Creates a key when none can sign now; safe when several replicas start together. */
  ensureSigningKey(): Promise<void>;
  /** The key to sign with now, decrypted once and cached. */
  currentSigningKey(): Promise<SigningKey>;
  /** Every key not yet unpublished, public members only. */
  publishedJwks(): Promise<{ keys: PublishedJwk[] }>;
}

export class SigningKeyUnavailableError extends Error {
  override readonly name = 'SigningKeyUnavailableError';
}

type KeyRow = typeof schema.signingKeys.$inferSelect;

const canSign = (now: Date) => and(
  lte(schema.signingKeys.activatesAt, now),
  or(isNull(schema.signingKeys.retiresAt), gt(schema.signingKeys.retiresAt, now)),
);

async function activeKeyRow(db: Db, now: Date): Promise<KeyRow | undefined> {
  const rows = await db.select().from(schema.signingKeys).where(canSign(now))
    .orderBy(desc(schema.signingKeys.activatesAt), desc(schema.signingKeys.kid)).limit(1);
  return rows[0];
}

/** The public members of a P-256 JWK; anything else (notably `d`) is dropped. */
export function toPublishedJwk(row: Pick<KeyRow, 'kid' | 'alg' | 'publicJwk'>): PublishedJwk {
  const jwk = row.publicJwk as JWK;
  if (jwk.kty !== 'EC' || typeof jwk.crv !== 'string' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new SigningKeyUnavailableError(`signing key ${row.kid} has no usable public key`);
  }
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: row.kid, alg: row.alg, use: 'sig' };
}

async function newKeyRow(encryptor: KeyEncryptor, now: Date): Promise<typeof schema.signingKeys.$inferInsert> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return {
    kid, alg: SIGNING_ALG, publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y },
    privateJwkEncrypted: await encryptor.encrypt(JSON.stringify(privateJwk), kid),
    activatesAt: now,
  };
}

export interface SigningKeyStoreOptions {
  db: Db;
  encryptor: KeyEncryptor;
  now?: () => Date;
  recheckMs?: number;
  jwksCacheMs?: number;
}

export function createSigningKeyStore(options: SigningKeyStoreOptions): SigningKeyStore {
  const { db, encryptor } = options;
  const now = options.now ?? (() => new Date());
  const recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
  const jwksCacheMs = options.jwksCacheMs ?? DEFAULT_JWKS_CACHE_MS;

  let cached: { key: SigningKey; retiresAt: Date | null; checkedAt: number } | undefined;
  let loading: Promise<SigningKey> | undefined;
  let jwksCache: { value: { keys: PublishedJwk[] }; at: number } | undefined;

  async function decrypt(row: KeyRow): Promise<SigningKey> {
    if (row.alg !== SIGNING_ALG) throw new SigningKeyUnavailableError(`signing key ${row.kid} has unsupported algorithm ${row.alg}`);
    let privateJwk: JWK;
    try {
      privateJwk = JSON.parse(await encryptor.decrypt(row.privateJwkEncrypted, row.kid)) as JWK;
    } catch (err) {
      throw new SigningKeyUnavailableError(
        `signing key ${row.kid} cannot be decrypted; is this the key-encryption key it was sealed with? (${(err as Error).message})`);
    }
    const privateKey = await importJWK(privateJwk, SIGNING_ALG, { extractable: false });
    return { kid: row.kid, alg: SIGNING_ALG, privateKey: privateKey as CryptoKey };
  }

  async function load(): Promise<SigningKey> {
    const at = now();
    const row = await activeKeyRow(db, at);
    if (!row) throw new SigningKeyUnavailableError('no signing key is active; ensureSigningKey() runs at start');
    const key = cached?.key.kid === row.kid ? cached.key : await decrypt(row);
    cached = { key, retiresAt: row.retiresAt, checkedAt: at.getTime() };
    return key;
  }

  return {
    async ensureSigningKey() {
      if (await activeKeyRow(db, now())) return;
      // Generated outside the transaction (nothing slow holds the lock); discarded if another
      // replica's key wins.
      const candidate = await newKeyRow(encryptor, now());
      await db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${SIGNING_KEY_LOCK})`);
        if (await activeKeyRow(tx, now())) return;
        await tx.insert(schema.signingKeys).values(candidate);
      });
      jwksCache = undefined;
    },

    async currentSigningKey() {
      const at = now().getTime();
      if (cached && at - cached.checkedAt < recheckMs && (!cached.retiresAt || cached.retiresAt.getTime() > at)) {
        return cached.key;
      }
      // One load at a time per replica, however many requests arrive together.
      loading ??= load().finally(() => { loading = undefined; });
      return loading;
    },

    async publishedJwks() {
      const at = now();
      if (jwksCache && at.getTime() - jwksCache.at < jwksCacheMs) return jwksCache.value;
      const rows = await db.select({ kid: schema.signingKeys.kid, alg: schema.signingKeys.alg, publicJwk: schema.signingKeys.publicJwk })
        .from(schema.signingKeys)
        .where(or(isNull(schema.signingKeys.unpublishAt), gt(schema.signingKeys.unpublishAt, at)))
        .orderBy(desc(schema.signingKeys.activatesAt), desc(schema.signingKeys.kid));
      const value = { keys: rows.map(toPublishedJwk) };
      jwksCache = { value, at: at.getTime() };
      return value;
    },
  };
}

