// One store interface, two drivers: PGlite (embedded, data on disk under OPENCRANE_HOME) when no
// DATABASE_URL is set, postgres.js when it is. Both run the same drizzle schema and migrations and
// both deliver LISTEN/NOTIFY, which carries change notifications between replicas.
import { fileURLToPath } from 'node:url';
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import * as schema from './schema.ts';

export type Schema = typeof schema;
/** A database handle or an open transaction: repositories accept either. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export type Unlisten = () => Promise<void>;

export interface Database {
  readonly driver: 'pglite' | 'postgres';
  readonly db: Db;
  /** Applies the committed migrations; safe to run from several replicas at once. */
  migrate(): Promise<void>;
  /**
   * Subscribes to a notification channel. `onReconnect` runs when the listening connection was lost
   * and came back, so a subscriber can resynchronise whatever it may have missed.
   */
  listen(channel: string, onMessage: (payload: string) => void, onReconnect?: () => void): Promise<Unlisten>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));
/** Any constant works; it only has to be the same for every replica. */
const MIGRATION_LOCK_KEY = 4_207_731_900;

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent the embedded PGlite database is used. */
  url?: string | undefined;
  /** Folder for PGlite's data; when absent PGlite keeps everything in memory. */
  dataDir?: string | undefined;
  /** Connection pool size for postgres.js. */
  maxConnections?: number;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.maxConnections ?? 10) : await openPglite(options.dataDir);
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const client = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    driver: 'pglite',
    db,
    async migrate() {
      // PGlite is single-connection and single-process: nothing else can migrate concurrently.
      await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    },
    async listen(channel, onMessage) {
      const unsubscribe = await client.listen(channel, onMessage);
      return async () => { await unsubscribe(); };
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}

function openPostgres(url: string, max: number): Database {
  const client = postgres(url, { max: Math.max(2, max), onnotice: () => {}, connection: { application_name: 'opencrane' } });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    driver: 'postgres',
    db,
    async migrate() {
      // Several replicas may start together: one migrates, the others wait on the advisory lock and
      // then find nothing left to do.
      const lockHolder = await client.reserve();
      try {
        await lockHolder`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        await migratePostgres(drizzlePostgres(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await lockHolder`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
        lockHolder.release();
      }
    },
    async listen(channel, onMessage, onReconnect) {
      let first = true;
      const sub = await client.listen(channel, onMessage, () => {
        if (!first) onReconnect?.();
        first = false;
      });
      return async () => { await sub.unlisten(); };
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

/** Sends a notification; inside a transaction it is delivered only if and when the transaction commits. */
export async function notify(db: Db, channel: string, payload: string): Promise<void> {
  await db.execute(sql`select pg_notify(${channel}, ${payload})`);
}
