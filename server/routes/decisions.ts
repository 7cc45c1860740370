// Decisions: ask the policy engine whether a person may do something, and why.
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { notFound, repositories, schema, type AccessQuestion, type AccessService, type Db } from '../../core/index.ts';
import { ACTIONS } from '../../policies/index.ts';
import type { PolicyGrant } from '../../policies/types.ts';
import { ALL_ROLES } from '../auth/auth-plugin.ts';
import { errorResponses, Id, Nullable, StrictObject } from '../schemas/common.ts';
import { ToolPattern } from './grants.ts';

const Action = Type.Union(ACTIONS.map((a) => Type.Literal(a)));
const ResourceKind = Type.Union([Type.Literal('tool'), Type.Literal('skill'), Type.Literal('knowledge')]);

const DecisionRequest = StrictObject({
  subject: StrictObject({ personId: Id('person') }),
  assistantId: Type.Optional(Id('assistant')),
  action: Action,
  resource: StrictObject({
    kind: ResourceKind,
    id: Type.String({ maxLength: 40, pattern: '^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$' }),
    toolName: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_.:/@+~-]+$' })),
    arguments: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.Unknown(), { maxProperties: 64 })),
  }),
});

export const DecisionView = Type.Object({
  allow: Type.Boolean(),
  reasons: Type.Array(Type.String()),
  grants: Type.Array(Type.String(), { description: 'Ids of the grants that decided' }),
}, { $id: 'Decision' });

const ConsideredGrant = Type.Object({
  id: Type.String(),
  effect: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
  subject: Type.String({ description: 'Who the grant is for, in words' }),
  toolPattern: Nullable(ToolPattern),
  expiresAt: Nullable(Type.String()),
  decisive: Type.Boolean({ description: 'Whether this grant decided the outcome' }),
});

export const ExplanationView = Type.Object({
  allow: Type.Boolean(),
  reasons: Type.Array(Type.String()),
  grants: Type.Array(Type.String()),
  summary: Type.String({ description: 'One sentence a person can read' }),
  subject: Type.Object({
    personId: Type.String(), displayName: Nullable(Type.String()), email: Nullable(Type.String()),
    status: Type.String(), teams: Type.Array(Type.String()), department: Nullable(Type.String()),
  }),
  resource: Type.Object({ kind: Type.String(), id: Type.String(), name: Nullable(Type.String()), toolName: Nullable(Type.String()) }),
  considered: Type.Array(ConsideredGrant, { description: 'Every grant that could apply to this person and resource' }),
}, { $id: 'DecisionExplanation' });

export const AccessWhoView = Type.Object({
  resource: Type.Object({ kind: Type.String(), id: Type.String(), name: Type.String() }),
  action: Type.String(),
  toolName: Nullable(Type.String()),
  items: Type.Array(Type.Object({
    personId: Type.String(), email: Type.String(), displayName: Type.String(),
    grants: Type.Array(Type.String(), { description: 'The grants that allow it' }),
  })),
  evaluated: Type.Integer({ description: 'How many active people were decided' }),
}, { $id: 'AccessWho' });

const WhoQuery = StrictObject({
  kind: ResourceKind,
  id: Type.String({ maxLength: 40, pattern: '^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$' }),
  action: Type.Optional(Action),
  toolName: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_.:/@+~-]+$' })),
});

const DEFAULT_ACTION = { tool: 'tools.list', skill: 'skills.read', knowledge: 'knowledge.read' } as const;

type DecisionBody = {
  subject: { personId: string }; assistantId?: string; action: AccessQuestion['action'];
  resource: AccessQuestion['resource'];
};

const question = (body: DecisionBody): AccessQuestion =>
  ({ personId: body.subject.personId, action: body.action, resource: body.resource, assistantId: body.assistantId });

const RESOURCE_REPOS = { tool: repositories.tools, skill: repositories.skills, knowledge: repositories.knowledge };
const RESOURCE_WORDS = { tool: 'tool', skill: 'skill', knowledge: 'knowledge collection' };

