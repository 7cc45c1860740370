// A small JSON path to the Kubernetes API for the few kinds OpenCrane manages. The client library
// (@kubernetes/client-node) still loads the kubeconfig or in-cluster credentials, builds the TLS agent
// and runs the watches; its typed model classes are not used for our objects because they rename
// reserved words and extension keys (`from` → `_from`, `x-kubernetes-*`), which would silently drop
// fields from plain JSON (ADR 0007).
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** Where each kind lives in the API, keyed by `apiVersion/kind`. */
const RESOURCES: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {
  'v1/ServiceAccount': { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  'v1/PersistentVolumeClaim': { prefix: '/api/v1', plural: 'persistentvolumeclaims', namespaced: true },
  'v1/ConfigMap': { prefix: '/api/v1', plural: 'configmaps', namespaced: true },
  'v1/Service': { prefix: '/api/v1', plural: 'services', namespaced: true },
  'v1/Namespace': { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  'apps/v1/StatefulSet': { prefix: '/apis/apps/v1', plural: 'statefulsets', namespaced: true },
  'networking.k8s.io/v1/NetworkPolicy': { prefix: '/apis/networking.k8s.io/v1', plural: 'networkpolicies', namespaced: true },
  'coordination.k8s.io/v1/Lease': { prefix: '/apis/coordination.k8s.io/v1', plural: 'leases', namespaced: true },
  'opencrane.io/v1alpha1/Assistant': { prefix: '/apis/opencrane.io/v1alpha1', plural: 'assistants', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': {
    prefix: '/apis/apiextensions.k8s.io/v1', plural: 'customresourcedefinitions', namespaced: false,
  },
};

export interface KindRef { apiVersion: string; kind: string }
/** Any object the API can take: plain JSON with a kind and a name. */
export type ObjectRef = KindRef & { metadata: { name: string; namespace?: string; [key: string]: unknown }; [key: string]: unknown };

/** The collection path of a kind, in one namespace or (for a list or watch) in all of them. */
export function collectionPath(ref: KindRef, namespace?: string): string {
  const resource = RESOURCES[`${ref.apiVersion}/${ref.kind}`];
  if (!resource) throw new TypeError(`no API path known for ${ref.apiVersion} ${ref.kind}`);
  return resource.namespaced && namespace
    ? `${resource.prefix}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`
    : `${resource.prefix}/${resource.plural}`;
}

export function objectPath(ref: KindRef, name: string, namespace?: string): string {
  return `${collectionPath(ref, namespace)}/${encodeURIComponent(name)}`;
}

/** An answer from the API server other than 2xx, with its Status reason (NotFound, Conflict, …). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(readonly statusCode: number, readonly reason: string, message: string) {
    super(message);
  }
}

export const isNotFound = (err: unknown) => err instanceof KubeApiError && err.statusCode === 404;
export const isConflict = (err: unknown) => err instanceof KubeApiError && err.statusCode === 409;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Milliseconds before the request is abandoned. */
  timeoutMs?: number;
}

export interface KubeApi {
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** Server-side apply under one field manager, taking over conflicting fields (force). */
  apply<T = ObjectRef>(object: ObjectRef, fieldManager: string, options?: { dryRun?: boolean; subresource?: 'status' }): Promise<T>;
  get<T = ObjectRef>(ref: KindRef, name: string, namespace?: string): Promise<T | undefined>;
  list<T = ObjectRef>(ref: KindRef, options?: { namespace?: string; labelSelector?: string }): Promise<{ items: T[]; metadata: { resourceVersion?: string } }>;
  /** Deletes; an object already gone counts as deleted. */
  delete(ref: KindRef, name: string, namespace?: string, options?: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' }): Promise<void>;
  /** A JSON merge patch (RFC 7386), on the object or its status. */
  mergePatch<T = ObjectRef>(ref: KindRef, name: string, namespace: string | undefined, patch: unknown, subresource?: 'status'): Promise<T>;
  /** Lease updates need optimistic concurrency: a PUT carrying the resourceVersion read. */
  replace<T = ObjectRef>(object: ObjectRef): Promise<T>;
  create<T = ObjectRef>(object: ObjectRef): Promise<T>;
}

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export function createKubeApi(kubeConfig: KubeConfig): KubeApi {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new TypeError('the kubeconfig has no current cluster');
  const base = new URL(cluster.server);

  async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(path, base);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const requestOptions: https.RequestOptions = {
      method,
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) }),
      },
    };
    await kubeConfig.applyToHTTPSOptions(requestOptions);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = transport.request(url, requestOptions, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) { req.destroy(new Error('the API server\'s answer is too large')); return; }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) { resolve(parsed as T); return; }
          const problem = (parsed ?? {}) as { reason?: string; message?: string };
          reject(new KubeApiError(status, problem.reason ?? 'Unknown', `${method} ${url.pathname}: ${status} ${problem.message ?? text.slice(0, 300)}`));
        });
        res.on('error', reject);
      });
      req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} ${url.pathname}: no answer from the API server in time`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  const namespaceOf = (object: ObjectRef) => object.metadata.namespace;

  return {
    request,
    apply: (object, fieldManager, options = {}) => request('PATCH', `${objectPath(object, object.metadata.name, namespaceOf(object))}${options.subresource ? `/${options.subresource}` : ''}`, {
      body: object,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: true, dryRun: options.dryRun ? 'All' : undefined },
    }),
    async get(ref, name, namespace) {
      try {
        return await request('GET', objectPath(ref, name, namespace));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    list: (ref, options = {}) => request('GET', collectionPath(ref, options.namespace), { query: { labelSelector: options.labelSelector } }),
    async delete(ref, name, namespace, options = {}) {
      try {
        await request('DELETE', objectPath(ref, name, namespace), {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: options.propagationPolicy ?? 'Background' },
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    mergePatch: (ref, name, namespace, patch, subresource) => request('PATCH', `${objectPath(ref, name, namespace)}${subresource ? `/${subresource}` : ''}`, {
      body: patch, contentType: 'application/merge-patch+json',
    }),
    replace: (object) => request('PUT', objectPath(object, object.metadata.name, namespaceOf(object)), { body: object }),
    create: (object) => request('POST', collectionPath(object, namespaceOf(object)), { body: object }),
  };
}
