// Keeps one replica's AccessIndex in step with the database: a full load at start, then every change
// notification re-read from the database and applied, a full reload when the listening connection
// comes back or a payload is not understood, and a periodic full reload as a safety net.
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import { toPolicyGrant, type AccessIndex } from './access-index.ts';
import { CHANGES_CHANNEL, parseChange, type DirectoryChange } from './changes.ts';
import type { Unlisten } from '../db/database.ts';

export interface DirectorySync {
  start(): Promise<void>;
  /** Applies changes this replica just committed, so its own next request already sees them. */
  apply(changes: DirectoryChange[]): Promise<void>;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export function createDirectorySync(deps: {
  store: Pick<Store, 'database' | 'db' | 'grants' | 'people' | 'memberships' | 'assistants' | 'directory'>;
  index: AccessIndex;
  logger: Pick<Logger, 'warn' | 'error' | 'debug'>;
  resyncIntervalMs: number;
}): DirectorySync {
  const { store, index, logger } = deps;
  // Changes are applied one after another, in arrival order, so an older read can never overwrite a
  // newer one.
  let queue: Promise<void> = Promise.resolve();
  let unlisten: Unlisten | undefined;
  let timer: NodeJS.Timeout | undefined;

  const enqueue = (work: () => Promise<void>): Promise<void> => {
    const next = queue.then(work).catch((err: unknown) => {
      logger.error({ err }, 'directory sync step failed; reloading');
      return loadAll();
    }).catch((err: unknown) => logger.error({ err }, 'directory reload failed'));
    queue = next;
    return next;
  };

  async function loadAll(): Promise<void> {
    const snapshot = await store.db.transaction(
      (tx) => store.directory.snapshot(tx as never),
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    index.load({ ...snapshot, grants: snapshot.grants.map(toPolicyGrant) });
  }

  async function applyOne(change: DirectoryChange): Promise<void> {
    switch (change.entity) {
      case 'grant': {
        const grant = await store.grants.get(store.db, change.id);
        if (grant) index.upsertGrant(grant);
        else index.removeGrant(change.id);
        return;
      }
      case 'person': {
        const [person, teams] = await Promise.all([
          store.people.get(store.db, change.id),
          store.memberships.teamIdsOf(store.db, change.id),
        ]);
        if (person) index.upsertPerson(person, teams);
        else index.removeSubject('person', change.id);
        return;
      }
      case 'assistant': {
        const assistant = await store.assistants.get(store.db, change.id);
        if (assistant) index.upsertAssistant(assistant);
        else index.removeAssistant(change.id);
        return;
      }
      case 'tool':
        // Tool records are not part of decisions; the MCP gateway's tool registry follows them.
        return;
      case 'subject-deleted':
        index.removeSubject(change.kind, change.id);
        return;
      case 'resource-deleted':
        index.removeResource(change.kind, change.id);
        return;
    }
  }

  return {
    async start() {
      unlisten = await store.database.listen(
        CHANGES_CHANNEL,
        (payload) => {
          const change = parseChange(payload);
          if (change) void enqueue(() => applyOne(change));
          else {
            logger.warn('unreadable directory change notification; reloading');
            void enqueue(loadAll);
          }
        },
        () => void enqueue(loadAll),
      );
      await enqueue(loadAll);
      if (!index.loaded) await loadAll();
      timer = setInterval(() => void enqueue(loadAll), deps.resyncIntervalMs);
      timer.unref();
    },
    apply(changes) {
      return enqueue(async () => {
        for (const change of changes) await applyOne(change);
      });
    },
    reload() {
      return enqueue(loadAll);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await unlisten?.();
      await queue;
    },
  };
}
