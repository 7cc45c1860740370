// Puts a generated organisation into a real database for the change-propagation measurement.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, schema, type Database } from '../core/index.ts';
import { grantToRow } from '../core/store/grants.ts';
import type { Org } from './org.ts';

export interface BenchDatabase {
  label: string;
  database: Database;
  /** A second connection to the same database, standing in for another replica's own pool. */
  second: Database;
  close(): Promise<void>;
}

export async function openBenchDatabase(): Promise<BenchDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!serverUrl) {
    const database = await openDatabase({});
    await database.migrate();
    return { label: 'embedded PGlite, one process', database, second: database, close: () => database.close() };
  }
  const name = `opencrane_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString() });
  await database.migrate();
  const second = await openDatabase({ url: url.toString() });
  return {
    label: `PostgreSQL at ${url.host}, two connection pools`,
    database, second,
    async close() {
      await second.close();
      await database.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

async function insertChunks<T>(rows: T[], insert: (chunk: T[]) => Promise<unknown>, size = 2_000): Promise<void> {
  for (let i = 0; i < rows.length; i += size) await insert(rows.slice(i, i + size));
}

export async function seedDatabase(database: Database, org: Org): Promise<void> {
  const { db } = database;
  await insertChunks(org.departments.map((id, i) => ({ id, name: `department-${i}` })), (c) => db.insert(schema.departments).values(c));
  await insertChunks(org.teams.map((t, i) => ({ id: t.id, name: `team-${i}`, departmentId: t.departmentId })), (c) => db.insert(schema.teams).values(c));
  await insertChunks(org.people.map((p, i) => ({
    id: p.id, email: `person-${i}@bench.example`, displayName: `Person ${i}`, departmentId: p.departmentId, status: p.status,
  })), (c) => db.insert(schema.people).values(c));
  await insertChunks(org.people.flatMap((p) => p.teams.map((teamId) => ({ teamId, personId: p.id }))), (c) => db.insert(schema.teamMembers).values(c));
  const table = { tool: schema.tools, skill: schema.skills, knowledge: schema.knowledgeCollections } as const;
  for (const kind of ['tool', 'skill', 'knowledge'] as const) {
    const rows = org.resources.filter((r) => r.kind === kind).map((r, i) => ({
      id: r.id, name: `${kind}-${i}`, ...(kind === 'tool' ? { url: `https://mcp.bench.example/${i}` } : {}),
    }));
    await insertChunks(rows, (c) => db.insert(table[kind]).values(c as never));
  }
  await insertChunks(org.grants.map((g) => grantToRow({
    id: g.id, subject: g.subject, resource: g.resource, effect: g.effect,
    expiresAt: g.expiresAt === null ? null : new Date(g.expiresAt), grantedBy: 'bench',
  })), (c) => db.insert(schema.grants).values(c));
}
