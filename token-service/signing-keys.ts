// The token service's signing keys. Each key is one `signing_keys` row: the public JWK in clear, the
// private JWK sealed by the KeyEncryptor with the kid as context. A key is published from creation
// until `unpublishAt`, and signs from `activatesAt` until `retiresAt`.
//
// Rotation keeps two keys in the published set: the one that signs now and the next one, published a
// verifier cache period ahead so no verifier meets a kid it has not seen. The current key retires the
// instant the next activates, and stays published for the longest token lifetime after that so the
// tokens it signed last still verify. See docs/tokens.md, "Signing keys and rotation".
import { and, desc, eq, gt, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { schema, type Db } from '../core/index.ts';
import type { KeyEncryptor } from './key-encryption.ts';

export const SIGNING_ALG = 'ES256';

/** Any constant works; it only has to be the same for every replica. */
const SIGNING_KEY_LOCK = 4_207_731_901;
const DEFAULT_ROTATION_MS = 24 * 3_600_000;
/** The JWKS route's Cache-Control max-age (OPENCRANE_JWKS_MAX_AGE_SECONDS' default). */
const DEFAULT_PREPUBLISH_MS = 300_000;
/** The longest token lifetime (OPENCRANE_TOKEN_MAX_TTL_SECONDS' default) plus a minute of clock tolerance. */
const DEFAULT_RETIRED_PUBLISH_MS = 360_000;
/** How long a replica signs with its cached key before looking again (a rotation elsewhere shows up within this). */
const DEFAULT_RECHECK_MS = 5 * 60_000;
/** How long the published key set is served from memory; it adds to the lead a new key needs, so it stays short. */
const DEFAULT_JWKS_CACHE_MS = 5_000;
/** Unpublished keys are kept this long before they are deleted, for anyone tracing a recently refused token's kid. */
const KEEP_UNPUBLISHED_MS = 86_400_000;
const MAX_ROTATION_INTERVAL_MS = 60_000;

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
  /** Makes sure a key signs now and the next one is published (one rotate()); safe when several replicas start together. */
  ensureSigningKey(): Promise<void>;
  /**
   * Keeps the schedule: a key that signs now, a published next key, retire and unpublish times on the
   * current key, and deletes keys unpublished more than a day ago. Idempotent; any number of replicas
   * may run it at once.
   */
  rotate(): Promise<void>;
  /** Runs rotate() every `intervalMs` (default min(rotationMs / 10, 60 s)); failures are logged, never thrown. */
  startRotation(intervalMs?: number): void;
  /** Stops the timer and waits for a rotation in progress to finish. */
  stopRotation(): Promise<void>;
  /** The key to sign with now, decrypted once and cached. */
  currentSigningKey(): Promise<SigningKey>;
  /** Every key not yet unpublished (the next, the current, recently retired ones), public members only. */
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

type KeyMaterial = Pick<KeyRow, 'kid' | 'alg' | 'publicJwk' | 'privateJwkEncrypted'>;

async function newKeyMaterial(encryptor: KeyEncryptor): Promise<KeyMaterial> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return {
    kid, alg: SIGNING_ALG, publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y },
    privateJwkEncrypted: await encryptor.encrypt(JSON.stringify(privateJwk), kid),
  };
}

type KeyTimes = Pick<KeyRow, 'kid' | 'activatesAt' | 'retiresAt' | 'unpublishAt'>;
type Schedule = Pick<KeyRow, 'activatesAt' | 'retiresAt' | 'unpublishAt'>;

interface RotationTiming {
  rotationMs: number;
  /** How long before it signs a new key must be in the database: verifiers' cache period plus this replica's. */
  leadMs: number;
  retiredPublishMs: number;
}

interface RotationPlan {
  /** Keys to add, in activation order. */
  create: Schedule[];
  /** True when no key can sign now, so the first key created signs at once. */
  signsAtOnce: boolean;
  /** New retire and unpublish times for the key that signs now. */
  retire: { kid: string; retiresAt: Date; unpublishAt: Date } | undefined;
  remove: string[];
}

