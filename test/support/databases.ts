// The databases tests run against: the embedded PGlite always, and the real PostgreSQL server when
// TEST_DATABASE_URL is set. Each call makes a fresh, migrated database of its own (a new database on
// the server), so test files and concurrent runs never see each other's rows.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../core/index.ts';

export type OpenTestDatabase = Database & {
  /**
   * Another connection to the same database, as a second replica would open (PGlite is one
   * connection, so there it is the same database, and closing it leaves the database open).
   */
  connectAgain(): Promise<Database>;
  dispose(): Promise<void>;
};

export interface TestDatabase {
  name: 'pglite' | 'postgres';
  open(): Promise<OpenTestDatabase>;
}

export const testDatabases: TestDatabase[] = [
  {
    name: 'pglite',
    async open() {
      const database = await openDatabase({});
      await database.migrate();
      return Object.assign(database, {
        connectAgain: (): Promise<Database> => Promise.resolve({ ...database, close: () => Promise.resolve() }),
        dispose: () => database.close(),
      });
    },
  },
];

const serverUrl = process.env.TEST_DATABASE_URL;
if (serverUrl) {
  testDatabases.push({
    name: 'postgres',
    async open() {
      const dbName = `opencrane_test_${process.pid}_${randomBytes(4).toString('hex')}`;
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${dbName}`);
      const url = new URL(serverUrl);
      url.pathname = `/${dbName}`;
      const database = await openDatabase({ url: url.toString(), maxConnections: 4 });
      await database.migrate();
      return Object.assign(database, {
        connectAgain: () => openDatabase({ url: url.toString(), maxConnections: 2 }),
        async dispose() {
          await database.close();
          await admin.unsafe(`drop database if exists ${dbName} with (force)`);
          await admin.end();
        },
      });
    },
  });
}
