// The control plane's side of provisioning: every assistant in the database has an `Assistant`
// resource in the cluster, written with server-side apply under the control plane's own field manager
// (owner, suspension, retention); a person who leaves loses theirs. The operator's status on each
// resource comes back into the assistant's row, so the API shows it. Driven by the directory change
// feed, with a full comparison at start, on a feed reconnect and periodically.
import { makeInformer, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { eq } from 'drizzle-orm';
import {
  CHANGES_CHANNEL, parseChange, schema, serviceAccountNameOf, type Assistant, type Database, type Db, type Logger, type Unlisten,
} from '../../core/index.ts';
import {
  API_VERSION, KIND, LABELS, collectionPath, containsDesired, createKubeApi, type AssistantResource, type AssistantStatus, type KubeObject,
} from '../../operator/index.ts';
import type { RunMutation } from '../services/mutations.ts';

export const CONTROL_PLANE_FIELD_MANAGER = 'opencrane-control-plane';
/** The person an Assistant resource belongs to, so a person's deletion finds it without the database row. */
export const PERSON_LABEL = 'opencrane.io/person';

export interface ClusterTarget {
  kubeConfig: KubeConfig;
  namespace: string;
  instance: string;
  retention: 'retain' | 'delete';
}

export interface AssistantResources {
  /** The namespace and name of an assistant's resource. */
  resourceOf(assistantId: string): { namespace: string; name: string };
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Compares every assistant with its resource and fixes what differs. */
  syncAll(): Promise<void>;
}

type Row = Pick<Assistant, 'id' | 'personId' | 'status' | 'statusMessage' | 'endpoint'> & { email: string; personStatus: 'active' | 'suspended' };

const PHASE_TO_STATUS: Record<NonNullable<AssistantStatus['phase']>, Assistant['status']> = {
  Pending: 'pending', Provisioning: 'provisioning', Ready: 'ready', Suspended: 'suspended', Degraded: 'failed', Deleting: 'deleting',
};

/** The row's status, message and endpoint as the operator reports them, once it has seen the current spec. */
export function statusFromResource(resource: AssistantResource): Pick<Assistant, 'status' | 'statusMessage' | 'endpoint'> | undefined {
  const status = resource.status;
  if (!status?.phase || status.observedGeneration !== resource.metadata.generation) return undefined;
  const degraded = status.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True');
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  return {
    status: PHASE_TO_STATUS[status.phase],
    statusMessage: (degraded?.message ?? ready?.message ?? null)?.slice(0, 500) ?? null,
    endpoint: status.endpoint ?? null,
  };
}

export function createAssistantResources(deps: {
  target: ClusterTarget;
  database: Pick<Database, 'listen'>;
  db: Db;
  runMutation: RunMutation;
  logger: Logger;
  resyncIntervalMs: number;
}): AssistantResources {
  const { target, logger } = deps;
  const api = createKubeApi(target.kubeConfig);
  const ref = { apiVersion: API_VERSION, kind: KIND };
  const labelSelector = `${LABELS.instance}=${target.instance}`;
  const cache = makeInformer<AssistantResource & KubernetesObject>(target.kubeConfig, collectionPath(ref, target.namespace), async () => {
    const list = await api.list<KubeObject>(ref, { namespace: target.namespace, labelSelector });
    return { ...list, items: list.items.map((item) => ({ ...item, ...ref })) } as never;
  }, labelSelector);
  let unlisten: Unlisten | undefined;
  let timer: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopping = false;
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (what: string, work: () => Promise<void>) => {
    queue = queue.then(work).catch((err: unknown) => {
      logger.warn({ err: err instanceof Error ? err.message : String(err), what }, 'could not bring an Assistant resource up to date; the next resync retries');
    });
    return queue;
  };

  const nameOf = (assistantId: string) => serviceAccountNameOf(assistantId);

  async function rowsWhere(db: Db, where?: ReturnType<typeof eq>): Promise<Row[]> {
    const query = db.select({
      id: schema.assistants.id, personId: schema.assistants.personId, status: schema.assistants.status,
      statusMessage: schema.assistants.statusMessage, endpoint: schema.assistants.endpoint,
      email: schema.people.email, personStatus: schema.people.status,
    }).from(schema.assistants).innerJoin(schema.people, eq(schema.people.id, schema.assistants.personId));
    return where ? query.where(where) : query;
  }

  const desired = (row: Row): KubeObject => ({
    apiVersion: API_VERSION, kind: KIND,
    metadata: {
      name: nameOf(row.id), namespace: target.namespace,
      labels: { [LABELS.instance]: target.instance, [PERSON_LABEL]: row.personId },
    },
    spec: { owner: { personId: row.personId, email: row.email }, suspended: row.personStatus === 'suspended', retention: target.retention },
  });

  async function applyRow(row: Row): Promise<void> {
    const object = desired(row);
    const live = cache.get(object.metadata.name, target.namespace);
    if (containsDesired(object, live)) {
      if (live) await copyStatus(live);
      return;
    }
    await api.apply(object, CONTROL_PLANE_FIELD_MANAGER);
  }

  /** The operator's status on a resource, into the assistant's row (only when it changed). */
  async function copyStatus(resource: AssistantResource): Promise<void> {
    const next = statusFromResource(resource);
    const personId = resource.metadata.labels?.[PERSON_LABEL];
    if (!next || !personId) return;
    const [row] = await rowsWhere(deps.db, eq(schema.assistants.personId, personId));
    if (!row || nameOf(row.id) !== resource.metadata.name) return;
    if (row.status === next.status && row.statusMessage === next.statusMessage && row.endpoint === next.endpoint) return;
    await deps.runMutation({ actor: 'system:operator-status' }, async (ctx) => {
      await ctx.tx.update(schema.assistants).set(next).where(eq(schema.assistants.id, row.id));
      await ctx.changed({ entity: 'assistant', id: row.id });
    });
  }

  async function syncAssistant(id: string): Promise<void> {
    const [row] = await rowsWhere(deps.db, eq(schema.assistants.id, id));
    if (row) await applyRow(row);
    else await api.delete(ref, nameOf(id), target.namespace);
  }

  async function syncPerson(personId: string): Promise<void> {
    const rows = await rowsWhere(deps.db, eq(schema.assistants.personId, personId));
    for (const row of rows) await applyRow(row);
    for (const resource of cache.list(target.namespace)) {
      if (resource.metadata?.labels?.[PERSON_LABEL] !== personId) continue;
      if (!rows.some((row) => nameOf(row.id) === resource.metadata?.name)) await api.delete(ref, resource.metadata.name, target.namespace);
    }
  }

  async function syncAll(): Promise<void> {
    const rows = await rowsWhere(deps.db);
    const wanted = new Set(rows.map((row) => nameOf(row.id)));
    for (const row of rows) await applyRow(row);
    for (const resource of cache.list(target.namespace)) {
      const name = resource.metadata?.name;
      if (name && !wanted.has(name)) await api.delete(ref, name, target.namespace);
    }
  }

  cache.on('add', (resource) => void enqueue('status', () => copyStatus(resource)));
  cache.on('update', (resource) => void enqueue('status', () => copyStatus(resource)));
  cache.on('error', (err: unknown) => {
    if (stopping) return;
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'watch on Assistant resources failed; restarting it');
    setTimeout(() => { if (!stopping) void cache.start().then(() => enqueue('resync', syncAll)).catch(() => undefined); }, 1000);
  });

  return {
    resourceOf: (assistantId) => ({ namespace: target.namespace, name: nameOf(assistantId) }),
    async start() {
      // An unreachable cluster must not stop the control plane: the watch keeps trying in the background.
      const connect = async (): Promise<void> => {
        try {
          await cache.start();
          await enqueue('resync', syncAll);
        } catch (err) {
          if (stopping) return;
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot list Assistant resources; retrying in 5 s');
          retry = setTimeout(() => void connect(), 5000);
        }
      };
      unlisten = await deps.database.listen(CHANGES_CHANNEL, (payload) => {
        const change = parseChange(payload);
        if (!change) void enqueue('resync', syncAll);
        else if (change.entity === 'assistant') void enqueue(`assistant ${change.id}`, () => syncAssistant(change.id));
        else if (change.entity === 'person') void enqueue(`person ${change.id}`, () => syncPerson(change.id));
        else if (change.entity === 'subject-deleted' && change.kind === 'person') void enqueue(`person ${change.id}`, () => syncPerson(change.id));
      }, () => void enqueue('resync', syncAll));
      await connect();
      timer = setInterval(() => void enqueue('resync', syncAll), deps.resyncIntervalMs);
      timer.unref();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      if (retry) clearTimeout(retry);
      await unlisten?.();
      await queue;
      await cache.stop();
    },
    syncAll: () => enqueue('resync', syncAll),
  };
}
