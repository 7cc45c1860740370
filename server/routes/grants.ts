// Grants: who (person, team or department) may or may not reach what (tool, skill, knowledge).
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import {
  AppError, ID_PREFIX, newId, notFound, repositories, type Db, type Grant, type GrantFilter,
} from '../../core/index.ts';
import type { ResourceKind, SubjectKind } from '../../policies/types.ts';
import { actorOf, ALL_ROLES } from '../auth/auth-plugin.ts';
import {
  decodeCursor, encodeCursor, errorResponses, Id, Nullable, PageOf, PageQuery, StrictObject, Timestamp,
} from '../schemas/common.ts';
import type { RunMutation } from '../services/mutations.ts';

export const ToolPattern = Type.String({
  minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_.*:/@+~-]+$',
  description: 'MCP tool names (or resource URIs, prompt names) inside the server this grant covers; `*` matches any characters (`list_*`, `docs://*`, `*`)',
});

const SubjectRef = Type.Union([
  StrictObject({ kind: Type.Literal('person'), id: Id('person') }),
  StrictObject({ kind: Type.Literal('team'), id: Id('team') }),
  StrictObject({ kind: Type.Literal('department'), id: Id('department') }),
]);

const ResourceRef = Type.Union([
  StrictObject({ kind: Type.Literal('tool'), id: Id('tool'), toolPattern: Type.Optional(ToolPattern) }),
  StrictObject({ kind: Type.Literal('skill'), id: Id('skill') }),
  StrictObject({ kind: Type.Literal('knowledge'), id: Id('knowledge') }),
]);

const Effect = Type.Union([Type.Literal('allow'), Type.Literal('deny')]);
const Reason = Type.String({ maxLength: 500, pattern: '^[^\\u0000]*$' });

