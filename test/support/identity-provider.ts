// The organisation's OpenID provider for tests: a real oidc-provider on its own loopback port, with
// test people and groups, and one client registered for the control plane under test.
import http from 'node:http';
import type net from 'node:net';
export { freePort } from './ports.ts';
import { createDevIdentityProvider, type DevAccount } from '../../server/identity/dev-identity-provider.ts';

export interface TestIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Live: change a person's groups or roles between sign-ins. */
  accounts: DevAccount[];
  close(): Promise<void>;
}

export const TEST_ACCOUNTS: DevAccount[] = [
  { email: 'ada@example.com', name: 'Ada Lovelace', groups: ['Platform'], department: 'Engineering', roles: ['opencrane-admin'] },
  { email: 'bob@example.com', name: 'Bob Member', groups: ['Platform', 'Data'], department: 'Engineering', roles: [] },
  { email: 'eve@evil.example', name: 'Eve Outsider', groups: [], roles: [] },
];

export async function startTestIdentityProvider(controlPlaneUrl: string): Promise<TestIdentityProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const issuer = `http://127.0.0.1:${port}/idp`;
  const accounts = TEST_ACCOUNTS.map((a) => ({ ...a, groups: [...a.groups], roles: [...a.roles] }));
  const clientId = 'opencrane-test';
  const clientSecret = 'test-secret-not-for-production';
  const provider = await createDevIdentityProvider({
    issuer, accounts,
    clients: [{
      clientId, clientSecret, redirectUris: [`${controlPlaneUrl}/auth/callback`],
      postLogoutRedirectUris: [`${controlPlaneUrl}/auth/signed-out`],
    }],
  });
  server.on('request', (req, res) => provider.handle(req, res));
  return {
    issuer, clientId, clientSecret, accounts,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
