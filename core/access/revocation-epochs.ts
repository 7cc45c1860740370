// Revocation epochs: a revoke raises the person's epoch in Postgres and publishes it on one channel;
// every replica of every service keeps an in-memory map of epochs fed by that channel, and a token
// whose `sv` is below the owner's epoch is refused.
//
// Freshness. Postgres delivers notifications to a listener in commit order. Every `heartbeatMs` the
// feed notifies its own heartbeat (its replica id and the time it was sent) on the same channel; when
// the heartbeat comes back through the listening connection, every revocation committed before that
// send time has already arrived and been applied. The feed is fresh while the last heartbeat that came
// back was sent less than `stalenessMs` ago; otherwise `currentEpoch` answers 'stale' (fail closed)
// until a heartbeat returns or a reload after a reconnect completes. A reload that starts after the
// listen is in place also confirms freshness from its start time.
//
// Unknown people. The map holds every existing person (0 when they have no row); a person created later
// arrives through the directory change feed. A person the map does not know is `undefined`, which the
// verifier refuses, so a brand-new person's token is refused (fail closed) until that change arrives.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { notify, type Database, type Db, type Unlisten } from '../db/database.ts';
import { CHANGES_CHANNEL, notificationObject, parseChange } from './changes.ts';

export const REVOCATIONS_CHANNEL = 'opencrane_revocations';

export type RevocationMessage =
  | { kind: 'epoch'; personId: string; epoch: number }
  | { kind: 'heartbeat'; replica: string; sentAt: number };

/** Raises a person's epoch by one inside the caller's transaction and returns the new epoch. */
export async function raiseRevocationEpoch(tx: Db, personId: string): Promise<number> {
  const rows = await tx.execute(sql`
    insert into revocation_epochs (person_id, epoch, updated_at) values (${personId}, 1, now())
    on conflict (person_id) do update set epoch = revocation_epochs.epoch + 1, updated_at = now()
    returning epoch`);
  const epoch = resultRows<{ epoch: number }>(rows)[0]?.epoch;
  if (typeof epoch !== 'number') throw new Error('raising the revocation epoch returned no row');
  return epoch;
}

/** Publishes a new epoch; inside a transaction it is delivered only if and when the transaction commits. */
export async function publishEpoch(tx: Db, personId: string, epoch: number): Promise<void> {
  await notify(tx, REVOCATIONS_CHANNEL, JSON.stringify({ kind: 'epoch', personId, epoch } satisfies RevocationMessage));
}

/** Parses a revocation notification; anything unexpected is undefined (the caller then reloads). */
export function parseRevocationMessage(payload: string): RevocationMessage | undefined {
  const m = notificationObject(payload);
  if (!m) return undefined;
  if (m.kind === 'epoch' && typeof m.personId === 'string' && m.personId.length <= 64
    && typeof m.epoch === 'number' && Number.isSafeInteger(m.epoch) && m.epoch >= 0) {
    return { kind: 'epoch', personId: m.personId, epoch: m.epoch };
  }
  if (m.kind === 'heartbeat' && typeof m.replica === 'string' && m.replica.length <= 64
    && typeof m.sentAt === 'number' && Number.isFinite(m.sentAt)) {
    return { kind: 'heartbeat', replica: m.replica, sentAt: m.sentAt };
  }
  return undefined;
}

// postgres.js returns the rows as the result; PGlite wraps them in `{ rows }`.
function resultRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []);
}

export interface EpochFeed {
  /** Listens, loads every epoch and starts the heartbeat; fresh when it resolves. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The verifier's `currentEpoch`: a number, `undefined` for an unknown person, 'stale' when not confirmed fresh. */
  currentEpoch: (personId: string) => number | undefined | 'stale';
  /**
   * Resolves true once `epoch` (or a later one) for the person has arrived through the listening
   * connection, false after `timeoutMs`. The revoke endpoint waits on it before answering.
   */
  observed(personId: string, epoch: number, timeoutMs: number): Promise<boolean>;
  /** Applies an epoch this replica just committed (monotonic: a lower epoch is ignored). */
  apply(personId: string, epoch: number): void;
  reload(): Promise<void>;
}

export interface EpochFeedOptions {
  database: Pick<Database, 'listen'>;
  db: Db;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** How long the feed may go unconfirmed before it answers 'stale'; default 5000 ms. */
  stalenessMs?: number;
  /** How often the heartbeat is sent; default a quarter of `stalenessMs`. */
  heartbeatMs?: number;
  /** The clock, in milliseconds; Date.now unless told. */
  now?: () => number;
}

