// Bearer API tokens: `ocat_` and 32 random bytes. Only a SHA-256 of the token is stored; the token
// itself is shown once, when it is created.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { newId, type ApiToken, type Db, type Store } from '../../core/index.ts';

export const API_ROLES = ['admin', 'security', 'auditor'] as const;
export type ApiRole = (typeof API_ROLES)[number];

const TOKEN_PREFIX = 'ocat_';
export const API_TOKEN_PATTERN = /^ocat_[A-Za-z0-9_-]{43}$/;

export const hashApiToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function generateApiToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export async function createApiToken(
  store: Pick<Store, 'apiTokens'>, db: Db,
  spec: { name: string; role: ApiRole; createdBy: string; expiresAt?: Date | null },
): Promise<{ token: string; record: ApiToken }> {
  const token = generateApiToken();
  const record = await store.apiTokens.insert(db, {
    id: newId('apiToken'), name: spec.name, role: spec.role, createdBy: spec.createdBy,
    secretHash: hashApiToken(token), expiresAt: spec.expiresAt ?? null,
  });
  return { token, record };
}

export function isUsable(record: ApiToken, now = new Date()): boolean {
  return record.revokedAt === null && (record.expiresAt === null || record.expiresAt > now);
}

/**
 * On a store with no API token at all, creates the first admin token and writes it to `file` with mode
 * 0600. Returns the file's path when it did so; the token itself is never printed.
 */
export async function bootstrapAdminToken(store: Store, file: string): Promise<string | null> {
  const existing = await store.apiTokens.list(store.db, { limit: 1 });
  if (existing.items.length > 0) return null;
  const { token } = await store.transaction((tx) =>
    createApiToken(store, tx, { name: 'bootstrap admin', role: 'admin', createdBy: 'system:bootstrap' }));
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${token}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
  return file;
}
