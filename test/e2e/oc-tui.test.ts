// `oc` in a real terminal: tmux runs it in an 80×24 pane; the test sends keys and reads the pane. It
// opens the interactive view, creates a grant in the grant editor, and finds it in the grants list.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT, ensureTmux } from '../../scripts/tools.ts';
import { apiClient, unique } from '../support/api.ts';
import { apiFixtures } from '../support/api-fixtures.ts';
import { startListeningControlPlane, type ListeningControlPlane } from '../support/control-plane.ts';
import { testDatabases } from '../support/databases.ts';
import { ocFor } from '../support/oc.ts';
import { freePort } from '../support/ports.ts';

const tmux = ensureTmux();
const session = `oc-e2e-${process.pid}`;
const main = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
let control: ListeningControlPlane;

const run = (...args: string[]) => execFileSync(tmux, args, { encoding: 'utf8' });
const pane = () => run('capture-pane', '-p', '-t', session);
const pause = () => new Promise((resolve) => setTimeout(resolve, 150));
/** One key at a time, as a person types: a terminal app reads each as its own input. */
async function keys(...k: string[]): Promise<void> {
  for (const key of k) {
    run('send-keys', '-t', session, key);
    await pause();
  }
}
async function text(t: string): Promise<void> {
  run('send-keys', '-t', session, '-l', t);
  await pause();
}

async function paneWith(expected: string | RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = pane();
    if (typeof expected === 'string' ? screen.includes(expected) : expected.test(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(expected)}; it shows:\n${screen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  control = await startListeningControlPlane(testDatabases[0]!, await freePort());
});
afterAll(async () => {
  try { run('kill-session', '-t', session); } catch { /* already gone */ }
  await control?.close();
});

it('in a real terminal, `oc` opens the interactive view, creates a grant in the grant editor and shows it in the list', async () => {
  const f = apiFixtures(apiClient(control));
  const team = await f.team({ name: unique('platform') }) as unknown as { id: string; name: string };
  const tool = await f.tool({ name: unique('github') }) as unknown as { id: string; name: string };
  const { oc, configDir } = await ocFor();
  expect((await oc(['login', '--url', control.url, '--token', control.adminToken])).code).toBe(0);

  // CI=false: CI runs set CI=true, and Ink then draws only the last frame, at exit; a person's terminal
  // has no CI variable.
  const command = `env OPENCRANE_CONFIG_DIR=${configDir} NO_COLOR=1 CI=false CONTINUOUS_INTEGRATION=false ${process.execPath} --import tsx ${main}`;
  // From the repository root (tsx resolves from there), and a pane that stays when the process exits,
  // so a crash shows its message here instead of an empty screen.
  run('new-session', '-d', '-s', session, '-x', '80', '-y', '24', '-c', REPO_ROOT, command);
  run('set-option', '-t', session, 'remain-on-exit', 'on');
  // The first start compiles the CLI's sources (tsx) while the rest of the suite keeps both cores busy.
  const dashboard = await paneWith(/People: \d+/, 60_000);
  expect(dashboard).toContain('n new grant');
  expect(Math.max(...dashboard.split('\n').map((line) => line.length))).toBeLessThanOrEqual(80);

  await keys('n');
  await paneWith('› person');
  await keys('Down');
  await paneWith('› team');
  await keys('Enter');
  await paneWith(team.name);
  await text(team.name);
  await keys('Enter');
  await paneWith('To reach a');
  await keys('Enter');
  await paneWith(tool.name);
  await text(tool.name);
  await keys('Enter');
  await paneWith('Effect');
  await keys('Enter');
  await paneWith('Expires');
  await keys('Enter');
  await paneWith('Create this grant?');
  await keys('y');
  const created = await paneWith(/Created allow grant (grt_\w+)/);
  const grantId = /Created allow grant (grt_\w+)/.exec(created)![1]!;

  await keys('Escape');
  await paneWith('OpenCrane · dashboard');
  await keys('g');
  const list = await paneWith(`allow team ${team.name} → tool ${tool.name}`);
  expect(list).toMatch(/OpenCrane · grants \(\d+\)/);
  const grants = (await oc(['grants', 'list', '--subject', `team:${team.name}`, '-o', 'json'])).stdout;
  expect(JSON.parse(grants)).toMatchObject({ items: [{ id: grantId, effect: 'allow' }] });

  await keys('Escape');
  await paneWith('OpenCrane · dashboard');
}, 150_000);

it('`oc` never opens the interactive view when its output is not a terminal: it prints its usage', () => {
  const output = execFileSync(process.execPath, ['--import', 'tsx', main], { encoding: 'utf8', env: { ...process.env, OPENCRANE_CONFIG_DIR: '/nonexistent' } });
  expect(output).toContain('Usage: oc [options] [command]');
});
