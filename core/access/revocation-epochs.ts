// Revocation epochs: a revoke raises the person's epoch in Postgres and publishes it on one channel;
// every replica of every service keeps an in-memory map of epochs fed by that channel, and a token
// whose `sv` is below the owner's epoch is refused.
//
// Freshness. Postgres delivers notifications to a listener in commit order. Every `heartbeatMs` the
// feed notifies its own heartbeat (its replica id and the time it was sent) on the same channel; when
// the heartbeat comes back through the listening connection, every revocation committed before that
// send time has already arrived and been applied. The feed is fresh while the last heartbeat that came
// back was sent less than `stalenessMs` ago; otherwise `currentEpoch` answers 'stale' (fail closed)
// until a heartbeat returns or a reload completes. A reload that starts after the listen is in place
// also confirms freshness from its start time. After the listening connection comes back, heartbeats
// confirm nothing until the reload that followed it has completed: notifications committed while it
// was away are lost, and only that reload brings them in.
//
// Propagation. Every replica registers in `service_replicas` before it can be fresh, and every
// confirmation of freshness refreshes its `last_seen_at` first (the heartbeat in the same statement as
// its notify, a reload in a statement before its read). A replica that applies an epoch from the
// channel acknowledges it on the channel. After a revoke commits, `propagated` reads the replicas seen
// within `stalenessMs + clockSkewMs` and waits until each has acknowledged, or until `stalenessMs +
// clockSkewMs` has passed since the call. Then no replica can still accept an older token:
// - one that acknowledged holds the epoch;
// - one that stayed silent is stale by then: to be fresh later it needs a heartbeat sent after the
//   commit (clocks agreeing within `clockSkewMs`), which comes back only after the epoch's own
//   notification, or a reload that started after the commit;
// - one that the read did not see either was last seen too long ago, so it is stale and can only become
//   fresh through a confirmation whose refresh commits after the read, hence after the revoke, with the
//   same consequence; or it registered after the read, and its first load started after the commit.
// This holds only if every replica runs with the same `stalenessMs` (one setting for the deployment).
//
// Unknown people. The map holds every existing person (0 when they have no row); a person created later
// arrives through the directory change feed. A person the map does not know is `undefined`, which the
// verifier refuses, so a brand-new person's token is refused (fail closed) until that change arrives.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { notify, type Database, type Db, type Unlisten } from '../db/database.ts';
import { CHANGES_CHANNEL, notificationObject, parseChange, type DirectoryChange } from './changes.ts';

export const REVOCATIONS_CHANNEL = 'opencrane_revocations';

export type RevocationMessage =
  | { kind: 'epoch'; personId: string; epoch: number }
  | { kind: 'heartbeat'; replica: string; sentAt: number }
  | { kind: 'ack'; replica: string; personId: string; epoch: number };

/** What `propagated` found: the replicas that acknowledged the epoch and those it waited out. */
export interface Propagation {
  acknowledged: string[];
  /** Registered replicas that did not acknowledge; the wait outlasted their staleness bound. */
  waitedOut: string[];
}

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

const boundedId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 64;
const isEpoch = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Parses a revocation notification; anything unexpected is undefined (the caller then reloads). */
export function parseRevocationMessage(payload: string): RevocationMessage | undefined {
  const m = notificationObject(payload);
  switch (m?.kind) {
    case 'epoch':
      return boundedId(m.personId) && isEpoch(m.epoch) ? { kind: 'epoch', personId: m.personId, epoch: m.epoch } : undefined;
    case 'heartbeat':
      return boundedId(m.replica) && typeof m.sentAt === 'number' && Number.isFinite(m.sentAt)
        ? { kind: 'heartbeat', replica: m.replica, sentAt: m.sentAt } : undefined;
    case 'ack':
      return boundedId(m.replica) && boundedId(m.personId) && isEpoch(m.epoch)
        ? { kind: 'ack', replica: m.replica, personId: m.personId, epoch: m.epoch } : undefined;
    default:
      return undefined;
  }
}

// postgres.js returns the rows as the result; PGlite wraps them in `{ rows }`.
function resultRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []);
}