export function createEpochFeed(options: EpochFeedOptions): EpochFeed {
  const { database, db, logger } = options;
  const stalenessMs = options.stalenessMs ?? 5000;
  const heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.floor(stalenessMs / 4));
  if (!(stalenessMs > 0) || !(heartbeatMs > 0) || heartbeatMs >= stalenessMs) {
    throw new TypeError(`epoch feed: need 0 < heartbeatMs (${heartbeatMs}) < stalenessMs (${stalenessMs})`);
  }
  const now = options.now ?? Date.now;
  const replica = randomBytes(12).toString('base64url');
  let epochs = new Map<string, number>();
  /** The latest instant up to which every committed revocation is known to have been applied. */
  let confirmedAt = Number.NEGATIVE_INFINITY;
  let running = false;
  let unlisten: Unlisten[] = [];
  let timer: NodeJS.Timeout | undefined;
  const waiters = new Set<{ personId: string; epoch: number; done: (seen: boolean) => void }>();
  // Loads and per-person reads run one after another, so an older read never lands after a newer one.
  let queue: Promise<void> = Promise.resolve();

  const enqueue = (work: () => Promise<void>): Promise<void> => {
    const next = queue.then(work).catch((err: unknown) => logger.error({ err }, 'revocation epoch feed step failed'));
    queue = next;
    return next;
  };

  function raise(personId: string, epoch: number): void {
    if ((epochs.get(personId) ?? -1) < epoch) epochs.set(personId, epoch);
    for (const waiter of waiters) {
      if (waiter.personId === personId && epoch >= waiter.epoch) waiter.done(true);
    }
  }

  async function loadAll(): Promise<void> {
    const startedAt = now();
    const rows = resultRows<{ id: string; epoch: number }>(await db.execute(sql`
      select p.id, coalesce(e.epoch, 0)::int as epoch from people p left join revocation_epochs e on e.person_id = p.id`));
    const loaded = new Map<string, number>();
    // An epoch that arrived while the query ran may be newer than the query's snapshot: keep the higher.
    for (const row of rows) loaded.set(row.id, Math.max(Number(row.epoch), epochs.get(row.id) ?? 0));
    epochs = loaded;
    if (running) confirmedAt = Math.max(confirmedAt, startedAt);
  }

  async function loadPerson(personId: string): Promise<void> {
    const rows = resultRows<{ epoch: number }>(await db.execute(sql`
      select coalesce(e.epoch, 0)::int as epoch from people p left join revocation_epochs e on e.person_id = p.id
      where p.id = ${personId}`));
    const row = rows[0];
    if (row) raise(personId, Number(row.epoch));
    else epochs.delete(personId);
  }

  function onRevocation(payload: string): void {
    const message = parseRevocationMessage(payload);
    if (!message) {
      logger.warn('unreadable revocation notification; reloading');
      void enqueue(loadAll);
    } else if (message.kind === 'epoch') {
      raise(message.personId, message.epoch);
    } else if (message.replica === replica) {
      confirmedAt = Math.max(confirmedAt, message.sentAt);
    }
  }

  function onDirectoryChange(payload: string): void {
    const change = parseChange(payload);
    if (!change) void enqueue(loadAll);
    else if (change.entity === 'person') void enqueue(() => loadPerson(change.id));
    else if (change.entity === 'subject-deleted' && change.kind === 'person') epochs.delete(change.id);
  }

  async function heartbeat(): Promise<void> {
    const message: RevocationMessage = { kind: 'heartbeat', replica, sentAt: now() };
    try {
      await notify(db, REVOCATIONS_CHANNEL, JSON.stringify(message));
    } catch (err) {
      logger.warn({ err }, 'revocation heartbeat failed; the feed turns stale if this persists');
    }
  }

  return {
    async start() {
      running = true;
      const reconnected = () => {
        logger.warn('revocation listener reconnected; reloading every epoch');
        void enqueue(loadAll);
      };
      unlisten = [
        await database.listen(REVOCATIONS_CHANNEL, onRevocation, reconnected),
        await database.listen(CHANGES_CHANNEL, onDirectoryChange, reconnected),
      ];
      await enqueue(loadAll);
      if (confirmedAt === Number.NEGATIVE_INFINITY) await loadAll();
      timer = setInterval(() => void heartbeat(), heartbeatMs);
      timer.unref();
    },
    async stop() {
      running = false;
      confirmedAt = Number.NEGATIVE_INFINITY;
      if (timer) clearInterval(timer);
      for (const waiter of waiters) waiter.done(false);
      await Promise.all(unlisten.map((u) => u()));
      unlisten = [];
      await queue;
    },
    currentEpoch: (personId) => {
      if (!running || now() - confirmedAt > stalenessMs) return 'stale';
      return epochs.get(personId);
    },
    observed(personId, epoch, timeoutMs) {
      if ((epochs.get(personId) ?? -1) >= epoch) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter = {
          personId, epoch,
          done(seen: boolean) {
            clearTimeout(timeout);
            waiters.delete(waiter);
            resolve(seen);
          },
        };
        const timeout = setTimeout(() => waiter.done(false), timeoutMs);
        waiters.add(waiter);
      });
    },
    apply(personId, epoch) {
      raise(personId, epoch);
    },
    reload() {
      return enqueue(loadAll);
    },
  };
}
