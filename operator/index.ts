// The operator's public face: the Assistant resource, the desired-state builders, the JSON client for
// the kinds OpenCrane manages, and the reconcile loop.
export * from './assistant-resource.ts';
export { desiredObjects, names, labelsOf, LABELS, FIELD_MANAGER, FINALIZER, CONFIG_CHECKSUM_ANNOTATION, type OperatorSettings, type AssistantObjects } from './desired-state.ts';
export { containsDesired } from './drift.ts';
export { collectionPath, createKubeApi, isNotFound, isConflict, KubeApiError, type KubeApi, type KindRef } from './kube-api.ts';
export type { KubeObject } from './kube-object.ts';
export { installAssistantCrd } from './install-crd.ts';
export { startOperator, type OperatorOptions, type RunningOperator } from './operator.ts';
export { createOperatorMetrics, type OperatorMetrics } from './metrics.ts';
export { loadOperatorConfig, type OperatorConfig } from './settings.ts';
