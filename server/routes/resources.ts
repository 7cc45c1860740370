// Tools (MCP servers), skills and knowledge collections: the resources that grants open.
import { Type } from 'typebox';
import { grantIdsReferencing } from '../../core/store/grants.ts';
import type { EntityRepository } from '../../core/store/entity-repository.ts';
import { repositories, validation, type Db, schema, type KnowledgeCollection, type Skill, type Tool } from '../../core/index.ts';
import {
  HEADER_NAME_PATTERN, TOOL_AUTH_FIELDS, TOOL_AUTH_KINDS, toolAuthProblems, toolCredentialStatuses,
  type ToolAuthConfig, type ToolAuthKind,
} from '../../mcp-gateway/credentials/index.ts';
import type { ResourceKind } from '../../policies/types.ts';
import { Description, Id, Nullable, Slug, StrictObject, Timestamp } from '../schemas/common.ts';
import { nameFilter, type EntitySpec } from './entity-routes.ts';
import type { MutationContext } from '../services/mutations.ts';

const iso = (d: Date) => d.toISOString();

export const ToolTransport = Type.Union([Type.Literal('streamable-http'), Type.Literal('sse')]);
export const ToolUrl = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048, description: 'The upstream MCP server URL' });

/** An absolute http(s) URL with a host, no user info and no fragment. */
const TokenUrl = Type.String({
  format: 'uri', pattern: '^https?://[^/?#\\s@]+([/?][^#\\s]*)?$', maxLength: 2048,
  description: 'The upstream authorization server\'s token endpoint (client_credentials, token_exchange)',
});

const ToolAuthKindSchema = Type.Union(TOOL_AUTH_KINDS.map((k) => Type.Literal(k)), {
  description: 'How the gateway authenticates to the upstream: none; bearer (Authorization: Bearer <secret>); header '
    + '(<headerName>: <secret>); client_credentials (an OAuth 2.0 token fetched with clientId and the secret); per_person '
    + '(each person\'s own token); token_exchange (RFC 8693 at tokenUrl, with clientId and the secret)',
});

const authFields = {
  headerName: Type.Optional(Type.String({
    pattern: HEADER_NAME_PATTERN, maxLength: 64,
    description: 'header kind only: the header that carries the secret; not a hop-by-hop, framing, Host, Authorization or MCP header',
  })),
  tokenUrl: Type.Optional(TokenUrl),
  clientId: Type.Optional(Type.String({
    minLength: 1, maxLength: 255, pattern: '^[\\u0021-\\u007e]([\\u0020-\\u007e]*[\\u0021-\\u007e])?$',
    description: 'client_credentials and token_exchange: the gateway\'s client id at the upstream authorization server',
  })),
  scope: Type.Optional(Type.String({
    maxLength: 1000, pattern: '^[\\u0021\\u0023-\\u005b\\u005d-\\u007e]+( [\\u0021\\u0023-\\u005b\\u005d-\\u007e]+)*$',
    description: 'client_credentials and token_exchange: the scope to ask for (space-separated)',
  })),
  audience: Type.Optional(Type.String({
    minLength: 1, maxLength: 2048, pattern: '^[\\u0021-\\u007e]+$',
    description: 'client_credentials and token_exchange: the audience to ask for (token_exchange needs audience or resource)',
  })),
  resource: Type.Optional(Type.String({
    format: 'uri', maxLength: 2048, pattern: '^[A-Za-z][A-Za-z0-9+.-]*:[^#\\s]+$',
    description: 'client_credentials and token_exchange: the RFC 8707 resource indicator to ask for',
  })),
};

/** The non-secret half of the upstream authentication; the secret goes to PUT /tools/{id}/credentials. */
const ToolAuthBody = StrictObject({ kind: ToolAuthKindSchema, ...authFields }, {
  description: 'Replaces the whole setting. Each kind takes only its own fields: header needs headerName; client_credentials '
    + 'needs tokenUrl and clientId; token_exchange needs tokenUrl, clientId and audience or resource',
});
const RateLimit = Nullable(Type.Integer({
  minimum: 1, maximum: 1_000_000, description: 'Calls per person per minute through the gateway; null takes the gateway\'s default',
}));

