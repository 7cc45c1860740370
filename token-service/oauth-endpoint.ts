// The OAuth endpoints' shared machinery: one `/oauth2/token` route that dispatches on `grant_type` to
// the grants registered with it, form-encoded bodies only, and RFC 6749 §5.2 errors, never
// problem+json. The control plane registers the device-code and refresh-token grants; the token
// service registers token exchange (RFC 8693). In the all-in-one process both share one route; in
// production each service serves its own. The plugin is encapsulated: its body parser, error handler
// and no-store headers stay inside it, with whatever other OAuth routes the caller adds to its scope.
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export type OAuthErrorCode =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'invalid_scope' | 'invalid_target'
  | 'unsupported_grant_type' | 'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token'
  | 'temporarily_unavailable' | 'server_error';

const STATUS: Partial<Record<OAuthErrorCode, number>> = { invalid_client: 401, temporarily_unavailable: 503, server_error: 500 };

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly status: number;

  /** `status` overrides the usual one, e.g. 400 for an unknown public client that sent no credentials. */
  constructor(readonly error: OAuthErrorCode, readonly description: string, status?: number) {
    super(description);
    this.status = status ?? STATUS[error] ?? 400;
  }
}

/** The longest accepted value of each parameter a grant reads; `repeatable` ones may appear several times. */
export type FormFields = Record<string, { max: number; repeatable?: boolean }>;
export type OAuthForm = Record<string, string | string[] | undefined>;

/**
 * Reads the parameters named in `fields` from a parsed form body. RFC 6749 §3.1: empty parameters count
 * as absent, none may be repeated (unless the grant says so, as RFC 8693 does for audience and
 * resource), and unknown ones are ignored.
 */
export function readForm(body: unknown, fields: FormFields): OAuthForm {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new OAuthError('invalid_request', 'send the parameters form-encoded');
  const form: OAuthForm = {};
  for (const [field, spec] of Object.entries(fields)) {
    if (!Object.hasOwn(body, field)) continue;
    const raw: unknown = (body as Record<string, unknown>)[field];
    const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== '');
    if (values.some((v) => typeof v !== 'string')) throw new OAuthError('invalid_request', `the ${field} parameter is malformed`);
    if (values.length > 1 && !spec.repeatable) throw new OAuthError('invalid_request', `the ${field} parameter is repeated`);
    if (values.length > 20) throw new OAuthError('invalid_request', `the ${field} parameter is repeated too often`);
    if ((values as string[]).some((v) => v.length > spec.max)) throw new OAuthError('invalid_request', `the ${field} parameter is too long`);
    if (values.length === 1 && !spec.repeatable) form[field] = values[0] as string;
    else if (values.length > 0) form[field] = values as string[];
  }
  return form;
}

/** A single-valued parameter, or undefined. */
export function optional(form: OAuthForm, field: string): string | undefined {
  const value = form[field];
  if (Array.isArray(value)) throw new OAuthError('invalid_request', `the ${field} parameter is repeated`);
  return value;
}

export function required(form: OAuthForm, field: string): string {
  const value = optional(form, field);
  if (value === undefined) throw new OAuthError('invalid_request', `the ${field} parameter is required`);
  return value;
}

/** RFC 6749 §3.3: space-separated tokens of printable ASCII without `"` and `\`. */
export const SCOPE_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;

export interface TokenGrant {
  grantType: string;
  fields: FormFields;
  /** Answers the token request: the JSON body of a 200, or throws an OAuthError. */
  handle(form: OAuthForm, request: FastifyRequest): Promise<Record<string, unknown>>;
}

export interface OAuthEndpointOptions {
  grants: TokenGrant[];
  /** Other OAuth routes that share this scope's form parsing and error format. */
  routes?: (scope: FastifyInstance) => void;
}

export function sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  if (error.status === 401) void reply.header('www-authenticate', 'Basic realm="opencrane"');
  return reply.status(error.status).send({ error: error.error, error_description: error.description });
}

export async function oauthEndpoints(app: FastifyInstance, options: OAuthEndpointOptions): Promise<void> {
  const grants = new Map(options.grants.map((g) => [g.grantType, g]));
  const supported = [...grants.keys()].join(', ');

  app.removeAllContentTypeParsers();
  await app.register(formbody);

  app.addHook('onSend', async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
    void reply.header('pragma', 'no-cache');
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof OAuthError) {
      if (error.status >= 500) request.log.warn({ code: error.error }, error.description);
      else request.log.info({ code: error.error }, error.description);
      return sendOAuthError(reply, error);
    }
    const status = (error as FastifyError).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      request.log.info({ code: (error as FastifyError).code }, 'malformed OAuth request');
      return sendOAuthError(reply, new OAuthError('invalid_request', 'send a form-encoded body (application/x-www-form-urlencoded) within the size limit'));
    }
    request.log.error({ err: error }, 'OAuth request failed');
    return sendOAuthError(reply, new OAuthError('server_error', 'an internal error occurred; it has been logged'));
  });

  app.post('/oauth2/token', { schema: { hide: true } }, async (request) => {
    const grantType = required(readForm(request.body, { grant_type: { max: 100 } }), 'grant_type');
    const grant = grants.get(grantType);
    if (!grant) throw new OAuthError('unsupported_grant_type', `supported grant types: ${supported}`);
    return grant.handle(readForm(request.body, grant.fields), request);
  });

  options.routes?.(app);
}
