// A stand-in for an assistant's pod, as far as pairing goes: it serves the page a pairing link lands
// on, and verifies the link with the pairing verifier library against the control plane's JWKS, the
// way the real assistant-side sidecar does. It shows whose assistant it is when the link is good.
import http from 'node:http';
import type net from 'node:net';
import { createMemorySeenLinks, createPairingVerifier, PairingLinkError, type PairingVerifier } from '../../token-service/index.ts';

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Stub assistant</title></head><body>
<h1>Stub assistant</h1><p>Owner: <span id="owner">checking…</span></p><p id="error"></p>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get('token');
history.replaceState(null, '', location.pathname);
fetch('/opencrane/pair/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
  .then(async (r) => { const body = await r.json(); if (!r.ok) throw new Error(body.error); document.getElementById('owner').textContent = body.personId; })
  .catch((e) => { document.getElementById('owner').textContent = 'refused'; document.getElementById('error').textContent = e.message; });
</script></body></html>`;

export interface StubAssistant {
  url: string;
  /** Sets whose assistant this is; until then every link is refused. */
  serve(spec: { issuer: string; assistantId: string; ownerId: string }): void;
  verify(token: string): Promise<{ status: number; body: { personId?: string; error?: string } }>;
  close(): Promise<void>;
}

export async function startStubAssistant(): Promise<StubAssistant> {
  let verifier: PairingVerifier | null = null;
  const check = async (token: unknown) => {
    if (!verifier) return { status: 503, body: { error: 'not configured' } };
    try {
      const verified = await verifier.verify(typeof token === 'string' ? token : '');
      return { status: 200, body: { personId: verified.personId } };
    } catch (err) {
      return { status: 401, body: { error: err instanceof PairingLinkError ? err.code : 'refused' } };
    }
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/opencrane/pair')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    if (req.method === 'POST' && req.url === '/opencrane/pair/verify') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let token: unknown;
        try {
          token = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { token?: unknown }).token;
        } catch {
          token = undefined;
        }
        void check(token).then(({ status, body }) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url,
    serve({ issuer, assistantId, ownerId }) {
      verifier = createPairingVerifier({
        issuer, assistantId, ownerId, jwks: new URL(`${issuer}/.well-known/jwks.json`), seen: createMemorySeenLinks(),
      });
    },
    verify: check,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
