// What an Assistant should look like in the cluster, as pure functions of its spec and the operator's
// settings: a ServiceAccount, the PVC, the OpenClaw configuration, a single-replica StatefulSet
// (OpenClaw beside the OpenCrane sidecar, both hardened), a Service and a default-deny NetworkPolicy.
// The reconcile loop only applies what these return (server-side apply, one field manager), so every
// rule here is unit-tested without a cluster.
import { createHash } from 'node:crypto';
import {
  API_VERSION, DEFAULT_OPENCLAW_IMAGE, DEFAULT_OPENCLAW_VERSION, KIND, type AssistantResource,
} from './assistant-resource.ts';
import type { KubeObject, OwnerReference } from './kube-object.ts';

export const OPENCLAW_PORT = 18789;
export const SIDECAR_PORT = 8080;
export const RUN_AS = 1000;
export const TOKEN_EXPIRATION_SECONDS = 600;
const TOKEN_DIR = '/var/run/secrets/opencrane';
const DATA_DIR = '/home/node/.openclaw';
const CONFIG_DIR = '/etc/openclaw';

/** Label selecting one group of pods, optionally in namespaces selected by their labels. */
export interface PeerSelector {
  namespaceLabels?: Record<string, string>;
  podLabels: Record<string, string>;
}

export interface OperatorSettings {
  /** This OpenCrane instance's name: the `opencrane.io/instance` label on everything it manages. */
  instance: string;
  /** The audience of the projected ServiceAccount token: the token service's. */
  tokenAudience: string;
  /** The OpenCrane assistant sidecar (pairing-link verifier and token exchange). */
  sidecarImage: string;
  /** Where the sidecar exchanges the ServiceAccount token; passed to it as configuration. */
  tokenServiceUrl: string;
  /** Who may open connections to an assistant: the pairing/ingress path. */
  ingressFrom: PeerSelector[];
  /** In-cluster services an assistant may reach (token service, MCP gateway, skills, knowledge), with their ports. */
  egressTo: (PeerSelector & { ports: number[] })[];
  /** Model endpoints outside the cluster, by CIDR and port. */
  modelEndpoints: { cidr: string; ports: number[] }[];
}

export const LABELS = {
  instance: 'opencrane.io/instance',
  assistant: 'opencrane.io/assistant',
  managedBy: 'app.kubernetes.io/managed-by',
  name: 'app.kubernetes.io/name',
} as const;

export const FIELD_MANAGER = 'opencrane-operator';
export const FINALIZER = 'opencrane.io/storage-retention';
export const CONFIG_CHECKSUM_ANNOTATION = 'opencrane.io/config-checksum';

export interface AssistantObjects {
  serviceAccount: KubeObject;
  persistentVolumeClaim: KubeObject;
  configMap: KubeObject;
  statefulSet: KubeObject;
  service: KubeObject;
  networkPolicy: KubeObject;
}

/** Every object is named after the Assistant, which is named after the ServiceAccount rule (ast-<id>). */
export const names = (assistant: AssistantResource) => {
  const base = assistant.metadata.name;
  return { serviceAccount: base, pvc: `${base}-data`, config: `${base}-config`, statefulSet: base, service: base, networkPolicy: base };
};

export function labelsOf(assistant: AssistantResource, settings: Pick<OperatorSettings, 'instance'>): Record<string, string> {
  return {
    [LABELS.name]: 'openclaw',
    [LABELS.managedBy]: FIELD_MANAGER,
    [LABELS.instance]: settings.instance,
    [LABELS.assistant]: assistant.metadata.name,
  };
}