export interface EpochFeed {
  /** This replica's id: its row in `service_replicas`, its heartbeats and its acknowledgements. */
  readonly replica: string;
  /** Registers the replica, listens, loads every epoch and starts the heartbeat; fresh when it resolves. */
  start(): Promise<void>;
  /** Stops listening and removes the replica's row. */
  stop(): Promise<void>;
  /** The verifier's `currentEpoch`: a number, `undefined` for an unknown person, 'stale' when not confirmed fresh. */
  currentEpoch: (personId: string) => number | undefined | 'stale';
  /** Whether the feed is confirmed fresh now (for readiness checks); when not, `currentEpoch` answers 'stale'. */
  fresh(): boolean;
  /** Applies an epoch this replica just committed (monotonic: a lower epoch is ignored). */
  apply(personId: string, epoch: number): void;
  /**
   * Call after the transaction that raised the epoch has committed. Resolves once every replica that
   * could still consider itself fresh has acknowledged `epoch` (or a later one) for the person, or
   * after `stalenessMs + clockSkewMs`, when the silent ones have turned stale. It never rejects.
   */
  propagated(personId: string, epoch: number): Promise<Propagation>;
  reload(): Promise<void>;
  /**
   * Applies directory changes this replica just committed (a new or deleted person), so its own next
   * request already knows the person, before the notification comes back through the listener.
   */
  applyChanges(changes: readonly DirectoryChange[]): Promise<void>;
}

export interface EpochFeedOptions {
  database: Pick<Database, 'listen'>;
  db: Db;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** The service this replica belongs to, as recorded in `service_replicas`; default 'control-plane'. */
  service?: string;
  /**
   * How long the feed may go unconfirmed before it answers 'stale'; default 5000 ms. Every replica of
   * the deployment must use the same value: `propagated` waits out silent replicas by its own.
   */
  stalenessMs?: number;
  /** How often the heartbeat is sent; default a quarter of `stalenessMs`. */
  heartbeatMs?: number;
  /**
   * How far the clocks of the replicas and the database may disagree; `propagated` adds it to the
   * staleness bound, both to the window of replicas it waits for and to the wait itself. Default 500 ms.
   */
  clockSkewMs?: number;
  /** The clock, in milliseconds; Date.now unless told. */
  now?: () => number;
}

/** How many acknowledgements (replica and person) are remembered for a `propagated` call that comes later. */
const REMEMBERED_ACKS = 10_000;

