// RFC 8693 token exchange at `POST /oauth2/token`: a workload identity (a Kubernetes projected
// ServiceAccount token) or an OpenCrane access token in, an access token for exactly one audience out.
// The request path reads as a list of small steps: read the request → find the target audience →
// check the subject token → find the assistant and its owner → check the owner holds something on
// that audience → stamp the owner's revocation epoch → sign. Every refusal is an RFC 6749 §5.2 error.
//
// No client authentication is asked for: the subject token is the credential (it is bound to the
// token service's audience and lives minutes), and nothing else would be a secret an assistant could
// keep better. Delegation (`actor_token`) is not offered: no OpenCrane flow acts for another party, so
// no token carries an `act` claim.
import type { FastifyRequest } from 'fastify';
import { assistantIdOfServiceAccount, type AccessIndex } from '../core/index.ts';
import type { AudienceRegistry, Audience } from './audiences.ts';
import { signAccessToken, type AccessTokenSigner } from './access-tokens.ts';
import { OAuthError, optional, required, SCOPE_PATTERN, type OAuthForm, type TokenGrant } from './oauth-endpoint.ts';
import { TokenVerificationError, type CurrentEpoch, type TokenVerifier, type VerifiedToken } from './token-verifier.ts';
import { WorkloadIdentityError, type WorkloadIdentityValidator } from './workload-identity.ts';

export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

const FIELDS = {
  subject_token: { max: 8192 },
  subject_token_type: { max: 100 },
  requested_token_type: { max: 100 },
  audience: { max: 2048, repeatable: true },
  resource: { max: 2048, repeatable: true },
  scope: { max: 500 },
  actor_token: { max: 8192 },
  actor_token_type: { max: 100 },
};

/** The assistants, people and grants this replica holds in memory, kept current by the change feed. */
export type ExchangeDirectory = Pick<AccessIndex, 'assistant' | 'subject' | 'allowsAny'>;

export interface TokenExchangeDependencies {
  audiences: AudienceRegistry;
  workload: WorkloadIdentityValidator;
  /** Verifies OpenCrane access tokens presented for exchanging down (audience: the MCP gateway). */
  accessTokens: TokenVerifier;
  directory: ExchangeDirectory;
  /** A tool's id by its name, for tool audiences. */
  toolIdByName(name: string): Promise<string | undefined>;
  currentEpoch: CurrentEpoch;
  signer: AccessTokenSigner;
  /** The namespace assistants run in; ServiceAccounts elsewhere are nobody's assistant. */
  namespace: string;
  maxTtlSeconds: number;
  now?: () => number;
}

interface Subject {
  assistantId: string;
  /** Seconds since the epoch when the presented token expires: the issued one never outlives it. */
  notAfter: number | undefined;
  /** The scope of an access token being exchanged down: the new one may only narrow it. */
  scope: string | undefined;
  /** The audience of an access token being exchanged down. */
  audience: string | undefined;
}

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);
const invalidTarget = (description: string) => new OAuthError('invalid_target', description);
const unavailable = (description: string) => new OAuthError('temporarily_unavailable', description);

const values = (form: OAuthForm, field: string): string[] => {
  const value = form[field];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
};

/** RFC 8693 §2.1: `audience` and `resource` together name where the token will be used; we issue for exactly one. */
function targetOf(form: OAuthForm, audiences: AudienceRegistry): Audience {
  const named = [...values(form, 'audience'), ...values(form, 'resource')];
  if (named.length === 0) throw new OAuthError('invalid_request', 'name the target with the audience or resource parameter');
  const resolved = named.map((value) => {
    const audience = audiences.resolve(value);
    if (!audience) throw invalidTarget(`${value.slice(0, 200)} is not an audience this token service issues tokens for`);
    return audience;
  });
  const [first] = resolved;
  if (!first || resolved.some((a) => a.uri !== first.uri)) throw invalidTarget('a token is issued for exactly one audience; name only one');
  return first;
}

function scopeOf(form: OAuthForm, subject: Subject): string | undefined {
  const scope = optional(form, 'scope');
  if (scope === undefined) return subject.scope;
  if (!SCOPE_PATTERN.test(scope)) throw new OAuthError('invalid_scope', 'the scope is malformed');
  if (subject.scope !== undefined) {
    const held = new Set(subject.scope.split(' '));
    if (scope.split(' ').some((s) => !held.has(s))) throw new OAuthError('invalid_scope', 'an exchanged token can only narrow the scope it came with');
  }
  return scope;
}

