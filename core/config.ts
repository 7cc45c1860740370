// Configuration is read from the environment once, at boot, against one schema. An invalid setting
// stops the process with a message that names the variable.
import path from 'node:path';
import { Type, type Static, type TObject } from 'typebox';
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
  /** After this long without confirming its revocation feed, a replica refuses every token (fail closed). */
  OPENCRANE_REVOCATION_STALENESS_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
  NODE_ENV: Type.Optional(Type.String({ maxLength: 32 })),
  /** The URL people and assistants reach this control plane at; also the issuer of its tokens. */
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+$', maxLength: 2048 })),
  /** The organisation's OpenID Connect provider. Without it a development provider runs in-process. */
  OIDC_ISSUER: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
  OIDC_CLIENT_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  OIDC_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  OIDC_SCOPES: Type.String({ maxLength: 500, default: 'openid email profile' }),
  OIDC_CLAIM_SUBJECT: Type.String({ maxLength: 100, default: 'sub' }),
  OIDC_CLAIM_EMAIL: Type.String({ maxLength: 100, default: 'email' }),
  OIDC_CLAIM_NAME: Type.String({ maxLength: 100, default: 'name' }),
  OIDC_CLAIM_GROUPS: Type.String({ maxLength: 100, default: 'groups' }),
  OIDC_CLAIM_DEPARTMENT: Type.String({ maxLength: 100, default: 'department' }),
  OIDC_CLAIM_ROLES: Type.String({ maxLength: 100, default: 'roles' }),
  /** Comma-separated claim values that make a person an OpenCrane admin, security or auditor. */
  OIDC_ROLE_ADMIN: Type.String({ maxLength: 1000, default: 'opencrane-admin' }),
  OIDC_ROLE_SECURITY: Type.String({ maxLength: 1000, default: 'opencrane-security' }),
  OIDC_ROLE_AUDITOR: Type.String({ maxLength: 1000, default: 'opencrane-auditor' }),
  /** Comma-separated email domains allowed to sign in; empty allows any domain the provider vouches for. */
  OIDC_ALLOWED_EMAIL_DOMAINS: Type.String({ maxLength: 2000, default: '' }),
  SESSION_IDLE_MINUTES: Type.Integer({ minimum: 1, maximum: 1440, default: 30 }),
  SESSION_ABSOLUTE_HOURS: Type.Integer({ minimum: 1, maximum: 720, default: 12 }),
  /** 32 bytes, base64: encrypts signing keys at rest. In the embedded default one is generated under OPENCRANE_HOME. */
  OPENCRANE_KEY_ENCRYPTION_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/_-]{43}=?$' })),
  /** The token service's issuer (`iss` of every token it signs); the control plane's PUBLIC_URL unless told. */
  OPENCRANE_TOKEN_ISSUER: Type.Optional(Type.String({ pattern: '^https?://[^?#]+[^/?#]$', maxLength: 2048 })),
  /** Longest lifetime of an exchanged token, in seconds. */
  OPENCRANE_TOKEN_MAX_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 3600, default: 300 }),
  /** How long verifiers may cache the published key set (Cache-Control on the JWKS). */
  OPENCRANE_JWKS_MAX_AGE_SECONDS: Type.Integer({ minimum: 10, maximum: 86_400, default: 300 }),
  /** How long a signing key signs before the next one takes over. */
  OPENCRANE_KEY_ROTATION_HOURS: Type.Integer({ minimum: 1, maximum: 8760, default: 24 }),
  /** The audiences tokens are issued for: the MCP gateway (each tool is `<gateway>/<tool name>`), skills, knowledge. */
  OPENCRANE_MCP_GATEWAY_URL: Type.Optional(Type.String({ pattern: '^https?://[^?#]+[^/?#]$', maxLength: 2048 })),
  OPENCRANE_SKILLS_URL: Type.Optional(Type.String({ pattern: '^https?://[^?#]+[^/?#]$', maxLength: 2048 })),
  OPENCRANE_KNOWLEDGE_URL: Type.Optional(Type.String({ pattern: '^https?://[^?#]+[^/?#]$', maxLength: 2048 })),
  /** The cluster's ServiceAccount token issuer. Without it a development workload issuer runs in-process. */
  OPENCRANE_WORKLOAD_ISSUER: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
  /** How ServiceAccount tokens are checked: the issuer's OIDC discovery and JWKS, or the TokenReview API. */
  OPENCRANE_WORKLOAD_VALIDATION: Type.Union([Type.Literal('jwks'), Type.Literal('tokenreview')], { default: 'jwks' }),
  /** The audience assistants' projected ServiceAccount tokens must carry; the token issuer unless told. */
  OPENCRANE_WORKLOAD_AUDIENCE: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  /** The Kubernetes namespace assistants run in; a ServiceAccount elsewhere maps to no assistant. */
  OPENCRANE_ASSISTANT_NAMESPACE: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63, default: 'opencrane' }),
  /**
   * Where assistants are provisioned: `none` (no cluster: assistants stay "no cluster configured"),
   * `in-cluster` (the control plane's own ServiceAccount) or `kubeconfig` (OPENCRANE_KUBECONFIG, else
   * KUBECONFIG or ~/.kube/config).
   */
  OPENCRANE_KUBERNETES: Type.Union([Type.Literal('none'), Type.Literal('in-cluster'), Type.Literal('kubeconfig')], { default: 'none' }),
  OPENCRANE_KUBECONFIG: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  /** This OpenCrane instance's name: the opencrane.io/instance label on its Assistant resources. */
  OPENCRANE_INSTANCE: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63, default: 'opencrane' }),
  /** What deleting a person's assistant does to its storage: keep it (`retain`) or delete it. */
  OPENCRANE_ASSISTANT_RETENTION: Type.Union([Type.Literal('retain'), Type.Literal('delete')], { default: 'retain' }),
  /**
   * The compiled policy to load: a policy.wasm built by `npm run policies:build` with the organisation's
   * own rules in policies/custom/ (for example mounted from a ConfigMap); the committed one by default.
   */
  OPENCRANE_POLICY_WASM: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  /** The MCP gateway's limits: request and response sizes, upstream timeouts, the default rate limit. */
  OPENCRANE_MCP_MAX_REQUEST_BYTES: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
  OPENCRANE_MCP_MAX_RESPONSE_BYTES: Type.Integer({ minimum: 1024, maximum: 512 * 1024 * 1024, default: 16 * 1024 * 1024 }),
  OPENCRANE_MCP_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
  OPENCRANE_MCP_RESPONSE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
  OPENCRANE_MCP_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 120 }),
  /** Whether audit rows keep tool-call arguments: `none` (default) or `redacted` (values of secret-looking keys masked). */
  OPENCRANE_MCP_AUDIT_ARGUMENTS: Type.Union([Type.Literal('none'), Type.Literal('redacted')], { default: 'none' }),
  /** Extra Host names and Origins the gateway accepts, comma-separated, beside PUBLIC_URL's. */
  OPENCRANE_MCP_ALLOWED_HOSTS: Type.String({ maxLength: 2000, default: '' }),
  OPENCRANE_MCP_ALLOWED_ORIGINS: Type.String({ maxLength: 2000, default: '' }),
});

