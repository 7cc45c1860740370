// Pairing links: a browser's one-way ticket from the control plane to its person's own assistant.
// The link carries a short-lived JWT signed with the token service's keys; its `jti` is recorded so
// the link can be revoked (a suspension) before it expires. The assistant side verifies it with
// pairing-verifier.ts and remembers the `jti`, which makes the link single use.
import { and, eq, gt, isNull } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { AppError, newId, schema, type Assistant, type Db, type Person } from '../core/index.ts';
import type { SigningKeyStore } from './signing-keys.ts';

export const PAIRING_TOKEN_TYPE = 'opencrane-pairing+jwt';
export const PAIRING_MAX_TTL_SECONDS = 60;
/** Where the assistant's sidecar serves the page that reads the token from the fragment. */
export const PAIRING_PATH = 'opencrane/pair';

/** The audience that names one assistant: a pairing link for it is useless anywhere else. */
export const assistantAudience = (assistantId: string) => `opencrane:assistant:${assistantId}`;

export interface PairingRequest {
  person: Pick<Person, 'id' | 'status'>;
  assistant: Pick<Assistant, 'id' | 'personId' | 'status' | 'endpoint'>;
  /** The control plane's issuer (its public URL). */
  issuer: string;
  /** At most 60; defaults to 60. */
  ttlSeconds?: number;
}

export interface PairingLink {
  url: string;
  jti: string;
  personId: string;
  assistantId: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** Why this person cannot be paired with this assistant now, or null when they can. */
export function pairingRefusal(
  person: Pick<Person, 'id' | 'status'>,
  assistant: Pick<Assistant, 'personId' | 'status' | 'endpoint'>,
): string | null {
  if (person.status === 'suspended') return 'your account is suspended';
  if (assistant.personId !== person.id) return 'this assistant belongs to someone else';
  if (assistant.status === 'suspended') return 'your assistant is suspended';
  if (assistant.status !== 'ready') return `your assistant is not ready yet (it is ${assistant.status})`;
  if (!assistant.endpoint || !/^https?:\/\//.test(assistant.endpoint)) return 'your assistant has no address yet';
  return null;
}

/** `<endpoint>/opencrane/pair#token=<jwt>`: in the fragment, the token never reaches a server's access log. */
export function pairingUrl(endpoint: string, token: string): string {
  const url = new URL(PAIRING_PATH, endpoint.endsWith('/') ? endpoint : `${endpoint}/`);
  url.search = '';
  url.hash = `token=${token}`;
  return url.toString();
}

const refused = (reason: string) => new AppError('ERR_CONFLICT', `cannot open your assistant: ${reason}`);

export interface PairingService {
  /**
   * Signs a pairing link; refuses with a 409 when the pair is not possible now. It touches no
   * database, so nothing slow runs inside the caller's transaction: hand the result to
   * recordPairingLink in that transaction, and give out the URL only after it commits.
   */
  mintPairingLink(request: PairingRequest): Promise<PairingLink>;
}

export function createPairingService(deps: { keys: Pick<SigningKeyStore, 'currentSigningKey'>; now?: () => Date }): PairingService {
  const now = deps.now ?? (() => new Date());
  return {
    async mintPairingLink({ person, assistant, issuer, ttlSeconds = PAIRING_MAX_TTL_SECONDS }) {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > PAIRING_MAX_TTL_SECONDS) {
        throw new AppError('ERR_VALIDATION', `a pairing link lives between 1 and ${PAIRING_MAX_TTL_SECONDS} seconds`);
      }
      const refusal = pairingRefusal(person, assistant);
      if (refusal) throw refused(refusal);
      const key = await deps.keys.currentSigningKey();
      const issuedAt = Math.floor(now().getTime() / 1000);
      const expiresAt = issuedAt + ttlSeconds;
      const jti = newId('pairingLink');
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: PAIRING_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(assistantAudience(assistant.id))
        .setSubject(person.id)
        .setIssuedAt(issuedAt)
        .setNotBefore(issuedAt)
        .setExpirationTime(expiresAt)
        .setJti(jti)
        .sign(key.privateKey);
      return {
        url: pairingUrl(assistant.endpoint!, token), jti, personId: person.id, assistantId: assistant.id,
        issuedAt: new Date(issuedAt * 1000), expiresAt: new Date(expiresAt * 1000),
      };
    },
  };
}

/**
 * Records a minted link's jti. The person's row is locked for share and both records checked again,
 * so a suspension that commits meanwhile either waits for this row (and revokes it) or is seen here.
 */
export async function recordPairingLink(db: Db, link: PairingLink): Promise<void> {
  const [person] = await db.select({ id: schema.people.id, status: schema.people.status }).from(schema.people)
    .where(eq(schema.people.id, link.personId)).for('share');
  const [assistant] = await db.select().from(schema.assistants).where(eq(schema.assistants.id, link.assistantId));
  if (!person || !assistant) throw refused('your assistant no longer exists');
  const refusal = pairingRefusal(person, assistant);
  if (refusal) throw refused(refusal);
  await db.insert(schema.pairingLinks).values({
    jti: link.jti, assistantId: link.assistantId, personId: link.personId, issuedAt: link.issuedAt, expiresAt: link.expiresAt,
  });
}

/** Revokes every outstanding pairing link of a person (suspension, revocation); returns how many. */
export async function revokePairingLinksOf(db: Db, personId: string, at: Date = new Date()): Promise<number> {
  const rows = await db.update(schema.pairingLinks).set({ revokedAt: at })
    .where(and(eq(schema.pairingLinks.personId, personId), isNull(schema.pairingLinks.revokedAt), gt(schema.pairingLinks.expiresAt, at)))
    .returning({ jti: schema.pairingLinks.jti });
  return rows.length;
}

/** Whether a link was revoked: the control plane's answer to a verifier's `isRevoked`. */
export async function isPairingLinkRevoked(db: Db, jti: string): Promise<boolean> {
  const rows = await db.select({ revokedAt: schema.pairingLinks.revokedAt }).from(schema.pairingLinks)
    .where(eq(schema.pairingLinks.jti, jti)).limit(1);
  const row = rows[0];
  return !row || row.revokedAt !== null;
}
