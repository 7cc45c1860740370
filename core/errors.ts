// Typed errors with stable codes. Each transport maps them in exactly one place: problem+json for the
// REST API (server/problem.ts), RFC 6749 errors on OAuth endpoints, JSON-RPC errors on MCP.

export type ErrorCode =
  | 'ERR_VALIDATION'
  | 'ERR_NOT_FOUND'
  | 'ERR_CONFLICT'
  | 'ERR_REFERENCE_NOT_FOUND'
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_RATE_LIMITED'
  | 'ERR_UNAVAILABLE'
  | 'ERR_INTERNAL';

const STATUS: Record<ErrorCode, number> = {
  ERR_VALIDATION: 400,
  ERR_UNAUTHENTICATED: 401,
  ERR_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_REFERENCE_NOT_FOUND: 409,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_RATE_LIMITED: 429,
  ERR_INTERNAL: 500,
  ERR_UNAVAILABLE: 503,
};

export interface ErrorDetail {
  /** JSON pointer or field name the detail is about. */
  field?: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = STATUS[code];
    this.details = details;
  }
}

export const notFound = (what: string, id: string) => new AppError('ERR_NOT_FOUND', `${what} ${id} does not exist`);
export const conflict = (message: string) => new AppError('ERR_CONFLICT', message);
export const validation = (message: string, details: ErrorDetail[] = []) =>
  new AppError('ERR_VALIDATION', message, details);

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;