export const ToolView = Type.Object({
  id: Id('tool'), name: Type.String(), description: Nullable(Type.String()), url: Type.String(), transport: ToolTransport,
  auth: Type.Object({ kind: ToolAuthKindSchema, ...authFields }),
  rateLimitPerMinute: RateLimit,
  credential: Type.Object({
    configured: Type.Boolean({ description: 'Whether the tool\'s own secret is set (per-person secrets are not counted here)' }),
    version: Nullable(Type.Integer()),
    updatedAt: Nullable(Timestamp),
  }, { description: 'The tool\'s own secret: whether it is set and its newest version; the secret itself is never shown' }),
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

type NewTool = typeof schema.tools.$inferInsert;
/** A tool with the newest version of its own credential, for the view. */
type ToolRow = Tool & { credential: { version: number; createdAt: Date } | null };

async function withCredentialStatus(db: Db, rows: Tool[]): Promise<ToolRow[]> {
  const statuses = await toolCredentialStatuses(db, rows.map((r) => r.id));
  return rows.map((r) => ({ ...r, credential: statuses.get(r.id) ?? null }));
}

const toolRepository: EntityRepository<ToolRow, NewTool> = {
  async get(db, id) {
    const row = await repositories.tools.get(db, id);
    return row && (await withCredentialStatus(db, [row]))[0];
  },
  async list(db, options) {
    const page = await repositories.tools.list(db, options);
    return { ...page, items: await withCredentialStatus(db, page.items) };
  },
  async insert(db, values) {
    return { ...(await repositories.tools.insert(db, values)), credential: null };
  },
  async update(db, id, patch) {
    const row = await repositories.tools.update(db, id, patch);
    return row && (await withCredentialStatus(db, [row]))[0];
  },
  async delete(db, id) {
    // Deleting the tool deletes its credentials with it.
    const row = await repositories.tools.delete(db, id);
    return row && { ...row, credential: null };
  },
};

/** The kind and its settings, checked together: a kind takes only its own fields, and needs the ones it uses. */
function parseToolAuth(auth: Record<string, unknown>): { authKind: ToolAuthKind; authConfig: ToolAuthConfig } {
  const authKind = auth.kind as ToolAuthKind;
  const authConfig: ToolAuthConfig = {};
  for (const field of TOOL_AUTH_FIELDS) if (auth[field] !== undefined) authConfig[field] = auth[field] as string;
  const problems = toolAuthProblems(authKind, authConfig);
  if (problems.length > 0) {
    throw validation('the tool\'s auth settings do not fit its kind', problems.map((p) => ({ field: `body/auth/${p.field}`, message: p.message })));
  }
  return { authKind, authConfig };
}

export const toolSpec: EntitySpec<ToolRow, NewTool, unknown> = {
  kind: 'tool', path: 'tools', tag: 'Resources', words: ['tool', 'tools'], operation: ['Tool', 'Tools'],
  repo: toolRepository, view: Type.Ref('Tool'), listFilters: nameFilter(schema.tools.name),
  createBody: StrictObject({
    name: Slug, url: ToolUrl, transport: Type.Optional(ToolTransport), description: Type.Optional(Description),
    auth: Type.Optional(ToolAuthBody), rateLimitPerMinute: Type.Optional(RateLimit),
  }),
  updateBody: StrictObject({
    name: Type.Optional(Slug), url: Type.Optional(ToolUrl), transport: Type.Optional(ToolTransport),
    description: Type.Optional(Nullable(Description)), auth: Type.Optional(ToolAuthBody), rateLimitPerMinute: Type.Optional(RateLimit),
  }, { minProperties: 1 }),
  toView: (t) => ({
    id: t.id, name: t.name, description: t.description, url: t.url, transport: t.transport,
    auth: { kind: t.authKind, ...t.authConfig }, rateLimitPerMinute: t.rateLimitPerMinute,
    credential: { configured: t.credential !== null, version: t.credential?.version ?? null, updatedAt: t.credential ? iso(t.credential.createdAt) : null },
    createdAt: iso(t.createdAt), updatedAt: iso(t.updatedAt),
  }),
  toInsert: (id, b) => ({
    id, name: b.name as string, url: b.url as string, transport: (b.transport as Tool['transport'] | undefined) ?? 'streamable-http',
    description: (b.description as string | undefined) ?? null,
    ...(b.auth ? parseToolAuth(b.auth as Record<string, unknown>) : { authKind: 'none' as const, authConfig: {} }),
    rateLimitPerMinute: (b.rateLimitPerMinute as number | null | undefined) ?? null,
  }),
  toPatch: (b) => ({
    name: b.name as string | undefined, url: b.url as string | undefined, transport: b.transport as Tool['transport'] | undefined,
    description: optionalString(b.description),
    ...(b.auth ? parseToolAuth(b.auth as Record<string, unknown>) : {}),
    rateLimitPerMinute: b.rateLimitPerMinute as number | null | undefined,
  }),
  beforeDelete: cascadeOf('tool'),
  changesOn: {
    create: (t) => [{ entity: 'tool', id: t.id }],
    update: (t) => [{ entity: 'tool', id: t.id }],
    delete: (t) => [{ entity: 'resource-deleted', kind: 'tool', id: t.id }],
  },
};

function namedSpec<Row extends Skill | KnowledgeCollection>(
  kind: 'skill' | 'knowledge', words: [string, string], operation: [string, string], path: string, ref: string,
  repo: EntitySpec<Row, { id: string; name: string; description?: string | null }, unknown>['repo'],
): EntitySpec<Row, { id: string; name: string; description?: string | null }, unknown> {
  return {
    kind, path, tag: 'Resources', words, operation, repo, view: Type.Ref(ref),
    listFilters: nameFilter(kind === 'skill' ? schema.skills.name : schema.knowledgeCollections.name),
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
