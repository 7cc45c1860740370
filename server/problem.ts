// The one place where errors become HTTP responses: RFC 9457 problem+json. A 5xx never carries
// internals (no message, stack or SQL); the full error is logged with the request id instead.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError, translateDbError, type ErrorDetail } from '../core/index.ts';

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 409: 'Conflict', 413: 'Content Too Large', 415: 'Unsupported Media Type',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  const body: Record<string, unknown> = {
    type: `https://opencrane.io/problems/${error.code.toLowerCase().replace(/^err_/, '').replaceAll('_', '-')}`,
    title: TITLES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    instance: request.url.split('?')[0],
    code: error.code,
  };
  if (error.details.length) body.errors = error.details;
  if (error.status === 401) void reply.header('www-authenticate', 'Bearer realm="opencrane"');
  return reply.status(error.status).type('application/problem+json').send(body);
}

interface ValidationIssue { keyword?: string; instancePath?: string; message?: string; params?: Record<string, unknown> }

/** Turns the validator's issues into one readable line per field, without repeats. */
function validationDetails(error: FastifyError): ErrorDetail[] {
  const issues = (error.validation ?? []) as ValidationIssue[];
  const part = error.validationContext ?? 'body';
  const details = new Map<string, string>();
  const allowed = new Map<string, string[]>();
  for (const issue of issues) {
    // A `false` schema reports the same unknown property that `additionalProperties` names.
    if (issue.keyword === 'boolean') continue;
    const path = `${part}${issue.instancePath ?? ''}`;
    const extra = issue.params?.additionalProperties;
    if (Array.isArray(extra)) {
      for (const name of extra) details.set(`${path}/${String(name)}`, 'unknown property');
    } else if (issue.keyword === 'const' && 'allowedValue' in (issue.params ?? {})) {
      allowed.set(path, [...(allowed.get(path) ?? []), JSON.stringify(issue.params?.allowedValue)]);
    } else if (!details.has(path)) {
      details.set(path, issue.message ?? 'is invalid');
    }
  }
  for (const [path, values] of allowed) details.set(path, `must be one of ${values.join(', ')}`);
  return [...details].slice(0, 20).map(([field, message]) => ({ field, message }));
}

/** Maps anything thrown or rejected to an AppError that is safe to show. */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  const translated = translateDbError(error);
  if (isAppError(translated)) return translated;
  const e = error as FastifyError;
  if (e?.validation) {
    const details = validationDetails(e);
    return new AppError('ERR_VALIDATION', `the request ${e.validationContext ?? 'body'} is invalid`, details);
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('ERR_PAYLOAD_TOO_LARGE', 'the request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('ERR_VALIDATION', 'the request body is not valid JSON');
    default:
      break;
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError('ERR_VALIDATION', 'the request is malformed');
  }
  return new AppError('ERR_INTERNAL', 'an internal error occurred; it has been logged');
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const problem = toAppError(error);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: problem.code }, problem.message);
    return sendProblem(reply, request, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new AppError('ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)));
}
