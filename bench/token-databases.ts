// Where the token benchmark keeps its data: throwaway databases on the PostgreSQL server when one
// answers (TEST_DATABASE_URL, DATABASE_URL, or the local default), dropped at the end; otherwise, or
// with --pglite / BENCH_DATABASE=pglite, the embedded PGlite in memory.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type Database } from '../core/index.ts';

const LOCAL_SERVER = 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchDatabase {
  /** postgres:// URL for another process; undefined for PGlite, which lives in one process. */
  url: string | undefined;
  /** Opens a connection pool, as another replica would; on PGlite the one in-memory database. */
  connect(maxConnections?: number): Promise<Database>;
}

export interface DatabaseTarget {
  kind: 'postgres' | 'pglite';
  label: string;
  /** A fresh, empty database (migrated on first connect by whoever opens it). */
  fresh(): Promise<BenchDatabase>;
  /** Drops every database this target made. */
  close(): Promise<void>;
}

async function reachable(url: string): Promise<boolean> {
  const probe = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await probe`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 });
  }
}

function pgliteTarget(label: string): DatabaseTarget {
  const opened: Database[] = [];
  return {
    kind: 'pglite',
    label,
    async fresh() {
      const database = await openDatabase({});
      await database.migrate();
      opened.push(database);
      // One connection in one process: every "replica" shares it, and closing one leaves it open.
      return { url: undefined, connect: () => Promise.resolve({ ...database, close: () => Promise.resolve() }) };
    },
    async close() {
      for (const database of opened) await database.close();
    },
  };
}

export async function chooseDatabaseTarget(argv: string[]): Promise<DatabaseTarget> {
  if (argv.includes('--pglite') || process.env.BENCH_DATABASE === 'pglite') return pgliteTarget('embedded PGlite (chosen)');
  const serverUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? LOCAL_SERVER;
  if (!(await reachable(serverUrl))) return pgliteTarget(`embedded PGlite (no PostgreSQL answered at ${new URL(serverUrl).host})`);
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  const created: string[] = [];
  const version = (await admin<{ server_version: string }[]>`show server_version`)[0]?.server_version ?? '?';
  return {
    kind: 'postgres',
    label: `PostgreSQL ${version} at ${new URL(serverUrl).host}`,
    async fresh() {
      const name = `opencrane_bench_tokens_${randomBytes(4).toString('hex')}`;
      await admin.unsafe(`create database ${name}`);
      created.push(name);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return { url: url.toString(), connect: (maxConnections = 4) => openDatabase({ url: url.toString(), maxConnections }) };
    },
    async close() {
      for (const name of created) await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