function keySchedule(db: Db): Promise<KeyTimes[]> {
  const k = schema.signingKeys;
  // Newest activation first, ties by kid: the order activeKeyRow() picks the signing key in.
  return db.select({ kid: k.kid, activatesAt: k.activatesAt, retiresAt: k.retiresAt, unpublishAt: k.unpublishAt })
    .from(k).orderBy(desc(k.activatesAt), desc(k.kid));
}

/** What has to change so that one key signs at `at` and its successor is published `leadMs` ahead. */
function planRotation(keys: KeyTimes[], at: Date, timing: RotationTiming): RotationPlan {
  const t = at.getTime();
  const current = keys.find((k) => k.activatesAt.getTime() <= t && (k.retiresAt === null || k.retiresAt.getTime() > t));
  // A future key retired by hand (withdrawn before it ever signed) is no successor.
  const next = keys.findLast((k) => k.activatesAt.getTime() > t && k.retiresAt === null);
  // A successor made now signs one rotation after the current key began, but never sooner than the
  // lead: after an outage the current key signs on until the new one is known everywhere.
  const nextActivation = next?.activatesAt.getTime()
    ?? Math.max((current?.activatesAt.getTime() ?? t) + timing.rotationMs, t + timing.leadMs);
  const handover = { retiresAt: new Date(nextActivation), unpublishAt: new Date(nextActivation + timing.retiredPublishMs) };

  const create: Schedule[] = [];
  let retire: RotationPlan['retire'];
  // No key can sign (first start, or every key retired by hand): one that signs unannounced beats
  // refusing to issue anything for a lead time; verifiers meeting its unknown kid refetch the JWKS.
  if (!current) create.push({ activatesAt: at, ...handover });
  else if (current.retiresAt?.getTime() !== nextActivation || current.unpublishAt?.getTime() !== handover.unpublishAt.getTime()) {
    retire = { kid: current.kid, ...handover };
  }
  if (!next) create.push({ activatesAt: new Date(nextActivation), retiresAt: null, unpublishAt: null });
  const remove = keys.filter((k) => k.unpublishAt !== null && k.unpublishAt.getTime() + KEEP_UNPUBLISHED_MS < t).map((k) => k.kid);
  return { create, signsAtOnce: !current, retire, remove };
}

const isSettled = (plan: RotationPlan) => plan.create.length === 0 && !plan.retire && plan.remove.length === 0;

function duration(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw new RangeError(`signing keys: ${name} must be a number of milliseconds of at least ${min}, not ${value}`);
  return value;
}

/** What the rotation needs of a logger; a pino logger fits, and so does `console`. */
export interface RotationLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface SigningKeyStoreOptions {
  db: Db;
  encryptor: KeyEncryptor;
  now?: () => Date;
  /** How long a key signs before the next takes over (default 24 h). */
  rotationMs?: number;
  /** How long verifiers may cache the JWKS (its Cache-Control max-age): a new key is published this long before it signs (default 300 s). */
  prepublishMs?: number;
  /** The longest token lifetime plus clock tolerance: a retired key stays published this long (default 360 s). */
  retiredPublishMs?: number;
  /** How often a replica re-reads the signing key's retire time; at most prepublishMs (default 300 s, or prepublishMs if less). */
  recheckMs?: number;
  /** How long this replica serves the JWKS from memory (default 5 s); added to the lead of every new key. */
  jwksCacheMs?: number;
  /** Where the rotation timer reports failures, and a key that had to sign unannounced (default `console`). */
  logger?: RotationLogger;
}

