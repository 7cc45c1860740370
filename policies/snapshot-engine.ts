// The policy engine for the snapshot design: directory and grants live in the policy's data document and
// the input only names the person and the request.
import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';
import {
  SNAPSHOT_ENTRYPOINT,
  bindEntrypoint,
  compilePolicyModule,
  decideSafely,
  denial,
  describeFailure,
  instantiatePolicy,
  type Evaluate,
  type PolicyWasmSource,
} from './policy-wasm.ts';
import { buildSnapshotData, encodeSnapshotData, type DirectorySnapshot } from './snapshot-data.ts';
import type { Decision, DecisionInput } from './types.ts';

/** What the caller knows at request time; who the person is and what they hold comes from the snapshot. */
export interface SnapshotDecisionInput {
  personId: string;
  assistant?: { id: string } | null;
  action: DecisionInput['action'];
  resource: DecisionInput['resource'];
  context: DecisionInput['context'];
}

export interface SnapshotPolicyEngine {
  /** False until a snapshot is in place, or after a snapshot failed to load; decisions then deny. */
  readonly available: boolean;
  readonly unavailableReason: string | null;
  /** Synchronous and never throws: any failure is a deny with a reason. */
  decide(input: SnapshotDecisionInput): Decision;
  /**
   * Builds a new policy instance holding the snapshot and swaps it in. Readers keep the previous instance
   * until the swap. If the new snapshot cannot be loaded the engine denies everything rather than keep
   * serving grants that may have been revoked, and the promise rejects.
   */
  replaceSnapshot(snapshot: DirectorySnapshot): Promise<void>;
}

export interface LoadSnapshotEngineOptions {
  /** Compiled policy bytes or a path to them; the committed policies/dist/policy.wasm by default. */
  wasm?: PolicyWasmSource;
  snapshot: DirectorySnapshot;
}

type Current = { evaluate: Evaluate; failure: null } | { evaluate: null; failure: string };

/** Loads the policy with a first snapshot. Never rejects: any failure gives an engine that denies. */
export async function loadSnapshotEngine(options: LoadSnapshotEngineOptions): Promise<SnapshotPolicyEngine> {
  let module: WebAssembly.Module | null = null;
  let current: Current;
  // Snapshots may arrive faster than they load; only the newest one requested may be swapped in.
  let latestGeneration = 0;

  async function loadSnapshot(snapshot: DirectorySnapshot): Promise<Evaluate> {
    if (module === null) throw new Error('no compiled policy');
    const policy: LoadedPolicy = await instantiatePolicy(module);
    policy.setData(encodeSnapshotData(buildSnapshotData(snapshot)));
    return bindEntrypoint(policy, SNAPSHOT_ENTRYPOINT);
  }

  try {
    module = await compilePolicyModule(options.wasm);
    current = { evaluate: await loadSnapshot(options.snapshot), failure: null };
  } catch (failure) {
    current = { evaluate: null, failure: describeFailure(failure) };
  }

  return {
    get available() {
      return current.failure === null;
    },
    get unavailableReason() {
      return current.failure;
    },
    decide(input) {
      const { evaluate, failure } = current;
      if (evaluate === null) return denial(`policy engine unavailable: ${failure}`);
      return decideSafely(evaluate, input);
    },
    async replaceSnapshot(snapshot) {
      const generation = ++latestGeneration;
      try {
        const evaluate = await loadSnapshot(snapshot);
        if (generation === latestGeneration) current = { evaluate, failure: null };
      } catch (failure) {
        if (generation === latestGeneration) current = { evaluate: null, failure: `snapshot failed to load: ${describeFailure(failure)}` };
        throw new Error(`policy snapshot failed to load: ${describeFailure(failure)}`, { cause: failure });
      }
    },
  };
}
