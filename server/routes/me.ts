// The signed-in person's own corner of the API: who they are, their assistant, and the pairing link
// that opens it. Nothing here takes an id: everything is found from the session. Also the public
// JWKS that assistants verify pairing links with.
import { Type } from 'typebox';
import { inArray } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, repositories, schema, type Db } from '../../core/index.ts';
import { pairingRefusal, recordPairingLink, type TokenService } from '../../token-service/index.ts';
import { actorOf, EVERYONE, type Principal } from '../auth/auth-plugin.ts';
import { errorResponses, Id, Nullable, StrictObject, Timestamp } from '../schemas/common.ts';
import type { RunMutation } from '../services/mutations.ts';
import { AssistantStatus } from './assistants.ts';

export interface MeRouteDependencies {
  db: Db;
  runMutation: RunMutation;
  tokens: Pick<TokenService, 'pairing'>;
  /** The control plane's issuer: its public URL. */
  issuer: string;
}

const MeView = Type.Object({
  id: Id('person'), email: Type.String(), displayName: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  role: Type.Union(EVERYONE.map((r) => Type.Literal(r))),
  teams: Type.Array(Type.Object({ id: Id('team'), name: Type.String() })),
  assistant: Nullable(Type.Object({
    id: Id('assistant'), status: AssistantStatus, statusMessage: Nullable(Type.String()),
    pairable: Type.Boolean({ description: 'Whether a pairing link can be made for it now' }),
  })),
});

const PairingLinkView = Type.Object({
  url: Type.String({ description: 'Open it at once: it works once, within its lifetime' }),
  expiresAt: Timestamp,
});

type SignedIn = Extract<Principal, { kind: 'session' }>;

/** Only people have a "me": an API token is refused as if the route were not there. */
function signedInPerson(request: FastifyRequest): SignedIn {
  const principal = request.principal;
  if (principal?.kind !== 'session') throw new AppError('ERR_NOT_FOUND', 'this is for signed-in people; an API token has no person');
  return principal;
}

export function registerMeRoutes(app: FastifyInstance, deps: MeRouteDependencies): void {
  const tags = ['Me'];

  app.get('/api/v1/me', {
    onRequest: app.authorize(...EVERYONE),
    schema: {
      operationId: 'getMe', tags, summary: 'The signed-in person, their teams and their assistant',
      response: { 200: MeView, ...errorResponses(404) },
    },
  }, async (request) => {
    const principal = signedInPerson(request);
    const person = await repositories.people.get(deps.db, principal.personId);
    if (!person) throw new AppError('ERR_NOT_FOUND', 'your person record no longer exists; sign in again');
    const teamIds = await repositories.memberships.teamIdsOf(deps.db, person.id);
    const teams = teamIds.length === 0 ? [] : await deps.db.select({ id: schema.teams.id, name: schema.teams.name })
      .from(schema.teams).where(inArray(schema.teams.id, teamIds)).orderBy(schema.teams.name);
    const assistant = await repositories.assistants.getByPerson(deps.db, person.id);
    return {
      id: person.id, email: person.email, displayName: person.displayName, status: person.status, role: principal.role, teams,
      assistant: assistant ? {
        id: assistant.id, status: assistant.status, statusMessage: assistant.statusMessage,
        pairable: pairingRefusal(person, assistant) === null,
      } : null,
    };
  });

  app.post('/api/v1/me/assistant/pairing', {
    onRequest: app.authorize(...EVERYONE),
    schema: {
      operationId: 'createPairingLink', tags,
      summary: 'A single-use link, valid for 60 seconds, that opens the signed-in person\'s own assistant',
      body: StrictObject({}, { description: 'Empty: the assistant is always the caller\'s own' }),
      response: { 201: PairingLinkView, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const principal = signedInPerson(request);
    const person = await repositories.people.get(deps.db, principal.personId);
    if (!person) throw new AppError('ERR_NOT_FOUND', 'your person record no longer exists; sign in again');
    const assistant = await repositories.assistants.getByPerson(deps.db, person.id);
    if (!assistant) throw new AppError('ERR_CONFLICT', 'cannot open your assistant: you do not have one yet');
    // Signed before the transaction (the signing key may need a read of its own); recorded and
    // audited in one commit; handed out only after that commit.
    const link = await deps.tokens.pairing.mintPairingLink({ person, assistant, issuer: deps.issuer });
    await deps.runMutation({ actor: actorOf(principal), requestId: request.id }, async (ctx) => {
      await recordPairingLink(ctx.tx, link);
      await ctx.audit({
        action: 'pairing.mint', targetKind: 'assistant', targetId: assistant.id,
        after: { jti: link.jti, personId: link.personId, expiresAt: link.expiresAt.toISOString() },
      });
    });
    return reply.status(201).header('cache-control', 'no-store').send({ url: link.url, expiresAt: link.expiresAt.toISOString() });
  });
}
