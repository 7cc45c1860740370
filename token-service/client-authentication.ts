// Confidential OAuth clients of the token service (resource servers that introspect tokens) and how
// they authenticate: client_secret_basic or client_secret_post (RFC 6749 §2.3.1), one method per
// request. A client secret is `occs_` and 32 random bytes; only its SHA-256 is stored.
// Every malformed or wrong credential is answered with null, never an exception, so the caller has one
// refusal to map (401 invalid_client); database errors still propagate.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { idPattern, type Db } from '../core/index.ts';

const SECRET_PREFIX = 'occs_';
export const CLIENT_SECRET_PATTERN = /^occs_[A-Za-z0-9_-]{43}$/;

/** Room for a form-encoded client id and secret with every character percent-encoded, and no more. */
const MAX_AUTHORIZATION_LENGTH = 1024;
const MAX_CLIENT_ID_LENGTH = 40;
const MAX_CLIENT_SECRET_LENGTH = 256;
const CLIENT_ID = new RegExp(idPattern('oauthClient'));
/** RFC 7617: the scheme (case-insensitive), one or more spaces, then padded standard base64. */
const BASIC_CREDENTIALS = /^basic +([A-Za-z0-9+/]+={0,2})$/i;

export interface ClientAuthenticationInput {
  /** The request's Authorization header, when it has one. */
  authorization?: string | undefined;
  /** The parsed form body; anything other than a string in these fields is refused. */
  form: { client_id?: unknown; client_secret?: unknown };
}

export interface AuthenticatedClient {
  id: string;
  /** The audiences whose tokens this client may introspect. */
  audiences: string[];
}

export function generateClientSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

export const hashClientSecret = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

/**
 * The client a token-endpoint request authenticates as, or null when the credentials are missing,
 * malformed, sent by two methods at once, unknown, revoked or wrong.
 */
export async function authenticateClient(db: Db, input: ClientAuthenticationInput): Promise<AuthenticatedClient | null> {
  const credentials = presentedCredentials(input);
  if (!credentials || !CLIENT_ID.test(credentials.id)) return null;
  if (credentials.secret.length === 0 || credentials.secret.length > MAX_CLIENT_SECRET_LENGTH) return null;
  const client = await db.query.oauthClients.findFirst({
    where: (c, { eq }) => eq(c.id, credentials.id),
    columns: { id: true, secretHash: true, audiences: true, revokedAt: true },
  });
  if (!client) return null;
  const matches = sameHash(hashClientSecret(credentials.secret), client.secretHash);
  if (!matches || client.revokedAt !== null) return null;
  return { id: client.id, audiences: [...client.audiences] };
}

function presentedCredentials({ authorization, form }: ClientAuthenticationInput): { id: string; secret: string } | null {
  // RFC 6749 §3.1: a parameter sent without a value counts as absent.
  const formId = form.client_id === '' ? undefined : form.client_id;
  const formSecret = form.client_secret === '' ? undefined : form.client_secret;
  if (formId !== undefined && typeof formId !== 'string') return null;
  if (formSecret !== undefined && typeof formSecret !== 'string') return null;
  if (authorization === undefined) {
    if (formId === undefined || formSecret === undefined || formId.length > MAX_CLIENT_ID_LENGTH) return null;
    return { id: formId, secret: formSecret };
  }
  // A secret in the body as well as the header is two methods at once (RFC 6749 §2.3). A client_id in
  // the body alone is not a method, but it must name the same client as the header.
  if (formSecret !== undefined) return null;
  const basic = basicCredentials(authorization);
  if (!basic || (formId !== undefined && formId !== basic.id)) return null;
  return basic;
}

/** RFC 6749 §2.3.1: base64 of the form-urlencoded id, a colon and the form-urlencoded secret. */
function basicCredentials(authorization: string): { id: string; secret: string } | null {
  if (authorization.length > MAX_AUTHORIZATION_LENGTH) return null;
  const encoded = BASIC_CREDENTIALS.exec(authorization)?.[1];
  if (encoded === undefined) return null;
  const bytes = Buffer.from(encoded, 'base64');
  // Node's decoder skips what it cannot read; a round trip shows whether it read everything.
  if (bytes.toString('base64') !== encoded) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const id = formUrlDecode(text.slice(0, colon));
  const secret = formUrlDecode(text.slice(colon + 1));
  if (id === null || secret === null) return null;
  return { id, secret };
}

function formUrlDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return null;
  }
}

function sameHash(presentedHex: string, storedHex: string): boolean {
  const presented = Buffer.from(presentedHex, 'hex');
  const stored = Buffer.from(storedHex, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
