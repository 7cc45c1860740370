// The gateway's HTTP face: `/mcp/{tool}` speaks MCP Streamable HTTP (POST, GET, DELETE) and
// `/.well-known/oauth-protected-resource/mcp/{tool}` describes each tool as an OAuth protected resource
// (RFC 9728). A POST runs these steps, each refusing on its own:
//   check Host and Origin → authenticate the bearer token → parse one JSON-RPC message → check the
//   protocol headers against the body → unwrap the session → decide → rate-limit → inject the tool's
//   credential → forward → relay (filtering listings) → audit.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { validateHostHeader } from '@modelcontextprotocol/server';
import type { Decision } from '../policies/types.ts';
import { TokenVerificationError, type TokenVerifier } from '../token-service/index.ts';
import type { AuditWriter, GatewayAuditEvent } from './audit-writer.ts';
import { createAuthorizer, listFilterOf, questionOf, type Caller, type Question } from './authorize.ts';
import { CredentialUnavailableError, type CredentialInjector } from './credentials/index.ts';
import { errorBody, GatewayError, JSONRPC, parseMessage, type InboundMessage, type RequestId } from './jsonrpc.ts';
import type { GatewayMetrics } from './metrics.ts';
import { checkProtocol, type Era } from './protocol.ts';
import type { RateLimiter } from './rate-limit.ts';
import { redactArguments } from './redact.ts';
import { relay, sendError, type RelayOutcome } from './relay.ts';
import type { SessionSealer } from './sessions.ts';
import type { ToolRegistry, GatewayTool } from './tool-registry.ts';
import type { Upstream } from './upstream.ts';
import type { AccessService } from '../core/index.ts';

export interface GatewaySettings {
  /** The gateway's base URI (the `mcp-gateway` audience); each tool is `<base>/<name>`. */
  baseUri: string;
  /** The token service's issuer, named as the authorization server in the resource metadata. */
  authorizationServer: string;
  maxRequestBytes: number;
  maxResponseBytes: number;
  responseTimeoutMs: number;
  rateLimitPerMinute: number;
  auditArguments: 'none' | 'redacted';
  allowedHosts: string[];
  allowedOrigins: string[];
}

