// The MCP gateway end to end, with the official MCP SDK on both sides: an SDK-built upstream tool
// server, and the SDK's own client speaking each protocol revision the gateway supports, through a
// listening control plane on the real PostgreSQL server (PGlite when there is none), with a policy that
// includes the repository allowlist example rule.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startListeningControlPlane, type ListeningControlPlane } from '../test/support/control-plane.ts';
import { apiClient, type ApiClient } from '../test/support/api.ts';
import { apiFixtures, type ApiFixtures } from '../test/support/api-fixtures.ts';
import { testDatabases } from '../test/support/databases.ts';
import { freePort } from '../test/support/ports.ts';
import { waitUntil } from '../test/support/wait.ts';
import { startWorkloadIssuer, type TestWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { startTestUpstream, type TestUpstream } from '../test/support/mcp-upstream.ts';
import { buildSources, compileWasm, ENTRYPOINTS } from '../scripts/policies.ts';

const target = testDatabases.find((d) => d.name === 'postgres') ?? testDatabases[0]!;
const VERSIONS = ['2025-06-18', '2025-11-25', '2026-07-28'] as const;
type Version = (typeof VERSIONS)[number];

interface Env {
  control: ListeningControlPlane;
  api: ApiClient;
  f: ApiFixtures;
  issuer: TestWorkloadIssuer;
  upstream: TestUpstream;
  policyDir: string;
}

/** A control plane whose policy includes the repository allowlist example, with a GitHub-like tool. */
async function startEnvironment(extraEnv: NodeJS.ProcessEnv = {}): Promise<Env> {
  const policyDir = await mkdtemp(path.join(os.tmpdir(), 'opencrane-gateway-policy-'));
  const wasm = path.join(policyDir, 'policy.wasm');
  await writeFile(wasm, compileWasm([...buildSources(), 'policies/custom/examples/repository_allowlist.rego'], ENTRYPOINTS));
  const port = await freePort();
  const issuer = await startWorkloadIssuer({ audience: `http://127.0.0.1:${port}` });
  const upstream = await startTestUpstream();
  const control = await startListeningControlPlane(target, port, {
    OPENCRANE_WORKLOAD_ISSUER: issuer.url, OPENCRANE_POLICY_WASM: wasm, OPENCRANE_REVOCATION_STALENESS_MS: '10000', ...extraEnv,
  });
  const api = apiClient(control);
  return { control, api, f: apiFixtures(api), issuer, upstream, policyDir };
}

async function stopEnvironment(env: Env | undefined): Promise<void> {
  if (!env) return;
  await env.control.close();
  await env.upstream.close();
  await env.issuer.close();
  await rm(env.policyDir, { recursive: true, force: true });
}

/** Registers a tool and waits until the gateway's registry has it (it follows the change feed). */
async function registerTool(env: Env, body: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const tool = await env.f.tool(body) as { id: string; name: string };
  await waitUntil(async () => (await fetch(`${env.control.url}/.well-known/oauth-protected-resource/mcp/${tool.name}`)).status,
    (status) => status === 200, 5000, `the gateway to learn of tool ${tool.name}`);
  return tool;
}

/** A person with an assistant, and a gateway token for it from the token service. */
async function personWithToken(env: Env): Promise<{ personId: string; assistantId: string; token: () => Promise<string> }> {
  const person = await env.f.person();
  const assistants = await env.api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` });
  const assistantId = assistants.json<{ items: { id: string }[] }>().items[0]!.id;
  const token = async () => {
    const response = await fetch(`${env.control.url}/oauth2/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: await env.issuer.tokenFor(assistantId),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', audience: 'mcp-gateway',
      }),
    });
    if (response.status !== 200) throw new Error(`token exchange failed: ${await response.text()}`);
    return ((await response.json()) as { access_token: string }).access_token;
  };
  return { personId: person.id, assistantId, token };
}