export function ownerReference(assistant: AssistantResource): OwnerReference {
  if (!assistant.metadata.uid) throw new TypeError(`Assistant ${assistant.metadata.name} has no uid yet`);
  return { apiVersion: API_VERSION, kind: KIND, name: assistant.metadata.name, uid: assistant.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** The OpenClaw configuration file: the gateway bound inside the pod, then the spec's extra settings. */
export function openclawConfig(assistant: AssistantResource): string {
  const config = {
    gateway: { port: OPENCLAW_PORT, bind: 'lan' },
    ...assistant.spec.config,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

const hardened = () => ({
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  privileged: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

const peer = (selector: PeerSelector) => ({
  podSelector: { matchLabels: selector.podLabels },
  ...(selector.namespaceLabels ? { namespaceSelector: { matchLabels: selector.namespaceLabels } } : {}),
});

export function desiredObjects(assistant: AssistantResource, settings: OperatorSettings): AssistantObjects {
  const { namespace } = assistant.metadata;
  const n = names(assistant);
  const labels = labelsOf(assistant, settings);
  const owned = { ownerReferences: [ownerReference(assistant)] };
  const meta = (name: string, extra: Record<string, unknown> = owned) => ({ name, namespace, labels, ...extra });
  const config = openclawConfig(assistant);
  const checksum = createHash('sha256').update(config).digest('hex');
  const image = `${assistant.spec.openclaw?.image ?? DEFAULT_OPENCLAW_IMAGE}:${assistant.spec.openclaw?.version ?? DEFAULT_OPENCLAW_VERSION}`;
  const selector = { [LABELS.assistant]: assistant.metadata.name, [LABELS.instance]: settings.instance };
  const probe = (path: string) => ({ httpGet: { path, port: 'gateway' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 });

  return {
    serviceAccount: {
      apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(n.serviceAccount),
      // The only token the pod gets is the projected one below, for the token service's audience.
      automountServiceAccountToken: false,
    },
    // No owner reference: whether the storage outlives the Assistant is the retention setting's call,
    // carried out by the finalizer.
    persistentVolumeClaim: {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta(n.pvc, {}),
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: assistant.spec.storage?.size ?? '5Gi' } },
        ...(assistant.spec.storage?.storageClassName ? { storageClassName: assistant.spec.storage.storageClassName } : {}),
      },
    },
    configMap: {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(n.config),
      data: { 'openclaw.json': config },
    },
    statefulSet: {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta(n.statefulSet),
      spec: {
        replicas: assistant.spec.suspended ? 0 : 1,
        serviceName: n.service,
        selector: { matchLabels: selector },
        podManagementPolicy: 'OrderedReady',
        template: {
          metadata: { labels, annotations: { [CONFIG_CHECKSUM_ANNOTATION]: checksum } },
          spec: {
            serviceAccountName: n.serviceAccount,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: {
              runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'openclaw',
                image,
                ports: [{ name: 'gateway', containerPort: OPENCLAW_PORT }],
                env: [{ name: 'OPENCLAW_CONFIG_PATH', value: `${CONFIG_DIR}/openclaw.json` }, { name: 'HOME', value: '/home/node' }],
                readinessProbe: probe('/readyz'),
                livenessProbe: { ...probe('/healthz'), initialDelaySeconds: 10 },
                resources: assistant.spec.resources ?? { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '2Gi' } },
                securityContext: hardened(),
                volumeMounts: [
                  { name: 'data', mountPath: DATA_DIR },
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
              {
                name: 'opencrane-sidecar',
                image: settings.sidecarImage,
                ports: [{ name: 'pairing', containerPort: SIDECAR_PORT }],
                env: [
                  { name: 'OPENCRANE_ASSISTANT', value: assistant.metadata.name },
                  { name: 'OPENCRANE_TOKEN_SERVICE_URL', value: settings.tokenServiceUrl },
                  { name: 'OPENCRANE_SERVICE_ACCOUNT_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
                  { name: 'OPENCLAW_URL', value: `http://127.0.0.1:${OPENCLAW_PORT}` },
                ],
                readinessProbe: { httpGet: { path: '/readyz', port: 'pairing' }, periodSeconds: 10 },
                resources: { requests: { cpu: '25m', memory: '64Mi' }, limits: { memory: '128Mi' } },
                securityContext: hardened(),
                volumeMounts: [{ name: 'token', mountPath: TOKEN_DIR, readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [
              { name: 'data', persistentVolumeClaim: { claimName: n.pvc } },
              { name: 'config', configMap: { name: n.config } },
              { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
              {
                name: 'token',
                projected: {
                  sources: [{ serviceAccountToken: { audience: settings.tokenAudience, expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } }],
                },
              },
            ],
          },
        },
      },
    },
    service: {
      apiVersion: 'v1', kind: 'Service', metadata: meta(n.service),
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [
          { name: 'pairing', port: SIDECAR_PORT, targetPort: 'pairing' },
          { name: 'gateway', port: OPENCLAW_PORT, targetPort: 'gateway' },
        ],
      },
    },
    networkPolicy: {
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(n.networkPolicy),
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        // Only the pairing/ingress path may connect; nothing else, not even other assistants.
        ingress: settings.ingressFrom.length === 0 ? [] : [{
          from: settings.ingressFrom.map(peer),
          ports: [{ protocol: 'TCP', port: SIDECAR_PORT }, { protocol: 'TCP', port: OPENCLAW_PORT }],
        }],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
          },
          ...settings.egressTo.map((target) => ({ to: [peer(target)], ports: target.ports.map((port) => ({ protocol: 'TCP', port })) })),
          ...settings.modelEndpoints.map((endpoint) => ({
            to: [{ ipBlock: { cidr: endpoint.cidr } }], ports: endpoint.ports.map((port) => ({ protocol: 'TCP', port })),
          })),
        ],
      },
    },
  };
}
