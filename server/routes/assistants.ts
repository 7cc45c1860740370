// Assistants: one per person. The record holds the status the operator reports on the person's
// `Assistant` resource; without a cluster configured, every assistant says so and stays pending.
import { Type } from 'typebox';
import { sql } from 'drizzle-orm';
import { notFound, repositories, schema, type Assistant } from '../../core/index.ts';
import { API_VERSION, KIND } from '../../operator/index.ts';
import { Id, Nullable, StrictObject, Timestamp } from '../schemas/common.ts';
import type { EntitySpec } from './entity-routes.ts';

export const AssistantStatus = Type.Union(
  ['pending', 'provisioning', 'ready', 'suspended', 'failed', 'deleting'].map((s) => Type.Literal(s)),
);

export const AssistantView = Type.Object({
  id: Id('assistant'), personId: Id('person'), status: AssistantStatus, statusMessage: Nullable(Type.String()),
  endpoint: Nullable(Type.String()),
  /** The assistant's `Assistant` resource in the cluster, or null when no cluster is configured. */
  resource: Nullable(Type.Object({
    apiVersion: Type.String(), kind: Type.String(), namespace: Type.String(), name: Type.String(),
  }, { additionalProperties: false })),
  createdAt: Timestamp, updatedAt: Timestamp,
}, { $id: 'Assistant' });

export const NO_CLUSTER_MESSAGE = 'no cluster configured: set OPENCRANE_KUBERNETES to provision assistants';

const iso = (d: Date) => d.toISOString();

/** Where each assistant's resource lives, or null without a cluster. */
export type AssistantResourceLocator = ((assistantId: string) => { namespace: string; name: string }) | null;

export const assistantSpecFor = (locate: AssistantResourceLocator): EntitySpec<Assistant, typeof schema.assistants.$inferInsert, unknown> => ({
  kind: 'assistant', path: 'assistants', tag: 'Assistants', words: ['assistant', 'assistants'],
  operation: ['Assistant', 'Assistants'], repo: repositories.assistants, view: Type.Ref('Assistant'),
  createBody: StrictObject({ personId: Id('person') }),
  updateBody: StrictObject({
    status: Type.Optional(AssistantStatus),
    statusMessage: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
    endpoint: Type.Optional(Nullable(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }))),
  }, { minProperties: 1 }),
  listFilters: {
    properties: { personId: Type.Optional(Id('person')), status: Type.Optional(AssistantStatus) },
    where: (q) => {
      const parts = [
        q.personId ? sql`${schema.assistants.personId} = ${q.personId as string}` : undefined,
        q.status ? sql`${schema.assistants.status} = ${q.status as string}` : undefined,
      ].filter((p) => p !== undefined);
      return parts.length ? sql.join(parts, sql` and `) : undefined;
    },
  },
  toView: (a) => ({
    id: a.id, personId: a.personId, status: a.status,
    statusMessage: a.statusMessage ?? (locate === null && a.status === 'pending' ? NO_CLUSTER_MESSAGE : null),
    endpoint: a.endpoint,
    resource: locate === null ? null : { apiVersion: API_VERSION, kind: KIND, ...locate(a.id) },
    createdAt: iso(a.createdAt), updatedAt: iso(a.updatedAt),
  }),
  toInsert: (id, b) => ({ id, personId: b.personId as string, status: 'pending' }),
  toPatch: (b) => ({
    status: b.status as Assistant['status'] | undefined,
    statusMessage: b.statusMessage === undefined ? undefined : (b.statusMessage as string | null),
    endpoint: b.endpoint === undefined ? undefined : (b.endpoint as string | null),
  }),
  async checkReferences(tx, b) {
    if (typeof b.personId === 'string' && !(await repositories.people.get(tx, b.personId))) throw notFound('Person', b.personId);
  },
  changesOn: {
    create: (a) => [{ entity: 'assistant', id: a.id }],
    update: (a) => [{ entity: 'assistant', id: a.id }],
    delete: (a) => [{ entity: 'assistant', id: a.id }],
  },
});
