// The headers that authenticate the gateway to a tool's upstream server, worked out on each upstream
// request from the tool's auth kind. Secrets come from `tool_credentials` (opened with the
// key-encryption key) and stay in memory for a short while; upstream access tokens are fetched,
// cached until shortly before they expire, and fetched once however many requests need them at the
// same moment (lru-cache's `fetch` shares the one in flight).
//
// Freshness: a decrypted secret is kept for `secretCacheMs` (30 s) without asking the database again,
// so a new version (or a deletion) takes effect on every replica within that window. Upstream tokens
// are cached under the credential row they were fetched with, so a rotated secret also stops the
// reuse of tokens fetched with the old one once the window has passed.
import { LRUCache } from 'lru-cache';
import type { Db, Logger } from '../../core/index.ts';
import type { KeyEncryptor } from '../../token-service/index.ts';
import { newestCredential, openSecret } from './credential-store.ts';
import { CredentialUnavailableError } from './errors.ts';
import { ACCESS_TOKEN_TYPE, requestToken, TOKEN_EXCHANGE_GRANT_TYPE, type TokenRequest } from './token-endpoint.ts';
import { toolAuthProblems, type ToolAuthConfig, type ToolAuthKind } from './tool-auth.ts';

export interface ToolAuth {
  toolId: string;
  kind: ToolAuthKind;
  config: ToolAuthConfig;
}

export interface InjectionContext {
  /** The person on whose behalf the assistant calls the tool. */
  personId: string;
  /**
   * For `token_exchange`: the token presented to the upstream authorization server as the RFC 8693
   * subject_token (type access_token). Pass a short-lived token the OpenCrane token service mints
   * for this person and this upstream, never the assistant's own inbound token. Needed only when no
   * cached upstream token is fresh.
   */
  subjectToken?: string | undefined;
}

export interface CredentialInjector {
  /**
   * The headers to add to the upstream request (lower-case names). Throws CredentialUnavailableError
   * when the credential cannot be had; the request must then not be sent.
   */
  headersFor(tool: ToolAuth, ctx: InjectionContext): Promise<Record<string, string>>;
}

export interface CredentialInjectorDependencies {
  db: Db;
  encryptor: Pick<KeyEncryptor, 'decrypt'>;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** Milliseconds since the epoch; the caches' clock. */
  now?: () => number;
  fetch?: typeof fetch;
  /** How long a decrypted secret is used before the database is asked for the newest version. */
  secretCacheMs?: number;
  /** Limit for each upstream token request, connection to last byte. */
  tokenRequestTimeoutMs?: number;
  /** Entries per cache (secrets; upstream tokens). */
  maxCacheEntries?: number;
}

interface OpenedSecret {
  credentialId: string;
  secret: string;
}

interface TokenFetch {
  request: TokenRequest;
  subjectToken?: string | undefined;
}

/** Refresh a little before the upstream says the token expires: 10% of its life, at most 30 s. */
export const cacheLifetimeMs = (lifetimeMs: number) => Math.max(1, Math.floor(lifetimeMs - Math.min(30_000, lifetimeMs / 10)));

const keyOf = (...parts: (string | undefined)[]) => JSON.stringify(parts);

