// Revoking a person (or an assistant, which revokes its owner): one transaction raises the person's
// revocation epoch, ends their sessions, refresh-token families and pending pairing links, audits the
// revoke and notifies every replica. After the commit this replica applies the epoch itself, and the
// answer waits until every registered replica of every service has acknowledged it, or has been silent
// long enough to have turned stale (`EpochFeed.propagated`): once the call returns, no replica accepts
// the person's older tokens.
// Per-assistant revocation would need an epoch of its own in a claim; today `sv` is the owner's.
import { Type } from 'typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound, publishEpoch, raiseRevocationEpoch, repositories, type EpochFeed } from '../../core/index.ts';
import { actorOf } from '../auth/auth-plugin.ts';
import { errorResponses, Id, StrictObject } from '../schemas/common.ts';
import type { MutationContext, RunMutation } from '../services/mutations.ts';
import { revokeSessionsOf } from '../identity/sessions.ts';
import { revokeRefreshFamiliesOf } from '../identity/refresh-tokens.ts';
import { revokePairingLinksOf } from '../../token-service/index.ts';

export const RevocationView = Type.Object({
  personId: Id('person'),
  epoch: Type.Integer({ minimum: 1, description: 'The person\'s new revocation epoch; tokens with a lower `sv` are refused' }),
}, { $id: 'Revocation' });

const RevokeBody = StrictObject({
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Why; recorded in the audit event' })),
}, { description: 'May be empty' });

async function revokePerson(ctx: MutationContext, personId: string): Promise<number> {
  const epoch = await raiseRevocationEpoch(ctx.tx, personId);
  await revokeSessionsOf(ctx.tx, personId);
  await revokeRefreshFamiliesOf(ctx.tx, personId);
  await revokePairingLinksOf(ctx.tx, personId);
  await publishEpoch(ctx.tx, personId, epoch);
  return epoch;
}

export function registerRevocationRoutes(
  app: FastifyInstance,
  deps: { runMutation: RunMutation; epochs: Pick<EpochFeed, 'apply' | 'propagated'> },
): void {
  const answer = async (request: FastifyRequest, personId: string, epoch: number) => {
    deps.epochs.apply(personId, epoch);
    const { waitedOut } = await deps.epochs.propagated(personId, epoch);
    if (waitedOut.length) {
      request.log.warn({ personId, epoch, waitedOut }, 'replicas did not acknowledge the revocation; answered after their staleness bound');
    }
    return { personId, epoch };
  };

  app.post('/api/v1/people/:id/revoke', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'revokePerson', tags: ['Directory'],
      summary: 'Revoke every token, session and pairing link of a person, on every replica',
      params: StrictObject({ id: Id('person') }), body: RevokeBody,
      response: { 200: Type.Ref('Revocation'), ...errorResponses(404) },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const { reason } = request.body as { reason?: string };
    const epoch = await deps.runMutation({ actor: actorOf(request.principal!), requestId: request.id }, async (ctx) => {
      if (!(await repositories.people.get(ctx.tx, id))) throw notFound('Person', id);
      const raised = await revokePerson(ctx, id);
      await ctx.audit({ action: 'person.revoke', targetKind: 'person', targetId: id, before: { epoch: raised - 1 }, after: { epoch: raised, reason: reason ?? null } });
      return raised;
    });
    return answer(request, id, epoch);
  });

  app.post('/api/v1/assistants/:id/revoke', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'revokeAssistant', tags: ['Assistants'],
      summary: 'Revoke an assistant by revoking its owner (tokens carry the owner\'s epoch)',
      params: StrictObject({ id: Id('assistant') }), body: RevokeBody,
      response: { 200: Type.Ref('Revocation'), ...errorResponses(404) },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const { reason } = request.body as { reason?: string };
    const { personId, epoch } = await deps.runMutation({ actor: actorOf(request.principal!), requestId: request.id }, async (ctx) => {
      const assistant = await repositories.assistants.get(ctx.tx, id);
      if (!assistant) throw notFound('Assistant', id);
      const raised = await revokePerson(ctx, assistant.personId);
      await ctx.audit({
        action: 'assistant.revoke', targetKind: 'assistant', targetId: id,
        before: { personId: assistant.personId, epoch: raised - 1 }, after: { personId: assistant.personId, epoch: raised, reason: reason ?? null },
      });
      return { personId: assistant.personId, epoch: raised };
    });
    return answer(request, personId, epoch);
  });
}