export interface GatewayDependencies {
  settings: GatewaySettings;
  tools: Pick<ToolRegistry, 'byName'>;
  verifier: TokenVerifier;
  access: Pick<AccessService, 'decide'>;
  credentials: CredentialInjector;
  sessions: SessionSealer;
  upstream: Upstream;
  rateLimiter: RateLimiter;
  audit: Pick<AuditWriter, 'record'>;
  metrics: GatewayMetrics;
  upstreamSubjectToken(caller: Caller, audience: string): Promise<string>;
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Not an HTTP answer anyone receives: the client left before the upstream answered (nginx's 499). */
const CLIENT_GONE = 499;

const TOOL_PARAM = { type: 'object', properties: { tool: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' } }, required: ['tool'] } as const;

/** A tool error result: how a refused or failed call reaches the model (MCP "tool execution error"). */
function toolError(id: RequestId, era: Era, text: string): string {
  return JSON.stringify({
    jsonrpc: '2.0', id,
    result: { content: [{ type: 'text', text }], isError: true, ...(era === 'stateless' ? { resultType: 'complete' } : {}) },
  });
}

export async function registerGatewayRoutes(app: FastifyInstance, deps: GatewayDependencies): Promise<void> {
  const { settings, metrics } = deps;
  const authorizer = createAuthorizer(deps.access);
  const resourceOf = (tool: string) => `${settings.baseUri}/${tool}`;
  const base = new URL(settings.baseUri);
  const allowedOrigins = new Set(settings.allowedOrigins.map(originOf));
  const metadataUrl = (tool: string) => `${base.origin}/.well-known/oauth-protected-resource${base.pathname}/${tool}`;

  app.get(`/.well-known/oauth-protected-resource${base.pathname}/:tool`, { schema: { hide: true, params: TOOL_PARAM } }, (request, reply) => {
    const { tool } = request.params as { tool: string };
    if (!deps.tools.byName(tool)) return reply.status(404).send({ error: 'not_found' });
    return reply.header('cache-control', 'public, max-age=300').send({
      resource: resourceOf(tool),
      authorization_servers: [settings.authorizationServer],
      bearer_methods_supported: ['header'],
      resource_name: `OpenCrane MCP gateway: ${tool}`,
    });
  });

  // Every call is audited (with more than a request log line says), so requests log only warnings.
  await app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['application/json'], { parseAs: 'string', bodyLimit: settings.maxRequestBytes }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((error: FastifyError | GatewayError, request, reply) => {
      const gatewayError = error instanceof GatewayError ? error : frameworkError(error);
      if (gatewayError.httpStatus >= 500 && !(error instanceof GatewayError)) request.log.error({ err: error }, 'MCP gateway request failed');
      reply.hijack();
      sendError(reply.raw, gatewayError);
    });

    /** Host and Origin against DNS rebinding: the gateway answers only to its own names. */
    const checkOrigin = (request: FastifyRequest) => {
      const host = validateHostHeader(header(request, 'host'), settings.allowedHosts);
      if (!host.ok) throw new GatewayError(403, JSONRPC.SERVER_ERROR, 'Forbidden: this Host is not served here');
      // The SDK's Origin helper compares host names only; a browser's Origin must match one of ours exactly.
      const origin = header(request, 'origin');
      if (origin !== undefined && !allowedOrigins.has(originOf(origin))) {
        throw new GatewayError(403, JSONRPC.SERVER_ERROR, 'Forbidden: requests from this Origin are not accepted');
      }
    };

    const authenticate = async (request: FastifyRequest, toolName: string): Promise<Caller> => {
      const challenge = (error: string, description: string) => new GatewayError(401, JSONRPC.SERVER_ERROR, `Unauthorized: ${description}`, null, {
        'www-authenticate': `Bearer resource_metadata="${metadataUrl(toolName)}", error="${error}", error_description="${description}"`,
      });
      const authorization = header(request, 'authorization');
      const match = authorization === undefined ? null : /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization);
      if (!match) throw challenge('invalid_request', 'a bearer token from the OpenCrane token service is required');
      let verified;
      try {
        verified = await deps.verifier.verify(match[1]!);
      } catch (err) {
        if (err instanceof TokenVerificationError && err.code === 'ERR_TOKEN_UNAVAILABLE') {
          throw new GatewayError(503, JSONRPC.SERVER_ERROR, 'Service Unavailable: tokens cannot be checked now; retry shortly');
        }
        throw challenge('invalid_token', 'the token is not valid here');
      }
      if (verified.audience !== settings.baseUri && verified.audience !== resourceOf(toolName)) {
        throw challenge('invalid_token', 'the token is for another tool');
      }
      return { personId: verified.owner, assistantId: verified.subject };
    };

    const toolNamed = (name: string): GatewayTool => {
      const tool = deps.tools.byName(name);
      if (!tool) throw new GatewayError(404, JSONRPC.SERVER_ERROR, `Not Found: there is no tool server ${name}`);
      return tool;
    };

    const sessionOf = (request: FastifyRequest, tool: GatewayTool, caller: Caller): string | undefined => {
      const wrapped = header(request, 'mcp-session-id');
      if (wrapped === undefined) return undefined;
      const upstreamId = deps.sessions.unwrap(wrapped, { toolId: tool.id, assistantId: caller.assistantId });
      // Unknown to this assistant and this tool: as the specification says for a session that is gone.
      if (upstreamId === undefined) throw new GatewayError(404, -32001, 'Session not found');
      return upstreamId;
    };

    const audit = (request: FastifyRequest, caller: Caller, tool: GatewayTool, method: string, event: Partial<GatewayAuditEvent> & Pick<GatewayAuditEvent, 'decision' | 'outcome'>, started: number) => {
      const latencyMs = Number(process.hrtime.bigint() - BigInt(started)) / 1e6;
      metrics.requests.inc({ tool: tool.name, method, outcome: event.outcome });
      metrics.duration.observe({ tool: tool.name, method }, latencyMs / 1000);
      deps.audit.record({
        personId: caller.personId, assistantId: caller.assistantId, toolId: tool.id, server: tool.name, method,
        name: null, grants: [], reasons: [], upstreamStatus: null, latencyMs, requestId: request.id, ...event,
      });
    };

    /** Every decision the gateway makes goes through here, so each one is counted. */
    const decide = (caller: Caller, tool: GatewayTool, question: Question): Decision => {
      const decision = authorizer.decide(caller, tool, question);
      metrics.decisions.inc({ tool: tool.name, action: question.action, decision: decision.allow ? 'allow' : 'deny' });
      return decision;
    };

    const forward = async (
      request: FastifyRequest, reply: FastifyReply, tool: GatewayTool, caller: Caller,
      opts: {
        method: 'GET' | 'POST' | 'DELETE'; body?: string; id: RequestId | null; sessionId: string | undefined; message?: InboundMessage;
        cutMessage?: (reason: string) => string;
      },
    ): Promise<RelayOutcome> => {
      let credentials: Record<string, string>;
      try {
        const { kind, config } = tool.auth;
        // For an exchange at the tool's own authorization server: a short-lived token naming the person,
        // addressed to that server (the origin of its token endpoint), never the assistant's inbound token.
        const subjectToken = kind === 'token_exchange'
          ? await deps.upstreamSubjectToken(caller, new URL(config.tokenUrl ?? tool.url).origin).catch(() => {
            throw new GatewayError(503, JSONRPC.UPSTREAM_ERROR, 'the tool server\'s credential cannot be had now; retry shortly', opts.id);
          })
          : undefined;
        credentials = await deps.credentials.headersFor({ toolId: tool.id, kind, config }, { personId: caller.personId, subjectToken });
      } catch (err) {
        if (err instanceof CredentialUnavailableError) {
          metrics.upstreamErrors.inc({ tool: tool.name, kind: 'credential' });
          throw new GatewayError(502, JSONRPC.UPSTREAM_ERROR, `the tool server's credential is not available (${err.code})`, opts.id);
        }
        throw err;
      }
      const abort = new AbortController();
      // 'close' also follows every finished answer; only a client that left early aborts the upstream.
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) abort.abort();
      });
      const streaming = opts.method === 'GET';
      const upstream = await deps.upstream.send({
        url: tool.url, method: opts.method, clientHeaders: request.headers, sessionId: opts.sessionId, credentials,
        body: opts.body, id: opts.id, signal: abort.signal,
        headersTimeoutMs: settings.responseTimeoutMs, bodyTimeoutMs: streaming ? 0 : settings.responseTimeoutMs,
      }).catch((err: unknown) => {
        if (abort.signal.aborted) throw new GatewayError(CLIENT_GONE, JSONRPC.SERVER_ERROR, 'the client went away', opts.id);
        metrics.upstreamErrors.inc({ tool: tool.name, kind: (err as GatewayError).httpStatus === 504 ? 'timeout' : 'unreachable' });
        throw err;
      });
      const filter = opts.message ? listFilterOf(opts.message) : undefined;
      reply.hijack();
      try {
        const outcome = await relay(upstream, reply.raw, {
          id: opts.id,
          maxResponseBytes: settings.maxResponseBytes,
          deadline: streaming ? undefined : Date.now() + settings.responseTimeoutMs,
          transform: filter ? (m) => authorizer.filter(caller, tool, filter, m) : undefined,
          cutMessage: opts.cutMessage,
          secrets: Object.values(credentials).flatMap((v) => [v, v.replace(/^Bearer /i, '')]).filter((v) => v.length >= 8),
          wrapSession: (id) => deps.sessions.wrap(id, { toolId: tool.id, assistantId: caller.assistantId }),
        });
        if (outcome.cut && outcome.cut !== 'client') metrics.upstreamErrors.inc({ tool: tool.name, kind: outcome.cut });
        return outcome;
      } catch (err) {
        if (err instanceof GatewayError) metrics.upstreamErrors.inc({ tool: tool.name, kind: 'answer' });
        throw err;
      }
    };

