// A stand-in for a Kubernetes cluster's ServiceAccount issuer on a loopback port: real OIDC discovery
// and a JWKS over HTTP, and a signer for tokens shaped like projected ServiceAccount tokens. Tests hold
// the private key, so they can sign any claims (the attacks) as well as well-formed tokens.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { serviceAccountNameOf } from '../../core/index.ts';

export interface ServiceAccountClaims {
  namespace?: string;
  name?: string;
  /** Replaces `sub` entirely. */
  sub?: string;
  iss?: string;
  aud?: string | string[];
  iat?: number;
  nbf?: number;
  exp?: number;
  /** Extra protected-header members (alg, kid, jku, …). */
  header?: Record<string, unknown>;
  /** Sign with this key instead of the issuer's. */
  key?: CryptoKey | Uint8Array;
  /** Leave out the kubernetes.io claim. */
  plain?: boolean;
}

export interface TestWorkloadIssuer {
  url: string;
  audience: string;
  namespace: string;
  kid: string;
  /** A projected ServiceAccount token for an assistant's ServiceAccount, with any claim changed. */
  tokenFor(assistantId: string, claims?: ServiceAccountClaims): Promise<string>;
  sign(claims: ServiceAccountClaims): Promise<string>;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  close(): Promise<void>;
}

export async function startWorkloadIssuer(options: { audience: string; namespace?: string }): Promise<TestWorkloadIssuer> {
  const namespace = options.namespace ?? 'opencrane';
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  let fetches = 0;
  let url = '';
  const server: Server = createServer((request, response) => {
    const send = (body: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.url === '/.well-known/openid-configuration') {
      send({ issuer: url, jwks_uri: `${url}/openid/v1/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'] });
    } else if (request.url === '/openid/v1/jwks') {
      fetches += 1;
      send({ keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] });
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function sign(c: ServiceAccountClaims): Promise<string> {
    const iat = c.iat ?? Math.floor(Date.now() / 1000);
    const ns = c.namespace ?? namespace;
    const name = c.name ?? 'default';
    const payload = c.plain ? {} : { 'kubernetes.io': { namespace: ns, serviceaccount: { name, uid: randomUUID() } } };
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid, ...c.header })
      .setIssuer(c.iss ?? url)
      .setSubject(c.sub ?? `system:serviceaccount:${ns}:${name}`)
      .setAudience(c.aud ?? [options.audience])
      .setIssuedAt(iat).setNotBefore(c.nbf ?? iat).setExpirationTime(c.exp ?? iat + 600).setJti(randomUUID())
      .sign(c.key ?? privateKey);
  }

  return {
    url, audience: options.audience, namespace, kid, sign,
    tokenFor: (assistantId, claims = {}) => sign({ name: serviceAccountNameOf(assistantId), ...claims }),
    jwksFetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
