// Change notifications: every write that can alter a decision publishes one inside its transaction
// (so it is delivered only if the transaction commits), and every replica applies it to its index.
import { notify, type Db } from '../db/database.ts';
import type { ResourceKind, SubjectKind } from '../../policies/types.ts';

export const CHANGES_CHANNEL = 'opencrane_directory_changes';

export type DirectoryChange =
  | { entity: 'grant'; id: string }
  | { entity: 'person'; id: string }
  | { entity: 'assistant'; id: string }
  | { entity: 'tool'; id: string }
  | { entity: 'subject-deleted'; kind: SubjectKind; id: string }
  | { entity: 'resource-deleted'; kind: ResourceKind; id: string };

export async function publishChange(tx: Db, change: DirectoryChange): Promise<void> {
  await notify(tx, CHANGES_CHANNEL, JSON.stringify(change));
}

const SUBJECTS = new Set(['person', 'team', 'department']);
const RESOURCES = new Set(['tool', 'skill', 'knowledge']);

/** A notification payload's JSON object, or undefined for anything else. */
export function notificationObject(payload: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  return value && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
}

/** Parses a notification payload; anything unexpected is undefined (the caller then resynchronises). */
export function parseChange(payload: string): DirectoryChange | undefined {
  const c = notificationObject(payload);
  if (!c) return undefined;
  if (typeof c.id !== 'string' || c.id.length > 64) return undefined;
  switch (c.entity) {
    case 'grant':
    case 'person':
    case 'assistant':
    case 'tool':
      return { entity: c.entity, id: c.id };
    case 'subject-deleted':
      return typeof c.kind === 'string' && SUBJECTS.has(c.kind)
        ? { entity: 'subject-deleted', kind: c.kind as SubjectKind, id: c.id } : undefined;
    case 'resource-deleted':
      return typeof c.kind === 'string' && RESOURCES.has(c.kind)
        ? { entity: 'resource-deleted', kind: c.kind as ResourceKind, id: c.id } : undefined;
    default:
      return undefined;
  }
}
