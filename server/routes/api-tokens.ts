// API tokens for automation and for `oc`: created by an admin, shown once, stored only as a hash.
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { AppError, notFound, repositories, type ApiToken, type Db } from '../../core/index.ts';
import { actorOf } from '../auth/auth-plugin.ts';
import { API_ROLES, createApiToken, isUsable, type ApiRole } from '../auth/api-tokens.ts';
import { decodeCursor, encodeCursor, errorResponses, Id, Name, Nullable, PageOf, PageQuery, StrictObject, Timestamp } from '../schemas/common.ts';
import type { RunMutation } from '../services/mutations.ts';

const Role = Type.Union(API_ROLES.map((r) => Type.Literal(r)));

export const ApiTokenView = Type.Object({
  id: Id('apiToken'), name: Type.String(), role: Role, createdBy: Type.String(), createdAt: Timestamp,
  expiresAt: Nullable(Timestamp), lastUsedAt: Nullable(Timestamp), revokedAt: Nullable(Timestamp), active: Type.Boolean(),
}, { $id: 'ApiToken' });

const iso = (d: Date | null) => d?.toISOString() ?? null;
export const apiTokenView = (t: ApiToken) => ({
  id: t.id, name: t.name, role: t.role, createdBy: t.createdBy, createdAt: t.createdAt.toISOString(),
  expiresAt: iso(t.expiresAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt), active: isUsable(t),
});

export function registerApiTokenRoutes(app: FastifyInstance, deps: { runMutation: RunMutation; db: Db }): void {
  const tags = ['API tokens'];
  const idParams = StrictObject({ id: Id('apiToken') });

  app.post('/api/v1/api-tokens', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'createApiToken', tags, summary: 'Create an API token; the token is in this response only',
      body: StrictObject({ name: Name, role: Role, expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) }),
      response: {
        201: Type.Object({ ...ApiTokenView.properties, token: Type.String({ description: 'Shown once; store it now' }) }),
        ...errorResponses(),
      },
    },
  }, async (request, reply) => {
    const body = request.body as { name: string; role: ApiRole; expiresInDays?: number };
    const expiresAt = body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null;
    const created = await deps.runMutation({ actor: actorOf(request.principal!), requestId: request.id }, async (ctx) => {
      const { token, record } = await createApiToken(repositories, ctx.tx, {
        name: body.name, role: body.role, createdBy: actorOf(request.principal!), expiresAt,
      });
      await ctx.audit({ action: 'apiToken.create', targetKind: 'apiToken', targetId: record.id, after: apiTokenView(record) });
      return { ...apiTokenView(record), token };
    });
    return reply.status(201).header('cache-control', 'no-store').send(created);
  });

  app.get('/api/v1/api-tokens', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'listApiTokens', tags, summary: 'List API tokens (never their secrets)',
      querystring: StrictObject(PageQuery), response: { 200: PageOf(Type.Ref('ApiToken')), ...errorResponses() },
    },
  }, async (request) => {
    const { cursor, limit } = request.query as { cursor?: string; limit?: number };
    const page = await repositories.apiTokens.list(deps.db, { after: decodeCursor(cursor), limit: limit ?? 50 });
    return { items: page.items.map(apiTokenView), nextCursor: encodeCursor(page.nextAfter) };
  });

  app.get('/api/v1/api-tokens/:id', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'getApiToken', tags, summary: 'Get an API token (never its secret)', params: idParams,
      response: { 200: Type.Ref('ApiToken'), ...errorResponses(404) },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const token = await repositories.apiTokens.get(deps.db, id);
    if (!token) throw notFound('API token', id);
    return apiTokenView(token);
  });

  app.delete('/api/v1/api-tokens/:id', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'revokeApiToken', tags, summary: 'Revoke an API token', params: idParams,
      response: { 204: Type.Null({ description: 'Revoked' }), ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await deps.runMutation({ actor: actorOf(request.principal!), requestId: request.id }, async (ctx) => {
      const token = await repositories.apiTokens.get(ctx.tx, id);
      if (!token) throw notFound('API token', id);
      if (token.revokedAt) return;
      if (token.role === 'admin' && isUsable(token) && (await repositories.apiTokens.countActiveAdmins(ctx.tx)) <= 1) {
        throw new AppError('ERR_CONFLICT', 'this is the last active admin token; create another admin token first');
      }
      const revoked = await repositories.apiTokens.update(ctx.tx, id, { revokedAt: new Date() });
      await ctx.audit({ action: 'apiToken.revoke', targetKind: 'apiToken', targetId: id, before: apiTokenView(token), after: revoked && apiTokenView(revoked) });
    });
    return reply.status(204).send();
  });
}
