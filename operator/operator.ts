// The operator: watches Assistants and every kind it owns (one namespace or all, one OpenCrane
// instance label), and for each Assistant makes the cluster match desiredObjects() with server-side
// apply, writes its status, and on deletion removes what the retention setting says before letting the
// Assistant go. Only the elected leader works the queue; standbys keep their caches warm.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { makeInformer, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../core/index.ts';
import { API_VERSION, KIND, type AssistantResource } from './assistant-resource.ts';
import { FIELD_MANAGER, FINALIZER, LABELS, desiredObjects, names, type AssistantObjects, type OperatorSettings } from './desired-state.ts';
import { containsDesired } from './drift.ts';
import { collectionPath, createKubeApi, type KindRef } from './kube-api.ts';
import type { KubeObject } from './kube-object.ts';
import { startLeaderElection, type LeaderElector } from './leader-election.ts';
import { createOperatorMetrics, type OperatorMetrics } from './metrics.ts';
import { computeStatus, sameStatus } from './status.ts';
import { createWorkQueue, type WorkQueue } from './work-queue.ts';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  settings: OperatorSettings;
  /** One namespace to watch, or undefined for all. */
  namespace: string | undefined;
  clusterDomain?: string;
  resyncIntervalMs?: number;
  concurrency?: number;
  lease: { namespace: string; name?: string; durationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  identity?: string;
  logger: Logger;
  metrics?: OperatorMetrics;
}

export interface RunningOperator {
  metrics: OperatorMetrics;
  isLeader(): boolean;
  /** True once every watch has listed its objects. */
  synced(): boolean;
  /** Queues every known Assistant, as the periodic resync does. */
  resync(): void;
  /** Resolves when the leader's queue has nothing waiting, running or scheduled. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const ASSISTANT: KindRef = { apiVersion: API_VERSION, kind: KIND };
/** The kinds the operator creates for each Assistant, by their part of desiredObjects(). */
export const OWNED_KINDS: Record<keyof AssistantObjects, KindRef> = {
  serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount' },
  persistentVolumeClaim: { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  configMap: { apiVersion: 'v1', kind: 'ConfigMap' },
  statefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  service: { apiVersion: 'v1', kind: 'Service' },
  networkPolicy: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
};
/** Deleted first to last when an Assistant goes: the workload before what it uses. */
const DELETION_ORDER: (keyof AssistantObjects)[] = ['statefulSet', 'service', 'networkPolicy', 'configMap', 'serviceAccount'];

type Cache<T extends KubernetesObject> = ReturnType<typeof makeInformer<T>>;

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1000);

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { settings, logger } = options;
  const api = createKubeApi(options.kubeConfig);
  const metrics = options.metrics ?? createOperatorMetrics();
  const clusterDomain = options.clusterDomain ?? 'cluster.local';
  const labelSelector = `${LABELS.instance}=${settings.instance}`;
  let queue: WorkQueue | undefined;
  let stopping = false;
  let listed = false;

  const counted = async <T>(kind: string, verb: string, write: () => Promise<T>): Promise<T> => {
    metrics.writes.inc({ kind, verb });
    return write();
  };

  // Informers list with our JSON client (plain objects, like the watch events that follow).
  const informer = <T extends KubernetesObject>(ref: KindRef): Cache<T> => {
    const cache = makeInformer<T>(options.kubeConfig, collectionPath(ref, options.namespace), async () => {
      const list = await api.list<KubeObject>(ref, { namespace: options.namespace, labelSelector });
      return { ...list, items: list.items.map((item) => ({ ...item, apiVersion: ref.apiVersion, kind: ref.kind })) } as never;
    }, labelSelector);
    cache.on('error', (err: unknown) => {
      if (stopping) return;
      logger.warn({ kind: ref.kind, err: errorText(err) }, 'watch failed; restarting it');
      setTimeout(() => { if (!stopping) void cache.start().catch(() => undefined); }, 1000);
    });
    return cache;
  };

  const assistants = informer<AssistantResource & KubernetesObject>(ASSISTANT);
  const owned = Object.fromEntries(Object.entries(OWNED_KINDS).map(([name, ref]) => [name, informer<KubeObject & KubernetesObject>(ref)])) as
    Record<keyof AssistantObjects, Cache<KubeObject & KubernetesObject>>;

  const enqueue = (namespace: string | undefined, name: string | undefined) => {
    if (name) queue?.add(keyOf(namespace, name));
  };
  for (const verb of ['add', 'update', 'delete'] as const) {
    assistants.on(verb, (a) => enqueue(a.metadata?.namespace, a.metadata?.name));
    for (const cache of Object.values(owned)) {
      cache.on(verb, (o) => enqueue(o.metadata?.namespace, o.metadata?.labels?.[LABELS.assistant]));
    }
  }