export function registerDecisionRoutes(app: FastifyInstance, deps: { access: AccessService; db: Db }): void {
  const tags = ['Decisions'];
  // Every active person is decided with the same policy the gateway uses: the answer is who the policy
  // lets through today, custom rules included, not a reading of the grants table.
  app.get('/api/v1/access/who', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'whoCanAccess', tags,
      summary: 'The people the policy allows to reach a resource (tools.list for a tool unless an action is given)',
      querystring: WhoQuery, response: { 200: Type.Ref('AccessWho'), ...errorResponses() },
    },
  }, async (request) => {
    const query = request.query as { kind: 'tool' | 'skill' | 'knowledge'; id: string; action?: AccessQuestion['action']; toolName?: string };
    const resource = await RESOURCE_REPOS[query.kind].get(deps.db, query.id);
    if (!resource) throw notFound(RESOURCE_WORDS[query.kind], query.id);
    const action = query.action ?? DEFAULT_ACTION[query.kind];
    const people = await deps.db.select({ id: schema.people.id, email: schema.people.email, displayName: schema.people.displayName })
      .from(schema.people).where(eq(schema.people.status, 'active')).orderBy(schema.people.email);
    const items = [];
    for (const person of people) {
      const decision = deps.access.decide({
        personId: person.id, action, resource: { kind: query.kind, id: query.id, ...(query.toolName ? { toolName: query.toolName } : {}) },
      });
      if (decision.allow) items.push({ personId: person.id, email: person.email, displayName: person.displayName, grants: decision.grants });
    }
    return { resource: { kind: query.kind, id: query.id, name: resource.name }, action, toolName: query.toolName ?? null, items, evaluated: people.length };
  });

  app.post('/api/v1/decisions', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'decide', tags, summary: 'Decide whether a person may perform an action on a resource',
      body: DecisionRequest, response: { 200: Type.Ref('Decision'), ...errorResponses() },
    },
  }, (request) => deps.access.decide(question(request.body as DecisionBody)));

  app.post('/api/v1/decisions/explain', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'explainDecision', tags, summary: 'Decide, and explain in words which grants and rules decided',
      body: DecisionRequest, response: { 200: Type.Ref('DecisionExplanation'), ...errorResponses() },
    },
  }, async (request) => {
    const body = request.body as DecisionBody;
    const { decision, input } = deps.access.decideWithInput(question(body));
    const [person, resource, teams, department] = await Promise.all([
      repositories.people.get(deps.db, body.subject.personId),
      RESOURCE_REPOS[body.resource.kind].get(deps.db, body.resource.id),
      Promise.all(input.subject.teams.map((id) => repositories.teams.get(deps.db, id))),
      input.subject.departmentId ? repositories.departments.get(deps.db, input.subject.departmentId) : undefined,
    ]);
    const teamNames = new Map(teams.filter((t) => t !== undefined).map((t) => [t.id, t.name]));
    const subjectWords = (g: PolicyGrant) => {
      if (g.subject.kind === 'person') return `${person?.displayName ?? g.subject.id} personally`;
      if (g.subject.kind === 'team') return `team ${teamNames.get(g.subject.id) ?? g.subject.id}`;
      return `department ${department?.name ?? g.subject.id}`;
    };
    const who = person ? `${person.displayName} <${person.email}>` : `person ${body.subject.personId}`;
    const what = `${RESOURCE_WORDS[body.resource.kind]} ${resource?.name ?? body.resource.id}` +
      (body.resource.toolName ? ` (tool ${body.resource.toolName})` : '');
    const decisive = new Set(decision.grants);
    const deciders = input.grants.filter((g) => decisive.has(g.id)).map((g) => `${g.effect === 'allow' ? 'an allow' : 'a deny'} for ${subjectWords(g)} (${g.id})`);
    const summary = decision.allow
      ? `${who} may ${body.action} on ${what}, because of ${deciders.join(' and ')}.`
      : `${who} may not ${body.action} on ${what}: ${decision.reasons[0] ?? 'denied by default'}.`;
    return {
      ...decision,
      summary,
      subject: {
        personId: body.subject.personId, displayName: person?.displayName ?? null, email: person?.email ?? null,
        status: input.subject.status, teams: input.subject.teams.map((id) => teamNames.get(id) ?? id),
        department: department?.name ?? null,
      },
      resource: { kind: body.resource.kind, id: body.resource.id, name: resource?.name ?? null, toolName: body.resource.toolName ?? null },
      considered: input.grants.map((g) => ({
        id: g.id, effect: g.effect, subject: subjectWords(g), toolPattern: g.resource.toolPattern ?? null,
        expiresAt: g.expiresAt === null ? null : new Date(g.expiresAt).toISOString(), decisive: decisive.has(g.id),
      })),
    };
  });
}
