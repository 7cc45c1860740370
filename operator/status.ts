// The status the operator reports for one Assistant, as a pure function of what it applied and what it
// sees of the StatefulSet. Conditions keep their lastTransitionTime while their status holds, so an
// unchanged assistant produces an identical status and the loop writes nothing.
import type { AssistantCondition, AssistantResource, AssistantStatus, ConditionType } from './assistant-resource.ts';
import type { KubeObject } from './kube-object.ts';
import { SIDECAR_PORT, names } from './desired-state.ts';

export interface Observed {
  /** Why applying the desired objects failed, when it did. */
  applyError?: string;
  /** The live StatefulSet, when there is one. */
  statefulSet?: KubeObject;
}

/** The in-cluster address of the assistant's pairing endpoint (the sidecar behind its Service). */
export function endpointOf(assistant: AssistantResource, clusterDomain: string): string {
  return `http://${names(assistant).service}.${assistant.metadata.namespace}.svc.${clusterDomain}:${SIDECAR_PORT}`;
}

function podReady(statefulSet: KubeObject | undefined): boolean {
  const status = statefulSet?.status as { readyReplicas?: number; observedGeneration?: number } | undefined;
  const generation = (statefulSet?.metadata as { generation?: number } | undefined)?.generation ?? 0;
  return (status?.readyReplicas ?? 0) >= 1 && (status?.observedGeneration ?? 0) >= generation;
}

export function computeStatus(assistant: AssistantResource, observed: Observed, clusterDomain: string, now: Date): AssistantStatus {
  const previous = assistant.status?.conditions ?? [];
  const generation = assistant.metadata.generation;
  const condition = (type: ConditionType, status: AssistantCondition['status'], reason: string, message: string): AssistantCondition => {
    const before = previous.find((c) => c.type === type);
    return {
      type, status, reason, message,
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now.toISOString(),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    };
  };
  const base = { ...(generation === undefined ? {} : { observedGeneration: generation }) };

  if (observed.applyError !== undefined) {
    return {
      ...base,
      phase: 'Degraded',
      conditions: [
        condition('Provisioned', 'False', 'ApplyFailed', observed.applyError),
        condition('Ready', 'False', 'ApplyFailed', 'the assistant\'s objects could not be applied'),
        condition('Degraded', 'True', 'ApplyFailed', observed.applyError),
      ],
      ...(assistant.status?.endpoint ? { endpoint: assistant.status.endpoint } : {}),
    };
  }
  const provisioned = condition('Provisioned', 'True', 'ObjectsApplied', 'the ServiceAccount, storage, configuration, workload, Service and NetworkPolicy are in place');
  const degraded = condition('Degraded', 'False', 'AsExpected', 'nothing is wrong');
  const endpoint = endpointOf(assistant, clusterDomain);
  if (assistant.spec.suspended) {
    return {
      ...base, phase: 'Suspended', endpoint,
      conditions: [provisioned, condition('Ready', 'False', 'Suspended', 'the assistant is suspended: no pod runs and its storage is kept'), degraded],
    };
  }
  const ready = podReady(observed.statefulSet);
  return {
    ...base, phase: ready ? 'Ready' : 'Provisioning', endpoint,
    conditions: [
      provisioned,
      ready
        ? condition('Ready', 'True', 'PodReady', 'the assistant\'s pod is ready')
        : condition('Ready', 'False', 'PodNotReady', 'waiting for the assistant\'s pod to become ready'),
      degraded,
    ],
  };
}

/** Whether two statuses say the same thing (what a status write would change). */
export function sameStatus(a: AssistantStatus | undefined, b: AssistantStatus | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.phase !== b.phase || a.observedGeneration !== b.observedGeneration || a.endpoint !== b.endpoint) return false;
  const key = (c: AssistantCondition) => `${c.type}|${c.status}|${c.reason}|${c.message ?? ''}|${c.observedGeneration ?? ''}|${c.lastTransitionTime}`;
  const left = (a.conditions ?? []).map(key).sort();
  const right = (b.conditions ?? []).map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}
