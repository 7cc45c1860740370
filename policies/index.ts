// The policies module's public face: other modules import only from here.
export { ACTIONS, RESOURCE_KINDS, SUBJECT_KINDS } from './types.ts';
export type { Action, Decision, DecisionInput, DecisionSubject, Effect, PolicyGrant, ResourceKind, SubjectKind } from './types.ts';
export { loadPolicyEngine, type LoadPolicyEngineOptions, type PolicyEngine } from './engine.ts';
export {
  loadSnapshotEngine,
  type LoadSnapshotEngineOptions,
  type SnapshotDecisionInput,
  type SnapshotPolicyEngine,
} from './snapshot-engine.ts';
export { buildSnapshotData, encodeSnapshotData, type DirectorySnapshot, type SnapshotDataDocument, type SnapshotPerson } from './snapshot-data.ts';
export { COMMITTED_POLICY_WASM, type PolicyWasmSource } from './policy-wasm.ts';
