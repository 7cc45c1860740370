// `npm run demo`: seeds a small demo organisation into a running control plane through its REST API,
// using the admin token that the first start wrote (run `npm start` first, in another terminal); then
// starts the demo MCP tool server, registers it as tool `demo` behind the gateway with its grants,
// prints ready-to-paste calls, and serves it until Ctrl-C. Run it again and it finds what is already
// there and adds only what is missing.
// `npm run demo -- token <email or person id>`: prints a ServiceAccount-shaped token for that person's
// assistant from the development workload issuer, and the curl that exchanges it at the token service.
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../core/index.ts';
import { startDemoToolServer } from '../mcp-gateway/index.ts';

const config = loadConfig();
const baseUrl = process.env.OPENCRANE_URL ?? `http://${config.host}:${config.port}`;
const demoToolPort = Number(process.env.DEMO_TOOL_PORT ?? 8090);

async function adminToken(): Promise<string> {
  const fromEnv = process.env.OPENCRANE_TOKEN;
  if (fromEnv) return fromEnv;
  try {
    return (await readFile(config.adminTokenFile, 'utf8')).trim();
  } catch {
    throw new Error(`no admin token at ${config.adminTokenFile}: start the control plane once with npm start, or set OPENCRANE_TOKEN`);
  }
}

type Json = Record<string, unknown>;
type Call = (method: string, path: string, body?: unknown) => Promise<Json>;
type GrantSubject = ['person' | 'team' | 'department', string];
interface GrantSpec {
  subject: GrantSubject;
  resource: { kind: 'tool' | 'skill' | 'knowledge'; id: string; toolPattern?: string };
  effect: 'allow' | 'deny';
  reason: string;
  expiresAt?: string;
}

const id = (record: Json) => record.id as string;

async function main(): Promise<void> {
  if (!Number.isInteger(demoToolPort) || demoToolPort < 1 || demoToolPort > 65_535) {
    throw new Error(`DEMO_TOOL_PORT must be a port number, not ${process.env.DEMO_TOOL_PORT}`);
  }
  const token = await adminToken();
  const call: Call = async (method, path, body) => {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch {
      throw new Error(`cannot reach the control plane at ${baseUrl}: start it with npm start first`);
    }
    if (response.status === 204) return {};
    const json = (await response.json()) as Json;
    if (!response.ok) throw new Error(`${method} ${path}: ${typeof json.detail === 'string' ? json.detail : response.statusText}`);
    return json;
  };

  if (process.argv[2] === 'token') {
    await printSubjectToken(call, process.argv[3]);
    return;
  }

  const toolServer = await startDemoToolServer({ host: '127.0.0.1', port: demoToolPort }).catch((err: unknown) => {
    throw new Error(`cannot start the demo tool server on 127.0.0.1:${demoToolPort} (${err instanceof Error ? err.message : String(err)}): set DEMO_TOOL_PORT to a free port`);
  });
  try {
    const ids = await seed(call, toolServer.url);
    console.log(instructions(ids, toolServer.url));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } finally {
    await toolServer.close();
  }
}

