// The operator's configuration, read from the environment once at start against one schema; an invalid
// setting stops the process with a message naming the variable. Kubernetes credentials come from the
// pod's ServiceAccount in a cluster, or KUBECONFIG / ~/.kube/config elsewhere.
import { Type, type Static } from 'typebox';
import { readEnvironment } from '../core/index.ts';
import { Value } from 'typebox/value';
import type { OperatorSettings, PeerSelector } from './desired-state.ts';

const dnsLabel = { pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const Labels = Type.Record(Type.String({ maxLength: 317 }), Type.String({ maxLength: 63 }), { maxProperties: 16 });
const Peer = Type.Object({ namespaceLabels: Type.Optional(Labels), podLabels: Labels }, { additionalProperties: false });
const Ports = Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { minItems: 1, maxItems: 16 });
const Network = Type.Object({
  ingressFrom: Type.Array(Peer, { maxItems: 16 }),
  egressTo: Type.Array(Type.Intersect([Peer, Type.Object({ ports: Ports })]), { maxItems: 32 }),
  modelEndpoints: Type.Array(Type.Object({ cidr: Type.String({ maxLength: 64 }), ports: Ports }, { additionalProperties: false }), { maxItems: 32 }),
}, { additionalProperties: false });

const EnvSchema = Type.Object({
  HOST: Type.String({ minLength: 1, maxLength: 255, default: '0.0.0.0' }),
  /** The port of /metrics, /healthz and /readyz. */
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8081 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  /** This OpenCrane instance: the operator only touches objects labelled opencrane.io/instance=<this>. */
  OPENCRANE_INSTANCE: Type.String({ ...dnsLabel, default: 'opencrane' }),
  /** The namespace whose Assistants the operator reconciles, or `*` for every namespace. */
  OPENCRANE_OPERATOR_NAMESPACE: Type.String({ pattern: '^(\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$', maxLength: 63, default: 'opencrane' }),
  /** Where the leader-election Lease lives; the watched namespace unless told (required with `*`). */
  OPENCRANE_OPERATOR_LEASE_NAMESPACE: Type.Optional(Type.String(dnsLabel)),
  OPENCRANE_OPERATOR_RESYNC_SECONDS: Type.Integer({ minimum: 10, maximum: 86_400, default: 300 }),
  OPENCRANE_OPERATOR_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 256, default: 8 }),
  /** The audience of assistants' projected ServiceAccount tokens: the token service's. */
  OPENCRANE_WORKLOAD_AUDIENCE: Type.String({ minLength: 1, maxLength: 2048 }),
  /** The token service's in-cluster URL, passed to each assistant's sidecar. */
  OPENCRANE_TOKEN_SERVICE_URL: Type.String({ pattern: '^https?://', maxLength: 2048 }),
  OPENCRANE_SIDECAR_IMAGE: Type.String({ minLength: 1, maxLength: 512, default: 'ghcr.io/opencrane/assistant-sidecar:0.1.0' }),
  OPENCRANE_CLUSTER_DOMAIN: Type.String({ maxLength: 253, default: 'cluster.local' }),
  /**
   * JSON: who may connect to an assistant (`ingressFrom`), which in-cluster services it may reach
   * (`egressTo`, with ports) and which model endpoints (`modelEndpoints`, CIDR and ports).
   */
  OPENCRANE_OPERATOR_NETWORK: Type.Optional(Type.String({ maxLength: 16_384 })),
  /** This replica's name in the Lease; the pod name in a cluster. */
  POD_NAME: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
});

export interface OperatorConfig {
  host: string;
  port: number;
  logLevel: string;
  namespace: string | undefined;
  leaseNamespace: string;
  resyncIntervalMs: number;
  concurrency: number;
  clusterDomain: string;
  identity: string | undefined;
  settings: OperatorSettings;
}

/** The default network policy: ingress from the instance's ingress pods; egress to its own services. */
function defaultNetwork(instance: string): { ingressFrom: PeerSelector[]; egressTo: (PeerSelector & { ports: number[] })[]; modelEndpoints: [] } {
  const service = (name: string) => ({ podLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': instance }, namespaceLabels: {}, ports: [8080] });
  return {
    ingressFrom: [{ podLabels: { 'app.kubernetes.io/name': 'opencrane-ingress', 'app.kubernetes.io/instance': instance }, namespaceLabels: {} }],
    egressTo: ['opencrane-token-service', 'opencrane-mcp-gateway', 'opencrane-skills', 'opencrane-knowledge'].map(service),
    modelEndpoints: [],
  };
}

export class OperatorConfigError extends Error {
  override readonly name = 'OperatorConfigError';
}

export function loadOperatorConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const s = readEnvironment(EnvSchema, env, (problems) => new OperatorConfigError(`invalid operator configuration: ${problems}`));
  const namespace = s.OPENCRANE_OPERATOR_NAMESPACE === '*' ? undefined : s.OPENCRANE_OPERATOR_NAMESPACE;
  const leaseNamespace = s.OPENCRANE_OPERATOR_LEASE_NAMESPACE ?? namespace;
  if (!leaseNamespace) throw new OperatorConfigError('invalid operator configuration: OPENCRANE_OPERATOR_LEASE_NAMESPACE is required when OPENCRANE_OPERATOR_NAMESPACE is *');
  let network = defaultNetwork(s.OPENCRANE_INSTANCE) as Static<typeof Network>;
  if (s.OPENCRANE_OPERATOR_NETWORK) {
    let parsed: unknown;
    try { parsed = JSON.parse(s.OPENCRANE_OPERATOR_NETWORK); } catch { throw new OperatorConfigError('invalid operator configuration: OPENCRANE_OPERATOR_NETWORK is not JSON'); }
    if (!Value.Check(Network, parsed)) {
      const first = [...Value.Errors(Network, parsed)][0];
      throw new OperatorConfigError(`invalid operator configuration: OPENCRANE_OPERATOR_NETWORK${first?.instancePath ?? ''}: ${first?.message ?? 'invalid'}`);
    }
    network = parsed;
  }
  return {
    host: s.HOST, port: s.PORT, logLevel: s.LOG_LEVEL, namespace, leaseNamespace,
    resyncIntervalMs: s.OPENCRANE_OPERATOR_RESYNC_SECONDS * 1000,
    concurrency: s.OPENCRANE_OPERATOR_CONCURRENCY,
    clusterDomain: s.OPENCRANE_CLUSTER_DOMAIN,
    identity: s.POD_NAME,
    settings: {
      instance: s.OPENCRANE_INSTANCE,
      tokenAudience: s.OPENCRANE_WORKLOAD_AUDIENCE,
      sidecarImage: s.OPENCRANE_SIDECAR_IMAGE,
      tokenServiceUrl: s.OPENCRANE_TOKEN_SERVICE_URL,
      ingressFrom: network.ingressFrom,
      egressTo: network.egressTo,
      modelEndpoints: network.modelEndpoints,
    },
  };
}