async function workloadSubject(deps: TokenExchangeDependencies, token: string): Promise<Subject> {
  let identity;
  try {
    identity = await deps.workload.validate(token);
  } catch (err) {
    if (err instanceof WorkloadIdentityError && err.code === 'invalid') throw invalidGrant(err.message);
    throw unavailable('the workload identity cannot be checked now; retry shortly');
  }
  const assistantId = identity.namespace === deps.namespace ? assistantIdOfServiceAccount(identity.serviceAccount) : undefined;
  if (!assistantId) throw invalidGrant(`the ServiceAccount ${identity.namespace}/${identity.serviceAccount} is not an assistant's`);
  return { assistantId, notAfter: identity.expiresAt, scope: undefined, audience: undefined };
}

async function accessTokenSubject(deps: TokenExchangeDependencies, token: string, target: Audience): Promise<Subject> {
  let verified: VerifiedToken;
  try {
    verified = await deps.accessTokens.verify(token);
  } catch (err) {
    if (err instanceof TokenVerificationError && err.code === 'ERR_TOKEN_UNAVAILABLE') throw unavailable('the subject token cannot be checked now; retry shortly');
    throw invalidGrant(`the subject token is not acceptable: ${err instanceof Error ? err.message : 'refused'}`);
  }
  // Exchanging down means from the whole gateway to one tool behind it; nothing else is narrower.
  if (verified.audience !== deps.audiences.uris.mcpGateway || target.plane !== 'tool') {
    throw invalidTarget('an access token can only be exchanged down from the MCP gateway to one tool behind it');
  }
  return {
    assistantId: verified.subject, notAfter: Math.floor(verified.expiresAt.getTime() / 1000), scope: verified.scope, audience: verified.audience,
  };
}

export function tokenExchangeGrant(deps: TokenExchangeDependencies): TokenGrant {
  const now = deps.now ?? Date.now;
  return {
    grantType: TOKEN_EXCHANGE_GRANT_TYPE,
    fields: FIELDS,
    async handle(form: OAuthForm, request: FastifyRequest) {
      const subjectToken = required(form, 'subject_token');
      const subjectTokenType = required(form, 'subject_token_type');
      if (optional(form, 'actor_token') !== undefined || optional(form, 'actor_token_type') !== undefined) {
        throw new OAuthError('invalid_request', 'delegation (actor_token) is not supported');
      }
      const requested = optional(form, 'requested_token_type');
      if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS_TOKEN && requested !== TOKEN_TYPE_JWT) {
        throw new OAuthError('invalid_request', `requested_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN}`);
      }
      const target = targetOf(form, deps.audiences);

      let subject: Subject;
      if (subjectTokenType === TOKEN_TYPE_JWT) subject = await workloadSubject(deps, subjectToken);
      else if (subjectTokenType === TOKEN_TYPE_ACCESS_TOKEN) subject = await accessTokenSubject(deps, subjectToken, target);
      else throw new OAuthError('invalid_request', `subject_token_type must be ${TOKEN_TYPE_JWT} (a ServiceAccount token) or ${TOKEN_TYPE_ACCESS_TOKEN}`);
      const scope = scopeOf(form, subject);

      const assistant = deps.directory.assistant(subject.assistantId);
      if (!assistant) throw invalidGrant('the subject names no known assistant');
      if (assistant.status === 'suspended' || assistant.status === 'deleting') throw invalidGrant(`the assistant is ${assistant.status}`);
      const owner = deps.directory.subject(assistant.personId);
      if (owner.status !== 'active') throw invalidGrant('the assistant\'s owner is suspended or unknown');

      // Deny by default at the door: no token for an audience the owner holds no allow grant on.
      const resourceId = target.plane === 'tool' ? await deps.toolIdByName(target.toolName) : undefined;
      if (target.plane === 'tool' && resourceId === undefined) throw invalidTarget(`there is no tool ${target.toolName}`);
      if (!deps.directory.allowsAny(owner, target.kind, resourceId, now())) {
        throw invalidTarget('the assistant\'s owner holds no grant for that audience');
      }

      const epoch = deps.currentEpoch(assistant.personId);
      if (epoch === 'stale') throw unavailable('the revocation feed is resynchronising; retry shortly');
      if (epoch === undefined) throw invalidGrant('the assistant\'s owner is not known here yet');

      const issued = await signAccessToken(deps.signer, {
        subject: assistant.id, owner: assistant.personId, audience: target.uri, epoch,
        ...(scope === undefined ? {} : { scope }),
        ttlSeconds: deps.maxTtlSeconds, ...(subject.notAfter === undefined ? {} : { notAfter: subject.notAfter }),
      }, now());
      request.log.debug({ assistant: assistant.id, audience: target.uri, jti: issued.jti, from: subject.audience ?? 'workload' }, 'token exchanged');
      return {
        access_token: issued.token,
        issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        ...(scope === undefined ? {} : { scope }),
      };
    },
  };
}
