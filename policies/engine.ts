// The policy engine for inputs that carry their own candidate grants (the "grants in the input" design).
import {
  ACCESS_ENTRYPOINT,
  bindEntrypoint,
  compilePolicyModule,
  decideSafely,
  denial,
  describeFailure,
  instantiatePolicy,
  type PolicyWasmSource,
} from './policy-wasm.ts';
import type { Decision, DecisionInput } from './types.ts';

export interface PolicyEngine {
  /** False when the policy could not be loaded; every decision is then a deny. For readiness probes. */
  readonly available: boolean;
  /** Why the policy could not be loaded, or null. */
  readonly unavailableReason: string | null;
  /** Synchronous and never throws: any failure is a deny with a reason. */
  decide(input: DecisionInput): Decision;
}

export interface LoadPolicyEngineOptions {
  /** Compiled policy bytes or a path to them; the committed policies/dist/policy.wasm by default. */
  wasm?: PolicyWasmSource;
}

/** An engine that denies everything, for when no policy can be trusted. */
export function unavailableEngine(reason: string): PolicyEngine {
  const decision = denial(`policy engine unavailable: ${reason}`);
  return {
    available: false,
    unavailableReason: reason,
    decide: () => ({ ...decision, reasons: [...decision.reasons], grants: [] }),
  };
}

/** Loads the policy. Never rejects: a policy that cannot be loaded gives an engine that denies. */
export async function loadPolicyEngine(options: LoadPolicyEngineOptions = {}): Promise<PolicyEngine> {
  try {
    const policy = await instantiatePolicy(await compilePolicyModule(options.wasm));
    const evaluate = bindEntrypoint(policy, ACCESS_ENTRYPOINT);
    return {
      available: true,
      unavailableReason: null,
      decide: (input) => decideSafely(evaluate, input),
    };
  } catch (failure) {
    return unavailableEngine(describeFailure(failure));
  }
}