export interface Config {
  host: string;
  port: number;
  home: string;
  databaseUrl: string | undefined;
  logLevel: string;
  bodyLimit: number;
  resyncIntervalMs: number;
  revocationStalenessMs: number;
  production: boolean;
  /** Where PGlite keeps its data when no DATABASE_URL is set. */
  embeddedDatabaseDir: string;
  adminTokenFile: string;
  /** Origin the control plane is reached at, without a trailing slash. */
  publicUrl: string;
  /** True when publicUrl is https: cookies are then Secure and __Host- prefixed. */
  secureCookies: boolean;
  oidc: {
    /** Absent: the development identity provider runs in-process. */
    issuer: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    scopes: string[];
    claims: { subject: string; email: string; name: string; groups: string; department: string; roles: string };
    roleValues: { admin: string[]; security: string[]; auditor: string[] };
    allowedEmailDomains: string[];
  };
  session: { idleMs: number; absoluteMs: number };
  keyEncryptionKey: string | undefined;
  keyEncryptionKeyFile: string;
  /** A compiled policy to load instead of the committed one. */
  policyWasm: string | undefined;
  tokens: {
    issuer: string;
    maxTtlSeconds: number;
    jwksMaxAgeSeconds: number;
    rotationMs: number;
    audiences: { mcpGateway: string; skills: string; knowledge: string };
  };
  gateway: {
    maxRequestBytes: number;
    maxResponseBytes: number;
    connectTimeoutMs: number;
    responseTimeoutMs: number;
    rateLimitPerMinute: number;
    auditArguments: 'none' | 'redacted';
    /** Host names (without port) the gateway answers to. */
    allowedHosts: string[];
    /** Origins a browser-borne request may come from. */
    allowedOrigins: string[];
  };
  workload: {
    /** Absent: the development workload issuer runs in-process (refused in production). */
    issuer: string | undefined;
    validation: 'jwks' | 'tokenreview';
    audience: string;
    namespace: string;
  };
  cluster: {
    mode: 'none' | 'in-cluster' | 'kubeconfig';
    kubeconfig: string | undefined;
    instance: string;
    namespace: string;
    retention: 'retain' | 'delete';
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * The variables a schema names, read from the environment (empty counts as unset), converted and
 * defaulted; anything invalid becomes one error naming every variable at fault.
 */
export function readEnvironment<S extends TObject>(schema: S, env: NodeJS.ProcessEnv, invalid: (problems: string) => Error): Static<S> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(schema, Value.Convert(schema, raw));
  if (!Value.Check(schema, withDefaults)) {
    const problems = Value.Errors(schema, withDefaults).map((e) => {
      const variable = e.instancePath.replace(/^\//, '') || (e.params as { requiredProperties?: string[] }).requiredProperties?.join(', ') || 'environment';
      return `${variable}: ${e.message}`;
    });
    throw invalid(problems.join('; '));
  }
  return withDefaults;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const settings = readEnvironment(EnvSchema, env, (problems) => new ConfigError(`invalid configuration: ${problems}`));
  const home = path.resolve(settings.OPENCRANE_HOME);
  const production = settings.NODE_ENV === 'production';
  const list = (value: string) => value.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  if (settings.OIDC_ISSUER && (!settings.OIDC_CLIENT_ID || !settings.OIDC_CLIENT_SECRET)) {
    throw new ConfigError('invalid configuration: OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET');
  }
  if (production && !settings.OIDC_ISSUER) {
    throw new ConfigError('invalid configuration: OIDC_ISSUER is required when NODE_ENV=production (the development identity provider is refused)');
  }
  if (production && !settings.PUBLIC_URL) {
    throw new ConfigError('invalid configuration: PUBLIC_URL is required when NODE_ENV=production');
  }
  const publicUrl = settings.PUBLIC_URL ?? `http://${settings.HOST.includes(':') ? `[${settings.HOST}]` : settings.HOST}:${settings.PORT}`;
  if (production && !settings.OPENCRANE_WORKLOAD_ISSUER) {
    throw new ConfigError('invalid configuration: OPENCRANE_WORKLOAD_ISSUER is required when NODE_ENV=production (the development workload issuer is refused)');
  }
  const rotationMs = settings.OPENCRANE_KEY_ROTATION_HOURS * 3_600_000;
  if (rotationMs < 2 * settings.OPENCRANE_JWKS_MAX_AGE_SECONDS * 1000) {
    throw new ConfigError('invalid configuration: OPENCRANE_KEY_ROTATION_HOURS must be at least twice OPENCRANE_JWKS_MAX_AGE_SECONDS (a new key is published a JWKS cache period before it signs)');
  }
  const tokenIssuer = settings.OPENCRANE_TOKEN_ISSUER ?? publicUrl;
  return {
    host: settings.HOST,
    port: settings.PORT,
    home,
    databaseUrl: settings.DATABASE_URL,
    logLevel: settings.LOG_LEVEL,
    bodyLimit: settings.OPENCRANE_BODY_LIMIT,
    resyncIntervalMs: settings.OPENCRANE_RESYNC_SECONDS * 1000,
    revocationStalenessMs: settings.OPENCRANE_REVOCATION_STALENESS_MS,
    production,
    embeddedDatabaseDir: path.join(home, 'pgdata'),
    adminTokenFile: path.join(home, 'admin-token'),
    publicUrl,
    secureCookies: publicUrl.startsWith('https://'),
    oidc: {
      issuer: settings.OIDC_ISSUER?.replace(/\/$/, ''),
      clientId: settings.OIDC_CLIENT_ID,
      clientSecret: settings.OIDC_CLIENT_SECRET,
      scopes: settings.OIDC_SCOPES.split(/\s+/).filter(Boolean),
      claims: {
        subject: settings.OIDC_CLAIM_SUBJECT, email: settings.OIDC_CLAIM_EMAIL, name: settings.OIDC_CLAIM_NAME,
        groups: settings.OIDC_CLAIM_GROUPS, department: settings.OIDC_CLAIM_DEPARTMENT, roles: settings.OIDC_CLAIM_ROLES,
      },
      roleValues: {
        admin: list(settings.OIDC_ROLE_ADMIN), security: list(settings.OIDC_ROLE_SECURITY), auditor: list(settings.OIDC_ROLE_AUDITOR),
      },
      allowedEmailDomains: list(settings.OIDC_ALLOWED_EMAIL_DOMAINS).map((d) => d.toLowerCase()),
    },
    session: { idleMs: settings.SESSION_IDLE_MINUTES * 60_000, absoluteMs: settings.SESSION_ABSOLUTE_HOURS * 3_600_000 },
    keyEncryptionKey: settings.OPENCRANE_KEY_ENCRYPTION_KEY,
    keyEncryptionKeyFile: path.join(home, 'key-encryption-key'),
    policyWasm: settings.OPENCRANE_POLICY_WASM === undefined ? undefined : path.resolve(settings.OPENCRANE_POLICY_WASM),
    tokens: {
      issuer: tokenIssuer,
      maxTtlSeconds: settings.OPENCRANE_TOKEN_MAX_TTL_SECONDS,
      jwksMaxAgeSeconds: settings.OPENCRANE_JWKS_MAX_AGE_SECONDS,
      rotationMs,
      audiences: {
        mcpGateway: settings.OPENCRANE_MCP_GATEWAY_URL ?? `${publicUrl}/mcp`,
        skills: settings.OPENCRANE_SKILLS_URL ?? `${publicUrl}/skills`,
        knowledge: settings.OPENCRANE_KNOWLEDGE_URL ?? `${publicUrl}/knowledge`,
      },
    },
    gateway: {
      maxRequestBytes: settings.OPENCRANE_MCP_MAX_REQUEST_BYTES,
      maxResponseBytes: settings.OPENCRANE_MCP_MAX_RESPONSE_BYTES,
      connectTimeoutMs: settings.OPENCRANE_MCP_CONNECT_TIMEOUT_MS,
      responseTimeoutMs: settings.OPENCRANE_MCP_RESPONSE_TIMEOUT_MS,
      rateLimitPerMinute: settings.OPENCRANE_MCP_RATE_LIMIT_PER_MINUTE,
      auditArguments: settings.OPENCRANE_MCP_AUDIT_ARGUMENTS,
      allowedHosts: [...new Set([
        new URL(settings.OPENCRANE_MCP_GATEWAY_URL ?? publicUrl).hostname, new URL(publicUrl).hostname,
        ...list(settings.OPENCRANE_MCP_ALLOWED_HOSTS).map((h) => h.toLowerCase()),
      ])],
      allowedOrigins: [...new Set([
        new URL(settings.OPENCRANE_MCP_GATEWAY_URL ?? publicUrl).origin, new URL(publicUrl).origin,
        ...list(settings.OPENCRANE_MCP_ALLOWED_ORIGINS),
      ])],
    },
    workload: {
      issuer: settings.OPENCRANE_WORKLOAD_ISSUER?.replace(/\/$/, ''),
      validation: settings.OPENCRANE_WORKLOAD_VALIDATION,
      audience: settings.OPENCRANE_WORKLOAD_AUDIENCE ?? tokenIssuer,
      namespace: settings.OPENCRANE_ASSISTANT_NAMESPACE,
    },
    cluster: {
      mode: settings.OPENCRANE_KUBERNETES,
      kubeconfig: settings.OPENCRANE_KUBECONFIG === undefined ? undefined : path.resolve(settings.OPENCRANE_KUBECONFIG),
      instance: settings.OPENCRANE_INSTANCE,
      namespace: settings.OPENCRANE_ASSISTANT_NAMESPACE,
      retention: settings.OPENCRANE_ASSISTANT_RETENTION,
    },
  };
}
