// Configuration is read from the environment once, at boot, against one schema. An invalid setting
// stops the process with a message that names the variable.
import path from 'node:path';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';

const EnvSchema = Type.Object({
  HOST: Type.String({ minLength: 1, maxLength: 255, default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  OPENCRANE_HOME: Type.String({ minLength: 1, maxLength: 4096, default: '.opencrane' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', maxLength: 4096 })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  /** Largest request body the API accepts, in bytes. */
  OPENCRANE_BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 10 * 1024 * 1024, default: 64 * 1024 }),
  /** How often each replica reloads the whole directory as a safety net behind change notifications. */
  OPENCRANE_RESYNC_SECONDS: Type.Integer({ minimum: 5, maximum: 86_400, default: 300 }),
  NODE_ENV: Type.Optional(Type.String({ maxLength: 32 })),
});

export interface Config {
  host: string;
  port: number;
  home: string;
  databaseUrl: string | undefined;
  logLevel: string;
  bodyLimit: number;
  resyncIntervalMs: number;
  production: boolean;
  /** Where PGlite keeps its data when no DATABASE_URL is set. */
  embeddedDatabaseDir: string;
  adminTokenFile: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw));
  if (!Value.Check(EnvSchema, withDefaults)) {
    const problems = Value.Errors(EnvSchema, withDefaults).map((e) => {
      const variable = e.instancePath.replace(/^\//, '') || (e.params as { requiredProperties?: string[] }).requiredProperties?.join(', ') || 'environment';
      return `${variable}: ${e.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const settings: Static<typeof EnvSchema> = withDefaults;
  const home = path.resolve(settings.OPENCRANE_HOME);
  return {
    host: settings.HOST,
    port: settings.PORT,
    home,
    databaseUrl: settings.DATABASE_URL,
    logLevel: settings.LOG_LEVEL,
    bodyLimit: settings.OPENCRANE_BODY_LIMIT,
    resyncIntervalMs: settings.OPENCRANE_RESYNC_SECONDS * 1000,
    production: settings.NODE_ENV === 'production',
    embeddedDatabaseDir: path.join(home, 'pgdata'),
    adminTokenFile: path.join(home, 'admin-token'),
  };
}
