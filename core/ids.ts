// Opaque, sortable ids: a short kind prefix and a ULID. The prefix lets the API reject an id of the
// wrong kind before touching the store; the ULID keeps ids in creation order for cursor paging.
import { randomFillSync } from 'node:crypto';
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

/**
 * ulid asks its random source for one number per character; taking each from a pooled buffer filled by
 * the CSPRNG costs one system call per 1,024 draws instead of one per draw (the MCP gateway makes an
 * audit id for every call).
 */
const pool = new Uint32Array(1024);
let next = pool.length;
function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 0x1_0000_0000;
}

const nextUlid = monotonicFactory(pooledRandom);

export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${nextUlid()}`;
}

/** The JSON-schema pattern that an id of this kind must match. */
export function idPattern(kind: IdKind): string {
  return `^${ID_PREFIX[kind]}_[0-9A-HJKMNP-TV-Z]{26}$`;
}
