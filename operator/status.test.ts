import { describe, expect, it } from 'vitest';
import { newId, serviceAccountNameOf } from '../core/index.ts';
import { API_VERSION, KIND, type AssistantResource } from './assistant-resource.ts';
import { computeStatus, sameStatus } from './status.ts';

function assistant(spec: Partial<AssistantResource['spec']> = {}, generation = 3): AssistantResource {
  return {
    apiVersion: API_VERSION, kind: KIND,
    metadata: { name: serviceAccountNameOf(newId('assistant')), namespace: 'team-a', uid: 'u', generation },
    spec: { owner: { personId: newId('person'), email: 'ada@example.com' }, ...spec },
  };
}
const t0 = new Date('2026-12-01T10:00:00Z');
const t1 = new Date('2026-12-01T10:05:00Z');
const byType = (status: ReturnType<typeof computeStatus>, type: string) => status.conditions?.find((c) => c.type === type);

describe('assistant status', () => {
  it('applied objects without a ready pod are Provisioned but not Ready, at the spec\'s generation', () => {
    const a = assistant();
    const status = computeStatus(a, { statefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x', generation: 1 }, status: {} } }, 'cluster.local', t0);
    expect(status.phase).toBe('Provisioning');
    expect(status.observedGeneration).toBe(3);
    expect(byType(status, 'Provisioned')).toMatchObject({ status: 'True', reason: 'ObjectsApplied' });
    expect(byType(status, 'Ready')).toMatchObject({ status: 'False', reason: 'PodNotReady' });
    expect(byType(status, 'Degraded')).toMatchObject({ status: 'False' });
    expect(status.endpoint).toBe(`http://${a.metadata.name}.team-a.svc.cluster.local:8080`);
  });

  it('a ready pod of the current StatefulSet generation makes the assistant Ready', () => {
    const status = computeStatus(assistant(), {
      statefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x', generation: 2 }, status: { readyReplicas: 1, observedGeneration: 2 } },
    }, 'cluster.local', t0);
    expect(status.phase).toBe('Ready');
    expect(byType(status, 'Ready')).toMatchObject({ status: 'True', reason: 'PodReady' });
  });

  it('a ready pod of an older StatefulSet generation is not ready yet', () => {
    const status = computeStatus(assistant(), {
      statefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x', generation: 3 }, status: { readyReplicas: 1, observedGeneration: 2 } },
    }, 'cluster.local', t0);
    expect(status.phase).toBe('Provisioning');
  });

  it('a suspended assistant is Suspended and not Ready', () => {
    const status = computeStatus(assistant({ suspended: true }), {}, 'cluster.local', t0);
    expect(status.phase).toBe('Suspended');
    expect(byType(status, 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended' });
  });

  it('a failed apply is Degraded with the reason', () => {
    const status = computeStatus(assistant(), { applyError: 'forbidden' }, 'cluster.local', t0);
    expect(status.phase).toBe('Degraded');
    expect(byType(status, 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed', message: 'forbidden' });
    expect(byType(status, 'Provisioned')).toMatchObject({ status: 'False' });
  });

  it('recomputing an unchanged assistant later gives the same status (no write), keeping transition times', () => {
    const a = assistant();
    const first = computeStatus(a, {}, 'cluster.local', t0);
    const again = computeStatus({ ...a, status: first }, {}, 'cluster.local', t1);
    expect(sameStatus(first, again)).toBe(true);
    expect(byType(again, 'Provisioned')?.lastTransitionTime).toBe(t0.toISOString());
  });

  it('a condition that flips gets a new transition time and the status differs', () => {
    const a = assistant();
    const first = computeStatus(a, {}, 'cluster.local', t0);
    const suspended = computeStatus({ ...a, spec: { ...a.spec, suspended: true }, status: first }, {}, 'cluster.local', t1);
    expect(sameStatus(first, suspended)).toBe(false);
    expect(byType(suspended, 'Ready')?.lastTransitionTime).toBe(t0.toISOString());
    expect(byType(suspended, 'Ready')?.reason).toBe('Suspended');
    expect(byType(suspended, 'Provisioned')?.lastTransitionTime).toBe(t0.toISOString());
  });
});
