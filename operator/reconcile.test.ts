/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-explicit-any -- assertions walk plain Kubernetes JSON */
// The operator against a real kube-apiserver and etcd (no kubelet: objects are stored, validated and
// watched, pods never run). Provisioning, repair, suspension, deletion with each retention setting,
// two OpenCrane instances sharing a namespace, and leader election.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, newId, serviceAccountNameOf } from '../core/index.ts';
import { startTestCluster, type TestCluster } from '../test/support/kube-cluster.ts';
import { waitUntil } from '../test/support/wait.ts';
import { API_VERSION, DEFAULT_OPENCLAW_IMAGE, DEFAULT_OPENCLAW_VERSION, KIND, assistantCrd, type AssistantResource } from './assistant-resource.ts';
import { FIELD_MANAGER, FINALIZER, LABELS, desiredObjects, type OperatorSettings } from './desired-state.ts';
import type { KindRef } from './kube-api.ts';
import type { KubeObject } from './kube-object.ts';
import { OWNED_KINDS, startOperator, type RunningOperator } from './operator.ts';

const logger = createLogger('silent');
const settings = (instance: string): OperatorSettings => ({
  instance,
  tokenAudience: 'https://opencrane.example.com',
  sidecarImage: 'ghcr.io/opencrane/assistant-sidecar:0.1.0',
  tokenServiceUrl: 'http://opencrane-token-service.opencrane.svc:8080',
  ingressFrom: [{ namespaceLabels: {}, podLabels: { 'app.kubernetes.io/name': 'opencrane-ingress' } }],
  egressTo: [{ namespaceLabels: {}, podLabels: { 'app.kubernetes.io/name': 'opencrane-token-service' }, ports: [8080] }],
  modelEndpoints: [{ cidr: '203.0.113.0/24', ports: [443] }],
});

const ASSISTANT: KindRef = { apiVersion: API_VERSION, kind: KIND };
const KINDS = OWNED_KINDS;
const OBJECT_NAMES = (name: string) => ({
  serviceAccount: name, persistentVolumeClaim: `${name}-data`, configMap: `${name}-config`, statefulSet: name, service: name, networkPolicy: name,
});

let cluster: TestCluster;
const operators: RunningOperator[] = [];

async function operator(instance: string, namespace: string, extra: { identity?: string; lease?: Partial<{ name: string; durationMs: number }> } = {}) {
  const running = await startOperator({
    kubeConfig: cluster.kubeConfig, settings: settings(instance), namespace, logger, concurrency: 4,
    identity: extra.identity,
    lease: { namespace, durationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300, ...extra.lease },
  });
  operators.push(running);
  return running;
}

async function createAssistant(namespace: string, instance: string, spec: Partial<AssistantResource['spec']> = {}): Promise<AssistantResource> {
  return cluster.api.create<AssistantResource>({
    apiVersion: API_VERSION, kind: KIND,
    metadata: { name: serviceAccountNameOf(newId('assistant')), namespace, labels: { [LABELS.instance]: instance } },
    spec: { owner: { personId: newId('person'), email: 'ada@example.com' }, ...spec },
  });
}

const get = (ref: KindRef, name: string, namespace: string) => cluster.api.get<KubeObject & Record<string, any>>(ref, name, namespace);
const getAssistant = (name: string, namespace: string) => cluster.api.get<AssistantResource>(ASSISTANT, name, namespace);
const condition = (a: AssistantResource | undefined, type: string) => a?.status?.conditions?.find((c) => c.type === type);
const provisioned = (a: AssistantResource | undefined) =>
  condition(a, 'Provisioned')?.status === 'True' && a?.status?.observedGeneration === a?.metadata.generation;

async function waitProvisioned(name: string, namespace: string, timeoutMs = 15_000): Promise<AssistantResource> {
  return (await waitUntil(() => getAssistant(name, namespace), provisioned, timeoutMs, `${name} to be Provisioned`))!;
}

beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);

afterAll(async () => {
  for (const running of operators) await running.stop();
  await cluster?.stop();
}, 60_000);

