// The `Assistant` custom resource (assistants.opencrane.io/v1alpha1): its TypeScript shape and its
// CustomResourceDefinition with a structural schema, printer columns, a status subresource and a short
// name. The control plane writes the spec; the operator writes the status.
import type { KubeObject } from './kube-object.ts';

export const GROUP = 'opencrane.io';
export const VERSION = 'v1alpha1';
export const KIND = 'Assistant';
export const PLURAL = 'assistants';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The OpenClaw image an assistant runs unless its spec says otherwise: pinned, never `latest`. */
export const DEFAULT_OPENCLAW_IMAGE = 'ghcr.io/openclaw/openclaw';
// The newest OpenClaw release published when this was pinned (its npm package and image share versions).
export const DEFAULT_OPENCLAW_VERSION = '2026.9.6';

export interface AssistantSpec {
  owner: { personId: string; email: string };
  openclaw?: { image?: string; version?: string };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  storage?: { size?: string; storageClassName?: string };
  /** What deleting the Assistant does to its storage. */
  retention?: 'retain' | 'delete';
  suspended?: boolean;
  /** Extra OpenClaw configuration, merged into the generated configuration file. */
  config?: Record<string, unknown>;
}

export type ConditionType = 'Ready' | 'Provisioned' | 'Degraded';

export interface AssistantCondition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface AssistantStatus {
  phase?: 'Pending' | 'Provisioning' | 'Ready' | 'Suspended' | 'Degraded' | 'Deleting';
  conditions?: AssistantCondition[];
  observedGeneration?: number;
  endpoint?: string;
}

export type AssistantResource = {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    resourceVersion?: string;
  };
  spec: AssistantSpec;
  status?: AssistantStatus;
};

const string = (extra: Record<string, unknown> = {}) => ({ type: 'string', ...extra });
const quantity = { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
const quantities = { type: 'object', additionalProperties: quantity };

/** Plain JSON as the API server takes it (the client library's model classes rename x-kubernetes-* keys). */
export function assistantCrd(): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural: PLURAL, singular: 'assistant', kind: KIND, listKind: 'AssistantList', shortNames: ['ast'], categories: ['opencrane'] },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Owner', type: 'string', jsonPath: '.spec.owner.email' },
          { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspended' },
          { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', priority: 1 },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            required: ['spec'],
            properties: {
              spec: {
                type: 'object',
                required: ['owner'],
                properties: {
                  owner: {
                    type: 'object', required: ['personId', 'email'],
                    properties: {
                      personId: string({ pattern: '^prs_[0-9A-HJKMNP-TV-Z]{26}$' }),
                      email: string({ maxLength: 320, minLength: 3 }),
                    },
                  },
                  openclaw: {
                    type: 'object',
                    // Defaulted as a whole so the pinned image and version show on every resource.
                    default: {},
                    properties: {
                      image: string({ maxLength: 512, default: DEFAULT_OPENCLAW_IMAGE }),
                      version: string({ maxLength: 128, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$', default: DEFAULT_OPENCLAW_VERSION }),
                    },
                  },
                  resources: { type: 'object', properties: { requests: quantities, limits: quantities } },
                  storage: {
                    type: 'object',
                    default: {},
                    properties: { size: { ...quantity, default: '5Gi' }, storageClassName: string({ maxLength: 253 }) },
                  },
                  retention: string({ enum: ['retain', 'delete'], default: 'retain' }),
                  suspended: { type: 'boolean', default: false },
                  config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
              status: {
                type: 'object',
                properties: {
                  phase: string({ enum: ['Pending', 'Provisioning', 'Ready', 'Suspended', 'Degraded', 'Deleting'] }),
                  observedGeneration: { type: 'integer', format: 'int64' },
                  endpoint: string({ maxLength: 2048 }),
                  conditions: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['type'],
                    items: {
                      type: 'object',
                      required: ['type', 'status', 'reason', 'lastTransitionTime'],
                      properties: {
                        type: string({ enum: ['Ready', 'Provisioned', 'Degraded'] }),
                        status: string({ enum: ['True', 'False', 'Unknown'] }),
                        reason: string({ maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
                        message: string({ maxLength: 32768 }),
                        lastTransitionTime: string({ format: 'date-time' }),
                        observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      }],
    },
  };
}
