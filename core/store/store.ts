// The store: every repository over one database handle, plus transactions. Repositories take the
// database or an open transaction as their first argument so services can compose them in one
// transaction; nothing slow (network, waits) belongs inside one.
import { and, asc, desc, eq, gt, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Database, Db } from '../db/database.ts';
import {
  apiTokens, assistants, auditEvents, departments, grants, knowledgeCollections, people, skills, teamMembers,
  teams, tools,
} from '../db/schema.ts';
import { translateDbError } from './db-errors.ts';
import { entityRepository, type Page } from './entity-repository.ts';
import { grantFromRow, grantToRow, grantWhere, type Grant, type GrantFilter, type NewGrant } from './grants.ts';

export type Department = typeof departments.$inferSelect;
export type Team = typeof teams.$inferSelect;
export type Person = typeof people.$inferSelect;
export type Tool = typeof tools.$inferSelect;
export type Skill = typeof skills.$inferSelect;
export type KnowledgeCollection = typeof knowledgeCollections.$inferSelect;
export type Assistant = typeof assistants.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type NewAuditEvent = Omit<typeof auditEvents.$inferInsert, 'seq'>;
export type Membership = typeof teamMembers.$inferSelect;

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  targetKind?: string | undefined;
  targetId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

/** A consistent copy of what decisions need: statuses, memberships and every grant. */
export interface DirectorySnapshot {
  people: { id: string; status: 'active' | 'suspended'; departmentId: string | null }[];
  memberships: { teamId: string; personId: string }[];
  assistants: { id: string; personId: string; status: Assistant['status'] }[];
  grants: Grant[];
}

const grantRows = entityRepository(grants);