export function createEpochFeed(options: EpochFeedOptions): EpochFeed {
  const { database, db, logger } = options;
  const service = options.service ?? 'control-plane';
  const stalenessMs = options.stalenessMs ?? 5000;
  const heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.floor(stalenessMs / 4));
  const clockSkewMs = options.clockSkewMs ?? 500;
  if (!(stalenessMs > 0) || !(heartbeatMs > 0) || heartbeatMs >= stalenessMs) {
    throw new TypeError(`epoch feed: need 0 < heartbeatMs (${heartbeatMs}) < stalenessMs (${stalenessMs})`);
  }
  if (!(clockSkewMs >= 0)) throw new TypeError(`epoch feed: clockSkewMs (${clockSkewMs}) must not be negative`);
  if (!boundedId(service)) throw new TypeError('epoch feed: service must be 1 to 64 characters');
  const now = options.now ?? Date.now;
  const replica = randomBytes(12).toString('base64url');
  /** Replicas not seen for this long cannot be fresh; their rows are deleted. */
  const retentionMs = Math.max(10 * stalenessMs, 60_000);
  const heartbeatsPerSweep = Math.max(1, Math.ceil(retentionMs / 2 / heartbeatMs));
  let epochs = new Map<string, number>();
  /** The latest instant up to which every committed revocation is known to have been applied. */
  let confirmedAt = Number.NEGATIVE_INFINITY;
  let running = false;
  /** Bumped each time the listening connection comes back; `synced` is the last one a reload completed for. */
  let generation = 0;
  let synced = -1;
  let unlisten: Unlisten[] = [];
  let timer: NodeJS.Timeout | undefined;
  let heartbeats = 0;
  let beating = false;
  const inFlight = new Set<Promise<void>>();
  /** The highest epoch each replica acknowledged for each person; JSON keys, since ids are arbitrary strings. */
  const acks = new LRUCache<string, number>({ max: REMEMBERED_ACKS });
  const ackKey = (from: string, personId: string) => JSON.stringify([from, personId]);
  const waits = new Set<{ personId: string; epoch: number; pending: Set<string>; settle: () => void }>();
  // Loads and per-person reads run one after another, so an older read never lands after a newer one.
  let queue: Promise<void> = Promise.resolve();

  const enqueue = (work: () => Promise<void>): Promise<void> => {
    const next = queue.then(work).catch((err: unknown) => logger.error({ err }, 'revocation epoch feed step failed'));
    queue = next;
    return next;
  };
  const track = (work: Promise<void>): void => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const registration = sql`
    insert into service_replicas (id, service) values (${replica}, ${service})
    on conflict (id) do update set last_seen_at = greatest(service_replicas.last_seen_at, now()), service = excluded.service`;

  function recordAck(from: string, personId: string, epoch: number): void {
    const key = ackKey(from, personId);
    if ((acks.get(key) ?? -1) < epoch) acks.set(key, epoch);
    for (const wait of waits) {
      if (wait.personId === personId && epoch >= wait.epoch && wait.pending.delete(from) && wait.pending.size === 0) wait.settle();
    }
  }

  function raise(personId: string, epoch: number): void {
    if ((epochs.get(personId) ?? -1) < epoch) epochs.set(personId, epoch);
    // This replica's own acknowledgement is its map: it holds the epoch from here on.
    recordAck(replica, personId, epochs.get(personId) ?? epoch);
  }

  async function loadAll(): Promise<void> {
    const loading = generation;
    const startedAt = now();
    // The refresh commits before the read, so a `propagated` that does not see it runs after it, and
    // this read's snapshot then includes the revoke that `propagated` is waiting for.
    if (running) await db.execute(registration);
    const rows = resultRows<{ id: string; epoch: number }>(await db.execute(sql`
      select p.id, coalesce(e.epoch, 0)::int as epoch from people p left join revocation_epochs e on e.person_id = p.id`));
    const loaded = new Map<string, number>();
    // An epoch that arrived while the query ran may be newer than the query's snapshot: keep the higher.
    for (const row of rows) loaded.set(row.id, Math.max(Number(row.epoch), epochs.get(row.id) ?? 0));
    epochs = loaded;
    if (running && loading === generation) {
      confirmedAt = Math.max(confirmedAt, startedAt);
      synced = loading;
    }
  }

  async function loadPerson(personId: string): Promise<void> {
    const rows = resultRows<{ epoch: number }>(await db.execute(sql`
      select coalesce(e.epoch, 0)::int as epoch from people p left join revocation_epochs e on e.person_id = p.id
      where p.id = ${personId}`));
    const row = rows[0];
    if (row) raise(personId, Number(row.epoch));
    else epochs.delete(personId);
  }

  async function acknowledge(personId: string, epoch: number): Promise<void> {
    const message: RevocationMessage = { kind: 'ack', replica, personId, epoch };
    try {
      await notify(db, REVOCATIONS_CHANNEL, JSON.stringify(message));
    } catch (err) {
      logger.warn({ err, personId, epoch }, 'could not acknowledge a revocation; the revoke waits this replica out');
    }
  }

  // postgres.js re-subscribes after a reconnect in a way that `unlisten` no longer reaches, so a stopped
  // feed may still be called: it ignores everything.
  function onRevocation(payload: string): void {
    if (!running) return;
    const message = parseRevocationMessage(payload);
    if (!message) {
      logger.warn('unreadable revocation notification; reloading');
      void enqueue(loadAll);
      return;
    }
    switch (message.kind) {
      case 'epoch':
        raise(message.personId, message.epoch);
        track(acknowledge(message.personId, epochs.get(message.personId) ?? message.epoch));
        break;
      case 'ack':
        recordAck(message.replica, message.personId, message.epoch);
        break;
      case 'heartbeat':
        if (message.replica === replica && synced === generation) confirmedAt = Math.max(confirmedAt, message.sentAt);
        break;
    }
  }

  function applyChange(change: DirectoryChange): Promise<void> {
    if (change.entity === 'person') return enqueue(() => loadPerson(change.id));
    if (change.entity === 'subject-deleted' && change.kind === 'person') epochs.delete(change.id);
    return Promise.resolve();
  }

  function onDirectoryChange(payload: string): void {
    if (!running) return;
    const change = parseChange(payload);
    if (!change) void enqueue(loadAll);
    else void applyChange(change);
  }

  function onReconnect(): void {
    if (!running) return;
    generation += 1;
    logger.warn('revocation listener reconnected; reloading every epoch');
    void enqueue(loadAll);
  }

  async function heartbeat(sweep: boolean): Promise<void> {
    const message: RevocationMessage = { kind: 'heartbeat', replica, sentAt: now() };
    try {
      // One statement, so the refresh of `last_seen_at` commits together with the notification.
      await db.execute(sql`with seen as (${registration}) select pg_notify(${REVOCATIONS_CHANNEL}, ${JSON.stringify(message)})`);
    } catch (err) {
      logger.warn({ err }, 'revocation heartbeat failed; the feed turns stale if this persists');
    }
    if (!sweep) return;
    try {
      await db.execute(sql`
        delete from service_replicas
        where last_seen_at < now() - make_interval(secs => ${retentionMs / 1000}) and id <> ${replica}`);
    } catch (err) {
      logger.warn({ err }, 'could not delete replicas that are long gone; the next sweep tries again');
    }
  }

  function beat(): void {
    // A heartbeat still on its way is not doubled: a slow database makes the feed stale, not busier.
    if (beating) return;
    beating = true;
    const sweep = heartbeats++ % heartbeatsPerSweep === 0;
    track(heartbeat(sweep).finally(() => { beating = false; }));
  }

  /** The replicas whose heartbeat was recorded recently enough that they may still consider themselves fresh. */
  async function registeredReplicas(): Promise<string[]> {
    const rows = resultRows<{ id: string }>(await db.execute(sql`
      select id from service_replicas
      where last_seen_at > now() - make_interval(secs => ${(stalenessMs + clockSkewMs) / 1000}) order by id`));
    return rows.map((row) => row.id);
  }

  const fresh = () => running && now() - confirmedAt <= stalenessMs;
  const hasAcknowledged = (from: string, personId: string, epoch: number) =>
    (acks.get(ackKey(from, personId)) ?? -1) >= epoch || (from === replica && (epochs.get(personId) ?? -1) >= epoch);

  return {
    replica,
    async start() {
      running = true;
      await db.execute(registration);
      unlisten = [
        await database.listen(REVOCATIONS_CHANNEL, onRevocation, onReconnect),
        await database.listen(CHANGES_CHANNEL, onDirectoryChange, onReconnect),
      ];
      await enqueue(loadAll);
      if (synced !== generation) await loadAll();
      timer = setInterval(beat, heartbeatMs);
      timer.unref();
    },
    async stop() {
      running = false;
      confirmedAt = Number.NEGATIVE_INFINITY;
      if (timer) clearInterval(timer);
      await Promise.all(unlisten.map((u) => u()));
      unlisten = [];
      await queue;
      await Promise.all(inFlight);
      try {
        await db.execute(sql`delete from service_replicas where id = ${replica}`);
      } catch (err) {
        logger.warn({ err }, 'could not remove this replica from service_replicas; its row ages out');
      }
    },
    currentEpoch: (personId) => (fresh() ? epochs.get(personId) : 'stale'),
    fresh,
    apply(personId, epoch) {
      raise(personId, epoch);
    },
    async propagated(personId, epoch) {
      const boundMs = stalenessMs + clockSkewMs;
      const calledAt = performance.now();
      let registered: string[];
      try {
        registered = await registeredReplicas();
      } catch (err) {
        // Without the registry there is nobody to wait for, but the bound alone is still enough.
        logger.error({ err, personId, epoch }, 'could not read service_replicas; waiting out the staleness bound');
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, calledAt + boundMs - performance.now())));
        return { acknowledged: [], waitedOut: [] };
      }
      const pending = new Set(registered.filter((id) => !hasAcknowledged(id, personId, epoch)));
      const outcome = (): Propagation => ({ acknowledged: registered.filter((id) => !pending.has(id)), waitedOut: [...pending] });
      if (pending.size === 0) return outcome();
      return new Promise((resolve) => {
        const wait = {
          personId, epoch, pending,
          settle() {
            clearTimeout(deadline);
            waits.delete(wait);
            resolve(outcome());
          },
        };
        const deadline = setTimeout(() => wait.settle(), Math.max(0, calledAt + boundMs - performance.now()));
        waits.add(wait);
      });
    },
    reload() {
      return enqueue(loadAll);
    },
    async applyChanges(changes) {
      await Promise.all(changes.map(applyChange));
    },
  };
}
