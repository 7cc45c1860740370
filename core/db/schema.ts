// The control plane's tables. Migrations in ./migrations are generated from this file by drizzle-kit
// (`npm run db:generate`) and committed; never edit a generated migration by hand.
import { sql } from 'drizzle-orm';
import {
  bigserial, check, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const personStatus = pgEnum('person_status', ['active', 'suspended']);
export const subjectKind = pgEnum('subject_kind', ['person', 'team', 'department']);
export const resourceKind = pgEnum('resource_kind', ['tool', 'skill', 'knowledge']);
export const grantEffect = pgEnum('grant_effect', ['allow', 'deny']);
export const toolTransport = pgEnum('tool_transport', ['streamable-http', 'sse']);
export const assistantStatus = pgEnum('assistant_status', [
  'pending', 'provisioning', 'ready', 'suspended', 'failed', 'deleting',
]);
export const apiRole = pgEnum('api_role', ['admin', 'security', 'auditor']);

export const departments = pgTable('departments', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [uniqueIndex('departments_name_key').on(sql`lower(${t.name})`)]);

export const teams = pgTable('teams', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  departmentId: text('department_id').references(() => departments.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  uniqueIndex('teams_name_key').on(sql`lower(${t.name})`),
  index('teams_department_idx').on(t.departmentId),
]);

export const people = pgTable('people', {
  id: text('id').primaryKey(),
  email: text('email').notNull(),
  displayName: text('display_name').notNull(),
  departmentId: text('department_id').references(() => departments.id, { onDelete: 'set null' }),
  status: personStatus('status').notNull().default('active'),
  /** `issuer|sub` of the person's OpenID Connect identity, set at their first sign-in. */
  oidcSubject: text('oidc_subject'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  uniqueIndex('people_email_key').on(sql`lower(${t.email})`),
  uniqueIndex('people_oidc_subject_key').on(t.oidcSubject),
  index('people_department_idx').on(t.departmentId),
]);

export const membershipSource = pgEnum('membership_source', ['api', 'oidc']);

export const teamMembers = pgTable('team_members', {
  teamId: text('team_id').notNull().references(() => teams.id, { onDelete: 'cascade' }),
  personId: text('person_id').notNull().references(() => people.id, { onDelete: 'cascade' }),
  /** `oidc` memberships follow the person's groups at each sign-in; `api` ones are left alone. */
  source: membershipSource('source').notNull().default('api'),
  createdAt: createdAt(),
}, (t) => [
  primaryKey({ columns: [t.teamId, t.personId] }),
  index('team_members_person_idx').on(t.personId),
]);

/** How the MCP gateway authenticates to a tool's upstream server; the secret part lives in `tool_credentials`. */
export const toolAuthKind = pgEnum('tool_auth_kind', [
  'none', 'bearer', 'header', 'client_credentials', 'per_person', 'token_exchange',
]);

/** The non-secret half of a tool's upstream authentication (header name, token endpoint, client id, scope, audience). */
export interface ToolAuthConfig {
  headerName?: string;
  tokenUrl?: string;
  clientId?: string;
  scope?: string;
  audience?: string;
  resource?: string;
}

export const tools = pgTable('tools', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  url: text('url').notNull(),
  transport: toolTransport('transport').notNull().default('streamable-http'),
  authKind: toolAuthKind('auth_kind').notNull().default('none'),
  authConfig: jsonb('auth_config').$type<ToolAuthConfig>().notNull().default({}),
  /** Calls per person per minute through the gateway; null takes the gateway's default. */
  rateLimitPerMinute: integer('rate_limit_per_minute'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [uniqueIndex('tools_name_key').on(t.name)]);

/**
 * A tool's upstream secrets, sealed (AES-256-GCM envelope under the key-encryption key, the row id as
 * context) and versioned: each write adds a version, the newest is used, none is ever read back
 * through the API. `personId` set: that person's own credential (auth kind `per_person`).
 */
export const toolCredentials = pgTable('tool_credentials', {
  id: text('id').primaryKey(),
  toolId: text('tool_id').notNull().references(() => tools.id, { onDelete: 'cascade' }),
  personId: text('person_id').references(() => people.id, { onDelete: 'cascade' }),
  version: integer('version').notNull(),
  sealed: text('sealed').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('tool_credentials_version_key').on(t.toolId, sql`coalesce(${t.personId}, '')`, t.version),
  index('tool_credentials_person_idx').on(t.personId),
]);

export const skills = pgTable('skills', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [uniqueIndex('skills_name_key').on(t.name)]);

export const knowledgeCollections = pgTable('knowledge_collections', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [uniqueIndex('knowledge_collections_name_key').on(t.name)]);

export const assistants = pgTable('assistants', {
  id: text('id').primaryKey(),
  personId: text('person_id').notNull().references(() => people.id, { onDelete: 'cascade' }),
  status: assistantStatus('status').notNull().default('pending'),
  statusMessage: text('status_message'),
  endpoint: text('endpoint'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [uniqueIndex('assistants_person_key').on(t.personId)]);

/**
 * A grant's subject and resource are polymorphic; one nullable foreign key per kind keeps real
 * referential integrity (deleting a team or a tool removes its grants) and a check constraint makes
 * sure exactly the column named by the kind is set.
 */
export const grants = pgTable('grants', {
  id: text('id').primaryKey(),
  subjectKind: subjectKind('subject_kind').notNull(),
  subjectPersonId: text('subject_person_id').references(() => people.id, { onDelete: 'cascade' }),
  subjectTeamId: text('subject_team_id').references(() => teams.id, { onDelete: 'cascade' }),
  subjectDepartmentId: text('subject_department_id').references(() => departments.id, { onDelete: 'cascade' }),
  resourceKind: resourceKind('resource_kind').notNull(),
  resourceToolId: text('resource_tool_id').references(() => tools.id, { onDelete: 'cascade' }),
  resourceSkillId: text('resource_skill_id').references(() => skills.id, { onDelete: 'cascade' }),
  resourceKnowledgeId: text('resource_knowledge_id')
    .references(() => knowledgeCollections.id, { onDelete: 'cascade' }),
  toolPattern: text('tool_pattern'),
  effect: grantEffect('effect').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  reason: text('reason'),
  grantedBy: text('granted_by').notNull(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  check('grants_subject_one', sql`num_nonnulls(${t.subjectPersonId}, ${t.subjectTeamId}, ${t.subjectDepartmentId}) = 1
    and (${t.subjectKind} <> 'person' or ${t.subjectPersonId} is not null)
    and (${t.subjectKind} <> 'team' or ${t.subjectTeamId} is not null)
    and (${t.subjectKind} <> 'department' or ${t.subjectDepartmentId} is not null)`),
  check('grants_resource_one', sql`num_nonnulls(${t.resourceToolId}, ${t.resourceSkillId}, ${t.resourceKnowledgeId}) = 1
    and (${t.resourceKind} <> 'tool' or ${t.resourceToolId} is not null)
    and (${t.resourceKind} <> 'skill' or ${t.resourceSkillId} is not null)
    and (${t.resourceKind} <> 'knowledge' or ${t.resourceKnowledgeId} is not null)`),
  check('grants_pattern_only_for_tools', sql`${t.toolPattern} is null or ${t.resourceKind} = 'tool'`),
  index('grants_subject_person_idx').on(t.subjectPersonId),
  index('grants_subject_team_idx').on(t.subjectTeamId),
  index('grants_subject_department_idx').on(t.subjectDepartmentId),
  index('grants_resource_tool_idx').on(t.resourceToolId),
  index('grants_resource_skill_idx').on(t.resourceSkillId),
  index('grants_resource_knowledge_idx').on(t.resourceKnowledgeId),
]);

export const apiTokens = pgTable('api_tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** SHA-256 of the token's secret part; the secret itself is never stored. */
  secretHash: text('secret_hash').notNull(),
  role: apiRole('role').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
}, (t) => [uniqueIndex('api_tokens_secret_hash_key').on(t.secretHash)]);

export const auditEvents = pgTable('audit_events', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  id: text('id').notNull(),
  at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  targetKind: text('target_kind').notNull(),
  targetId: text('target_id').notNull(),
  before: jsonb('before'),
  after: jsonb('after'),
  requestId: text('request_id'),
}, (t) => [
  uniqueIndex('audit_events_id_key').on(t.id),
  index('audit_events_target_idx').on(t.targetKind, t.targetId),
  index('audit_events_actor_idx').on(t.actor),
  index('audit_events_at_idx').on(t.at),
]);


export const sessionKind = pgEnum('session_kind', ['browser', 'cli']);
export const sessionRole = pgEnum('session_role', ['admin', 'security', 'auditor', 'member']);

/** Server-side sessions: the browser's cookie or the CLI's access token holds a secret whose hash is here. */
export const sessions = pgTable('sessions', {
  id: text('id').primaryKey(),
  secretHash: text('secret_hash').notNull(),
  kind: sessionKind('kind').notNull(),
  personId: text('person_id').notNull().references(() => people.id, { onDelete: 'cascade' }),
  role: sessionRole('role').notNull(),
  createdAt: createdAt(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  /** The absolute end, whatever the activity. */
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  /** For CLI sessions: the refresh-token family that minted it. */
  refreshFamilyId: text('refresh_family_id'),
}, (t) => [
  uniqueIndex('sessions_secret_hash_key').on(t.secretHash),
  index('sessions_person_idx').on(t.personId),
]);

/** Rotating refresh tokens for `oc`; reuse of a used token revokes its whole family. */
export const refreshTokens = pgTable('refresh_tokens', {
  id: text('id').primaryKey(),
  familyId: text('family_id').notNull(),
  secretHash: text('secret_hash').notNull(),
  personId: text('person_id').notNull().references(() => people.id, { onDelete: 'cascade' }),
  role: sessionRole('role').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
  revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
}, (t) => [
  uniqueIndex('refresh_tokens_secret_hash_key').on(t.secretHash),
  index('refresh_tokens_family_idx').on(t.familyId),
]);

export const deviceAuthorizationStatus = pgEnum('device_authorization_status', ['pending', 'approved', 'denied', 'consumed']);

/** RFC 8628 device authorizations: `oc login` polls with the device code while the person approves the user code. */
export const deviceAuthorizations = pgTable('device_authorizations', {
  id: text('id').primaryKey(),
  deviceCodeHash: text('device_code_hash').notNull(),
  userCode: text('user_code').notNull(),
  clientId: text('client_id').notNull(),
  scope: text('scope'),
  status: deviceAuthorizationStatus('status').notNull().default('pending'),
  personId: text('person_id').references(() => people.id, { onDelete: 'cascade' }),
  role: sessionRole('role'),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  intervalSeconds: integer('interval_seconds').notNull(),
  lastPolledAt: timestamp('last_polled_at', { withTimezone: true, mode: 'date' }),
}, (t) => [
  uniqueIndex('device_authorizations_device_code_key').on(t.deviceCodeHash),
  uniqueIndex('device_authorizations_user_code_key').on(t.userCode),
]);

/** Signing keys for the JWTs OpenCrane issues; the private half is encrypted under the key-encryption key. */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  publicJwk: jsonb('public_jwk').notNull(),
  privateJwkEncrypted: text('private_jwk_encrypted').notNull(),
  createdAt: createdAt(),
  /** Published from creation; used for signing from this instant. */
  activatesAt: timestamp('activates_at', { withTimezone: true, mode: 'date' }).notNull(),
  /** No longer used for signing after this instant; still published until `unpublishAt`. */
  retiresAt: timestamp('retires_at', { withTimezone: true, mode: 'date' }),
  unpublishAt: timestamp('unpublish_at', { withTimezone: true, mode: 'date' }),
});

/** Pairing links handed to browsers: single use, recorded so they can be revoked. */
export const pairingLinks = pgTable('pairing_links', {
  jti: text('jti').primaryKey(),
  assistantId: text('assistant_id').notNull().references(() => assistants.id, { onDelete: 'cascade' }),
  personId: text('person_id').notNull().references(() => people.id, { onDelete: 'cascade' }),
  issuedAt: timestamp('issued_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
}, (t) => [index('pairing_links_person_idx').on(t.personId)]);

/**
 * Each person's revocation epoch: a revoke raises it, and a token whose `sv` is below it is refused.
 * A person without a row is at epoch 0; the row appears with their first revocation.
 */
export const revocationEpochs = pgTable('revocation_epochs', {
  personId: text('person_id').primaryKey().references(() => people.id, { onDelete: 'cascade' }),
  epoch: integer('epoch').notNull().default(0),
  updatedAt: updatedAt(),
}, (t) => [check('revocation_epochs_epoch_check', sql`${t.epoch} >= 0`)]);

/**
 * The replicas of every service that keep a revocation epoch map. Each one registers here before it
 * starts accepting tokens and refreshes `lastSeenAt` with its heartbeat; a revoke waits for an
 * acknowledgement from every replica that may still be fresh (ADR 0005).
 */
export const serviceReplicas = pgTable('service_replicas', {
  id: text('id').primaryKey(),
  service: text('service').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [index('service_replicas_last_seen_idx').on(t.lastSeenAt)]);

/**
 * Confidential clients of the token service: resource servers that introspect tokens (RFC 7662). The
 * secret is shown once at creation; only its SHA-256 is kept. A client learns about tokens for its own
 * audiences only.
 */
export const oauthClients = pgTable('oauth_clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  secretHash: text('secret_hash').notNull(),
  /** The audiences (resource URIs) whose tokens this client may introspect. */
  audiences: jsonb('audiences').$type<string[]>().notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
  revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
}, (t) => [uniqueIndex('oauth_clients_secret_hash_key').on(t.secretHash)]);