export const repositories = {
  departments: entityRepository(departments),
  teams: entityRepository(teams),
  people: {
    ...entityRepository(people),
    async getByEmail(db: Db, email: string): Promise<Person | undefined> {
      const rows = await db.select().from(people).where(sql`lower(${people.email}) = lower(${email})`).limit(1);
      return rows[0];
    },
  },
  tools: {
    ...entityRepository(tools),
    async getByName(db: Db, name: string): Promise<Tool | undefined> {
      const rows = await db.select().from(tools).where(eq(tools.name, name)).limit(1);
      return rows[0];
    },
  },
  skills: entityRepository(skills),
  knowledge: entityRepository(knowledgeCollections),
  assistants: {
    ...entityRepository(assistants),
    async getByPerson(db: Db, personId: string): Promise<Assistant | undefined> {
      const rows = await db.select().from(assistants).where(eq(assistants.personId, personId)).limit(1);
      return rows[0];
    },
  },
  memberships: {
    /** Adds the membership; returns false when it already existed. */
    async add(db: Db, teamId: string, personId: string, source: 'api' | 'oidc' = 'api'): Promise<boolean> {
      const rows = await db.insert(teamMembers).values({ teamId, personId, source }).onConflictDoNothing().returning();
      return rows.length > 0;
    },
    async remove(db: Db, teamId: string, personId: string): Promise<boolean> {
      const rows = await db.delete(teamMembers)
        .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.personId, personId))).returning();
      return rows.length > 0;
    },
    async get(db: Db, teamId: string, personId: string): Promise<Membership | undefined> {
      const rows = await db.select().from(teamMembers)
        .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.personId, personId))).limit(1);
      return rows[0];
    },
    async list(
      db: Db, by: { teamId: string } | { personId: string }, options: { after?: string | undefined; limit: number },
    ): Promise<Page<Membership>> {
      const key = 'teamId' in by ? teamMembers.personId : teamMembers.teamId;
      const owner = 'teamId' in by ? eq(teamMembers.teamId, by.teamId) : eq(teamMembers.personId, by.personId);
      const rows = await db.select().from(teamMembers)
        .where(options.after ? and(owner, gt(key, options.after)) : owner)
        .orderBy(asc(key)).limit(options.limit + 1);
      const more = rows.length > options.limit;
      const items = more ? rows.slice(0, options.limit) : rows;
      const last = items.at(-1);
      return { items, nextAfter: more && last ? ('teamId' in by ? last.personId : last.teamId) : null };
    },
    async teamIdsOf(db: Db, personId: string): Promise<string[]> {
      const rows = await db.select({ teamId: teamMembers.teamId }).from(teamMembers)
        .where(eq(teamMembers.personId, personId)).orderBy(asc(teamMembers.teamId));
      return rows.map((r) => r.teamId);
    },
  },
  grants: {
    async get(db: Db, id: string): Promise<Grant | undefined> {
      const row = await grantRows.get(db, id);
      return row && grantFromRow(row);
    },
    async list(
      db: Db, filter: GrantFilter, options: { after?: string | undefined; limit: number },
    ): Promise<Page<Grant>> {
      const page = await grantRows.list(db, { ...options, where: grantWhere(filter) });
      return { items: page.items.map(grantFromRow), nextAfter: page.nextAfter };
    },
    async insert(db: Db, grant: NewGrant): Promise<Grant> {
      return grantFromRow(await grantRows.insert(db, grantToRow(grant)));
    },
    async update(
      db: Db, id: string, patch: { expiresAt?: Date | null; reason?: string | null },
    ): Promise<Grant | undefined> {
      const row = await grantRows.update(db, id, patch);
      return row && grantFromRow(row);
    },
    async delete(db: Db, id: string): Promise<Grant | undefined> {
      const row = await grantRows.delete(db, id);
      return row && grantFromRow(row);
    },
  },
  apiTokens: {
    ...entityRepository(apiTokens),
    async findBySecretHash(db: Db, secretHash: string): Promise<ApiToken | undefined> {
      const rows = await db.select().from(apiTokens).where(eq(apiTokens.secretHash, secretHash)).limit(1);
      return rows[0];
    },
    async countActiveAdmins(db: Db): Promise<number> {
      const rows = await db.select({ n: sql<number>`count(*)::int` }).from(apiTokens)
        .where(and(eq(apiTokens.role, 'admin'), sql`${apiTokens.revokedAt} is null`,
          sql`(${apiTokens.expiresAt} is null or ${apiTokens.expiresAt} > now())`));
      return rows[0]?.n ?? 0;
    },
  },
  audit: {
    async insert(db: Db, event: NewAuditEvent): Promise<void> {
      await db.insert(auditEvents).values(event);
    },
    /** Newest first; `before` is the sequence number to continue below. */
    async list(
      db: Db, filter: AuditFilter, options: { before?: number | undefined; limit: number },
    ): Promise<{ items: AuditEvent[]; nextBefore: number | null }> {
      const conditions: (SQL | undefined)[] = [
        filter.actor ? eq(auditEvents.actor, filter.actor) : undefined,
        filter.action ? eq(auditEvents.action, filter.action) : undefined,
        filter.targetKind ? eq(auditEvents.targetKind, filter.targetKind) : undefined,
        filter.targetId ? eq(auditEvents.targetId, filter.targetId) : undefined,
        filter.since ? gte(auditEvents.at, filter.since) : undefined,
        filter.until ? lte(auditEvents.at, filter.until) : undefined,
        options.before ? lt(auditEvents.seq, options.before) : undefined,
      ];
      const present = conditions.filter((c): c is SQL => c !== undefined);
      const rows = await db.select().from(auditEvents)
        .where(present.length ? and(...present) : undefined)
        .orderBy(desc(auditEvents.seq)).limit(options.limit + 1);
      const more = rows.length > options.limit;
      const items = more ? rows.slice(0, options.limit) : rows;
      const last = items.at(-1);
      return { items, nextBefore: more && last ? last.seq : null };
    },
  },
  directory: {
    async snapshot(db: Db): Promise<DirectorySnapshot> {
      const [peopleRows, membershipRows, assistantRows, grantRowList] = await Promise.all([
        db.select({ id: people.id, status: people.status, departmentId: people.departmentId }).from(people),
        db.select({ teamId: teamMembers.teamId, personId: teamMembers.personId }).from(teamMembers),
        db.select({ id: assistants.id, personId: assistants.personId, status: assistants.status }).from(assistants),
        db.select().from(grants),
      ]);
      return { people: peopleRows, memberships: membershipRows, assistants: assistantRows, grants: grantRowList.map(grantFromRow) };
    },
  },
};

export type Repositories = typeof repositories;

export interface Store extends Repositories {
  readonly database: Database;
  readonly db: Db;
  /**
   * Runs `work` in one transaction. Integrity violations come out as typed 409/400 errors; the
   * transaction is rolled back on any error.
   */
  transaction<T>(work: (tx: Db) => Promise<T>): Promise<T>;
}

export function createStore(database: Database): Store {
  return {
    ...repositories,
    database,
    db: database.db,
    async transaction(work) {
      try {
        return await database.db.transaction((tx) => work(tx as unknown as Db));
      } catch (err) {
        throw translateDbError(err);
      }
    },
  };
}
