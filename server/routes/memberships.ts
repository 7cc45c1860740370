// Team memberships: a person is in a team or not. PUT is idempotent; the audit records real changes.
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { notFound, repositories, type Db, type Membership } from '../../core/index.ts';
import { actorOf, ALL_ROLES } from '../auth/auth-plugin.ts';
import { decodeCursor, encodeCursor, errorResponses, Id, PageOf, PageQuery, StrictObject, Timestamp } from '../schemas/common.ts';
import type { RunMutation } from '../services/mutations.ts';

export const MembershipView = Type.Object({
  teamId: Id('team'), personId: Id('person'),
  source: Type.Union([Type.Literal('api'), Type.Literal('oidc')], { description: 'oidc: follows the person\'s identity-provider groups at each sign-in' }),
  createdAt: Timestamp,
}, { $id: 'Membership' });

const view = (m: Membership) => ({ teamId: m.teamId, personId: m.personId, source: m.source, createdAt: m.createdAt.toISOString() });
const MemberParams = StrictObject({ teamId: Id('team'), personId: Id('person') });

async function requireBoth(tx: Db, teamId: string, personId: string): Promise<void> {
  if (!(await repositories.teams.get(tx, teamId))) throw notFound('Team', teamId);
  if (!(await repositories.people.get(tx, personId))) throw notFound('Person', personId);
}

export function registerMembershipRoutes(app: FastifyInstance, deps: { runMutation: RunMutation; db: Db }): void {
  const tags = ['Directory'];
  app.get('/api/v1/teams/:teamId/members', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'listTeamMembers', tags, summary: 'List the members of a team',
      params: StrictObject({ teamId: Id('team') }), querystring: StrictObject(PageQuery),
      response: { 200: PageOf(Type.Ref('Membership')), ...errorResponses(404) },
    },
  }, async (request) => {
    const { teamId } = request.params as { teamId: string };
    const { cursor, limit } = request.query as { cursor?: string; limit?: number };
    if (!(await repositories.teams.get(deps.db, teamId))) throw notFound('Team', teamId);
    const page = await repositories.memberships.list(deps.db, { teamId }, { after: decodeCursor(cursor), limit: limit ?? 50 });
    return { items: page.items.map(view), nextCursor: encodeCursor(page.nextAfter) };
  });

  app.get('/api/v1/people/:personId/teams', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'listPersonTeams', tags, summary: 'List the teams a person belongs to',
      params: StrictObject({ personId: Id('person') }), querystring: StrictObject(PageQuery),
      response: { 200: PageOf(Type.Ref('Membership')), ...errorResponses(404) },
    },
  }, async (request) => {
    const { personId } = request.params as { personId: string };
    const { cursor, limit } = request.query as { cursor?: string; limit?: number };
    if (!(await repositories.people.get(deps.db, personId))) throw notFound('Person', personId);
    const page = await repositories.memberships.list(deps.db, { personId }, { after: decodeCursor(cursor), limit: limit ?? 50 });
    return { items: page.items.map(view), nextCursor: encodeCursor(page.nextAfter) };
  });

  app.get('/api/v1/teams/:teamId/members/:personId', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'getTeamMember', tags, summary: 'Check whether a person is in a team',
      params: MemberParams, response: { 200: Type.Ref('Membership'), ...errorResponses(404) },
    },
  }, async (request) => {
    const { teamId, personId } = request.params as { teamId: string; personId: string };
    const membership = await repositories.memberships.get(deps.db, teamId, personId);
    if (!membership) throw notFound('Membership of person', `${personId} in team ${teamId}`);
    return view(membership);
  });

  app.put('/api/v1/teams/:teamId/members/:personId', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'addTeamMember', tags, summary: 'Add a person to a team (idempotent)',
      params: MemberParams, response: { 204: Type.Null({ description: 'The person is a member' }), ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { teamId, personId } = request.params as { teamId: string; personId: string };
    await deps.runMutation({ actor: actorOf(request.principal!), requestId: request.id }, async (ctx) => {
      await requireBoth(ctx.tx, teamId, personId);
      if (!(await repositories.memberships.add(ctx.tx, teamId, personId))) return;
      await ctx.audit({ action: 'membership.create', targetKind: 'membership', targetId: `${teamId}/${personId}`, after: { teamId, personId } });
      await ctx.changed({ entity: 'person', id: personId });
    });
    return reply.status(204).send();
  });

  app.delete('/api/v1/teams/:teamId/members/:personId', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'removeTeamMember', tags, summary: 'Remove a person from a team',
      params: MemberParams, response: { 204: Type.Null({ description: 'Removed' }), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const { teamId, personId } = request.params as { teamId: string; personId: string };
    await deps.runMutation({ actor: actorOf(request.principal!), requestId: request.id }, async (ctx) => {
      if (!(await repositories.memberships.remove(ctx.tx, teamId, personId))) {
        throw notFound('Membership of person', `${personId} in team ${teamId}`);
      }
      await ctx.audit({ action: 'membership.delete', targetKind: 'membership', targetId: `${teamId}/${personId}`, before: { teamId, personId } });
      await ctx.changed({ entity: 'person', id: personId });
    });
    return reply.status(204).send();
  });
}
