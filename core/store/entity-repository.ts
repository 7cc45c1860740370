// Create, read, list (cursor-paged by id), update and delete for a table whose primary key is a text
// `id`. Every function takes the database or an open transaction as its first argument.
import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../db/database.ts';

type IdTable = PgTable & { id: PgColumn; updatedAt?: PgColumn };

export interface Page<T> {
  items: T[];
  /** The id to pass as `after` for the next page, or null on the last page. */
  nextAfter: string | null;
}

export interface ListOptions {
  after?: string | undefined;
  limit: number;
  where?: SQL | undefined;
}

export interface EntityRepository<Row, Insert> {
  get(db: Db, id: string): Promise<Row | undefined>;
  list(db: Db, options: ListOptions): Promise<Page<Row>>;
  insert(db: Db, values: Insert): Promise<Row>;
  update(db: Db, id: string, patch: Partial<Insert>): Promise<Row | undefined>;
  delete(db: Db, id: string): Promise<Row | undefined>;
}

export function entityRepository<T extends IdTable>(
  table: T,
): EntityRepository<T['$inferSelect'], T['$inferInsert']> {
  type Row = T['$inferSelect'];
  // drizzle's builder types do not survive a generic table parameter; the public signature above is
  // what callers rely on, so the internals talk to drizzle through one untyped handle.
  const t = table as unknown as PgTable & { id: PgColumn; updatedAt?: PgColumn };
  return {
    async get(db, id) {
      const rows = await db.select().from(t).where(eq(t.id, id)).limit(1);
      return rows[0];
    },
    async list(db, { after, limit, where }) {
      const conditions = [where, after ? gt(t.id, after) : undefined].filter((c): c is SQL => c !== undefined);
      const rows = (await db.select().from(t)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(asc(t.id))
        .limit(limit + 1)) as Row[];
      const more = rows.length > limit;
      const items = more ? rows.slice(0, limit) : rows;
      const last = items.at(-1) as { id: string } | undefined;
      return { items, nextAfter: more && last ? last.id : null };
    },
    async insert(db, values) {
      const rows = await db.insert(t).values(values as never).returning();
      return rows[0] as Row;
    },
    async update(db, id, patch) {
      const values = t.updatedAt ? { ...patch, updatedAt: new Date() } : patch;
      const rows = await db.update(t).set(values as never).where(eq(t.id, id)).returning();
      return rows[0];
    },
    async delete(db, id) {
      const rows = await db.delete(t).where(eq(t.id, id)).returning();
      return rows[0];
    },
  };
}
