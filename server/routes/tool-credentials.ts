// A tool's upstream secrets, write-only: an admin sets the tool's own secret or a person's, and a
// signed-in person sets their own for a `per_person` tool. Each PUT seals the secret (AES-256-GCM
// envelope under the key-encryption key, bound to its row) and adds a version; reads show the
// versions, never a secret. Audit events carry the version, never the secret.
import { Type } from 'typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, newId, notFound, repositories, type AccessService, type Db } from '../../core/index.ts';
import {
  addCredentialVersion, credentialVersions, deleteCredentialVersions, lockTool, sealSecret, secretSourceOf,
} from '../../mcp-gateway/credentials/index.ts';
import type { KeyEncryptor } from '../../token-service/index.ts';
import { actorOf, ALL_ROLES, EVERYONE, type Principal } from '../auth/auth-plugin.ts';
import { errorResponses, Id, StrictObject, Timestamp } from '../schemas/common.ts';
import type { RunMutation } from '../services/mutations.ts';

export interface ToolCredentialRouteDependencies {
  db: Db;
  runMutation: RunMutation;
  encryptor: Pick<KeyEncryptor, 'encrypt'>;
  /** Whether a person may use a tool: people may only set credentials for tools they can reach. */
  access: Pick<AccessService, 'decide'>;
}

const SecretBody = StrictObject({
  secret: Type.String({
    minLength: 1, maxLength: 8192, pattern: '^[\\u0021-\\u007e]([\\u0020-\\u007e]*[\\u0021-\\u007e])?$',
    description: 'The secret: a token, header value or client secret. Visible ASCII (it travels in an HTTP header), '
      + 'no leading or trailing spaces. Stored encrypted and never shown again',
  }),
});

const VersionsView = Type.Object({
  versions: Type.Array(Type.Object({
    version: Type.Integer(), createdAt: Timestamp, createdBy: Type.String({ description: 'Who set it: api-token:… or person:…' }),
  }), { description: 'Newest first; the secrets themselves are never shown' }),
});

type Owner = { kind: 'tool' } | { kind: 'person'; personId: string };
type SignedIn = Extract<Principal, { kind: 'session' }>;

const noContent = { 204: Type.Null({ description: 'Done' }) };

function signedInPerson(request: FastifyRequest): SignedIn {
  const principal = request.principal;
  if (principal?.kind !== 'session') throw new AppError('ERR_NOT_FOUND', 'this is for signed-in people; an API token has no person');
  return principal;
}

