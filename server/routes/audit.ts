// The audit trail: every change made through the API, newest first.
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { AppError, repositories, type Db } from '../../core/index.ts';
import { decodeCursor, encodeCursor, errorResponses, PageOf, PageQuery, StrictObject, Timestamp } from '../schemas/common.ts';

export const AuditEventView = Type.Object({
  id: Type.String(), at: Timestamp, actor: Type.String(), action: Type.String(),
  targetKind: Type.String(), targetId: Type.String(),
  before: Type.Unknown(), after: Type.Unknown(),
  requestId: Type.Union([Type.String(), Type.Null()]),
}, { $id: 'AuditEvent' });

const Word = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:/-]+$' });

export function registerAuditRoutes(app: FastifyInstance, deps: { db: Db }): void {
  app.get('/api/v1/audit', {
    onRequest: app.authorize('admin', 'security', 'auditor'),
    schema: {
      operationId: 'listAuditEvents', tags: ['Audit'], summary: 'List audit events, newest first',
      querystring: StrictObject({
        ...PageQuery,
        actor: Type.Optional(Word), action: Type.Optional(Word), targetKind: Type.Optional(Word), targetId: Type.Optional(Word),
        since: Type.Optional(Timestamp), until: Type.Optional(Timestamp),
      }),
      response: { 200: PageOf(Type.Ref('AuditEvent')), ...errorResponses() },
    },
  }, async (request) => {
    const q = request.query as {
      cursor?: string; limit?: number; actor?: string; action?: string; targetKind?: string; targetId?: string;
      since?: string; until?: string;
    };
    const before = decodeCursor(q.cursor);
    if (before !== undefined && !/^[0-9]{1,18}$/.test(before)) throw new AppError('ERR_VALIDATION', 'the cursor is not valid');
    const page = await repositories.audit.list(deps.db, {
      actor: q.actor, action: q.action, targetKind: q.targetKind, targetId: q.targetId,
      since: q.since ? new Date(q.since) : undefined, until: q.until ? new Date(q.until) : undefined,
    }, { before: before === undefined ? undefined : Number(before), limit: q.limit ?? 50 });
    return {
      items: page.items.map((e) => ({
        id: e.id, at: e.at.toISOString(), actor: e.actor, action: e.action, targetKind: e.targetKind, targetId: e.targetId,
        before: e.before, after: e.after, requestId: e.requestId,
      })),
      nextCursor: encodeCursor(page.nextBefore),
    };
  });
}
