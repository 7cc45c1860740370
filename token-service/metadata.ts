// RFC 8414 authorization server metadata: where the token service's endpoints and keys are, and what
// it supports. Built from the grants actually registered, so the document never claims more.
export interface MetadataInput {
  issuer: string;
  grantTypes: string[];
  /** Present when the device authorization grant is served here (the all-in-one process). */
  deviceAuthorization: boolean;
  introspection: boolean;
}

export function authorizationServerMetadata(input: MetadataInput): Record<string, unknown> {
  const { issuer } = input;
  return {
    issuer,
    token_endpoint: `${issuer}/oauth2/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    grant_types_supported: input.grantTypes,
    // No authorization endpoint: people sign in through the control plane, assistants exchange tokens.
    response_types_supported: [],
    // Token exchange and the CLI's grants are public: the subject token or device code is the credential.
    token_endpoint_auth_methods_supported: ['none'],
    ...(input.introspection ? {
      introspection_endpoint: `${issuer}/oauth2/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    } : {}),
    ...(input.deviceAuthorization ? { device_authorization_endpoint: `${issuer}/oauth2/device_authorization` } : {}),
  };
}
