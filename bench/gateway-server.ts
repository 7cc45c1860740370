// The gateway side of `npm run bench:gateway`, in a child process of its own: the all-in-one control
// plane (`createControlPlane`, as `npm start` runs it, with the MCP gateway mounted under /mcp),
// configured through the environment like the real one (DATABASE_URL absent means an in-memory PGlite).
// Through its REST API it registers one tool server at BENCH_UPSTREAM_URL with the highest per-person
// rate limit the API accepts (so the benchmark measures the path, not the limiter), one person (with
// the assistant the API creates) and an allow grant for that person on the tool; then it listens and
// reports to the parent (bench/child-process.ts).
import { mkdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, loadConfig, openDatabase } from '../core/index.ts';
import { createControlPlane } from '../server/control-plane.ts';
import { serveParent } from './child-process.ts';

export interface GatewayReady {
  /** Where the tool is served through the gateway. */
  url: string;
  personId: string;
  assistantId: string;
}

const BENCH_TOOL = 'bench';
/** The largest per-person rate limit the tools API accepts. */
const RATE_LIMIT_PER_MINUTE = 1_000_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const upstreamUrl = process.env.BENCH_UPSTREAM_URL;
  if (!upstreamUrl) throw new Error('BENCH_UPSTREAM_URL is required');
  await mkdir(config.home, { recursive: true });
  const database = await openDatabase({ url: config.databaseUrl });
  await database.migrate();
  const plane = await createControlPlane({ config, logger: createLogger(config.logLevel), database });

  const adminToken = (await readFile(config.adminTokenFile, 'utf8')).trim();
  const call = async <T>(method: 'GET' | 'POST', url: string, body?: object): Promise<T> => {
    const response = await plane.app.inject({ method, url, headers: { authorization: `Bearer ${adminToken}` }, ...(body ? { payload: body } : {}) });
    if (response.statusCode >= 300) throw new Error(`seeding: ${method} ${url} answered ${response.statusCode}: ${response.body.slice(0, 300)}`);
    return response.json<T>();
  };
  const tool = await call<{ id: string }>('POST', '/api/v1/tools', { name: BENCH_TOOL, url: upstreamUrl, rateLimitPerMinute: RATE_LIMIT_PER_MINUTE });
  const person = await call<{ id: string }>('POST', '/api/v1/people', { email: 'bench@bench.example', displayName: 'Bench person' });
  const assistant = (await call<{ items: { id: string }[] }>('GET', `/api/v1/assistants?personId=${person.id}`)).items[0];
  if (!assistant) throw new Error(`seeding: person ${person.id} has no assistant`);
  await call('POST', '/api/v1/grants', { subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
  // The gateway's tool registry follows the change feed.
  for (let waited = 0; !plane.gateway.tools.byName(BENCH_TOOL); waited += 10) {
    if (waited > 10_000) throw new Error('the gateway did not learn of the benchmark tool within 10 s');
    await sleep(10);
  }

  await plane.app.listen({ host: '127.0.0.1', port: config.port });
  serveParent<GatewayReady>(plane.app.server, {
    url: `${config.tokens.audiences.mcpGateway}/${BENCH_TOOL}`, personId: person.id, assistantId: assistant.id,
  }, async () => {
    await plane.close();
    await database.close();
  }, { self: 'this benchmark process', parent: 'bench/gateway.ts', stopping: 'benchmark child' });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench gateway failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