export function createCredentialInjector(deps: CredentialInjectorDependencies): CredentialInjector {
  const perf = { now: deps.now ?? Date.now };
  const fetchImpl = deps.fetch ?? fetch;
  const timeoutMs = deps.tokenRequestTimeoutMs ?? 10_000;
  const max = deps.maxCacheEntries ?? 10_000;

  const secrets = new LRUCache<string, OpenedSecret, { toolId: string; personId: string | null }>({
    max, ttl: deps.secretCacheMs ?? 30_000, ttlResolution: 0, perf, ignoreFetchAbort: true,
    fetchMethod: async (_key, _stale, { context: { toolId, personId } }) => {
      const stored = await newestCredential(deps.db, toolId, personId);
      if (!stored) return undefined;
      try {
        return { credentialId: stored.id, secret: await openSecret(deps.encryptor, stored) };
      } catch (err) {
        deps.logger.error({ toolId, credentialId: stored.id, version: stored.version, error: (err as Error).name },
          'a stored tool credential does not open under the key-encryption key');
        throw new CredentialUnavailableError('ERR_CREDENTIAL_UNREADABLE', toolId,
          `the stored credential of tool ${toolId} cannot be opened; set it again`);
      }
    },
  });

  const tokens = new LRUCache<string, string, TokenFetch>({
    max, ttlResolution: 0, perf, ignoreFetchAbort: true,
    fetchMethod: async (_key, _stale, { context, options }) => {
      const { request, subjectToken } = context;
      const form = { ...request.form };
      if (form.grant_type === TOKEN_EXCHANGE_GRANT_TYPE) {
        if (!subjectToken) {
          throw new CredentialUnavailableError('ERR_CREDENTIAL_MISSING', request.toolId,
            `tool ${request.toolId} needs a subject token for the token exchange, and none was supplied`);
        }
        form.subject_token = subjectToken;
      }
      const token = await requestToken({ ...request, form }, {
        fetch: fetchImpl, timeoutMs, logger: deps.logger,
      });
      options.ttl = cacheLifetimeMs(token.lifetimeMs);
      return token.accessToken;
    },
  });

  async function secretOf(toolId: string, personId: string | null): Promise<OpenedSecret> {
    const opened = await secrets.fetch(keyOf(toolId, personId ?? undefined), { context: { toolId, personId } });
    if (!opened) {
      throw new CredentialUnavailableError('ERR_CREDENTIAL_MISSING', toolId, personId === null
        ? `tool ${toolId} has no credential configured`
        : `person ${personId} has not stored their credential for tool ${toolId}`);
    }
    return opened;
  }

  async function upstreamToken(tool: ToolAuth, ctx: InjectionContext): Promise<string> {
    const { config } = tool;
    const { credentialId, secret } = await secretOf(tool.toolId, null);
    const exchange = tool.kind === 'token_exchange';
    const form: Record<string, string | undefined> = exchange
      ? {
        grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE,
        audience: config.audience, resource: config.resource, scope: config.scope,
      }
      : { grant_type: 'client_credentials', scope: config.scope, audience: config.audience, resource: config.resource };
    // Exchanged tokens act for one person; client-credentials tokens act for the gateway alone.
    const key = keyOf(tool.kind, tool.toolId, exchange ? ctx.personId : undefined, credentialId,
      config.tokenUrl, config.clientId, config.scope, config.audience, config.resource);
    const token = await tokens.fetch(key, {
      context: {
        request: { toolId: tool.toolId, tokenUrl: config.tokenUrl!, clientId: config.clientId!, clientSecret: secret, form },
        subjectToken: ctx.subjectToken,
      },
    });
    // fetchMethod always answers or throws; an empty answer would be a broken cache.
    if (token === undefined) throw new CredentialUnavailableError('ERR_CREDENTIAL_UPSTREAM', tool.toolId, `no upstream token for tool ${tool.toolId}`);
    return token;
  }

  return {
    async headersFor(tool, ctx) {
      // Unknown kinds and settings the API would have refused fail closed here too.
      const problems = toolAuthProblems(tool.kind, tool.config);
      if (problems.length > 0) {
        throw new CredentialUnavailableError('ERR_CREDENTIAL_MISCONFIGURED', tool.toolId,
          `tool ${tool.toolId}'s ${String(tool.kind)} authentication is misconfigured: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`);
      }
      switch (tool.kind) {
        case 'none':
          return {};
        case 'bearer':
          return { authorization: `Bearer ${(await secretOf(tool.toolId, null)).secret}` };
        case 'header':
          return { [tool.config.headerName!.toLowerCase()]: (await secretOf(tool.toolId, null)).secret };
        case 'per_person':
          return { authorization: `Bearer ${(await secretOf(tool.toolId, ctx.personId)).secret}` };
        case 'client_credentials':
        case 'token_exchange':
          return { authorization: `Bearer ${await upstreamToken(tool, ctx)}` };
      }
    },
  };
}
