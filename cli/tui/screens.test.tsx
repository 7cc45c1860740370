// Every screen of the interactive view, rendered with ink-testing-library and driven by keys, against a
// real control plane on loopback (the same typed API client `oc` uses; nothing is stubbed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { createApiClient, type ApiClient } from '../client.ts';
import { startListeningControlPlane, type ListeningControlPlane } from '../../test/support/control-plane.ts';
import { testDatabases } from '../../test/support/databases.ts';
import { apiClient, unique } from '../../test/support/api.ts';
import { apiFixtures, type ApiFixtures } from '../../test/support/api-fixtures.ts';
import { freePort } from '../../test/support/ports.ts';
import { App } from './app.tsx';
import { AccessExplorer, AuditTail, Dashboard, GrantEditor, ListScreen, type Screen } from './screens.tsx';
import { themeFor } from './theme.ts';

const KEY = { down: '\u001B[B', up: '\u001B[A', enter: '\r', escape: '\u001B' };
const theme = themeFor({});
let control: ListeningControlPlane;
let api: ApiClient;
let f: ApiFixtures;
let team: { id: string; name: string };
let tool: { id: string; name: string };
let person: { id: string; email: string };

async function frameWith(lastFrame: () => string | undefined, text: string | RegExp, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = lastFrame() ?? '';
    if (typeof text === 'string' ? frame.includes(text) : text.test(frame)) return frame;
    if (Date.now() > deadline) throw new Error(`the screen never showed ${String(text)}; last frame:\n${frame}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const typeKeys = async (stdin: { write(data: string): void }, ...keys: string[]) => {
  for (const key of keys) {
    stdin.write(key);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
};

beforeAll(async () => {
  control = await startListeningControlPlane(testDatabases[0]!, await freePort());
  api = createApiClient({ url: control.url, token: control.adminToken }, {});
  f = apiFixtures(apiClient(control));
  team = await f.team({ name: unique('platform') }) as unknown as typeof team;
  tool = await f.tool({ name: unique('github') }) as unknown as typeof tool;
  person = await f.person() as unknown as typeof person;
  await f.join(team.id, person.id);
});
afterAll(async () => {
  await control?.close();
});

describe('the interactive view', () => {
  it('dashboard: shows the organisation and recent activity, and its keys open the other screens', async () => {
    const went: Screen[] = [];
    const { lastFrame, stdin, unmount } = render(<Dashboard api={api} theme={theme} go={(s) => went.push(s)} />);
    const frame = await frameWith(lastFrame, /People: \d+/);
    expect(frame).toContain('OpenCrane · dashboard');
    expect(frame).toMatch(/Assistants: \d+ pending/);
    expect(frame).toContain('Recent activity');
    expect(frame).toContain('p people  ·  a assistants  ·  g grants  ·  n new grant');
    await typeKeys(stdin, 'g', 'n', 'x', 'l');
    expect(went).toEqual(['grants', 'grant-editor', 'access', 'audit']);
    unmount();
  });

  it('lists: people are listed, "/" filters them, esc clears the filter and then goes back', async () => {
    const went: Screen[] = [];
    const { lastFrame, stdin, unmount } = render(<ListScreen api={api} theme={theme} go={(s) => went.push(s)} which="people" />);
    await frameWith(lastFrame, person.email);
    await typeKeys(stdin, '/', ...person.email.slice(0, 12));
    const filtered = await frameWith(lastFrame, /people \(1\)/);
    expect(filtered).toContain(person.email);
    await typeKeys(stdin, KEY.escape);
    await frameWith(lastFrame, /^((?!Filter:)[\s\S])*$/);
    await typeKeys(stdin, KEY.escape);
    expect(went).toEqual(['dashboard']);
    unmount();
  });

  it('assistants and grants lists show their records', async () => {
    for (const which of ['assistants', 'grants'] as const) {
      const { lastFrame, unmount } = render(<ListScreen api={api} theme={theme} go={() => undefined} which={which} />);
      await frameWith(lastFrame, new RegExp(`${which} \\(\\d+\\)`));
      unmount();
    }
  });

  it('grant editor: pick subject, resource, effect and expiry, confirm, and the grant exists', async () => {
    const { lastFrame, stdin, unmount } = render(<GrantEditor api={api} theme={theme} go={() => undefined} />);
    await frameWith(lastFrame, '› person');
    await typeKeys(stdin, KEY.down);
    await frameWith(lastFrame, '› team');
    await typeKeys(stdin, KEY.enter);
    await frameWith(lastFrame, 'Which team?');
    await frameWith(lastFrame, team.name);
    await typeKeys(stdin, ...team.name, KEY.enter);
    await frameWith(lastFrame, 'To reach a');
    await typeKeys(stdin, KEY.enter);
    await frameWith(lastFrame, tool.name);
    await typeKeys(stdin, ...tool.name, KEY.enter);
    await frameWith(lastFrame, 'Effect');
    await typeKeys(stdin, KEY.enter);
    await frameWith(lastFrame, '› never');
    await typeKeys(stdin, KEY.down, KEY.down);
    await frameWith(lastFrame, '› 7 days');
    await typeKeys(stdin, KEY.enter);
    const confirm = await frameWith(lastFrame, 'Create this grant?');
    expect(confirm).toContain(`allow team ${team.name} → tool ${tool.name}, expires 7 days`);
    expect(confirm).toContain('y create  ·  n cancel');
    await typeKeys(stdin, 'y');
    const done = await frameWith(lastFrame, /Created allow grant grt_\w+/);
    const id = /(grt_\w+)/.exec(done)![1]!;
    const grant = await api.GET('/api/v1/grants/{id}', { params: { path: { id } } });
    expect(grant.data).toMatchObject({ subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
    const days = (Date.parse(grant.data!.expiresAt!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    unmount();
  });

  it('access explorer: says why a person can reach a tool, naming the deciding grant', async () => {
    await f.grant({ subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
    const { lastFrame, stdin, unmount } = render(<AccessExplorer api={api} theme={theme} go={() => undefined} />);
    await frameWith(lastFrame, person.email);
    await typeKeys(stdin, ...person.email, KEY.enter);
    await frameWith(lastFrame, 'Reach a');
    await typeKeys(stdin, KEY.enter);
    await frameWith(lastFrame, tool.name);
    await typeKeys(stdin, ...tool.name, KEY.enter);
    const answer = await frameWith(lastFrame, 'ALLOWED');
    // The summary wraps at 80 columns.
    expect(answer.replace(/\s+/g, ' ')).toContain(`may tools.list on tool ${tool.name}`);
    expect(answer).toContain(`* allow for team ${team.name}`);
    unmount();
  });

  it('access explorer: a person without a grant is denied by default', async () => {
    const outsider = await f.person() as unknown as { email: string };
    const { lastFrame, stdin, unmount } = render(<AccessExplorer api={api} theme={theme} go={() => undefined} />);
    await frameWith(lastFrame, outsider.email);
    await typeKeys(stdin, ...outsider.email, KEY.enter, KEY.enter);
    await frameWith(lastFrame, tool.name);
    await typeKeys(stdin, ...tool.name, KEY.enter);
    const answer = await frameWith(lastFrame, 'DENIED');
    expect(answer).toContain('No grant applies: denied by default.');
    unmount();
  });

  it('live audit: new events appear without a key press', async () => {
    const { lastFrame, unmount } = render(<AuditTail api={api} theme={theme} go={() => undefined} refreshMs={200} />);
    await frameWith(lastFrame, /\d\d:\d\d:\d\d/);
    const name = unique('audited');
    await f.department({ name });
    await frameWith(lastFrame, 'department.create');
    unmount();
  });

  it('the app moves between screens with the keys shown, and fits 80 columns', async () => {
    const { lastFrame, stdin, unmount } = render(<App api={api} theme={theme} quit={() => undefined} />);
    await frameWith(lastFrame, /People: \d+/);
    await typeKeys(stdin, 'p');
    await frameWith(lastFrame, 'OpenCrane · people');
    await typeKeys(stdin, KEY.escape);
    const back = await frameWith(lastFrame, 'OpenCrane · dashboard');
    for (const line of back.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    unmount();
  });

  it('NO_COLOR turns every colour off', () => {
    expect(themeFor({ NO_COLOR: '1' })).toEqual({ dim: false });
    expect(themeFor({}).accent).toBe('cyan');
  });
});
