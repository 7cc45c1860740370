// Turns the database's integrity errors into typed application errors. Both drivers report the
// SQLSTATE `code` and the constraint's name, possibly wrapped by drizzle in an error's `cause`.
import { AppError } from '../errors.ts';

interface PgErrorInfo { code: string; constraint?: string }

export function pgErrorInfo(err: unknown): PgErrorInfo | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const candidate = e as { code?: unknown; constraint?: unknown; constraint_name?: unknown; cause?: unknown };
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code)) {
      const constraint = candidate.constraint_name ?? candidate.constraint;
      return { code: candidate.code, ...(typeof constraint === 'string' ? { constraint } : {}) };
    }
    e = candidate.cause;
  }
  return undefined;
}

const UNIQUE_MESSAGES: Record<string, string> = {
  departments_name_key: 'a department with this name already exists',
  teams_name_key: 'a team with this name already exists',
  people_email_key: 'a person with this email already exists',
  tools_name_key: 'a tool with this name already exists',
  skills_name_key: 'a skill with this name already exists',
  knowledge_collections_name_key: 'a knowledge collection with this name already exists',
  assistants_person_key: 'this person already has an assistant',
  team_members_team_id_person_id_pk: 'this person is already a member of this team',
};

/** Maps integrity violations to 409s; anything else is returned unchanged for the caller to handle. */
export function translateDbError(err: unknown): unknown {
  const info = pgErrorInfo(err);
  if (!info) return err;
  switch (info.code) {
    case '23505':
      return new AppError('ERR_CONFLICT', UNIQUE_MESSAGES[info.constraint ?? ''] ?? 'this would duplicate an existing record');
    case '23503':
      return new AppError('ERR_REFERENCE_NOT_FOUND', 'a referenced record does not exist (it may have just been deleted)');
    case '23514':
      return new AppError('ERR_VALIDATION', 'the record breaks a data rule');
    case '22021':
    case '22P05':
      return new AppError('ERR_VALIDATION', 'a value contains a character that cannot be stored (for example NUL)');
    case '40001':
    case '40P01':
      return new AppError('ERR_CONFLICT', 'the change collided with a concurrent change; retry it');
    default:
      return err;
  }
}
