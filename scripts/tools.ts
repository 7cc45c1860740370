// Pinned developer tools. The policy build is only reproducible with the exact opa version, so the
// scripts never use an opa found on PATH.
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const OPA_VERSION = '1.22.2';
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TOOLS_BIN = fileURLToPath(new URL('../.tools/bin/', import.meta.url));
const OPA_PATH = `${TOOLS_BIN}opa`;

function installedOpaVersion(): string | null {
  if (!existsSync(OPA_PATH)) return null;
  try {
    const output = execFileSync(OPA_PATH, ['version'], { encoding: 'utf8' });
    return /^Version:\s*(\S+)/m.exec(output)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** The path of the pinned opa, built with `go install` into .tools/bin when missing or at another version. */
export function ensureOpa(): string {
  const version = installedOpaVersion();
  if (version === OPA_VERSION) return OPA_PATH;
  console.error(`opa ${OPA_VERSION} not found in .tools/bin (found ${version ?? 'none'}); building it with go install`);
  execFileSync('go', ['install', `github.com/open-policy-agent/opa@v${OPA_VERSION}`], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
    env: { ...process.env, GOBIN: TOOLS_BIN, GOTOOLCHAIN: 'local' },
  });
  const built = installedOpaVersion();
  if (built !== OPA_VERSION) throw new Error(`go install produced opa ${built ?? 'nothing'}, expected ${OPA_VERSION}`);
  return OPA_PATH;
}

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Debian's Chromium for the browser tests. Playwright's own browser downloads cannot reach their
 * hosts from here, so the system package is used; it is installed with apt when missing.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.getuid?.() !== 0) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium package (sudo apt-get install chromium)`);
  }
  console.error('chromium not found; installing Debian\'s chromium package with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
  if (!existsSync(CHROMIUM_PATH)) throw new Error('apt-get did not install chromium');
  return CHROMIUM_PATH;
}

export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = '3.7.0';
export const KUBE_APISERVER_PATH = `${TOOLS_BIN}kube-apiserver`;
export const ETCD_PATH = `${TOOLS_BIN}etcd`;
const KUBE_TOOLS_MODULE = fileURLToPath(new URL('../test/kube-tools/', import.meta.url));

function versionLine(path: string, args: string[]): string | null {
  if (!existsSync(path)) return null;
  try {
    return execFileSync(path, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return null;
  }
}

function kubeToolsPresent(): boolean {
  const apiserver = versionLine(KUBE_APISERVER_PATH, ['--version']);
  const etcd = versionLine(ETCD_PATH, ['--version']);
  return apiserver?.includes(`Kubernetes ${KUBERNETES_VERSION}`) === true && etcd?.includes(`etcd Version: ${ETCD_VERSION}`) === true;
}

/**
 * The test-only Kubernetes API server and etcd, built from the pinned tools module in test/kube-tools
 * with the machine's Go toolchain (see its README). Skipped when .tools/bin already holds both at the
 * pinned versions: a cold build takes several minutes.
 */
export function ensureKubeTools(): { apiserver: string; etcd: string } {
  if (kubeToolsPresent()) return { apiserver: KUBE_APISERVER_PATH, etcd: ETCD_PATH };
  console.error(`kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} not found in .tools/bin; building them (several minutes when cold)`);
  const version = 'k8s.io/component-base/version';
  const minor = KUBERNETES_VERSION.split('.')[1];
  const ldflags = `-X ${version}.gitVersion=${KUBERNETES_VERSION} -X ${version}.gitMajor=1 -X ${version}.gitMinor=${minor}`;
  const env = { ...process.env, GOTOOLCHAIN: 'local' };
  // One build for both shares the compiled dependencies they have in common (etcd's client, grpc, …).
  // etcd's main package is go.etcd.io/etcd/server/v3, so its binary comes out named `server`.
  execFileSync('go', ['build', `-ldflags=${ldflags}`, '-o', TOOLS_BIN, 'k8s.io/kubernetes/cmd/kube-apiserver', 'go.etcd.io/etcd/server/v3'], {
    cwd: KUBE_TOOLS_MODULE, stdio: 'inherit', env,
  });
  renameSync(`${TOOLS_BIN}server`, ETCD_PATH);
  if (!kubeToolsPresent()) throw new Error(`the build did not produce kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION}`);
  return { apiserver: KUBE_APISERVER_PATH, etcd: ETCD_PATH };
}

export const TMUX_PATH = '/usr/bin/tmux';

/** tmux, for the end-to-end test that drives `oc`'s interactive view in a real terminal; Debian's package when missing. */
export function ensureTmux(): string {
  if (existsSync(TMUX_PATH)) return TMUX_PATH;
  if (process.getuid?.() !== 0) throw new Error(`${TMUX_PATH} is missing: install Debian's tmux package (sudo apt-get install tmux)`);
  console.error('tmux not found; installing Debian\'s tmux package with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'tmux'], { stdio: 'inherit', env });
  if (!existsSync(TMUX_PATH)) throw new Error('apt-get did not install tmux');
  return TMUX_PATH;
}