export const GrantView = Type.Object({
  id: Id('grant'),
  subject: Type.Object({ kind: Type.Union([Type.Literal('person'), Type.Literal('team'), Type.Literal('department')]), id: Type.String() }),
  resource: Type.Object({
    kind: Type.Union([Type.Literal('tool'), Type.Literal('skill'), Type.Literal('knowledge')]), id: Type.String(),
    toolPattern: Nullable(Type.String()),
  }),
  effect: Effect,
  expiresAt: Nullable(Timestamp),
  expired: Type.Boolean({ description: 'True once expiresAt has passed; an expired grant no longer counts' }),
  reason: Nullable(Type.String()),
  grantedBy: Type.String({ description: 'The principal that created the grant' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}, { $id: 'Grant' });

export function grantView(g: Grant, now = Date.now()) {
  return {
    id: g.id, subject: g.subject, resource: g.resource, effect: g.effect,
    expiresAt: g.expiresAt?.toISOString() ?? null, expired: g.expiresAt !== null && g.expiresAt.getTime() <= now,
    reason: g.reason, grantedBy: g.grantedBy, createdAt: g.createdAt.toISOString(), updatedAt: g.updatedAt.toISOString(),
  };
}

const SUBJECT_REPOS = { person: repositories.people, team: repositories.teams, department: repositories.departments };
const RESOURCE_REPOS = { tool: repositories.tools, skill: repositories.skills, knowledge: repositories.knowledge };
const SUBJECT_WORDS = { person: 'Person', team: 'Team', department: 'Department' };
const RESOURCE_WORDS = { tool: 'Tool', skill: 'Skill', knowledge: 'Knowledge collection' };

async function requireReferences(tx: Db, subject: { kind: SubjectKind; id: string }, resource: { kind: ResourceKind; id: string }) {
  if (!(await SUBJECT_REPOS[subject.kind].get(tx, subject.id))) throw notFound(SUBJECT_WORDS[subject.kind], subject.id);
  if (!(await RESOURCE_REPOS[resource.kind].get(tx, resource.id))) throw notFound(RESOURCE_WORDS[resource.kind], resource.id);
}

function futureDate(value: string | null | undefined, field: string): Date | null | undefined {
  if (value === undefined || value === null) return value;
  const date = new Date(value);
  if (date.getTime() <= Date.now()) throw new AppError('ERR_VALIDATION', 'expiresAt must be in the future', [{ field, message: 'must be in the future' }]);
  return date;
}

const kindFromId = <K extends string>(id: string, kinds: readonly K[]): K | undefined =>
  kinds.find((k) => id.startsWith(`${ID_PREFIX[k as keyof typeof ID_PREFIX]}_`));

export function registerGrantRoutes(app: FastifyInstance, deps: { runMutation: RunMutation; db: Db }): void {
  const tags = ['Grants'];
  const idParams = StrictObject({ id: Id('grant') });
  const who = (request: { principal: Parameters<typeof actorOf>[0] | null; id: string }) =>
    ({ actor: actorOf(request.principal!), requestId: request.id });

  app.post('/api/v1/grants', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'createGrant', tags, summary: 'Grant (allow) or explicitly deny access',
      body: StrictObject({
        subject: SubjectRef, resource: ResourceRef, effect: Effect,
        expiresAt: Type.Optional(Timestamp), reason: Type.Optional(Reason),
      }),
      response: { 201: Type.Ref('Grant'), ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const body = request.body as {
      subject: { kind: SubjectKind; id: string }; resource: { kind: ResourceKind; id: string; toolPattern?: string };
      effect: 'allow' | 'deny'; expiresAt?: string; reason?: string;
    };
    const expiresAt = futureDate(body.expiresAt, 'body/expiresAt');
    const principal = request.principal!;
    const view = await deps.runMutation(who(request), async (ctx) => {
      await requireReferences(ctx.tx, body.subject, body.resource);
      const grant = await repositories.grants.insert(ctx.tx, {
        id: newId('grant'), subject: body.subject, resource: body.resource, effect: body.effect,
        expiresAt, reason: body.reason, grantedBy: actorOf(principal),
      });
      const shown = grantView(grant);
      await ctx.audit({ action: 'grant.create', targetKind: 'grant', targetId: grant.id, after: shown });
      await ctx.changed({ entity: 'grant', id: grant.id });
      return shown;
    });
    return reply.status(201).header('location', `/api/v1/grants/${view.id}`).send(view);
  });

  app.get('/api/v1/grants', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'listGrants', tags, summary: 'List grants',
      querystring: StrictObject({
        ...PageQuery,
        subjectKind: Type.Optional(Type.Union([Type.Literal('person'), Type.Literal('team'), Type.Literal('department')])),
        subjectId: Type.Optional(Type.String({ maxLength: 40, pattern: '^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$' })),
        resourceKind: Type.Optional(Type.Union([Type.Literal('tool'), Type.Literal('skill'), Type.Literal('knowledge')])),
        resourceId: Type.Optional(Type.String({ maxLength: 40, pattern: '^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$' })),
        effect: Type.Optional(Effect),
        includeExpired: Type.Optional(Type.Boolean({ default: true })),
      }),
      response: { 200: PageOf(Type.Ref('Grant')), ...errorResponses() },
    },
  }, async (request) => {
    const q = request.query as {
      cursor?: string; limit?: number; subjectKind?: SubjectKind; subjectId?: string; resourceKind?: ResourceKind;
      resourceId?: string; effect?: 'allow' | 'deny'; includeExpired?: boolean;
    };
    const subjectKind = q.subjectKind ?? (q.subjectId ? kindFromId(q.subjectId, ['person', 'team', 'department'] as const) : undefined);
    const resourceKind = q.resourceKind ?? (q.resourceId ? kindFromId(q.resourceId, ['tool', 'skill', 'knowledge'] as const) : undefined);
    if ((q.subjectId && !subjectKind) || (q.resourceId && !resourceKind)) {
      throw new AppError('ERR_VALIDATION', 'subjectId or resourceId is not an id of a subject or resource');
    }
    const filter: GrantFilter = {
      subject: subjectKind ? { kind: subjectKind, id: q.subjectId } : undefined,
      resource: resourceKind ? { kind: resourceKind, id: q.resourceId } : undefined,
      effect: q.effect,
      activeAt: q.includeExpired === false ? new Date() : undefined,
    };
    const page = await repositories.grants.list(deps.db, filter, { after: decodeCursor(q.cursor), limit: q.limit ?? 50 });
    const now = Date.now();
    return { items: page.items.map((g) => grantView(g, now)), nextCursor: encodeCursor(page.nextAfter) };
  });

  app.get('/api/v1/grants/:id', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'getGrant', tags, summary: 'Get a grant', params: idParams,
      response: { 200: Type.Ref('Grant'), ...errorResponses(404) },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const grant = await repositories.grants.get(deps.db, id);
    if (!grant) throw notFound('Grant', id);
    return grantView(grant);
  });

  app.patch('/api/v1/grants/:id', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'updateGrant', tags, summary: 'Change a grant\'s expiry or reason',
      params: idParams,
      body: StrictObject({ expiresAt: Type.Optional(Nullable(Timestamp)), reason: Type.Optional(Nullable(Reason)) }, { minProperties: 1 }),
      response: { 200: Type.Ref('Grant'), ...errorResponses(404) },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const body = request.body as { expiresAt?: string | null; reason?: string | null };
    const expiresAt = futureDate(body.expiresAt, 'body/expiresAt');
    return deps.runMutation(who(request), async (ctx) => {
      const before = await repositories.grants.get(ctx.tx, id);
      if (!before) throw notFound('Grant', id);
      const patch: { expiresAt?: Date | null; reason?: string | null } = {};
      if (expiresAt !== undefined) patch.expiresAt = expiresAt;
      if (body.reason !== undefined) patch.reason = body.reason;
      const after = await repositories.grants.update(ctx.tx, id, patch);
      if (!after) throw notFound('Grant', id);
      const shown = grantView(after);
      await ctx.audit({ action: 'grant.update', targetKind: 'grant', targetId: id, before: grantView(before), after: shown });
      await ctx.changed({ entity: 'grant', id });
      return shown;
    });
  });

  app.delete('/api/v1/grants/:id', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'deleteGrant', tags, summary: 'Revoke (delete) a grant', params: idParams,
      response: { 204: Type.Null({ description: 'Revoked' }), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await deps.runMutation(who(request), async (ctx) => {
      const removed = await repositories.grants.delete(ctx.tx, id);
      if (!removed) throw notFound('Grant', id);
      await ctx.audit({ action: 'grant.delete', targetKind: 'grant', targetId: id, before: grantView(removed) });
      await ctx.changed({ entity: 'grant', id });
    });
    return reply.status(204).send();
  });
}
