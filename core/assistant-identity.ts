// How an assistant is named in Kubernetes. The operator gives each assistant a ServiceAccount of this
// name in the assistants' namespace, and the token service maps a projected ServiceAccount token back
// to the assistant by the same rule, so the two can never disagree.
import { ID_PREFIX } from './ids.ts';

const PREFIX = `${ID_PREFIX.assistant}-`;
/** A lowercased ULID: Crockford base32 without i, l, o and u. */
const SERVICE_ACCOUNT_NAME = new RegExp(`^${PREFIX}([0-9a-hjkmnp-tv-z]{26})$`);
const ASSISTANT_ID = new RegExp(`^${ID_PREFIX.assistant}_[0-9A-HJKMNP-TV-Z]{26}$`);

/** `ast_01J…` → `ast-01j…`: a valid DNS-1123 label, as Kubernetes object names must be. */
export function serviceAccountNameOf(assistantId: string): string {
  if (!ASSISTANT_ID.test(assistantId)) throw new TypeError(`not an assistant id: ${assistantId}`);
  return `${PREFIX}${assistantId.slice(PREFIX.length).toLowerCase()}`;
}

/** The assistant a ServiceAccount name stands for, or undefined when it names no assistant. */
export function assistantIdOfServiceAccount(name: string): string | undefined {
  const match = SERVICE_ACCOUNT_NAME.exec(name);
  return match ? `${ID_PREFIX.assistant}_${match[1]!.toUpperCase()}` : undefined;
}

/** `system:serviceaccount:<namespace>:<name>`, as Kubernetes names a ServiceAccount user. */
const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

export function parseServiceAccountUser(username: string): { namespace: string; name: string } | undefined {
  if (username.length > 320) return undefined;
  const match = SERVICE_ACCOUNT_USER.exec(username);
  return match ? { namespace: match[1]!, name: match[3]! } : undefined;
}
