// Opaque, sortable ids: a short kind prefix and a ULID. The prefix lets the API reject an id of the
// wrong kind before touching the store; the ULID keeps ids in creation order for cursor paging.
import { monotonicFactory } from 'ulid';

export const ID_PREFIX = {
  department: 'dpt',
  team: 'team',
  person: 'prs',
  tool: 'tool',
  skill: 'skl',
  knowledge: 'kno',
  assistant: 'ast',
  grant: 'grt',
  apiToken: 'tok',
  audit: 'aud',
  session: 'ses',
  refreshToken: 'rft',
  deviceAuthorization: 'dva',
  pairingLink: 'pair',
  oauthClient: 'occ',
  toolCredential: 'tcr',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

const nextUlid = monotonicFactory();

export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${nextUlid()}`;
}

/** The JSON-schema pattern that an id of this kind must match. */
export function idPattern(kind: IdKind): string {
  return `^${ID_PREFIX[kind]}_[0-9A-HJKMNP-TV-Z]{26}$`;
}