export function createSigningKeyStore(options: SigningKeyStoreOptions): SigningKeyStore {
  const { db, encryptor } = options;
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? console;
  const rotationMs = duration('rotationMs', options.rotationMs ?? DEFAULT_ROTATION_MS, 1);
  const prepublishMs = duration('prepublishMs', options.prepublishMs ?? DEFAULT_PREPUBLISH_MS, 1);
  const retiredPublishMs = duration('retiredPublishMs', options.retiredPublishMs ?? DEFAULT_RETIRED_PUBLISH_MS, 1);
  const recheckMs = duration('recheckMs', options.recheckMs ?? Math.min(DEFAULT_RECHECK_MS, prepublishMs), 1);
  const jwksCacheMs = duration('jwksCacheMs', options.jwksCacheMs ?? DEFAULT_JWKS_CACHE_MS, 0);
  const timing: RotationTiming = { rotationMs, leadMs: prepublishMs + jwksCacheMs, retiredPublishMs };
  if (rotationMs <= timing.leadMs) {
    throw new RangeError('signing keys: rotationMs must exceed prepublishMs + jwksCacheMs (a key must sign for longer than its successor is published ahead)');
  }
  // A replica that cached the signing key before its retire time was set learns it on a recheck; that
  // recheck must come before the successor activates, or the replica would sign on with a retired key.
  if (recheckMs > prepublishMs) {
    throw new RangeError('signing keys: recheckMs must not exceed prepublishMs (every replica must learn a retire time before it arrives)');
  }

  let cached: { key: SigningKey; retiresAt: Date | null; checkedAt: number } | undefined;
  let loading: Promise<SigningKey> | undefined;
  let jwksCache: { value: { keys: PublishedJwk[] }; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let rotating: Promise<void> | undefined;

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

  /**
   * Applies the plan made under the lock; undefined when it needs more keys than were generated. Names
   * a key that had to sign at once although keys existed (all retired), which is worth a warning.
   */
  async function applyUnderLock(material: KeyMaterial[]): Promise<{ unannouncedKid: string | undefined } | undefined> {
    return db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${SIGNING_KEY_LOCK})`);
      // Planned again under the lock: a replica that waited here sees the key another one just made.
      const at = now();
      const keys = await keySchedule(tx);
      const plan = planRotation(keys, at, timing);
      if (plan.create.length > material.length) return undefined;
      const k = schema.signingKeys;
      if (plan.remove.length > 0) await tx.delete(k).where(inArray(k.kid, plan.remove));
      if (plan.retire) {
        await tx.update(k).set({ retiresAt: plan.retire.retiresAt, unpublishAt: plan.retire.unpublishAt }).where(eq(k.kid, plan.retire.kid));
      }
      if (plan.create.length > 0) {
        await tx.insert(k).values(plan.create.map((schedule, i) => ({ ...material[i]!, ...schedule, createdAt: at })));
      }
      return { unannouncedKid: plan.signsAtOnce && keys.length > 0 ? material[0]!.kid : undefined };
    });
  }

  async function rotate(): Promise<void> {
    for (;;) {
      const plan = planRotation(await keySchedule(db), now(), timing);
      if (isSettled(plan)) return;
      // Generated outside the transaction (nothing slow holds the lock); unused if another replica rotated first.
      const material = await Promise.all(plan.create.map(() => newKeyMaterial(encryptor)));
      const applied = await applyUnderLock(material);
      // This replica's caches follow its own change at once; other replicas' follow within recheckMs / jwksCacheMs.
      jwksCache = undefined;
      if (cached) cached.checkedAt = Number.NEGATIVE_INFINITY;
      if (applied?.unannouncedKid) {
        logger.warn({ kid: applied.unannouncedKid }, 'no signing key could sign; created one that signs at once, before verifiers have cached it');
      }
      // Undefined: an activation passed while the keys were generated, so plan again with more.
      if (applied) return;
    }
  }

  function rotateInBackground(): void {
    // A slow run is never overlapped by the next tick.
    rotating ??= rotate()
      .catch((err: unknown) => { logger.error({ err }, 'signing key rotation failed; retrying at the next tick'); })
      .finally(() => { rotating = undefined; });
  }

  return {
    ensureSigningKey: rotate,
    rotate,

    startRotation(intervalMs = Math.min(rotationMs / 10, MAX_ROTATION_INTERVAL_MS)) {
      duration('intervalMs', intervalMs, 1);
      clearInterval(timer);
      timer = setInterval(rotateInBackground, intervalMs);
      timer.unref();
    },

    async stopRotation() {
      clearInterval(timer);
      timer = undefined;
      await rotating;
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

