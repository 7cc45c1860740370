// `npm run bench:operator`: the operator against a real kube-apiserver and etcd on loopback (the test
// harness's cluster). 1,000 Assistants are created at once; the figure is the time until every one
// reports Provisioned for its current generation. Then the operator's periodic resync runs over the
// unchanged fleet, and the figure is how many writes it sent (the target is none). The operator runs
// as its own process (`operator/main.ts`, as in production) and is read through its /metrics.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { newId, serviceAccountNameOf } from '../core/index.ts';
import { API_VERSION, KIND, LABELS, collectionPath, type AssistantResource } from '../operator/index.ts';
import { freePort } from '../test/support/ports.ts';
import { startTestCluster } from '../test/support/kube-cluster.ts';

const COUNT = Number(process.env.BENCH_ASSISTANTS ?? 1000);
const CREATE_CONCURRENCY = 64;
const RESYNC_SECONDS = 20;
const NAMESPACE = 'bench';
const INSTANCE = 'bench';
const out = (line = '') => console.log(line);

function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (!Object.entries(labels).every(([k, v]) => match[2]?.includes(`${k}="${v}"`))) continue;
    sum += Number(match[3]);
  }
  return sum;
}

const cluster = await startTestCluster();
const port = await freePort();
let child: ReturnType<typeof spawn> | undefined;
try {
  await cluster.namespace(NAMESPACE);
  child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../operator/main.ts', import.meta.url))], {
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', KUBECONFIG: cluster.kubeconfigPath,
      HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn',
      OPENCRANE_INSTANCE: INSTANCE, OPENCRANE_OPERATOR_NAMESPACE: NAMESPACE, OPENCRANE_OPERATOR_RESYNC_SECONDS: String(RESYNC_SECONDS),
      OPENCRANE_WORKLOAD_AUDIENCE: 'https://opencrane.example.com', OPENCRANE_TOKEN_SERVICE_URL: 'http://opencrane-token-service:8080',
      POD_NAME: 'bench-operator',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (let i = 0; ; i++) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.json() as Promise<{ leader?: boolean }>, () => undefined);
    if (ready?.leader) break;
    if (i > 300) throw new Error('the operator did not start leading within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  out(`Operator benchmark: ${COUNT} Assistants created at once against kube-apiserver v1.37.2 + etcd 3.7.0 on loopback (2 cores shared by all three)`);
  const started = performance.now();
  const names = Array.from({ length: COUNT }, () => serviceAccountNameOf(newId('assistant')));
  let next = 0;
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, async () => {
    while (next < names.length) {
      const name = names[next++]!;
      await cluster.api.create({
        apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: NAMESPACE, labels: { [LABELS.instance]: INSTANCE } },
        spec: { owner: { personId: newId('person'), email: `${name}@example.com` } },
      });
    }
  }));
  const createdMs = performance.now() - started;

  let provisionedMs = 0;
  for (;;) {
    // resourceVersion=0: served from the API server's watch cache, so polling costs it little.
    const list = await cluster.api.request<{ items: AssistantResource[] }>('GET', collectionPath({ apiVersion: API_VERSION, kind: KIND }, NAMESPACE), {
      query: { resourceVersion: '0' },
    });
    const done = list.items.filter((a) => a.status?.observedGeneration === a.metadata.generation
      && a.status?.conditions?.some((c) => c.type === 'Provisioned' && c.status === 'True')).length;
    if (done === COUNT) { provisionedMs = performance.now() - started; break; }
    if (performance.now() - started > 600_000) throw new Error(`only ${done} of ${COUNT} Provisioned after 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const afterProvisioning = await metrics();
  const writesToProvision = metric(afterProvisioning, 'opencrane_operator_writes_total');
  const reconcilesToProvision = metric(afterProvisioning, 'opencrane_operator_reconciles_total');

  // Let the events of the last writes settle, then watch one full resync of the unchanged fleet.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const before = await metrics();
  const reconcilesBefore = metric(before, 'opencrane_operator_reconciles_total');
  const writesBefore = metric(before, 'opencrane_operator_writes_total');
  let after = before;
  const resyncDeadline = performance.now() + (RESYNC_SECONDS + 60) * 1000;
  while (metric(after, 'opencrane_operator_reconciles_total') - reconcilesBefore < COUNT || metric(after, 'opencrane_operator_queue_depth') > 0) {
    if (performance.now() > resyncDeadline) throw new Error('no full resync was seen');
    await new Promise((resolve) => setTimeout(resolve, 500));
    after = await metrics();
  }
  const resyncReconciles = metric(after, 'opencrane_operator_reconciles_total') - reconcilesBefore;
  const resyncWrites = metric(after, 'opencrane_operator_writes_total') - writesBefore;
  const durationSum = metric(after, 'opencrane_operator_reconcile_duration_seconds_sum');
  const durationCount = metric(after, 'opencrane_operator_reconcile_duration_seconds_count');

  out();
  out(`Created ${COUNT} Assistants in ${(createdMs / 1000).toFixed(1)} s (${CREATE_CONCURRENCY} requests in flight)`);
  out(`All ${COUNT} Provisioned after ${(provisionedMs / 1000).toFixed(1)} s from the first create: ${(COUNT / (provisionedMs / 1000)).toFixed(0)} assistants/s`);
  out(`  target ≤ 60 s: ${provisionedMs <= 60_000 ? 'met' : 'NOT met'} (${(provisionedMs / 60_000).toFixed(2)}× the target)`);
  out(`  writes while provisioning: ${writesToProvision} (${(writesToProvision / COUNT).toFixed(1)} per assistant), reconciles: ${reconcilesToProvision}`);
  out(`Full resync of the unchanged fleet: ${resyncReconciles} reconciles, ${resyncWrites} writes (target 0: ${resyncWrites === 0 ? 'met' : 'NOT met'})`);
  out(`Mean reconcile time over the run: ${((durationSum / durationCount) * 1000).toFixed(1)} ms`);
} finally {
  child?.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 500));
  await cluster.stop();
}
