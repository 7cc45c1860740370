// The identity provider's endpoints: from its discovery document, or, for the in-process development
// provider, from its well-known layout (it cannot be fetched before this server listens).
export interface ProviderMetadata {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  endSessionEndpoint: string | null;
}

export async function discoverProvider(issuer: string, timeoutMs = 10_000): Promise<ProviderMetadata> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: Record<string, unknown>;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = (await response.json()) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read the identity provider's discovery document at ${url}: ${(err as Error).message}`, { cause: err });
  }
  const text = (key: string) => (typeof document[key] === 'string' ? document[key] : null);
  if (text('issuer') !== issuer.replace(/\/$/, '') && text('issuer') !== issuer) {
    throw new Error(`the discovery document at ${url} names issuer ${String(document.issuer)}, not ${issuer}`);
  }
  const required = (key: string) => {
    const value = text(key);
    if (!value) throw new Error(`the discovery document at ${url} has no ${key}`);
    return value;
  };
  return {
    issuer: required('issuer'),
    authorizationEndpoint: required('authorization_endpoint'),
    tokenEndpoint: required('token_endpoint'),
    jwksUri: required('jwks_uri'),
    endSessionEndpoint: text('end_session_endpoint'),
  };
}

/** oidc-provider's default routes below its issuer. */
export function developmentProviderMetadata(issuer: string): ProviderMetadata {
  return {
    issuer, authorizationEndpoint: `${issuer}/auth`, tokenEndpoint: `${issuer}/token`, jwksUri: `${issuer}/jwks`,
    endSessionEndpoint: `${issuer}/session/end`,
  };
}
