// `oc` commands against a real control plane listening on loopback (on the real PostgreSQL server when
// TEST_DATABASE_URL is set, as in CI), each in table and in json output, with their exit codes.
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListeningControlPlane, type ListeningControlPlane } from '../test/support/control-plane.ts';
import { testDatabases } from '../test/support/databases.ts';
import { ocFor, type Oc } from '../test/support/oc.ts';
import { freePort } from '../test/support/ports.ts';
import { unique } from '../test/support/api.ts';
import { EXIT } from './errors.ts';
import { createSession, csrfTokenFor } from '../server/identity/sessions.ts';

const target = testDatabases.at(-1)!;
let control: ListeningControlPlane;
let oc: Oc;
let configDir: string;

const json = async <T = Record<string, unknown>>(args: string[]): Promise<T> => {
  const result = await oc([...args, '-o', 'json']);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
};
const table = async (args: string[]) => {
  const result = await oc(args);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
};

beforeAll(async () => {
  control = await startListeningControlPlane(target, await freePort());
  ({ oc, configDir } = await ocFor());
  const login = await oc(['login', '--url', control.url, '--token', control.adminToken, '--name', 'test']);
  expect(login.code, login.stderr).toBe(0);
});
afterAll(async () => {
  await control?.close();
});

describe(`oc against a running control plane on ${target.name}`, () => {
  it('login saves a context in a 0600 file; context list, use and whoami read it', async () => {
    const file = await stat(path.join(configDir, 'config.json'));
    expect(file.mode & 0o777).toBe(0o600);
    expect(await table(['context', 'list'])).toMatch(/\*\s+test\s+http:\/\/127\.0\.0\.1:\d+\s+yes/);
    expect(await json(['context', 'list'])).toEqual([{ current: true, name: 'test', url: control.url, signedIn: true }]);
    expect(await table(['whoami'])).toContain('An API token');
    expect(await json(['whoami'])).toMatchObject({ kind: 'api-token', context: 'test' });
    expect((await oc(['context', 'use', 'nope'])).code).toBe(EXIT.notFound);
  });

  it('a token from OPENCRANE_TOKEN and a URL from OPENCRANE_URL work without any saved context', async () => {
    const { oc: bare } = await ocFor({ OPENCRANE_URL: control.url, OPENCRANE_TOKEN: control.adminToken });
    const result = await bare(['departments', 'list', '-o', 'json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveProperty('items');
  });

  it('departments, teams and people: create, list, get, members, suspend and activate', async () => {
    const dept = unique('dept');
    const team = unique('team');
    const email = `${unique('ada')}@example.com`;
    expect(await table(['departments', 'create', dept])).toContain(`Created department ${dept}`);
    expect((await json<{ items: { name: string }[] }>(['departments', 'list'])).items.map((d) => d.name)).toContain(dept);
    expect(await table(['departments', 'list'])).toMatch(new RegExp(`^dpt_\\w+\\s+${dept}`, 'm'));
    const created = await json<{ id: string; departmentId: string }>(['teams', 'create', team, '--department', dept]);
    expect(created.departmentId).toMatch(/^dpt_/);
    expect(await table(['teams', 'list'])).toContain(team);
    const person = await json<{ id: string; email: string }>(['people', 'create', '--email', email, '--name', 'Ada Lovelace', '--department', dept]);
    expect(person.email).toBe(email);
    expect(await table(['people', 'get', email])).toMatch(new RegExp(`${person.id}\\s+${email}\\s+Ada Lovelace\\s+active`));
    expect(await table(['teams', 'add-member', team, email])).toContain(`Added ${email} to ${team}`);
    expect((await json<{ items: { personId: string }[] }>(['teams', 'members', team])).items).toEqual([expect.objectContaining({ personId: person.id })]);
    expect(await table(['teams', 'members', team])).toContain(person.id);
    expect(await table(['people', 'suspend', email])).toContain('is now suspended');
    expect((await json<{ items: { id: string }[] }>(['people', 'list', '--status', 'suspended'])).items.map((p) => p.id)).toContain(person.id);
    expect((await json<{ status: string }>(['people', 'activate', email])).status).toBe('active');
    expect(await table(['people', 'list'])).toContain(email);
    expect(await table(['teams', 'remove-member', team, email])).toContain('Removed');
  });

  it('assistants list and get show each person\'s assistant and its provisioning state', async () => {
    const email = `${unique('grace')}@example.com`;
    await json(['people', 'create', '--email', email, '--name', 'Grace Hopper']);
    const assistant = await json<{ status: string; statusMessage: string; resource: unknown }>(['assistants', 'get', email]);
    expect(assistant).toMatchObject({ status: 'pending', resource: null });
    expect(assistant.statusMessage).toContain('no cluster configured');
    expect(await table(['assistants', 'get', email])).toMatch(/ast_\w+\s+prs_\w+\s+pending\s+no cluster configured/);
    expect((await json<{ items: unknown[] }>(['assistants', 'list', '--person', email])).items).toHaveLength(1);
    expect(await table(['assistants', 'list', '--status', 'pending'])).toContain('pending');
  });

  it('tools, skills and knowledge: create, list, get and delete; credentials come from stdin or the prompt, never an argument', async () => {
    const tool = unique('tool');
    expect(await table(['tools', 'create', tool, 'https://mcp.example.com/mcp'])).toContain(`Registered tool ${tool}`);
    expect(await json(['tools', 'get', tool])).toMatchObject({ name: tool, url: 'https://mcp.example.com/mcp' });
    expect(await table(['tools', 'list'])).toContain(tool);
    const bearer = unique('bearer');
    expect(await json(['tools', 'create', bearer, 'https://mcp.example.com/mcp', '--auth', 'bearer'])).toMatchObject({ auth: { kind: 'bearer' } });
    const piped = await oc(['tools', 'credentials', 'set', bearer], { stdin: 'ghp_pipedsecret\n' });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toContain('Stored a new version');
    expect(piped.stdout + piped.stderr).not.toContain('ghp_pipedsecret');
    const prompted = await oc(['tools', 'credentials', 'set', bearer], { prompt: 'ghp_typedsecret' });
    expect(prompted.code, prompted.stderr).toBe(0);
    const versions = await json<{ versions: { version: number }[] }>(['tools', 'credentials', 'list', bearer]);
    expect(versions.versions.map((v) => v.version).sort()).toEqual([1, 2]);
    expect(await table(['tools', 'credentials', 'list', bearer])).toMatch(/VERSION\s+CREATED\s+BY/);
    const noSecret = await oc(['tools', 'credentials', 'set', bearer]);
    expect(noSecret.code).toBe(EXIT.usage);
    expect(noSecret.stderr).toContain('Pipe the secret');
    const asArgument = await oc(['tools', 'credentials', 'set', bearer, 'ghp_onthecommandline']);
    expect(asArgument.code).toBe(EXIT.usage);

    for (const kind of ['skills', 'knowledge']) {
      const name = unique(kind === 'skills' ? 'skill' : 'kb');
      expect(await table([kind, 'create', name])).toContain(`Created`);
      expect((await json<{ items: { name: string }[] }>([kind, 'list'])).items.map((r) => r.name)).toContain(name);
      expect(await table([kind, 'list'])).toContain(name);
      expect(await table([kind, 'delete', name])).toContain('Deleted');
    }
    expect(await table(['tools', 'delete', tool])).toContain(`Deleted tool ${tool}`);
    expect((await oc(['tools', 'get', tool])).code).toBe(EXIT.notFound);
  });

  it('grant, grants list and revoke, and access why / who agree with the policy', async () => {
    const team = unique('platform');
    const tool = unique('github');
    const member = `${unique('member')}@example.com`;
    const outsider = `${unique('outsider')}@example.com`;
    await json(['teams', 'create', team]);
    await json(['tools', 'create', tool, 'https://mcp.example.com/mcp']);
    for (const email of [member, outsider]) await json(['people', 'create', '--email', email, '--name', email]);
    await json(['teams', 'add-member', team, member]);

    const granted = await oc(['grant', 'tool', tool, '--to', `team:${team}`, '--tools', 'list_*', '--expires', '30d', '--reason', 'on call']);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout).toMatch(new RegExp(`Granted tool ${tool} to team:${team} \\(tools list_\\*\\) until \\S+: grt_\\w+`));
    const grantId = /(grt_\w+)\./.exec(granted.stdout)![1]!;
    const listed = await json<{ items: { id: string; expiresAt: string; resource: { toolPattern: string } }[] }>(['grants', 'list', '--subject', `team:${team}`]);
    expect(listed.items).toEqual([expect.objectContaining({ id: grantId, resource: expect.objectContaining({ toolPattern: "list_*" }) as unknown })]);
    const days = (Date.parse(listed.items[0]!.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    expect(await table(['grants', 'list', '--resource', `tool:${tool}`])).toMatch(new RegExp(`${grantId}\\s+allow\\s+team:team_\\w+\\s+tool:tool_\\w+\\s+list_\\*`));

    const why = await oc(['access', 'why', member, `tool:${tool}`]);
    expect(why.code, why.stderr).toBe(EXIT.ok);
    expect(why.stdout).toMatch(/^ALLOWED: /);
    expect(why.stdout).toContain(`* allow team ${team} tools list_*`);
    const whyJson = await json<{ allow: boolean; grants: string[] }>(['access', 'why', member, `tool:${tool}`, '--tool', 'list_issues']);
    expect(whyJson).toMatchObject({ allow: true, grants: [grantId] });
    const denied = await oc(['access', 'why', member, `tool:${tool}`, '--tool', 'delete_repo']);
    expect(denied.code).toBe(EXIT.denied);
    expect(denied.stdout).toMatch(/^DENIED: /);
    const deniedJson = await oc(['access', 'why', outsider, `tool:${tool}`, '-o', 'json']);
    expect(deniedJson.code).toBe(EXIT.denied);
    expect(JSON.parse(deniedJson.stdout)).toMatchObject({ allow: false, considered: [] });

    const who = await json<{ items: { email: string }[] }>(['access', 'who', `tool:${tool}`]);
    expect(who.items.map((p) => p.email)).toEqual([member]);
    const whoTable = await oc(['access', 'who', `tool:${tool}`]);
    expect(whoTable.stdout).toContain(member);
    expect(whoTable.stdout).not.toContain(outsider);
    expect(whoTable.stderr).toMatch(/1 of \d+ active people may tools\.list/);

    const deny = await json<{ id: string; effect: string }>(['grant', 'tool', tool, '--to', `person:${member}`, '--deny']);
    expect(deny.effect).toBe('deny');
    expect((await oc(['access', 'why', member, `tool:${tool}`])).code).toBe(EXIT.denied);
    expect(await table(['grants', 'revoke', deny.id])).toContain(`Revoked grant ${deny.id}`);
    expect(await json(['grants', 'revoke', grantId])).toEqual({ id: grantId, revoked: true });
    expect((await json<{ items: unknown[] }>(['access', 'who', `tool:${tool}`])).items).toEqual([]);
  });

  it('revoke person ends their access everywhere', async () => {
    const email = `${unique('eve')}@example.com`;
    await json(['people', 'create', '--email', email, '--name', 'Eve']);
    expect(await table(['revoke', 'person', email, '--reason', 'laptop stolen'])).toMatch(/Revoked .*epoch \d+/);
    const result = await json<{ epoch: number }>(['revoke', 'person', email]);
    expect(result.epoch).toBeGreaterThan(1);
    expect((await oc(['revoke', 'team', 'x'])).code).toBe(EXIT.usage);
  });

  it('audit list filters the trail; audit tail follows new events as they happen', async () => {
    const name = unique('audited');
    await json(['departments', 'create', name]);
    const events = await json<{ items: { action: string; targetKind: string }[] }>(['audit', 'list', '--action', 'department.create', '--since', '10m']);
    expect(events.items.length).toBeGreaterThan(0);
    expect(events.items.every((e) => e.action === 'department.create')).toBe(true);
    expect(await table(['audit', 'list', '--limit', '3'])).toMatch(/^TIME\s+ACTOR\s+ACTION\s+TARGET/);

    const tail = oc(['audit', 'tail', '--action', 'team.create', '--count', '2', '--interval', '1', '-o', 'json']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await json(['teams', 'create', unique('tailed')]);
    await json(['teams', 'create', unique('tailed')]);
    const followed = await tail;
    expect(followed.code, followed.stderr).toBe(0);
    const lines = followed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { action: string });
    expect(lines.map((l) => l.action)).toEqual(['team.create', 'team.create']);
  });

  it('policy test runs the Rego suites with the pinned opa, and policy build writes a loadable WASM', async () => {
    const tested = await oc(['policy', 'test']);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(/\d+ opa tests, 0 failed\npolicy tests passed/);
    const out = path.join(configDir, 'policy.wasm');
    const built = await oc(['policy', 'build', '--out', out]);
    expect(built.code, built.stderr).toBe(0);
    const { loadPolicyEngine } = await import('../policies/index.ts');
    const engine = await loadPolicyEngine({ wasm: out });
    expect(engine.available).toBe(true);
  }, 120_000);

  it('mistakes get a sentence, a next step and a meaningful exit code, never a stack trace', async () => {
    const unknownPerson = await oc(['people', 'get', 'nobody@example.com']);
    expect(unknownPerson).toMatchObject({ code: EXIT.notFound });
    expect(unknownPerson.stderr).toBe('Error: no person has the email address nobody@example.com.\nList people with `oc people list`.\n');
    const refused = await oc(['people', 'create', '--email', 'not-an-email', '--name', 'X']);
    expect(refused.code).toBe(EXIT.refused);
    expect(refused.stderr).toMatch(/^Error: creating the person failed: .*email.*\nFix the input/);
    const badSubject = await oc(['grant', 'tool', 'x', '--to', 'group:x']);
    expect(badSubject.code).toBe(EXIT.usage);
    expect(badSubject.stderr).toContain('Write person:<email>, team:<name> or department:<name>');
    const badExpiry = await oc(['grants', 'list', '--subject', 'team:nope']);
    expect(badExpiry.code).toBe(EXIT.notFound);
    const usage = await oc(['people', 'create']);
    expect(usage.code).toBe(EXIT.usage);
    expect(usage.stderr).toContain("required option '--email <email>' not specified");
    const { oc: stranger } = await ocFor({ OPENCRANE_URL: control.url, OPENCRANE_TOKEN: 'oct_notarealtoken' });
    const unauthorised = await stranger(['people', 'list']);
    expect(unauthorised.code).toBe(EXIT.auth);
    expect(unauthorised.stderr).toContain('oc login');
    const { oc: nowhere } = await ocFor({ OPENCRANE_URL: 'http://127.0.0.1:9', OPENCRANE_TOKEN: 'x' });
    const offline = await nowhere(['people', 'list']);
    expect(offline.code).toBe(EXIT.failure);
    expect(offline.stderr).toContain('cannot reach the control plane');
    for (const result of [unknownPerson, refused, unauthorised, offline]) expect(result.stderr).not.toMatch(/\n\s+at\s/);
    const debug = await nowhere(['people', 'list', '--debug']);
    expect(debug.stderr).toMatch(/\n\s+at\s/);
  });

  it('deletions, yaml output and a table-formatted audit tail', async () => {
    const email = `${unique('gone')}@example.com`;
    await json(['people', 'create', '--email', email, '--name', 'Soon Gone']);
    const yaml = await oc(['people', 'get', email, '-o', 'yaml']);
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(new RegExp(`^email: ${email}$`, 'm'));
    expect(await json(['people', 'delete', email])).toMatchObject({ deleted: true });
    expect((await oc(['people', 'get', email])).code).toBe(EXIT.notFound);
    const [team, dept] = [unique('t'), unique('d')];
    await json(['teams', 'create', team]);
    await json(['departments', 'create', dept]);
    expect(await table(['teams', 'delete', team])).toContain(`Deleted team ${team}`);
    expect(await json(['departments', 'delete', dept])).toMatchObject({ deleted: true });
    expect(await oc(['teams', 'delete', team])).toMatchObject({ code: EXIT.notFound });

    const tail = oc(['audit', 'tail', '--action', 'skill.create', '--count', '1', '--interval', '1']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await json(['skills', 'create', unique('tailskill')]);
    const followed = await tail;
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(/^TIME\s+ACTOR\s+ACTION\s+TARGET\n\S+\s+api-token:\S+\s+skill\.create\s+skill:skl_\w+\n$/);
  });

  it('--help of every command shows an example, and --version answers', async () => {
    const help = await oc(['grant', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('oc grant tool github --to team:platform --tools \'list_*\' --expires 30d');
    expect((await oc(['--version'])).stdout.trim()).toBe('0.1.0');
  });

  it('login with the device flow: shows the code and URL, opens the browser, and the approved sign-in acts as the person', async () => {
    const person = await json<{ id: string; email: string }>(['people', 'create', '--email', `${unique('lin')}@example.com`, '--name', 'Linus Device']);
    const browser = await createSession(control.plane.store.db, { personId: person.id, role: 'admin', kind: 'browser', absoluteMs: 3_600_000 });
    const { oc: device, configDir: deviceDir } = await ocFor();
    const opened: string[] = [];
    const login = await device(['login', '--url', control.url, '--name', 'device'], {
      // The "browser": the person, signed in there, approves the code the page shows.
      openUrl: async (url) => {
        opened.push(url);
        const userCode = new URL(url).searchParams.get('user_code')!;
        const decision = await control.plane.app.inject({
          method: 'POST', url: '/auth/device/decision', payload: { userCode, approve: true },
          cookies: { oc_session: browser.secret }, headers: { 'x-csrf-token': csrfTokenFor(browser.secret) },
        });
        expect(decision.statusCode, decision.body).toBe(200);
      },
    });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toMatch(new RegExp(`To sign in, open ${control.url}/auth/device and enter the code [B-DF-HJ-NP-TV-Z]{4}-[B-DF-HJ-NP-TV-Z]{4}`));
    expect(opened).toHaveLength(1);
    expect(login.stdout).toContain('Signed in');
    const who = await device(['whoami']);
    expect(who.stdout).toContain(`Linus Device <${person.email}>`);

    // A sign-in token about to expire is refreshed before the call, and the new one saved.
    const file = path.join(deviceDir, 'config.json');
    const saved = JSON.parse(await readFile(file, 'utf8')) as { contexts: Record<string, { token: string; refreshToken: string; expiresAt: string }> };
    const before = saved.contexts.device!;
    saved.contexts.device!.expiresAt = new Date(Date.now() + 1000).toISOString();
    await writeFile(file, JSON.stringify(saved));
    expect((await device(['people', 'list'])).code).toBe(0);
    const after = (JSON.parse(await readFile(file, 'utf8')) as typeof saved).contexts.device!;
    expect(after.token).not.toBe(before.token);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(Date.parse(after.expiresAt)).toBeGreaterThan(Date.now() + 60_000);
  });

  it('login refused in the browser exits with the auth code and saves nothing', async () => {
    const person = await json<{ id: string }>(['people', 'create', '--email', `${unique('no')}@example.com`, '--name', 'Refuser']);
    const browser = await createSession(control.plane.store.db, { personId: person.id, role: 'admin', kind: 'browser', absoluteMs: 3_600_000 });
    const { oc: device, configDir: deviceDir } = await ocFor();
    const login = await device(['login', '--url', control.url], {
      openUrl: async (url) => {
        await control.plane.app.inject({
          method: 'POST', url: '/auth/device/decision', payload: { userCode: new URL(url).searchParams.get('user_code')!, approve: false },
          cookies: { oc_session: browser.secret }, headers: { 'x-csrf-token': csrfTokenFor(browser.secret) },
        });
      },
    });
    expect(login.code).toBe(EXIT.auth);
    expect(login.stderr).toContain('the sign-in was denied in the browser');
    await expect(stat(path.join(deviceDir, 'config.json'))).rejects.toThrow();
  });

  it('logout forgets the credentials but keeps the context', async () => {
    const { oc: other } = await ocFor();
    await other(['login', '--url', control.url, '--token', control.adminToken]);
    expect((await other(['logout'])).code).toBe(0);
    const after = await other(['people', 'list']);
    expect(after.code).toBe(EXIT.auth);
    expect(after.stderr).toContain('you are not signed in');
  });
});
