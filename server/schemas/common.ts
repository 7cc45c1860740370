// Schemas shared by every route. Every string and array is bounded; every object rejects unknown
// properties. These schemas are also the OpenAPI document.
import { Type, type TSchema, type TProperties } from 'typebox';
import { idPattern, type IdKind } from '../../core/index.ts';

export const Id = (kind: IdKind, description?: string) =>
  Type.String({ pattern: idPattern(kind), maxLength: 40, ...(description ? { description } : {}) });

/** No control characters, no leading or trailing whitespace. */
export const Name = Type.String({ minLength: 1, maxLength: 120, pattern: '^[^\\s\\u0000-\\u001f]([^\\u0000-\\u001f]*[^\\s\\u0000-\\u001f])?$' });
/** Names that appear in URLs and tool identifiers: lowercase letters, digits and dashes. */
export const Slug = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' });
export const Description = Type.String({ maxLength: 1000, pattern: '^[^\\u0000]*$' });
export const Timestamp = Type.String({ format: 'date-time', maxLength: 40 });

export const StrictObject = <T extends TProperties>(properties: T, options: { description?: string; minProperties?: number } = {}) =>
  Type.Object(properties, { additionalProperties: false, ...options });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String()),
  code: Type.String({ description: 'Stable error code, for example ERR_NOT_FOUND' }),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.Optional(Type.String()), message: Type.String() }))),
}, { $id: 'Problem', description: 'RFC 9457 problem details' });

export const ProblemRef = Type.Ref('Problem');

export const Cursor = Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description: 'Opaque cursor from a previous page' });
export const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 });

export const PageQuery = { cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) };

export const PageOf = <T extends TSchema>(item: T) => Type.Object({
  items: Type.Array(item),
  nextCursor: Nullable(Type.String()),
});

const problemResponse = (description: string) => ({
  description, content: { 'application/problem+json': { schema: ProblemRef } },
});

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid', 401: 'No valid credentials', 403: 'The caller\'s role may not do this',
  404: 'The record or a referenced record does not exist', 409: 'The change conflicts with existing records',
};

/** Standard error responses, as problem+json; a route adds its success responses. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries([400, 401, 403, ...statuses].map((s) => [s, problemResponse(ERROR_DESCRIPTIONS[s] ?? 'Error')]));

export const encodeCursor = (value: string | number | null): string | null =>
  value === null ? null : Buffer.from(String(value), 'utf8').toString('base64url');

export const decodeCursor = (cursor: string | undefined): string | undefined =>
  cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString('utf8');
