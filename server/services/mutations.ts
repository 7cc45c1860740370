// Every change through the API runs here: one transaction that writes the change, its audit events
// and its change notifications together; after the commit, this replica applies the changes to its
// own index before answering, so the caller's next decision already reflects them.
import { newId, type Db, type DirectoryChange, type DirectorySync, type EpochFeed, type Store } from '../../core/index.ts';
import { publishChange } from '../../core/index.ts';

export interface AuditEntry {
  action: string;
  targetKind: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
}

export interface MutationContext {
  tx: Db;
  audit(entry: AuditEntry): Promise<void>;
  changed(change: DirectoryChange): Promise<void>;
}

export interface Actor {
  actor: string;
  requestId?: string | undefined;
}

export type RunMutation = <T>(who: Actor, work: (ctx: MutationContext) => Promise<T>) => Promise<T>;

export function createMutationRunner(deps: {
  store: Pick<Store, 'transaction' | 'audit'>;
  sync: Pick<DirectorySync, 'apply'>;
  /** This replica's revocation epochs: a new person is known to them before the caller's next request. */
  epochs: Pick<EpochFeed, 'applyChanges'>;
}): RunMutation {
  return async (who, work) => {
    const changes: DirectoryChange[] = [];
    const result = await deps.store.transaction(async (tx) => work({
      tx,
      async audit(entry) {
        await deps.store.audit.insert(tx, {
          id: newId('audit'),
          actor: who.actor,
          action: entry.action,
          targetKind: entry.targetKind,
          targetId: entry.targetId,
          before: entry.before ?? null,
          after: entry.after ?? null,
          requestId: who.requestId ?? null,
        });
      },
      async changed(change) {
        changes.push(change);
        await publishChange(tx, change);
      },
    }));
    if (changes.length) await Promise.all([deps.sync.apply(changes), deps.epochs.applyChanges(changes)]);
    return result;
  };
}