    /** Answers without going upstream: a JSON-RPC body with a status. */
    const answer = (reply: FastifyReply, status: number, body: string) => {
      reply.hijack();
      reply.raw.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      reply.raw.end(body);
    };

    scope.post(`${base.pathname}/:tool`, { schema: { hide: true, params: TOOL_PARAM } }, async (request, reply) => {
      const started = Number(process.hrtime.bigint());
      checkOrigin(request);
      const { tool: toolName } = request.params as { tool: string };
      const caller = await authenticate(request, toolName);
      const tool = toolNamed(toolName);
      if (typeof request.body !== 'string') throw new GatewayError(415, JSONRPC.SERVER_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
      const message = parseMessage(request.body);
      const id = message.kind === 'request' ? message.id : null;
      const era = checkProtocol(message, {
        protocolVersion: header(request, 'mcp-protocol-version'), sessionId: header(request, 'mcp-session-id'),
        mcpMethod: header(request, 'mcp-method'), mcpName: header(request, 'mcp-name'),
      });
      const sessionId = sessionOf(request, tool, caller);
      const method = message.kind === 'response' ? 'response' : message.method;
      const question = questionOf(message);
      const decision = decide(caller, tool, question);
      const recorded = {
        name: question.name ?? null, grants: decision.grants, reasons: decision.reasons,
        ...(settings.auditArguments === 'redacted' && question.arguments !== undefined ? { arguments: redactArguments(question.arguments) } : {}),
      };
      if (!decision.allow) {
        audit(request, caller, tool, method, { ...recorded, decision: 'deny', outcome: 'denied' }, started);
        const refusal = `Refused by OpenCrane policy: ${decision.reasons.join('; ')}`;
        if (message.kind === 'request' && message.method === 'tools/call') return answer(reply, 200, toolError(message.id, era, refusal));
        // A refused listing or a request to a server the person cannot use at all: the request was valid
        // MCP, so the refusal is a JSON-RPC error (HTTP 403 when it is about the whole server).
        return answer(reply, question.name === undefined ? 403 : 200, errorBody(id, JSONRPC.FORBIDDEN, refusal));
      }
      if (message.kind === 'request' && message.method === 'tools/call') {
        const wait = deps.rateLimiter.take(caller.personId, tool.id, tool.rateLimitPerMinute ?? settings.rateLimitPerMinute);
        if (wait > 0) {
          audit(request, caller, tool, method, { ...recorded, decision: 'allow', outcome: 'rate-limited' }, started);
          return answer(reply, 200, toolError(message.id, era, `Rate limit reached for ${tool.name}: try again in ${wait} s`));
        }
      }
      const isCall = message.kind === 'request' && message.method === 'tools/call';
      const failure = (reason: string) => `The tool server ${tool.name} failed: ${reason}`;
      try {
        const outcome = await forward(request, reply, tool, caller, {
          method: 'POST', body: request.body, id, sessionId, message,
          // A call cut short (too slow, too large) ends with a tool error the model can read.
          ...(isCall ? { cutMessage: (reason: string) => toolError(id!, era, failure(reason)) } : {}),
        });
        audit(request, caller, tool, method, {
          ...recorded, decision: 'allow', upstreamStatus: outcome.upstreamStatus, outcome: outcome.cut ?? (outcome.status < 400 ? 'ok' : 'error'),
        }, started);
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        audit(request, caller, tool, method, {
          ...recorded, decision: 'allow', outcome: err.httpStatus === CLIENT_GONE ? 'client-gone' : 'upstream-error',
        }, started);
        // A failed call is a tool error the model can read; anything else a JSON-RPC error.
        if (isCall && err.code === JSONRPC.UPSTREAM_ERROR) return answer(reply, 200, toolError(id!, era, failure(err.message)));
        reply.hijack();
        return sendError(reply.raw, err);
      }
    });

    const streamOrEnd = (method: 'GET' | 'DELETE') => async (request: FastifyRequest, reply: FastifyReply) => {
      const started = Number(process.hrtime.bigint());
      checkOrigin(request);
      const { tool: toolName } = request.params as { tool: string };
      const caller = await authenticate(request, toolName);
      const tool = toolNamed(toolName);
      const sessionId = sessionOf(request, tool, caller);
      if (sessionId === undefined) throw new GatewayError(400, JSONRPC.SERVER_ERROR, 'Bad Request: Mcp-Session-Id header is required');
      const decision = decide(caller, tool, { action: 'tools.list' });
      if (!decision.allow) {
        audit(request, caller, tool, method, { decision: 'deny', grants: decision.grants, reasons: decision.reasons, outcome: 'denied' }, started);
        throw new GatewayError(403, JSONRPC.FORBIDDEN, `Refused by OpenCrane policy: ${decision.reasons.join('; ')}`);
      }
      let outcome: RelayOutcome;
      try {
        outcome = await forward(request, reply, tool, caller, { method, id: null, sessionId });
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        audit(request, caller, tool, method, { decision: 'allow', grants: decision.grants, reasons: decision.reasons, outcome: 'upstream-error' }, started);
        reply.hijack();
        return sendError(reply.raw, err);
      }
      audit(request, caller, tool, method, {
        decision: 'allow', grants: decision.grants, reasons: decision.reasons, upstreamStatus: outcome.upstreamStatus, outcome: outcome.cut ?? 'ok',
      }, started);
    };
    scope.get(`${base.pathname}/:tool`, { schema: { hide: true, params: TOOL_PARAM } }, streamOrEnd('GET'));
    scope.delete(`${base.pathname}/:tool`, { schema: { hide: true, params: TOOL_PARAM } }, streamOrEnd('DELETE'));
    done();
  }, { logLevel: 'warn' });
}

/** An Origin header's origin, normalised; anything unparsable (or the literal "null") matches nothing. */
function originOf(value: string): string {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? '\0' : origin;
  } catch {
    return '\0';
  }
}

/** What fastify itself refuses (media type, body size, bad parameters), as JSON-RPC errors. */
function frameworkError(error: FastifyError): GatewayError {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError(415, JSONRPC.SERVER_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError(413, JSONRPC.SERVER_ERROR, 'Payload Too Large: the request body is larger than the gateway allows');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError(400, JSONRPC.PARSE_ERROR, 'Parse error: the body is empty');
    default:
      break;
  }
  if (error.validation) return new GatewayError(404, JSONRPC.SERVER_ERROR, 'Not Found: no such tool server');
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new GatewayError(error.statusCode, JSONRPC.SERVER_ERROR, 'Bad Request');
  }
  return new GatewayError(500, JSONRPC.INTERNAL_ERROR, 'Internal error; it has been logged');
}