  async function reconcile(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const assistant = assistants.get(name, namespace) as AssistantResource | undefined;
    if (!assistant) return;
    if (assistant.metadata.deletionTimestamp) {
      await finalize(assistant);
      return;
    }
    if (!assistant.metadata.finalizers?.includes(FINALIZER)) {
      await counted(KIND, 'apply', () => api.apply(
        { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace, finalizers: [FINALIZER] } }, FIELD_MANAGER,
      ));
    }
    // The objects do not depend on each other at the API server, so the ones that drifted go in parallel.
    const desired = desiredObjects(assistant, settings);
    const drifted = (Object.entries(desired) as [keyof AssistantObjects, KubeObject][])
      .filter(([part, object]) => !containsDesired(object, owned[part].get(object.metadata.name, namespace)))
      .map(([, object]) => object);
    const results = await Promise.allSettled(drifted.map((object) => counted(object.kind, 'apply', () => api.apply(object, FIELD_MANAGER))));
    const failed = results.findIndex((r) => r.status === 'rejected');
    const applyError = failed < 0 ? undefined
      : `applying the ${drifted[failed]!.kind} ${drifted[failed]!.metadata.name} failed: ${errorText((results[failed] as PromiseRejectedResult).reason)}`;
    const statefulSet = owned.statefulSet.get(names(assistant).statefulSet, namespace);
    const status = computeStatus(assistant, { applyError, statefulSet }, clusterDomain, new Date());
    if (!sameStatus(assistant.status, status)) {
      await counted(KIND, 'status', () => api.mergePatch(ASSISTANT, name, namespace, { status }, 'status'));
    }
    if (applyError) throw new Error(applyError);
  }

  async function finalize(assistant: AssistantResource): Promise<void> {
    if (!assistant.metadata.finalizers?.includes(FINALIZER)) return;
    const { namespace, name } = assistant.metadata;
    const n = names(assistant);
    const objectName: Record<keyof AssistantObjects, string> = {
      serviceAccount: n.serviceAccount, persistentVolumeClaim: n.pvc, configMap: n.config,
      statefulSet: n.statefulSet, service: n.service, networkPolicy: n.networkPolicy,
    };
    if (assistant.status?.phase !== 'Deleting') {
      // The deletion bumps the generation: report it, so the control plane takes this status as current.
      await counted(KIND, 'status', () => api.mergePatch(ASSISTANT, name, namespace, {
        status: { phase: 'Deleting', ...(assistant.metadata.generation === undefined ? {} : { observedGeneration: assistant.metadata.generation }) },
      }, 'status'));
    }
    // Owner references would let the garbage collector do this; doing it here makes deletion
    // complete before the Assistant goes, and lets the retention setting decide about the storage.
    const parts: (keyof AssistantObjects)[] = assistant.spec.retention === 'delete' ? [...DELETION_ORDER, 'persistentVolumeClaim'] : DELETION_ORDER;
    for (const part of parts) {
      if (!owned[part].get(objectName[part], namespace)) continue;
      await counted(OWNED_KINDS[part].kind, 'delete', () => api.delete(OWNED_KINDS[part], objectName[part], namespace));
    }
    // Applying the Assistant without the finalizer gives up our field manager's claim on it.
    await counted(KIND, 'apply', () => api.apply({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace } }, FIELD_MANAGER));
    logger.info({ assistant: name, namespace, storage: assistant.spec.retention === 'delete' ? 'deleted' : 'retained' }, 'assistant deleted');
  }

  const resync = () => {
    for (const a of assistants.list()) enqueue(a.metadata?.namespace, a.metadata?.name);
  };

  const startQueue = () => {
    queue = createWorkQueue({
      concurrency: options.concurrency ?? 8,
      onError: (key, failures, err) => {
        metrics.errors.inc();
        logger.warn({ assistant: key, failures, err: errorText(err) }, 'reconcile failed; retrying');
      },
    });
    queue.start(async (key) => {
      const end = metrics.duration.startTimer();
      try {
        await reconcile(key);
        metrics.reconciles.inc({ result: 'success' });
      } catch (err) {
        metrics.reconciles.inc({ result: 'error' });
        throw err;
      } finally {
        end();
      }
    });
    resync();
  };
  metrics.measureQueueDepth(() => queue?.depth() ?? 0);

  await Promise.all([assistants.start(), ...Object.values(owned).map((cache) => cache.start())]);
  listed = true;

  const identity = options.identity ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
  const elector: LeaderElector = startLeaderElection({
    api,
    namespace: options.lease.namespace,
    name: options.lease.name ?? `opencrane-operator-${settings.instance}`,
    identity,
    leaseDurationMs: options.lease.durationMs,
    renewDeadlineMs: options.lease.renewDeadlineMs,
    retryPeriodMs: options.lease.retryPeriodMs,
    onStartedLeading: () => {
      metrics.leader.set(1);
      logger.info({ identity }, 'leading: reconciling assistants');
      startQueue();
    },
    onStoppedLeading: async () => {
      metrics.leader.set(0);
      logger.warn({ identity }, 'no longer leading: stopped reconciling');
      const old = queue;
      queue = undefined;
      await old?.stop();
    },
    onError: (err) => logger.warn({ err: errorText(err) }, 'leader election: could not read or renew the Lease'),
  });

  const resyncTimer = setInterval(resync, options.resyncIntervalMs ?? 300_000);
  resyncTimer.unref();

  return {
    metrics,
    isLeader: () => elector.isLeader(),
    synced: () => listed,
    resync,
    idle: async () => { await queue?.idle(); },
    async stop() {
      stopping = true;
      clearInterval(resyncTimer);
      await elector.stop();
      await Promise.all([assistants.stop(), ...Object.values(owned).map((cache) => cache.stop())]);
    },
  };
}
