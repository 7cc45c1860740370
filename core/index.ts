// The shared core: configuration, errors, logging, ids, the database schema and store, and the
// in-memory access index with its change feed. Other modules import only this file.
export { loadConfig, readEnvironment, ConfigError, type Config } from './config.ts';
export { AppError, isAppError, notFound, conflict, validation, type ErrorCode, type ErrorDetail } from './errors.ts';
export { createLogger, loggerOptions, REDACT_PATHS, type Logger } from './logger.ts';
export { newId, idPattern, ID_PREFIX, type IdKind } from './ids.ts';
export { openDatabase, notify, MIGRATIONS_FOLDER, type Database, type Db, type OpenDatabaseOptions, type Unlisten } from './db/database.ts';
export * as schema from './db/schema.ts';
export {
  createStore, repositories, type Store, type Department, type Team, type Person, type Tool, type Skill,
  type KnowledgeCollection, type Assistant, type ApiToken, type AuditEvent, type NewAuditEvent, type Membership,
  type AuditFilter, type DirectorySnapshot,
} from './store/store.ts';
export type { Page } from './store/entity-repository.ts';
export { type Grant, type NewGrant, type GrantFilter } from './store/grants.ts';
export { pgErrorInfo, translateDbError } from './store/db-errors.ts';
export { AccessIndex, toPolicyGrant, type IndexSnapshot, type AssistantEntry } from './access/access-index.ts';
export { publishChange, parseChange, CHANGES_CHANNEL, type DirectoryChange } from './access/changes.ts';
export { createDirectorySync, type DirectorySync } from './access/directory-sync.ts';
export {
  createAccessService, type AccessService, type AccessQuestion, type PolicyEvaluator,
} from './access/access-service.ts';
export {
  createEpochFeed, raiseRevocationEpoch, publishEpoch, parseRevocationMessage, REVOCATIONS_CHANNEL,
  type EpochFeed, type EpochFeedOptions, type RevocationMessage, type Propagation,
} from './access/revocation-epochs.ts';
export { serviceAccountNameOf, assistantIdOfServiceAccount, parseServiceAccountUser } from './assistant-identity.ts';
export { runService, runDatabaseService, stopStack, type RunningService } from './run-service.ts';
export { readiness, type Readiness } from './readiness.ts';
export { loadKubeConfig } from './kube-config.ts';
