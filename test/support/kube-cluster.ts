// A real Kubernetes control plane on loopback for tests: etcd and kube-apiserver built from pinned
// upstream releases by scripts/setup.ts (test/kube-tools). No kubelet, scheduler or controller manager
// runs, so objects are stored, validated, watched and admitted exactly as in a cluster, but pods never
// start and nothing is garbage-collected. Any test file can ask for one; each gets its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { createKubeApi, type KubeApi } from '../../operator/kube-api.ts';
import { installAssistantCrd } from '../../operator/install-crd.ts';
import { ensureKubeTools } from '../../scripts/tools.ts';
import { freePort } from './ports.ts';

export interface TestCluster {
  /** The API server's URL (https on 127.0.0.1). */
  url: string;
  /** The ServiceAccount token issuer (`iss` of projected tokens). */
  issuer: string;
  /** An admin (system:masters) kubeconfig. */
  kubeConfig: KubeConfig;
  /** The same kubeconfig written to a file, for processes started with KUBECONFIG. */
  kubeconfigPath: string;
  api: KubeApi;
  /** Creates a namespace (tests share a cluster, so each uses its own). */
  namespace(name: string): Promise<string>;
  stop(): Promise<void>;
}

async function waitReady(url: string, ca: Buffer, token: string, deadlineMs: number, processes: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const exited = processes.find((p) => p.exitCode !== null);
    if (exited) throw new Error(`${exited.spawnfile} exited with ${exited.exitCode} while the test cluster was starting`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = https.get(`${url}/readyz`, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => { req.destroy(); resolve(false); });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`kube-apiserver at ${url} was not ready within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function started(command: string, args: string[], logFile: string): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Keep the tail of stderr for failures without holding whole logs in memory.
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => { tail = (tail + chunk.toString('utf8')).slice(-8000); });
  child.once('exit', () => { void writeFile(logFile, tail).catch(() => undefined); });
  return child;
}

export async function startTestCluster(): Promise<TestCluster> {
  const tools = ensureKubeTools();
  const dir = await mkdtemp(path.join(tmpdir(), 'opencrane-kube-'));
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcd = started(tools.etcd, [
    '--name', 'test', '--data-dir', path.join(dir, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-cluster', `test=http://127.0.0.1:${etcdPeer}`,
    '--log-level', 'error', '--unsafe-no-fsync', '--quota-backend-bytes', String(2 * 1024 ** 3),
  ], path.join(dir, 'etcd.log'));

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = randomBytes(24).toString('base64url');
  await writeFile(path.join(dir, 'tokens.csv'), `${adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });
  const url = `https://127.0.0.1:${apiPort}`;
  const issuer = `${url}`;
  const certDir = path.join(dir, 'certs');
  const apiserver = started(tools.apiserver, [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', '--endpoint-reconciler-type=none',
    `--secure-port=${apiPort}`, `--cert-dir=${certDir}`,
    `--service-account-issuer=${issuer}`,
    `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
    // Room for thousands of Services (each takes a cluster IP), as the operator benchmark needs.
    '--service-cluster-ip-range=10.96.0.0/16',
    '--authorization-mode=RBAC',
    `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
    '--enable-priority-and-fairness=false',
    // The PVC protection finalizer is removed by a controller that does not run here; without the
    // plugin, a deleted claim goes at once, as it does in a cluster once no pod uses it.
    '--disable-admission-plugins=StorageObjectInUseProtection',
  ], path.join(dir, 'apiserver.log'));

  const stop = async () => {
    for (const child of [apiserver, etcd]) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    // kube-apiserver writes its self-signed serving certificate (with its CA) before it listens.
    const caFile = path.join(certDir, 'apiserver.crt');
    const deadline = Date.now() + 30_000;
    let ca: Buffer | undefined;
    while (!ca) {
      ca = await readFile(caFile).catch(() => undefined);
      if (!ca) {
        if (Date.now() > deadline || apiserver.exitCode !== null) throw new Error('kube-apiserver did not write its serving certificate');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await waitReady(url, ca, adminToken, 60_000, [etcd, apiserver]);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'test', server: url, caData: ca.toString('base64') }],
      users: [{ name: 'admin', token: adminToken }],
      contexts: [{ name: 'test', cluster: 'test', user: 'admin' }],
      currentContext: 'test',
    });
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });
    const api = createKubeApi(kubeConfig);
    // Anyone may read the issuer's OIDC discovery and keys, as in managed clusters.
    await api.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
      metadata: { name: 'service-account-issuer-discovery-unauthenticated' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:service-account-issuer-discovery' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:unauthenticated' }],
    }, 'opencrane-test');
    await installAssistantCrd(api);
    return {
      url, issuer, kubeConfig, kubeconfigPath, api,
      async namespace(name) {
        await api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, 'opencrane-test');
        return name;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
