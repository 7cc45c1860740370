// The `tool_credentials` table: sealed, versioned upstream secrets. The control plane writes them
// (server/routes/tool-credentials.ts) and the gateway reads the newest; both go through here, so the
// sealing context and the version rules live in one place. `personId` null is the tool's own
// credential; set, it is that person's (auth kind `per_person`).
import { and, desc, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import { schema, type Db } from '../../core/index.ts';
import type { KeyEncryptor } from '../../token-service/index.ts';
import type { ToolAuthKind } from './tool-auth.ts';

const { toolCredentials, tools } = schema;

/** Versions kept per (tool, person): older ones are deleted when a new one is written. */
export const CREDENTIAL_VERSIONS_KEPT = 5;

/** Binds an envelope to its row, so a sealed secret copied onto another row does not open. */
export const credentialContext = (credentialId: string) => `tool-credential:${credentialId}`;

export interface StoredCredential {
  id: string;
  version: number;
  sealed: string;
}

export interface CredentialVersion {
  version: number;
  createdAt: Date;
  createdBy: string;
}

/** Matches the unique index's `coalesce(person_id, '')`, so lookups use it. */
const ownedBy = (toolId: string, personId: string | null) =>
  and(eq(toolCredentials.toolId, toolId), sql`coalesce(${toolCredentials.personId}, '') = ${personId ?? ''}`);

export const sealSecret = (encryptor: Pick<KeyEncryptor, 'encrypt'>, credentialId: string, secret: string) =>
  encryptor.encrypt(secret, credentialContext(credentialId));

export const openSecret = (encryptor: Pick<KeyEncryptor, 'decrypt'>, credential: StoredCredential) =>
  encryptor.decrypt(credential.sealed, credentialContext(credential.id));

export async function newestCredential(db: Db, toolId: string, personId: string | null): Promise<StoredCredential | undefined> {
  const rows = await db.select({ id: toolCredentials.id, version: toolCredentials.version, sealed: toolCredentials.sealed })
    .from(toolCredentials).where(ownedBy(toolId, personId)).orderBy(desc(toolCredentials.version)).limit(1);
  return rows[0];
}

/** The kept versions, newest first, without their secrets. */
export async function credentialVersions(db: Db, toolId: string, personId: string | null): Promise<CredentialVersion[]> {
  return db.select({ version: toolCredentials.version, createdAt: toolCredentials.createdAt, createdBy: toolCredentials.createdBy })
    .from(toolCredentials).where(ownedBy(toolId, personId)).orderBy(desc(toolCredentials.version));
}

/** The newest version of each tool's own credential, for the tools that have one. */
export async function toolCredentialStatuses(db: Db, toolIds: string[]): Promise<Map<string, { version: number; createdAt: Date }>> {
  if (toolIds.length === 0) return new Map();
  const rows = await db.selectDistinctOn([toolCredentials.toolId], {
    toolId: toolCredentials.toolId, version: toolCredentials.version, createdAt: toolCredentials.createdAt,
  }).from(toolCredentials)
    .where(and(inArray(toolCredentials.toolId, toolIds), isNull(toolCredentials.personId)))
    .orderBy(toolCredentials.toolId, desc(toolCredentials.version));
  return new Map(rows.map((r) => [r.toolId, { version: r.version, createdAt: r.createdAt }]));
}

/**
 * Locks the tool's row for the rest of the transaction, so concurrent writers of its credentials
 * take their versions one after another (and the tool cannot be deleted under them).
 */
export async function lockTool(tx: Db, toolId: string): Promise<{ id: string; authKind: ToolAuthKind } | undefined> {
  const rows = await tx.select({ id: tools.id, authKind: tools.authKind }).from(tools).where(eq(tools.id, toolId)).for('update');
  return rows[0];
}

/**
 * Adds the next version (the newest + 1, or 1) and drops versions beyond the kept ones. Call it
 * inside a transaction that holds `lockTool` for the same tool.
 */
export async function addCredentialVersion(tx: Db, credential: {
  id: string; toolId: string; personId: string | null; sealed: string; createdBy: string;
}): Promise<number> {
  const [newest] = await tx.select({ version: sql<number>`coalesce(max(${toolCredentials.version}), 0)::int` })
    .from(toolCredentials).where(ownedBy(credential.toolId, credential.personId));
  const version = Number(newest?.version ?? 0) + 1;
  await tx.insert(toolCredentials).values({ ...credential, version });
  await tx.delete(toolCredentials).where(and(
    ownedBy(credential.toolId, credential.personId), lte(toolCredentials.version, version - CREDENTIAL_VERSIONS_KEPT),
  ));
  return version;
}

/** Deletes every version; returns the version numbers that were removed, oldest first. */
export async function deleteCredentialVersions(tx: Db, toolId: string, personId: string | null): Promise<number[]> {
  const removed = await tx.delete(toolCredentials).where(ownedBy(toolId, personId)).returning({ version: toolCredentials.version });
  return removed.map((r) => r.version).sort((a, b) => a - b);
}
