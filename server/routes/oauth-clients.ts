// Confidential OAuth clients of the token service: resource servers that introspect tokens for their
// own audiences. Created by an admin; the client secret is shown once and stored only as a hash.
// Revoking keeps the row, so the audit trail can still name the client.
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import { newId, notFound, schema, type Db } from '../../core/index.ts';
import { generateClientSecret, hashClientSecret } from '../../token-service/client-authentication.ts';
import { actorOf } from '../auth/auth-plugin.ts';
import { decodeCursor, encodeCursor, errorResponses, Id, Name, Nullable, PageOf, PageQuery, StrictObject, Timestamp } from '../schemas/common.ts';
import type { RunMutation } from '../services/mutations.ts';

type OAuthClient = typeof schema.oauthClients.$inferSelect;

/** An absolute http(s) URI with a host and no fragment, as RFC 8707 asks of a resource indicator. */
const Audience = Type.String({
  format: 'uri', pattern: '^https?://[^/?#\\s]+[^#\\s]*$', maxLength: 2048,
  description: 'A resource URI whose tokens this client may introspect',
});
const Audiences = Type.Array(Audience, { minItems: 1, maxItems: 20, uniqueItems: true });

export const OAuthClientView = Type.Object({
  id: Id('oauthClient', 'The client_id'), name: Type.String(), audiences: Type.Array(Type.String()), createdBy: Type.String(),
  createdAt: Timestamp, revokedAt: Nullable(Timestamp), active: Type.Boolean(),
}, { $id: 'OAuthClient' });

export const oauthClientView = (c: OAuthClient) => ({
  id: c.id, name: c.name, audiences: c.audiences, createdBy: c.createdBy, createdAt: c.createdAt.toISOString(),
  revokedAt: c.revokedAt?.toISOString() ?? null, active: c.revokedAt === null,
});

async function findClient(db: Db, id: string): Promise<OAuthClient | undefined> {
  const rows = await db.select().from(schema.oauthClients).where(eq(schema.oauthClients.id, id)).limit(1);
  return rows[0];
}

export function registerOAuthClientRoutes(app: FastifyInstance, deps: { runMutation: RunMutation; db: Db }): void {
  const tags = ['OAuth clients'];
  const idParams = StrictObject({ id: Id('oauthClient') });

  app.post('/api/v1/oauth-clients', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'createOAuthClient', tags,
      summary: 'Register a resource server as a confidential client; the secret is in this response only',
      body: StrictObject({ name: Name, audiences: Audiences }),
      response: {
        201: Type.Object({ ...OAuthClientView.properties, clientSecret: Type.String({ description: 'Shown once; store it now' }) }),
        ...errorResponses(),
      },
    },
  }, async (request, reply) => {
    const body = request.body as { name: string; audiences: string[] };
    const actor = actorOf(request.principal!);
    const created = await deps.runMutation({ actor, requestId: request.id }, async (ctx) => {
      const clientSecret = generateClientSecret();
      const [record] = await ctx.tx.insert(schema.oauthClients).values({
        id: newId('oauthClient'), name: body.name, audiences: body.audiences, createdBy: actor,
        secretHash: hashClientSecret(clientSecret),
      }).returning();
      const view = oauthClientView(record!);
      await ctx.audit({ action: 'oauthClient.create', targetKind: 'oauthClient', targetId: view.id, after: view });
      return { ...view, clientSecret };
    });
    return reply.status(201).header('cache-control', 'no-store').send(created);
  });

  app.get('/api/v1/oauth-clients', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'listOAuthClients', tags, summary: 'List OAuth clients (never their secrets)',
      querystring: StrictObject(PageQuery), response: { 200: PageOf(Type.Ref('OAuthClient')), ...errorResponses() },
    },
  }, async (request) => {
    const { cursor, limit = 50 } = request.query as { cursor?: string; limit?: number };
    const after = decodeCursor(cursor);
    const rows = await deps.db.select().from(schema.oauthClients)
      .where(after === undefined ? undefined : gt(schema.oauthClients.id, after))
      .orderBy(asc(schema.oauthClients.id))
      .limit(limit + 1);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items: items.map(oauthClientView), nextCursor: encodeCursor(rows.length > limit && last ? last.id : null) };
  });

  app.get('/api/v1/oauth-clients/:id', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'getOAuthClient', tags, summary: 'Get an OAuth client (never its secret)', params: idParams,
      response: { 200: Type.Ref('OAuthClient'), ...errorResponses(404) },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const client = await findClient(deps.db, id);
    if (!client) throw notFound('OAuth client', id);
    return oauthClientView(client);
  });

  app.delete('/api/v1/oauth-clients/:id', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'revokeOAuthClient', tags, summary: 'Revoke an OAuth client; it can no longer authenticate',
      params: idParams, response: { 204: Type.Null({ description: 'Revoked' }), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await deps.runMutation({ actor: actorOf(request.principal!), requestId: request.id }, async (ctx) => {
      const client = await findClient(ctx.tx, id);
      if (!client) throw notFound('OAuth client', id);
      // Only the request that actually revokes writes the audit event; revoking again is harmless.
      const [revoked] = await ctx.tx.update(schema.oauthClients).set({ revokedAt: new Date() })
        .where(and(eq(schema.oauthClients.id, id), isNull(schema.oauthClients.revokedAt))).returning();
      if (!revoked) return;
      await ctx.audit({
        action: 'oauthClient.revoke', targetKind: 'oauthClient', targetId: id,
        before: oauthClientView(client), after: oauthClientView(revoked),
      });
    });
    return reply.status(204).send();
  });
}