export function registerToolCredentialRoutes(app: FastifyInstance, deps: ToolCredentialRouteDependencies): void {
  const tags = ['Tool credentials'];
  const toolParams = StrictObject({ id: Id('tool', 'The tool\'s id') });
  const personParams = StrictObject({ id: Id('tool', 'The tool\'s id'), personId: Id('person', 'The person\'s id') });
  const personOf = (owner: Owner) => (owner.kind === 'person' ? owner.personId : null);

  /** Seals outside the transaction (a KMS-backed encryptor is a network call), then versions and audits inside it. */
  async function setSecret(request: FastifyRequest, toolId: string, owner: Owner, secret: string): Promise<void> {
    const principal = request.principal!;
    const personId = personOf(owner);
    const id = newId('toolCredential');
    const sealed = await sealSecret(deps.encryptor, id, secret);
    await deps.runMutation({ actor: actorOf(principal), requestId: request.id }, async (ctx) => {
      const tool = await lockTool(ctx.tx, toolId);
      if (!tool) throw notFound('Tool', toolId);
      if (personId !== null && !(await repositories.people.get(ctx.tx, personId))) throw notFound('Person', personId);
      const source = secretSourceOf(tool.authKind);
      if (source !== owner.kind) {
        throw new AppError('ERR_CONFLICT', source === 'none'
          ? `tool ${toolId} authenticates with kind ${tool.authKind}, which takes no credential`
          : source === 'person'
            ? `tool ${toolId} uses per-person credentials: set a person's credential instead`
            : `tool ${toolId} authenticates with kind ${tool.authKind}, which takes the tool's own credential, not a person's`);
      }
      const version = await addCredentialVersion(ctx.tx, { id, toolId, personId, sealed, createdBy: actorOf(principal) });
      await ctx.audit({ action: 'tool.credentials.set', targetKind: 'tool', targetId: toolId, after: { personId, version } });
    });
  }

  async function versionsOf(toolId: string, owner: Owner) {
    if (!(await repositories.tools.get(deps.db, toolId))) throw notFound('Tool', toolId);
    const personId = personOf(owner);
    if (personId !== null && !(await repositories.people.get(deps.db, personId))) throw notFound('Person', personId);
    const versions = await credentialVersions(deps.db, toolId, personId);
    return { versions: versions.map((v) => ({ version: v.version, createdAt: v.createdAt.toISOString(), createdBy: v.createdBy })) };
  }

  async function deleteSecret(request: FastifyRequest, toolId: string, owner: Owner): Promise<void> {
    const personId = personOf(owner);
    await deps.runMutation({ actor: actorOf(request.principal!), requestId: request.id }, async (ctx) => {
      if (!(await lockTool(ctx.tx, toolId))) throw notFound('Tool', toolId);
      if (personId !== null && !(await repositories.people.get(ctx.tx, personId))) throw notFound('Person', personId);
      const removed = await deleteCredentialVersions(ctx.tx, toolId, personId);
      // Deleting what is not there changes nothing and is not an event.
      if (removed.length === 0) return;
      await ctx.audit({ action: 'tool.credentials.delete', targetKind: 'tool', targetId: toolId, before: { personId, versions: removed } });
    });
  }

  /** A person sees only tools they may use: any other is answered as if it did not exist. */
  function ownTool(request: FastifyRequest): { toolId: string; personId: string } {
    const { personId } = signedInPerson(request);
    const { id: toolId } = request.params as { id: string };
    const decision = deps.access.decide({ personId, action: 'tools.list', resource: { kind: 'tool', id: toolId } });
    if (!decision.allow) throw notFound('Tool', toolId);
    return { toolId, personId };
  }

  app.put('/api/v1/tools/:id/credentials', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'setToolCredential', tags, params: toolParams, body: SecretBody,
      summary: 'Set the tool\'s own upstream secret (bearer, header, client_credentials, token_exchange); adds a version',
      response: { ...noContent, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await setSecret(request, id, { kind: 'tool' }, (request.body as { secret: string }).secret);
    return reply.status(204).send();
  });

  app.get('/api/v1/tools/:id/credentials', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'listToolCredentialVersions', tags, params: toolParams,
      summary: 'The versions of the tool\'s own secret (never the secret)',
      response: { 200: VersionsView, ...errorResponses(404) },
    },
  }, async (request) => versionsOf((request.params as { id: string }).id, { kind: 'tool' }));

  app.delete('/api/v1/tools/:id/credentials', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'deleteToolCredential', tags, params: toolParams, summary: 'Delete every version of the tool\'s own secret',
      response: { ...noContent, ...errorResponses(404) },
    },
  }, async (request, reply) => {
    await deleteSecret(request, (request.params as { id: string }).id, { kind: 'tool' });
    return reply.status(204).send();
  });

  app.put('/api/v1/tools/:id/credentials/people/:personId', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'setPersonToolCredential', tags, params: personParams, body: SecretBody,
      summary: 'Set a person\'s own upstream token for a per_person tool; adds a version',
      response: { ...noContent, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { id, personId } = request.params as { id: string; personId: string };
    await setSecret(request, id, { kind: 'person', personId }, (request.body as { secret: string }).secret);
    return reply.status(204).send();
  });

  app.get('/api/v1/tools/:id/credentials/people/:personId', {
    onRequest: app.authorize(...ALL_ROLES),
    schema: {
      operationId: 'listPersonToolCredentialVersions', tags, params: personParams,
      summary: 'The versions of a person\'s secret for a tool (never the secret)',
      response: { 200: VersionsView, ...errorResponses(404) },
    },
  }, async (request) => {
    const { id, personId } = request.params as { id: string; personId: string };
    return versionsOf(id, { kind: 'person', personId });
  });

  app.delete('/api/v1/tools/:id/credentials/people/:personId', {
    onRequest: app.authorize('admin'),
    schema: {
      operationId: 'deletePersonToolCredential', tags, params: personParams,
      summary: 'Delete every version of a person\'s secret for a tool', response: { ...noContent, ...errorResponses(404) },
    },
  }, async (request, reply) => {
    const { id, personId } = request.params as { id: string; personId: string };
    await deleteSecret(request, id, { kind: 'person', personId });
    return reply.status(204).send();
  });

  app.put('/api/v1/me/tools/:id/credentials', {
    onRequest: app.authorize(...EVERYONE),
    schema: {
      operationId: 'setMyToolCredential', tags, params: toolParams, body: SecretBody,
      summary: 'Set your own upstream token for a per_person tool you may use; adds a version',
      response: { ...noContent, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const { toolId, personId } = ownTool(request);
    await setSecret(request, toolId, { kind: 'person', personId }, (request.body as { secret: string }).secret);
    return reply.status(204).send();
  });

  app.get('/api/v1/me/tools/:id/credentials', {
    onRequest: app.authorize(...EVERYONE),
    schema: {
      operationId: 'listMyToolCredentialVersions', tags, params: toolParams,
      summary: 'The versions of your own secret for a tool (never the secret)', response: { 200: VersionsView, ...errorResponses(404) },
    },
  }, async (request) => {
    const { toolId, personId } = ownTool(request);
    return versionsOf(toolId, { kind: 'person', personId });
  });

  app.delete('/api/v1/me/tools/:id/credentials', {
    onRequest: app.authorize(...EVERYONE),
    schema: {
      operationId: 'deleteMyToolCredential', tags, params: toolParams,
      summary: 'Delete every version of your own secret for a tool, even one you may no longer use',
      response: { ...noContent, ...errorResponses(404) },
    },
  }, async (request, reply) => {
    // Withdrawing your own secret needs no grant: losing access must not strand it.
    const { personId } = signedInPerson(request);
    const toolId = (request.params as { id: string }).id;
    await deleteSecret(request, toolId, { kind: 'person', personId });
    return reply.status(204).send();
  });
}
