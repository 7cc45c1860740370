/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- assertions walk plain Kubernetes JSON */
// The desired objects for one Assistant, without a cluster: isolation (its own identity, storage and
// network), hardening, suspension, retention and the configuration checksum.
import { describe, expect, it } from 'vitest';
import { newId, serviceAccountNameOf } from '../core/index.ts';
import { API_VERSION, assistantCrd, KIND, type AssistantResource } from './assistant-resource.ts';
import {
  CONFIG_CHECKSUM_ANNOTATION, desiredObjects, LABELS, OPENCLAW_PORT, SIDECAR_PORT, TOKEN_EXPIRATION_SECONDS, type OperatorSettings,
} from './desired-state.ts';

const settings: OperatorSettings = {
  instance: 'acme',
  tokenAudience: 'https://opencrane.example.com',
  sidecarImage: 'ghcr.io/opencrane/assistant-sidecar:0.1.0',
  tokenServiceUrl: 'http://opencrane-token-service.opencrane.svc:8080',
  ingressFrom: [{ namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' }, podLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } }],
  egressTo: [
    { podLabels: { 'app.kubernetes.io/name': 'opencrane-token-service' }, ports: [8080] },
    { podLabels: { 'app.kubernetes.io/name': 'opencrane-mcp-gateway' }, ports: [8080] },
  ],
  modelEndpoints: [{ cidr: '203.0.113.0/24', ports: [443] }],
};

function assistant(spec: Partial<AssistantResource['spec']> = {}): AssistantResource {
  const id = newId('assistant');
  return {
    apiVersion: API_VERSION, kind: KIND,
    metadata: { name: serviceAccountNameOf(id), namespace: 'opencrane', uid: '3f0c2d0e-5b7a-4c1e-9a55-0a1b2c3d4e5f', generation: 1 },
    spec: { owner: { personId: newId('person'), email: 'ada@example.com' }, ...spec },
  };
}

/** Kubernetes objects are plain JSON; the assertions below navigate them and pin each value they read. */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('desired objects for an Assistant', () => {
  const a = assistant();
  const objects = desiredObjects(a, settings);
  const pod = (objects.statefulSet as Json).spec.template.spec as Json;

  it('every object is labelled with the instance and the assistant, and all but the storage are owned by the Assistant', () => {
    for (const [kind, object] of Object.entries(objects)) {
      expect(object.metadata.namespace, kind).toBe('opencrane');
      expect(object.metadata.labels, kind).toMatchObject({ [LABELS.instance]: 'acme', [LABELS.assistant]: a.metadata.name });
      if (kind === 'persistentVolumeClaim') expect(object.metadata.ownerReferences).toBeUndefined();
      else expect(object.metadata.ownerReferences, kind).toEqual([{ apiVersion: API_VERSION, kind: KIND, name: a.metadata.name, uid: a.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
  });

  it('its own identity: a ServiceAccount named for the assistant with no automounted token, only the projected one for the token service', () => {
    expect(objects.serviceAccount.metadata.name).toBe(a.metadata.name);
    expect(objects.serviceAccount.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe(a.metadata.name);
    expect(pod.automountServiceAccountToken).toBe(false);
    const token = (pod.volumes as Json[]).find((v) => v.name === 'token')!;
    expect(token.projected.sources).toEqual([{ serviceAccountToken: { audience: settings.tokenAudience, expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } }]);
    expect(TOKEN_EXPIRATION_SECONDS).toBe(600);
  });

  it('every container runs hardened: non-root UID 1000, read-only root, no capabilities, RuntimeDefault seccomp, no escalation', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers).toHaveLength(2);
    for (const container of pod.containers as Json[]) {
      expect(container.securityContext, container.name).toEqual({
        runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
        privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      });
    }
  });

  it('OpenClaw runs the pinned image on its gateway port with /healthz and /readyz probes, its data on the assistant\'s own PVC', () => {
    const openclaw = (pod.containers as Json[]).find((c) => c.name === 'openclaw')!;
    expect(openclaw.image).toMatch(/^ghcr\.io\/openclaw\/openclaw:\d{4}\.\d+\.\d+$/);
    expect(openclaw.ports).toEqual([{ name: 'gateway', containerPort: OPENCLAW_PORT }]);
    expect(openclaw.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'gateway' });
    expect(openclaw.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'gateway' });
    expect((pod.volumes as Json[]).find((v) => v.name === 'data')!.persistentVolumeClaim.claimName).toBe(objects.persistentVolumeClaim.metadata.name);
    expect((objects.statefulSet as Json).spec.replicas).toBe(1);
  });

  it('the NetworkPolicy denies everything but the ingress path in, and DNS, the listed services and model endpoints out', () => {
    const spec = (objects.networkPolicy as Json).spec;
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(spec.podSelector.matchLabels).toEqual({ [LABELS.assistant]: a.metadata.name, [LABELS.instance]: 'acme' });
    expect(spec.ingress).toEqual([{
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
      ports: [{ protocol: 'TCP', port: SIDECAR_PORT }, { protocol: 'TCP', port: OPENCLAW_PORT }],
    }]);
    expect(spec.egress).toHaveLength(1 + settings.egressTo.length + settings.modelEndpoints.length);
    expect(spec.egress[0].ports).toEqual([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
    expect(spec.egress[1]).toEqual({ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'opencrane-token-service' } } }], ports: [{ protocol: 'TCP', port: 8080 }] });
    expect(spec.egress.at(-1)).toEqual({ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] });
    // No rule without a "to" or without ports: nothing is open by accident.
    for (const rule of spec.egress as Json[]) {
      expect(rule.to.length).toBeGreaterThan(0);
      expect(rule.ports.length).toBeGreaterThan(0);
    }
  });

  it('with no ingress path configured, nothing may connect at all', () => {
    expect((desiredObjects(a, { ...settings, ingressFrom: [] }).networkPolicy as Json).spec.ingress).toEqual([]);
  });

  it('a suspended assistant runs zero replicas and keeps its storage', () => {
    const suspended = desiredObjects({ ...a, spec: { ...a.spec, suspended: true } }, settings);
    expect((suspended.statefulSet as Json).spec.replicas).toBe(0);
    expect(suspended.persistentVolumeClaim).toEqual(objects.persistentVolumeClaim);
  });

  it('a configuration change changes the checksum annotation, which rolls the pod; the same configuration keeps it', () => {
    const checksum = (o: ReturnType<typeof desiredObjects>) => (o.statefulSet as Json).spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION] as string;
    const again = desiredObjects(a, settings);
    expect(checksum(again)).toBe(checksum(objects));
    const changed = desiredObjects({ ...a, spec: { ...a.spec, config: { agent: { model: 'local' } } } }, settings);
    expect(checksum(changed)).not.toBe(checksum(objects));
    expect(JSON.parse((changed.configMap as Json).data['openclaw.json'] as string)).toMatchObject({ agent: { model: 'local' }, gateway: { port: OPENCLAW_PORT } });
  });

  it('storage size and class, resources and the image version follow the spec', () => {
    const custom = desiredObjects(assistant({
      storage: { size: '20Gi', storageClassName: 'fast' }, resources: { limits: { memory: '4Gi' } }, openclaw: { version: '2026.9.5' },
    }), settings);
    expect((custom.persistentVolumeClaim as Json).spec).toMatchObject({ resources: { requests: { storage: '20Gi' } }, storageClassName: 'fast' });
    const container = ((custom.statefulSet as Json).spec.template.spec.containers as Json[])[0]!;
    expect(container.resources).toEqual({ limits: { memory: '4Gi' } });
    expect(container.image).toBe('ghcr.io/openclaw/openclaw:2026.9.5');
  });

  it('two assistants share no object name, label selector or volume', () => {
    const b = desiredObjects(assistant(), settings);
    for (const key of Object.keys(objects) as (keyof typeof objects)[]) expect(b[key].metadata.name).not.toBe(objects[key].metadata.name);
    expect((b.networkPolicy as Json).spec.podSelector).not.toEqual((objects.networkPolicy as Json).spec.podSelector);
  });
});

describe('the Assistant CRD', () => {
  it('is namespaced, structural, with a status subresource, printer columns and a short name', () => {
    const crd = assistantCrd() as Json;
    expect(crd.metadata.name).toBe('assistants.opencrane.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.shortNames).toEqual(['ast']);
    const [version] = crd.spec.versions as Json[];
    expect(version!.name).toBe('v1alpha1');
    expect(version!.subresources).toEqual({ status: {} });
    expect((version!.additionalPrinterColumns as Json[]).map((c) => c.name)).toEqual(['Owner', 'Phase', 'Suspended', 'Endpoint', 'Age']);
    expect(version!.schema.openAPIV3Schema.properties.spec.properties.retention.enum).toEqual(['retain', 'delete']);
  });
});