async function connect(env: Env, tool: string, token: string, version: Version) {
  const options = version === '2026-07-28'
    ? { versionNegotiation: { mode: { pin: '2026-07-28' as const } }, capabilities: { elicitation: { form: {} }, sampling: {} } }
    : { supportedProtocolVersions: [version], capabilities: { elicitation: { form: {} }, sampling: {} } };
  const client = new Client({ name: 'gateway-test', version: '1.0.0' }, options);
  client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { confirm: true } }));
  client.setRequestHandler('sampling/createMessage', () => ({ role: 'assistant', model: 'test-model', content: { type: 'text', text: 'short' } }));
  const transport = new StreamableHTTPClientTransport(new URL(`${env.control.url}/mcp/${tool}`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

const textOf = (result: unknown) => ((result as { content: { text: string }[] }).content[0]?.text ?? '');

describe(`MCP gateway on ${target.name}`, () => {
  let env: Env;
  let alice: Awaited<ReturnType<typeof personWithToken>>;

  beforeAll(async () => {
    env = await startEnvironment();
    await registerTool(env, { name: 'github', url: env.upstream.url });
    alice = await personWithToken(env);
    const grant = (resource: Record<string, unknown>, effect: 'allow' | 'deny') => env.f.grant({
      subject: { kind: 'person', id: alice.personId }, resource: { kind: 'tool', id: '', ...resource }, effect,
    });
    const github = (await env.api({ method: 'GET', url: '/api/v1/tools?limit=200' })).json<{ items: { id: string; name: string }[] }>()
      .items.find((t) => t.name === 'github')!;
    await grant({ id: github.id, toolPattern: '*' }, 'allow');
    await grant({ id: github.id, toolPattern: 'delete_*' }, 'deny');
    await grant({ id: github.id, toolPattern: 'secret://*' }, 'deny');
  });
  afterAll(async () => stopEnvironment(env));

  describe.each(VERSIONS)('speaking %s', (version) => {
    it('tools/list shows only the tools the person may call; a granted call, its progress, an elicitation and a sampling request go through', async () => {
      const { client, transport } = await connect(env, 'github', await alice.token(), version);
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe(version);
        const names = (await client.listTools()).tools.map((t) => t.name).sort();
        expect(names).toContain('echo');
        expect(names).toContain('create_issue');
        expect(names).not.toContain('delete_repository');

        expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('hello');
        const progress: number[] = [];
        const counted = await client.callTool({ name: 'countdown', arguments: { n: 3 } }, { onprogress: (p) => progress.push(p.progress) });
        expect(textOf(counted)).toBe('done 3');
        expect(progress).toEqual([1, 2, 3]);
        expect(textOf(await client.callTool({ name: 'confirm_delete', arguments: { path: '/tmp/x' } }))).toBe('deleted /tmp/x');
        expect(textOf(await client.callTool({ name: 'summarize', arguments: { text: 'a long text' } }))).toBe('summary: short');
      } finally {
        await client.close();
        void transport;
      }
    });

    it('an ungranted call and an argument-rule violation are refused as tool errors; an allowed argument passes', async () => {
      const { client } = await connect(env, 'github', await alice.token(), version);
      try {
        const denied = await client.callTool({ name: 'delete_repository', arguments: { repository: 'acme/website' } });
        expect(denied.isError).toBe(true);
        expect(textOf(denied)).toMatch(/^Refused by OpenCrane policy: denied by grant/);
        const ruled = await client.callTool({ name: 'create_issue', arguments: { repository: 'evil/fork', title: 'x' } });
        expect(ruled.isError).toBe(true);
        expect(textOf(ruled)).toMatch(/may only write to allowlisted repositories, not evil\/fork/);
        const allowed = await client.callTool({ name: 'create_issue', arguments: { repository: 'acme/website', title: 'hi' } });
        expect(allowed.isError).toBeFalsy();
        expect(textOf(allowed)).toBe('created "hi" in acme/website');
      } finally {
        await client.close();
      }
    });

    it('resources and prompts are listed and read through the same decision', async () => {
      const { client } = await connect(env, 'github', await alice.token(), version);
      try {
        const uris = (await client.listResources()).resources.map((r) => r.uri);
        expect(uris).toContain('config://app');
        expect(uris).not.toContain('secret://vault');
        expect((await client.readResource({ uri: 'config://app' })).contents[0]).toMatchObject({ text: 'debug=true' });
        await expect(client.readResource({ uri: 'secret://vault' })).rejects.toThrow(/Refused by OpenCrane policy/);
        const prompt = await client.getPrompt({ name: 'review-code', arguments: { code: 'x=1' } });
        expect(JSON.stringify(prompt.messages)).toContain('Review:');
      } finally {
        await client.close();
      }
    });
  });

  it('several streams at once in one session each get their own progress and answer; DELETE ends the session', async () => {
    const { client, transport } = await connect(env, 'github', await alice.token(), '2025-11-25');
    const progress: Record<number, number[]> = { 3: [], 5: [] };
    const [three, five] = await Promise.all([3, 5].map((n) =>
      client.callTool({ name: 'countdown', arguments: { n } }, { onprogress: (p) => progress[n]!.push(p.progress) })));
    expect([textOf(three), textOf(five)]).toEqual(['done 3', 'done 5']);
    expect(progress).toEqual({ 3: [1, 2, 3], 5: [1, 2, 3, 4, 5] });
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    const after = await fetch(`${env.control.url}/mcp/github`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await alice.token()}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list', params: {} }),
    });
    expect(after.status).toBe(404);
    await client.close();
  });

  it('the inbound token is never forwarded upstream', async () => {
    const token = await alice.token();
    const { client } = await connect(env, 'github', token, '2025-11-25');
    await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    await client.close();
    expect(env.upstream.received.length).toBeGreaterThan(0);
    for (const headers of env.upstream.received) {
      expect(headers.authorization).toBeUndefined();
      expect(JSON.stringify(headers)).not.toContain(token.slice(-40));
    }
  });

  it('after the person is revoked, the very next call is refused', async () => {
    const bob = await personWithToken(env);
    const github = (await env.api({ method: 'GET', url: '/api/v1/tools?limit=200' })).json<{ items: { id: string; name: string }[] }>()
      .items.find((t) => t.name === 'github')!;
    await env.f.grant({ subject: { kind: 'person', id: bob.personId }, resource: { kind: 'tool', id: github.id }, effect: 'allow' });
    const { client } = await connect(env, 'github', await bob.token(), '2025-11-25');
    try {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
      const revoked = await env.api({ method: 'POST', url: `/api/v1/people/${bob.personId}/revoke`, body: {} });
      expect(revoked.statusCode).toBe(200);
      await expect(client.callTool({ name: 'echo', arguments: { text: 'after' } })).rejects.toThrow();
    } finally {
      await client.close().catch(() => undefined);
    }
  });

  it('a session belongs to the assistant that opened it: another assistant\'s token cannot use it', async () => {
    const carol = await personWithToken(env);
    const github = (await env.api({ method: 'GET', url: '/api/v1/tools?limit=200' })).json<{ items: { id: string; name: string }[] }>()
      .items.find((t) => t.name === 'github')!;
    await env.f.grant({ subject: { kind: 'person', id: carol.personId }, resource: { kind: 'tool', id: github.id }, effect: 'allow' });
    const { client, transport } = await connect(env, 'github', await alice.token(), '2025-11-25');
    const sessionId = transport.sessionId!;
    const stolen = await fetch(`${env.control.url}/mcp/github`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await carol.token()}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(stolen.status).toBe(404);
    expect(await stolen.json()).toMatchObject({ error: { code: -32001 } });
    await client.close();
  });
});
