// The gateway's upstream credentials: the injector it calls on each upstream request, the typed error
// it turns into a tool error, the rules of each auth kind, and the sealed, versioned credential store
// that the control plane writes and the injector reads.
export {
  createCredentialInjector, cacheLifetimeMs,
  type CredentialInjector, type CredentialInjectorDependencies, type InjectionContext, type ToolAuth,
} from './credential-injector.ts';
export { CredentialUnavailableError, type CredentialErrorCode } from './errors.ts';
export {
  toolAuthProblems, secretSourceOf, TOOL_AUTH_KINDS, TOOL_AUTH_FIELDS, HEADER_NAME_PATTERN, RESERVED_HEADER_NAMES,
  type ToolAuthKind, type ToolAuthConfig, type ToolAuthField, type ToolAuthProblem,
} from './tool-auth.ts';
export {
  addCredentialVersion, credentialContext, credentialVersions, deleteCredentialVersions, lockTool, newestCredential,
  openSecret, sealSecret, toolCredentialStatuses, CREDENTIAL_VERSIONS_KEPT,
  type CredentialVersion, type StoredCredential,
} from './credential-store.ts';
export {
  requestToken, parseTokenResponse, clientSecretBasic, TOKEN_EXCHANGE_GRANT_TYPE, ACCESS_TOKEN_TYPE, DEFAULT_TOKEN_LIFETIME_MS,
  type TokenRequest, type UpstreamToken,
} from './token-endpoint.ts';
