// Create, read, list, update and delete for one kind of directory or resource record. Each resource
// file describes its schemas and mappings; this builds the five routes with their OpenAPI metadata,
// audit events and change notifications, so every collection behaves the same way.
import { Type, type TSchema } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { newId, notFound, type Db, type DirectoryChange, type IdKind } from '../../core/index.ts';
import type { EntityRepository } from '../../core/store/entity-repository.ts';
import { actorOf, ALL_ROLES } from '../auth/auth-plugin.ts';
import { decodeCursor, encodeCursor, errorResponses, Id, PageOf, PageQuery, StrictObject } from '../schemas/common.ts';
import type { MutationContext, RunMutation } from '../services/mutations.ts';

/** A `?name=` list filter (exact, case-insensitive), which clients use to turn a name into an id. */
export function nameFilter(column: AnyPgColumn): ListFilters {
  return {
    properties: { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
    where: (q) => (typeof q.name === 'string' ? sql`lower(${column}) = lower(${q.name})` : undefined),
  };
}

export interface ListFilters { properties: Record<string, TSchema>; where: (query: Record<string, unknown>) => SQL | undefined }

export interface EntitySpec<Row extends { id: string }, Insert, View> {
  kind: IdKind;
  /** Collection path under /api/v1, e.g. `departments`. */
  path: string;
  tag: string;
  /** Singular and plural words for messages and operation ids, e.g. ['department', 'departments']. */
  words: [string, string];
  /** Operation-id stem, e.g. `Department` gives createDepartment, listDepartments, … */
  operation: [string, string];
  repo: EntityRepository<Row, Insert>;
  view: TSchema;
  createBody: TSchema;
  updateBody: TSchema;
  listFilters?: ListFilters;
  toView(row: Row): View;
  toInsert(id: string, body: Record<string, unknown>): Insert;
  toPatch(body: Record<string, unknown>): Partial<Insert>;
  /** Checks that referenced records exist (inside the transaction); throws a 404/409 AppError. */
  checkReferences?(tx: Db, body: Record<string, unknown>): Promise<void>;
  afterCreate?(ctx: MutationContext, row: Row, body: Record<string, unknown>): Promise<void>;
  afterUpdate?(ctx: MutationContext, before: Row, after: Row): Promise<void>;
  /** Runs before the row is deleted, e.g. to record what a cascade will remove. */
  beforeDelete?(ctx: MutationContext, row: Row): Promise<Record<string, unknown>>;
  changesOn?: { create?(row: Row): DirectoryChange[]; update?(row: Row): DirectoryChange[]; delete?(row: Row): DirectoryChange[] };
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function registerEntityRoutes<Row extends { id: string }, Insert, View>(
  app: FastifyInstance, spec: EntitySpec<Row, Insert, View>, deps: { runMutation: RunMutation; db: Db },
): void {
  const [singular, plural] = spec.words;
  const [opSingular, opPlural] = spec.operation;
  const base = `/api/v1/${spec.path}`;
  const idParam = StrictObject({ id: Id(spec.kind, `The ${singular}'s id`) });
  const auditKind = spec.kind;
  const action = (verb: string) => `${auditKind}.${verb}`;
  const emit = async (ctx: MutationContext, changes: DirectoryChange[] | undefined) => {
    for (const change of changes ?? []) await ctx.changed(change);
  };
  const load = async (db: Db, id: string) => {
    const row = await spec.repo.get(db, id);
    if (!row) throw notFound(capitalise(singular), id);
    return row;
  };
  const who = (request: { principal: Parameters<typeof actorOf>[0] | null; id: string }) =>
    ({ actor: actorOf(request.principal!), requestId: request.id });

  app.post(base, {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: `create${opSingular}`, tags: [spec.tag], summary: `Create a ${singular}`,
      body: spec.createBody, response: { 201: spec.view, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    const view = await deps.runMutation(who(request), async (ctx) => {
      await spec.checkReferences?.(ctx.tx, body);
      const row = await spec.repo.insert(ctx.tx, spec.toInsert(newId(spec.kind), body));
      const shown = spec.toView(row);
      await ctx.audit({ action: action('create'), targetKind: auditKind, targetId: row.id, after: shown });
      await spec.afterCreate?.(ctx, row, body);
      await emit(ctx, spec.changesOn?.create?.(row));
      return shown;
    });
    return reply.status(201).header('location', `${base}/${(view as { id: string }).id}`).send(view);
  });

  app.get(base, {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: `list${opPlural}`, tags: [spec.tag], summary: `List ${plural}`,
      querystring: StrictObject({ ...PageQuery, ...(spec.listFilters?.properties ?? {}) }),
      response: { 200: PageOf(spec.view), ...errorResponses() },
    },
  }, async (request) => {
    const query = request.query as Record<string, unknown> & { cursor?: string; limit?: number };
    const page = await spec.repo.list(deps.db, {
      after: decodeCursor(query.cursor), limit: query.limit ?? 50, where: spec.listFilters?.where(query),
    });
    return { items: page.items.map((row) => spec.toView(row)), nextCursor: encodeCursor(page.nextAfter) };
  });

  app.get(`${base}/:id`, {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: `get${opSingular}`, tags: [spec.tag], summary: `Get a ${singular}`,
      params: idParam, response: { 200: spec.view, ...errorResponses(404) },
    },
  }, async (request) => spec.toView(await load(deps.db, (request.params as { id: string }).id)));

  app.patch(`${base}/:id`, {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: `update${opSingular}`, tags: [spec.tag], summary: `Update a ${singular}`,
      params: idParam, body: spec.updateBody, response: { 200: spec.view, ...errorResponses(404, 409) },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const body = request.body as Record<string, unknown>;
    return deps.runMutation(who(request), async (ctx) => {
      const before = await load(ctx.tx, id);
      await spec.checkReferences?.(ctx.tx, body);
      const after = await spec.repo.update(ctx.tx, id, spec.toPatch(body));
      if (!after) throw notFound(capitalise(singular), id);
      const shown = spec.toView(after);
      await ctx.audit({ action: action('update'), targetKind: auditKind, targetId: id, before: spec.toView(before), after: shown });
      await spec.afterUpdate?.(ctx, before, after);
      await emit(ctx, spec.changesOn?.update?.(after));
      return shown;
    });
  });

  app.delete(`${base}/:id`, {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: `delete${opSingular}`, tags: [spec.tag], summary: `Delete a ${singular}`,
      params: idParam, response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await deps.runMutation(who(request), async (ctx) => {
      const row = await load(ctx.tx, id);
      const cascade = await spec.beforeDelete?.(ctx, row);
      await spec.repo.delete(ctx.tx, id);
      await ctx.audit({
        action: action('delete'), targetKind: auditKind, targetId: id,
        before: cascade ? { ...spec.toView(row) as object, ...cascade } : spec.toView(row),
      });
      await emit(ctx, spec.changesOn?.delete?.(row));
    });
    return reply.status(204).send();
  });
}
