// Tools (MCP servers), skills and knowledge collections: the resources that grants open.
import { Type } from 'typebox';
import { grantIdsReferencing } from '../../core/store/grants.ts';
import { repositories, type schema, type KnowledgeCollection, type Skill, type Tool } from '../../core/index.ts';
import type { ResourceKind } from '../../policies/types.ts';
import { Description, Id, Nullable, Slug, StrictObject, Timestamp } from '../schemas/common.ts';
import type { EntitySpec } from './entity-routes.ts';
import type { MutationContext } from '../services/mutations.ts';

const iso = (d: Date) => d.toISOString();

export const ToolTransport = Type.Union([Type.Literal('streamable-http'), Type.Literal('sse')]);
export const ToolUrl = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048, description: 'The upstream MCP server URL' });

export const ToolView = Type.Object({
  id: Id('tool'), name: Type.String(), description: Nullable(Type.String()), url: Type.String(), transport: ToolTransport,
  createdAt: Timestamp, updatedAt: Timestamp,
}, { $id: 'Tool' });

const namedView = (kind: 'skill' | 'knowledge', $id: string) => Type.Object({
  id: Id(kind), name: Type.String(), description: Nullable(Type.String()), createdAt: Timestamp, updatedAt: Timestamp,
}, { $id });

export const SkillView = namedView('skill', 'Skill');
export const KnowledgeView = namedView('knowledge', 'KnowledgeCollection');

const cascadeOf = (kind: ResourceKind) => async (ctx: MutationContext, row: { id: string }) =>
  ({ removedGrantIds: await grantIdsReferencing(ctx.tx, { kind, id: row.id }) });

const optionalString = (value: unknown) => (value === undefined ? undefined : (value as string | null));

export const toolSpec: EntitySpec<Tool, typeof schema.tools.$inferInsert, unknown> = {
  kind: 'tool', path: 'tools', tag: 'Resources', words: ['tool', 'tools'], operation: ['Tool', 'Tools'],
  repo: repositories.tools, view: Type.Ref('Tool'),
  createBody: StrictObject({
    name: Slug, url: ToolUrl, transport: Type.Optional(ToolTransport), description: Type.Optional(Description),
  }),
  updateBody: StrictObject({
    name: Type.Optional(Slug), url: Type.Optional(ToolUrl), transport: Type.Optional(ToolTransport),
    description: Type.Optional(Nullable(Description)),
  }, { minProperties: 1 }),
  toView: (t) => ({
    id: t.id, name: t.name, description: t.description, url: t.url, transport: t.transport,
    createdAt: iso(t.createdAt), updatedAt: iso(t.updatedAt),
  }),
  toInsert: (id, b) => ({
    id, name: b.name as string, url: b.url as string, transport: (b.transport as Tool['transport'] | undefined) ?? 'streamable-http',
    description: (b.description as string | undefined) ?? null,
  }),
  toPatch: (b) => ({
    name: b.name as string | undefined, url: b.url as string | undefined, transport: b.transport as Tool['transport'] | undefined,
    description: optionalString(b.description),
  }),
  beforeDelete: cascadeOf('tool'),
  changesOn: { delete: (t) => [{ entity: 'resource-deleted', kind: 'tool', id: t.id }] },
};

function namedSpec<Row extends Skill | KnowledgeCollection>(
  kind: 'skill' | 'knowledge', words: [string, string], operation: [string, string], path: string, ref: string,
  repo: EntitySpec<Row, { id: string; name: string; description?: string | null }, unknown>['repo'],
): EntitySpec<Row, { id: string; name: string; description?: string | null }, unknown> {
  return {
    kind, path, tag: 'Resources', words, operation, repo, view: Type.Ref(ref),
    createBody: StrictObject({ name: Slug, description: Type.Optional(Description) }),
    updateBody: StrictObject({ name: Type.Optional(Slug), description: Type.Optional(Nullable(Description)) }, { minProperties: 1 }),
    toView: (r) => ({ id: r.id, name: r.name, description: r.description, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) }),
    toInsert: (id, b) => ({ id, name: b.name as string, description: (b.description as string | undefined) ?? null }),
    toPatch: (b) => ({ name: b.name as string | undefined, description: optionalString(b.description) }),
    beforeDelete: cascadeOf(kind),
    changesOn: { delete: (r) => [{ entity: 'resource-deleted', kind, id: r.id }] },
  };
}

export const skillSpec = namedSpec<Skill>('skill', ['skill', 'skills'], ['Skill', 'Skills'], 'skills', 'Skill', repositories.skills);
export const knowledgeSpec = namedSpec<KnowledgeCollection>(
  'knowledge', ['knowledge collection', 'knowledge collections'], ['KnowledgeCollection', 'KnowledgeCollections'],
  'knowledge', 'KnowledgeCollection', repositories.knowledge,
);