/** Every page of a collection. */
async function listAll(call: Call, path: string): Promise<Json[]> {
  const items: Json[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page = await call('GET', `${path}${separator}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...(page.items as Json[]));
    cursor = page.nextCursor as string | null;
  } while (cursor);
  return items;
}

/** The record of that name in the collection, created when it is missing. */
async function ensureNamed(call: Call, collection: string, body: Json): Promise<Json> {
  const name = String(body.name).toLowerCase();
  const found = (await listAll(call, `/api/v1/${collection}`)).find((item) => String(item.name).toLowerCase() === name);
  return found ?? call('POST', `/api/v1/${collection}`, body);
}

type DemoIds = Record<'ada' | 'grace' | 'linus' | 'sam' | 'github' | 'crm' | 'demo', string>;

async function seed(call: Call, demoToolUrl: string): Promise<DemoIds> {
  const named = async (collection: string, body: Json) => id(await ensureNamed(call, collection, body));
  const engineering = await named('departments', { name: 'Engineering' });
  const sales = await named('departments', { name: 'Sales' });
  const platform = await named('teams', { name: 'Platform', departmentId: engineering });
  const data = await named('teams', { name: 'Data', departmentId: engineering });
  const field = await named('teams', { name: 'Field Sales', departmentId: sales });
  // Someone may have signed in before the demo ran: their person record is reused.
  const person = async (email: string, displayName: string, departmentId: string, teams: string[]) => {
    const found = (await call('GET', `/api/v1/people?email=${encodeURIComponent(email)}`)).items as Json[];
    const existing = found[0];
    if (existing && existing.departmentId !== departmentId) await call('PATCH', `/api/v1/people/${id(existing)}`, { departmentId });
    const personId = existing ? id(existing) : id(await call('POST', '/api/v1/people', { email, displayName, departmentId }));
    for (const team of teams) await call('PUT', `/api/v1/teams/${team}/members/${personId}`);
    return personId;
  };
  const ada = await person('ada@example.com', 'Ada Lovelace', engineering, [platform]);
  const grace = await person('grace@example.com', 'Grace Hopper', engineering, [data]);
  const linus = await person('linus@example.com', 'Linus Torvalds', engineering, [platform, data]);
  const sam = await person('sam@example.com', 'Sam Seller', sales, [field]);
  const github = await named('tools', { name: 'github', url: 'https://mcp.example.com/github', description: 'GitHub MCP server' });
  const jira = await named('tools', { name: 'jira', url: 'https://mcp.example.com/jira', description: 'Jira MCP server' });
  const crm = await named('tools', { name: 'crm', url: 'https://mcp.example.com/crm', description: 'CRM MCP server' });
  const demoTool = await ensureNamed(call, 'tools', {
    name: 'demo', url: demoToolUrl, description: 'The demo MCP tool server that npm run demo serves: harmless tools',
  });
  // A demo tool registered by an earlier run on another port follows the server to where it runs now.
  if (demoTool.url !== demoToolUrl) await call('PATCH', `/api/v1/tools/${id(demoTool)}`, { url: demoToolUrl });
  const demo = id(demoTool);
  const review = await named('skills', { name: 'code-review', description: 'Reviews pull requests' });
  const summarise = await named('skills', { name: 'summarise', description: 'Summarises documents' });
  const handbook = await named('knowledge', { name: 'engineering-handbook' });
  const playbook = await named('knowledge', { name: 'sales-playbook' });

  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const grants: GrantSpec[] = [
    { subject: ['team', platform], resource: { kind: 'tool', id: github, toolPattern: '*' }, effect: 'allow', reason: 'Platform runs the repositories' },
    { subject: ['department', engineering], resource: { kind: 'tool', id: github, toolPattern: 'list_*' }, effect: 'allow', reason: 'Engineers can browse' },
    { subject: ['department', engineering], resource: { kind: 'tool', id: jira }, effect: 'allow', reason: 'Engineering tracks work in Jira' },
    { subject: ['person', linus], resource: { kind: 'tool', id: github, toolPattern: 'delete_*' }, effect: 'deny', reason: 'No deletions for Linus' },
    { subject: ['department', sales], resource: { kind: 'tool', id: crm }, effect: 'allow', reason: 'Sales owns the CRM' },
    { subject: ['team', platform], resource: { kind: 'tool', id: demo, toolPattern: '*' }, effect: 'allow', reason: 'Platform tries every demo tool' },
    { subject: ['person', ada], resource: { kind: 'tool', id: demo, toolPattern: 'delete_*' }, effect: 'deny', reason: 'Ada\'s assistant deletes nothing' },
    { subject: ['department', sales], resource: { kind: 'tool', id: demo, toolPattern: 'get_time' }, effect: 'allow', reason: 'Sales may ask the time' },
    { subject: ['team', platform], resource: { kind: 'skill', id: review }, effect: 'allow', reason: 'Code review for Platform' },
    { subject: ['team', field], resource: { kind: 'skill', id: summarise }, effect: 'allow', reason: 'Trial of the summariser', expiresAt: inDays(30) },
    { subject: ['department', engineering], resource: { kind: 'knowledge', id: handbook }, effect: 'allow', reason: 'Engineering handbook' },
    { subject: ['department', sales], resource: { kind: 'knowledge', id: playbook }, effect: 'allow', reason: 'Sales playbook' },
  ];
  // Unexpired grants only: a lapsed trial is granted again.
  const existing = await listAll(call, '/api/v1/grants');
  const sameGrant = (g: Json, spec: GrantSpec) => {
    const subject = g.subject as Json;
    const resource = g.resource as Json;
    return subject.kind === spec.subject[0] && subject.id === spec.subject[1] && resource.kind === spec.resource.kind
      && resource.id === spec.resource.id && (resource.toolPattern ?? null) === (spec.resource.toolPattern ?? null) && g.effect === spec.effect;
  };
  for (const spec of grants) {
    if (existing.some((g) => sameGrant(g, spec))) continue;
    await call('POST', '/api/v1/grants', {
      subject: { kind: spec.subject[0], id: spec.subject[1] }, resource: spec.resource, effect: spec.effect, reason: spec.reason,
      ...(spec.expiresAt ? { expiresAt: spec.expiresAt } : {}),
    });
  }
  return { ada, grace, linus, sam, github, crm, demo };
}

function instructions(ids: DemoIds, demoToolUrl: string): string {
  const gateway = `${baseUrl}/mcp/demo`;
  const envelope = '{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"curl","version":"1.0.0"},'
    + '"io.modelcontextprotocol/clientCapabilities":{}}';
  return `The demo organisation is ready in ${baseUrl}:
  people: ada (Platform), grace (Data), linus (Platform, Data), sam (Field Sales)
  tools: github, jira, crm, demo · skills: code-review, summarise · knowledge: engineering-handbook, sales-playbook

Try a few decisions (the token is read from ${config.adminTokenFile}):
  TOKEN=$(cat ${config.adminTokenFile})
  curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' ${baseUrl}/api/v1/decisions \\
    -d '{"subject":{"personId":"${ids.ada}"},"action":"tools.call","resource":{"kind":"tool","id":"${ids.github}","toolName":"create_issue"}}'
  curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' ${baseUrl}/api/v1/decisions \\
    -d '{"subject":{"personId":"${ids.linus}"},"action":"tools.call","resource":{"kind":"tool","id":"${ids.github}","toolName":"delete_repository"}}'
  curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' ${baseUrl}/api/v1/decisions/explain \\
    -d '{"subject":{"personId":"${ids.grace}"},"action":"tools.call","resource":{"kind":"tool","id":"${ids.github}","toolName":"create_issue"}}'
  (sam on the CRM: person ${ids.sam}, tool ${ids.crm})

The demo MCP tool server runs at ${demoToolUrl}, registered as tool demo (${ids.demo}): get_time, echo, add,
word_count and delete_everything (which deletes nothing). Platform may call every one of them, but Ada's
assistant may not call delete_*; Sales may only ask the time. Be Ada's assistant, through the gateway:
  SUBJECT=$(npm run --silent demo -- token ada@example.com)
  ACCESS=$(curl -s ${baseUrl}/oauth2/token -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt -d "subject_token=$SUBJECT" -d audience=mcp-gateway \\
    | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')
  MCP=(${gateway} -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json'
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28')
  META='${envelope}'
  curl -s "\${MCP[@]}" -H 'Mcp-Method: tools/list' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":'"$META"'}}'
  curl -s "\${MCP[@]}" -H 'Mcp-Method: tools/call' -H 'Mcp-Name: add' \\
    -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3},"_meta":'"$META"'}}'
  curl -s "\${MCP[@]}" -H 'Mcp-Method: tools/call' -H 'Mcp-Name: delete_everything' \\
    -d '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_everything","arguments":{},"_meta":'"$META"'}}'

Serving the demo tool server until Ctrl-C.`;
}

async function printSubjectToken(call: Call, who: string | undefined): Promise<void> {
  if (!who) throw new Error('say whose assistant: npm run demo -- token ada@example.com');
  const people = who.includes('@')
    ? (await call('GET', `/api/v1/people?email=${encodeURIComponent(who)}`)).items as Json[]
    : [await call('GET', `/api/v1/people/${encodeURIComponent(who)}`)];
  const person = people[0];
  if (!person) throw new Error(`nobody is called ${who}; run npm run demo first to seed the demo people`);
  const assistant = ((await call('GET', `/api/v1/assistants?personId=${String(person.id)}`)).items as Json[])[0];
  if (!assistant) throw new Error(`${who} has no assistant`);
  let minted: Json;
  try {
    minted = await call('POST', '/dev-workload/serviceaccount-token', { assistantId: assistant.id });
  } catch {
    throw new Error('the control plane runs no development workload issuer (OPENCRANE_WORKLOAD_ISSUER is set): ask your cluster for a projected ServiceAccount token instead');
  }
  console.error(`A development ServiceAccount token for ${String(person.email)}'s assistant ${String(assistant.id)} (${String(minted.serviceAccount)}), valid until ${String(minted.expiresAt)}.
Exchange it for a token for the MCP gateway:
  SUBJECT=$(npm run --silent demo -- token ${who})
  curl -s ${baseUrl}/oauth2/token -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt -d "subject_token=$SUBJECT" -d audience=mcp-gateway
`);
  console.log(String(minted.token));
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