describe('the objects the operator generates', () => {
  it('every generated object, the CRD and an Assistant pass a server-side dry run on the real API server', async () => {
    const namespace = await cluster.namespace('dry-run');
    const name = serviceAccountNameOf(newId('assistant'));
    const resource: AssistantResource = {
      apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace, labels: { [LABELS.instance]: 'dry' } },
      spec: {
        owner: { personId: newId('person'), email: 'ada@example.com' }, storage: { size: '10Gi', storageClassName: 'fast' },
        resources: { requests: { cpu: '500m', memory: '1Gi' } }, retention: 'delete', suspended: true, config: { agents: { defaults: { model: 'x' } } },
      },
    };
    const created = await cluster.api.apply<AssistantResource>(resource, FIELD_MANAGER, { dryRun: true });
    expect(created.spec.openclaw).toEqual({ image: DEFAULT_OPENCLAW_IMAGE, version: DEFAULT_OPENCLAW_VERSION });
    expect(await getAssistant(name, namespace)).toBeUndefined();
    await cluster.api.apply(assistantCrd(), FIELD_MANAGER, { dryRun: true });

    const objects = desiredObjects({ ...resource, metadata: { ...resource.metadata, uid: '3f0c2d0e-5b7a-4c1e-9a55-0a1b2c3d4e5f', generation: 1 } }, settings('dry'));
    for (const object of Object.values(objects)) {
      const answer = await cluster.api.apply<KubeObject & Record<string, any>>(object, FIELD_MANAGER, { dryRun: true });
      expect(answer.kind).toBe(object.kind);
      expect(answer.metadata.labels?.[LABELS.instance]).toBe('dry');
    }
    // The NetworkPolicy kept its peers (`from`, `to`) and the StatefulSet its hardening through the API server's validation.
    const policy = await cluster.api.apply<Record<string, any>>(objects.networkPolicy, FIELD_MANAGER, { dryRun: true });
    expect(policy.spec.ingress[0].from).toHaveLength(1);
    expect(policy.spec.egress.length).toBeGreaterThanOrEqual(3);
    const statefulSet = await cluster.api.apply<Record<string, any>>(objects.statefulSet, FIELD_MANAGER, { dryRun: true });
    expect(statefulSet.spec.replicas).toBe(0);
    expect(statefulSet.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('the structural schema refuses an Assistant with a malformed owner', async () => {
    const namespace = await cluster.namespace('dry-run');
    await expect(cluster.api.apply({
      apiVersion: API_VERSION, kind: KIND, metadata: { name: 'bad', namespace },
      spec: { owner: { personId: 'not-a-person', email: 'ada@example.com' }, retention: 'sometimes' },
    }, FIELD_MANAGER, { dryRun: true })).rejects.toMatchObject({ statusCode: 422 });
  });
});

describe('reconciling one namespace for one instance', () => {
  const ns = 'alpha-assistants';
  let alpha: RunningOperator;
  beforeAll(async () => {
    await cluster.namespace(ns);
    alpha = await operator('alpha', ns);
  }, 30_000);

  const writes = async () => (await alpha.metrics.writes.get()).values.reduce((sum, v) => sum + v.value, 0);
  const reconciles = async () => (await alpha.metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);

  it('a resync of provisioned, unchanged Assistants sends no writes at all', async () => {
    const created = await Promise.all([createAssistant(ns, 'alpha'), createAssistant(ns, 'alpha'), createAssistant(ns, 'alpha', { suspended: true })]);
    for (const a of created) await waitProvisioned(a.metadata.name, ns);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await alpha.idle();
    const [writesBefore, reconcilesBefore] = [await writes(), await reconciles()];
    alpha.resync();
    await alpha.idle();
    expect(await reconciles() - reconcilesBefore).toBeGreaterThanOrEqual(created.length);
    expect(await writes() - writesBefore).toBe(0);
  });

  it('a new Assistant gets every object, with owner references, and reports Provisioned', async () => {
    const created = await createAssistant(ns, 'alpha');
    const a = await waitProvisioned(created.metadata.name, ns);
    expect(a.metadata.finalizers).toContain(FINALIZER);
    expect(a.status?.phase).toBe('Provisioning');
    expect(condition(a, 'Ready')).toMatchObject({ status: 'False', reason: 'PodNotReady' });
    expect(a.status?.endpoint).toBe(`http://${created.metadata.name}.${ns}.svc.cluster.local:8080`);
    const names = OBJECT_NAMES(created.metadata.name);
    for (const [part, ref] of Object.entries(KINDS) as [keyof typeof KINDS, KindRef][]) {
      const object = await get(ref, names[part], ns);
      expect(object, `${ref.kind} ${names[part]}`).toBeDefined();
      expect(object!.metadata.labels?.[LABELS.instance]).toBe('alpha');
      const owners = object!.metadata.ownerReferences ?? [];
      if (part === 'persistentVolumeClaim') expect(owners).toEqual([]);
      else expect(owners).toEqual([expect.objectContaining({ kind: KIND, name: created.metadata.name, uid: created.metadata.uid, controller: true })]);
      expect((object!.metadata.managedFields as { manager: string; operation: string }[]).some((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply')).toBe(true);
    }
    const sa = await get(KINDS.serviceAccount, names.serviceAccount, ns);
    expect(sa!.automountServiceAccountToken).toBe(false);
    const sts = await get(KINDS.statefulSet, names.statefulSet, ns);
    expect(sts!.spec.replicas).toBe(1);
    const token = sts!.spec.template.spec.volumes.find((v: any) => v.name === 'token');
    expect(token.projected.sources[0].serviceAccountToken).toEqual({ audience: 'https://opencrane.example.com', expirationSeconds: 600, path: 'token' });
  });

  it('a NetworkPolicy deleted by hand is put back within seconds', async () => {
    const created = await createAssistant(ns, 'alpha');
    await waitProvisioned(created.metadata.name, ns);
    const before = await get(KINDS.networkPolicy, created.metadata.name, ns);
    await cluster.api.delete(KINDS.networkPolicy, created.metadata.name, ns);
    const after = await waitUntil(() => get(KINDS.networkPolicy, created.metadata.name, ns),
      (np) => np !== undefined && np.metadata.uid !== before!.metadata.uid, 10_000, 'the NetworkPolicy to come back');
    expect(after!.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('a StatefulSet edited by hand (image, replicas, hardening) is repaired', async () => {
    const created = await createAssistant(ns, 'alpha');
    await waitProvisioned(created.metadata.name, ns);
    const original = await get(KINDS.statefulSet, created.metadata.name, ns);
    const image = original!.spec.template.spec.containers[0].image as string;
    await cluster.api.request('PATCH', `/apis/apps/v1/namespaces/${ns}/statefulsets/${created.metadata.name}`, {
      contentType: 'application/strategic-merge-patch+json',
      query: { fieldManager: 'kubectl-edit' },
      body: {
        spec: {
          replicas: 3,
          template: { spec: { containers: [{ name: 'openclaw', image: 'evil/openclaw:latest', securityContext: { readOnlyRootFilesystem: false, allowPrivilegeEscalation: true } }] } },
        },
      },
    });
    const repaired = await waitUntil(() => get(KINDS.statefulSet, created.metadata.name, ns), (s) => {
      const c = s?.spec.template.spec.containers[0];
      return s?.spec.replicas === 1 && c?.image === image && c?.securityContext?.readOnlyRootFilesystem === true && c?.securityContext?.allowPrivilegeEscalation === false;
    }, 10_000, 'the StatefulSet to be repaired');
    expect(repaired!.spec.template.spec.containers[0].image).toBe(image);
  });

  it('suspending scales to zero and keeps the storage; resuming scales back', async () => {
    const created = await createAssistant(ns, 'alpha');
    await waitProvisioned(created.metadata.name, ns);
    const pvc = await get(KINDS.persistentVolumeClaim, `${created.metadata.name}-data`, ns);
    await cluster.api.mergePatch(ASSISTANT, created.metadata.name, ns, { spec: { suspended: true } });
    const suspended = await waitUntil(() => getAssistant(created.metadata.name, ns), (a) => provisioned(a) && a?.status?.phase === 'Suspended', 10_000, 'Suspended');
    expect(condition(suspended, 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect((await get(KINDS.statefulSet, created.metadata.name, ns))!.spec.replicas).toBe(0);
    expect((await get(KINDS.persistentVolumeClaim, `${created.metadata.name}-data`, ns))!.metadata.uid).toBe(pvc!.metadata.uid);

    await cluster.api.mergePatch(ASSISTANT, created.metadata.name, ns, { spec: { suspended: false } });
    await waitUntil(() => getAssistant(created.metadata.name, ns), (a) => provisioned(a) && a?.status?.phase === 'Provisioning', 10_000, 'resumed');
    expect((await get(KINDS.statefulSet, created.metadata.name, ns))!.spec.replicas).toBe(1);
  });

  it('deleting with retention "retain" removes the workload and keeps the storage', async () => {
    const created = await createAssistant(ns, 'alpha', { retention: 'retain' });
    await waitProvisioned(created.metadata.name, ns);
    await cluster.api.delete(ASSISTANT, created.metadata.name, ns);
    await waitUntil(() => getAssistant(created.metadata.name, ns), (a) => a === undefined, 10_000, 'the Assistant to go');
    const names = OBJECT_NAMES(created.metadata.name);
    for (const part of ['statefulSet', 'service', 'networkPolicy', 'configMap', 'serviceAccount'] as const) {
      expect(await get(KINDS[part], names[part], ns), part).toBeUndefined();
    }
    expect(await get(KINDS.persistentVolumeClaim, names.persistentVolumeClaim, ns)).toBeDefined();
  });

  it('deleting with retention "delete" removes the storage too', async () => {
    const created = await createAssistant(ns, 'alpha', { retention: 'delete' });
    await waitProvisioned(created.metadata.name, ns);
    await cluster.api.delete(ASSISTANT, created.metadata.name, ns);
    await waitUntil(() => getAssistant(created.metadata.name, ns), (a) => a === undefined, 10_000, 'the Assistant to go');
    const names = OBJECT_NAMES(created.metadata.name);
    for (const [part, ref] of Object.entries(KINDS) as [keyof typeof KINDS, KindRef][]) {
      expect(await get(ref, names[part], ns), part).toBeUndefined();
    }
  });

  it('an object the API server refuses makes the Assistant Degraded with the reason; the others are still applied', async () => {
    const created = await createAssistant(ns, 'alpha', { resources: { requests: { cpu: 'lots' } } });
    const degraded = await waitUntil(() => getAssistant(created.metadata.name, ns), (a) => a?.status?.phase === 'Degraded', 10_000, 'Degraded');
    expect(condition(degraded, 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    expect(condition(degraded, 'Degraded')?.message).toMatch(/StatefulSet/);
    expect(condition(degraded, 'Provisioned')).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
    expect(await get(KINDS.networkPolicy, created.metadata.name, ns)).toBeDefined();
    expect(await get(KINDS.statefulSet, created.metadata.name, ns)).toBeUndefined();

    await cluster.api.mergePatch(ASSISTANT, created.metadata.name, ns, { spec: { resources: null } });
    await waitProvisioned(created.metadata.name, ns);
    expect(await get(KINDS.statefulSet, created.metadata.name, ns)).toBeDefined();
  });

  it('Assistants in another namespace are not touched', async () => {
    const other = await cluster.namespace('alpha-elsewhere');
    const created = await createAssistant(other, 'alpha');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const a = await getAssistant(created.metadata.name, other);
    expect(a?.status).toBeUndefined();
    expect(a?.metadata.finalizers ?? []).toEqual([]);
    expect(await get(KINDS.statefulSet, created.metadata.name, other)).toBeUndefined();
  });
});

describe('watching every namespace', () => {
  it('an operator for all namespaces provisions its instance\'s Assistants wherever they are', async () => {
    const [first, second] = [await cluster.namespace('everywhere-1'), await cluster.namespace('everywhere-2')];
    await startOperatorForAll();
    const a = await createAssistant(first, 'everywhere');
    const b = await createAssistant(second, 'everywhere');
    await waitProvisioned(a.metadata.name, first);
    await waitProvisioned(b.metadata.name, second);
  });

  async function startOperatorForAll() {
    const leases = await cluster.namespace('everywhere-leases');
    const running = await startOperator({
      kubeConfig: cluster.kubeConfig, settings: settings('everywhere'), namespace: undefined, logger,
      lease: { namespace: leases, retryPeriodMs: 300 },
    });
    operators.push(running);
  }
});

describe('two OpenCrane instances in one namespace', () => {
  const ns = 'shared-assistants';

  it('each operator provisions its own instance\'s Assistants and ignores the other\'s', async () => {
    await cluster.namespace(ns);
    const one = await operator('one', ns);
    const two = await operator('two', ns);
    const mine = await createAssistant(ns, 'one');
    const theirs = await createAssistant(ns, 'two');
    await waitProvisioned(mine.metadata.name, ns);
    await waitProvisioned(theirs.metadata.name, ns);
    expect((await get(KINDS.statefulSet, mine.metadata.name, ns))!.metadata.labels?.[LABELS.instance]).toBe('one');
    expect((await get(KINDS.statefulSet, theirs.metadata.name, ns))!.metadata.labels?.[LABELS.instance]).toBe('two');

    // With instance two's operator gone, its new Assistant stays untouched, and its objects stay as they are.
    await two.stop();
    operators.splice(operators.indexOf(two), 1);
    const orphan = await createAssistant(ns, 'two');
    await cluster.api.delete(KINDS.networkPolicy, theirs.metadata.name, ns);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await one.idle();
    expect((await getAssistant(orphan.metadata.name, ns))?.status).toBeUndefined();
    expect(await get(KINDS.statefulSet, orphan.metadata.name, ns)).toBeUndefined();
    expect(await get(KINDS.networkPolicy, theirs.metadata.name, ns)).toBeUndefined();
    expect(one.metrics.registry).toBeDefined();
  });
});

describe('leader election', () => {
  const ns = 'leader-election';

  it('one replica leads; when it stops, the standby takes over and reconciles', async () => {
    await cluster.namespace(ns);
    const first = await operator('le', ns, { identity: 'replica-1' });
    await waitUntil(() => Promise.resolve(first.isLeader()), Boolean, 5000, 'the first replica to lead');
    const second = await operator('le', ns, { identity: 'replica-2' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(second.isLeader()).toBe(false);

    const before = await createAssistant(ns, 'le');
    await waitProvisioned(before.metadata.name, ns);
    expect(await second.metrics.writes.get().then((m) => m.values.reduce((sum, v) => sum + v.value, 0))).toBe(0);

    await first.stop();
    operators.splice(operators.indexOf(first), 1);
    await waitUntil(() => Promise.resolve(second.isLeader()), Boolean, 10_000, 'the standby to lead');
    const lease = await get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }, 'opencrane-operator-le', ns);
    expect(lease!.spec.holderIdentity).toBe('replica-2');
    const after = await createAssistant(ns, 'le');
    await waitProvisioned(after.metadata.name, ns);
  });

  it('a Lease held by a replica that died without releasing it is taken over after its duration', async () => {
    const ghostNs = await cluster.namespace('leader-takeover');
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    await cluster.api.create({
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'opencrane-operator-ghost', namespace: ghostNs },
      spec: { holderIdentity: 'crashed-replica', leaseDurationSeconds: 2, acquireTime: now, renewTime: now, leaseTransitions: 0 },
    });
    const started = Date.now();
    const standby = await operator('ghost', ghostNs, { identity: 'survivor', lease: { durationMs: 2000 } });
    expect(standby.isLeader()).toBe(false);
    await waitUntil(() => Promise.resolve(standby.isLeader()), Boolean, 10_000, 'the survivor to take the Lease');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const lease = await get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }, 'opencrane-operator-ghost', ghostNs);
    expect(lease!.spec).toMatchObject({ holderIdentity: 'survivor', leaseTransitions: 1 });
  });
});
