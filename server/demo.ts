// `npm run demo`: seeds a small demo organisation into a running control plane through its REST API,
// using the admin token that the first start wrote. Run `npm start` first, in another terminal.
// `npm run demo -- token <email or person id>`: prints a ServiceAccount-shaped token for that person's
// assistant from the development workload issuer, and the curl that exchanges it at the token service.
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../core/index.ts';

const config = loadConfig();
const baseUrl = process.env.OPENCRANE_URL ?? `http://${config.host}:${config.port}`;

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

async function main(): Promise<void> {
  const token = await adminToken();
  const call = async (method: string, path: string, body?: unknown): Promise<Json> => {
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

  const tools = await call('GET', '/api/v1/tools?limit=200');
  if ((tools.items as Json[]).some((tool) => tool.name === 'github')) {
    console.log('The demo organisation is already there.');
    return;
  }
  const id = (record: Json) => record.id as string;
  const engineering = id(await call('POST', '/api/v1/departments', { name: 'Engineering' }));
  const sales = id(await call('POST', '/api/v1/departments', { name: 'Sales' }));
  const platform = id(await call('POST', '/api/v1/teams', { name: 'Platform', departmentId: engineering }));
  const data = id(await call('POST', '/api/v1/teams', { name: 'Data', departmentId: engineering }));
  const field = id(await call('POST', '/api/v1/teams', { name: 'Field Sales', departmentId: sales }));
  // Someone may have signed in before the demo ran: their person record is reused.
  const person = async (email: string, displayName: string, departmentId: string, teams: string[]) => {
    const found = (await call('GET', `/api/v1/people?email=${encodeURIComponent(email)}`)).items as Json[];
    const personId = found[0]
      ? id(await call('PATCH', `/api/v1/people/${id(found[0])}`, { departmentId }))
      : id(await call('POST', '/api/v1/people', { email, displayName, departmentId }));
    for (const team of teams) await call('PUT', `/api/v1/teams/${team}/members/${personId}`);
    return personId;
  };
  const ada = await person('ada@example.com', 'Ada Lovelace', engineering, [platform]);
  const grace = await person('grace@example.com', 'Grace Hopper', engineering, [data]);
  const linus = await person('linus@example.com', 'Linus Torvalds', engineering, [platform, data]);
  const sam = await person('sam@example.com', 'Sam Seller', sales, [field]);
  const github = id(await call('POST', '/api/v1/tools', { name: 'github', url: 'https://mcp.example.com/github', description: 'GitHub MCP server' }));
  const jira = id(await call('POST', '/api/v1/tools', { name: 'jira', url: 'https://mcp.example.com/jira', description: 'Jira MCP server' }));
  const crm = id(await call('POST', '/api/v1/tools', { name: 'crm', url: 'https://mcp.example.com/crm', description: 'CRM MCP server' }));
  const review = id(await call('POST', '/api/v1/skills', { name: 'code-review', description: 'Reviews pull requests' }));
  const summarise = id(await call('POST', '/api/v1/skills', { name: 'summarise', description: 'Summarises documents' }));
  const handbook = id(await call('POST', '/api/v1/knowledge', { name: 'engineering-handbook' }));
  const playbook = id(await call('POST', '/api/v1/knowledge', { name: 'sales-playbook' }));
  const grant = (subject: [string, string], resource: Json, effect: 'allow' | 'deny', reason: string, expiresAt?: string) =>
    call('POST', '/api/v1/grants', {
      subject: { kind: subject[0], id: subject[1] }, resource, effect, reason, ...(expiresAt ? { expiresAt } : {}),
    });
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  await grant(['team', platform], { kind: 'tool', id: github, toolPattern: '*' }, 'allow', 'Platform runs the repositories');
  await grant(['department', engineering], { kind: 'tool', id: github, toolPattern: 'list_*' }, 'allow', 'Engineers can browse');
  await grant(['department', engineering], { kind: 'tool', id: jira }, 'allow', 'Engineering tracks work in Jira');
  await grant(['person', linus], { kind: 'tool', id: github, toolPattern: 'delete_*' }, 'deny', 'No deletions for Linus');
  await grant(['department', sales], { kind: 'tool', id: crm }, 'allow', 'Sales owns the CRM');
  await grant(['team', platform], { kind: 'skill', id: review }, 'allow', 'Code review for Platform');
  await grant(['team', field], { kind: 'skill', id: summarise }, 'allow', 'Trial of the summariser', inDays(30));
  await grant(['department', engineering], { kind: 'knowledge', id: handbook }, 'allow', 'Engineering handbook');
  await grant(['department', sales], { kind: 'knowledge', id: playbook }, 'allow', 'Sales playbook');

  console.log(`Seeded a demo organisation into ${baseUrl}:
  people: ada (Platform), grace (Data), linus (Platform, Data), sam (Field Sales)
  tools: github, jira, crm · skills: code-review, summarise · knowledge: engineering-handbook, sales-playbook

Try a few decisions (the token is read from ${config.adminTokenFile}):
  TOKEN=$(cat ${config.adminTokenFile})
  curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' ${baseUrl}/api/v1/decisions \\
    -d '{"subject":{"personId":"${ada}"},"action":"tools.call","resource":{"kind":"tool","id":"${github}","toolName":"create_issue"}}'
  curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' ${baseUrl}/api/v1/decisions \\
    -d '{"subject":{"personId":"${linus}"},"action":"tools.call","resource":{"kind":"tool","id":"${github}","toolName":"delete_repository"}}'
  curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' ${baseUrl}/api/v1/decisions/explain \\
    -d '{"subject":{"personId":"${grace}"},"action":"tools.call","resource":{"kind":"tool","id":"${github}","toolName":"create_issue"}}'
  (sam on the CRM: person ${sam}, tool ${crm})`);
}

type Call = (method: string, path: string, body?: unknown) => Promise<Json>;

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
