// Loading a compiled policy and calling it through OPA's WASM ABI, shared by both engine designs.
import { readFile } from 'node:fs/promises';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import type { Decision } from './types.ts';

/** Where the committed policy lives, next to this module whatever the working directory is. */
export const COMMITTED_POLICY_WASM = new URL('./dist/policy.wasm', import.meta.url);

export const ACCESS_ENTRYPOINT = 'opencrane/access/decision';
export const SNAPSHOT_ENTRYPOINT = 'opencrane/snapshot/decision';

/** Compiled WASM bytes, or a path or file URL to read them from. */
export type PolicyWasmSource = Uint8Array | string | URL;

// The project's lib settings (ES2023, no DOM) type WebAssembly only as a namespace of types, although
// Node has it as a global value.
const webAssembly = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } })
  .WebAssembly;

/** Compiled once, so that every snapshot swap only instantiates. */
export async function compilePolicyModule(source: PolicyWasmSource = COMMITTED_POLICY_WASM): Promise<WebAssembly.Module> {
  const bytes = source instanceof Uint8Array ? source : await readFile(source);
  return webAssembly.compile(bytes);
}

export async function instantiatePolicy(module: WebAssembly.Module): Promise<LoadedPolicy> {
  return loadPolicy(module);
}

/** Evaluates one entrypoint and returns the raw result set (or throws, possibly a plain string). */
export type Evaluate = (input: object) => unknown;

/** The parts of OPA's WASM ABI the hot path uses (typed here: the SDK types them loosely). */
interface OpaInstance {
  exports: {
    opa_eval?(reserved: number, entrypoint: number, data: number, input: number, inputLength: number, heap: number, format: number): number;
  };
}

interface OpaMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface LoadedPolicyInternals {
  wasmInstance: OpaInstance | { instance: OpaInstance };
  mem: OpaMemory;
  minorVersion: number;
  dataAddr: number;
  dataHeapPtr: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const WASM_PAGE_BYTES = 65_536;

/**
 * Binds an entrypoint of a loaded policy to a function of the input.
 *
 * opa-wasm's evaluate() takes the same opa_eval fast path (ABI ≥ 1.2) but encodes the input into a fresh
 * buffer, copies it into WASM memory and creates a decoder on every call; writing the JSON straight into
 * WASM memory with encodeInto saves that copy on the hot path.
 */
export function bindEntrypoint(policy: LoadedPolicy, entrypointName: string): Evaluate {
  const entrypoints = policy.entrypoints as Record<string, number>;
  const entrypoint = entrypoints[entrypointName];
  if (typeof entrypoint !== 'number') {
    throw new Error(`the policy has no entrypoint ${entrypointName}`);
  }
  const internals = policy as unknown as LoadedPolicyInternals;
  const instance = 'instance' in internals.wasmInstance ? internals.wasmInstance.instance : internals.wasmInstance;
  const opaEval = instance.exports.opa_eval?.bind(instance.exports);
  const memory = internals.mem;
  if (internals.minorVersion < 2 || opaEval === undefined) {
    return (input) => policy.evaluate(input, entrypoint) as unknown;
  }
  // setData() moves these, so they are read on every call rather than captured once.
  return (input) => {
    const json = JSON.stringify(input);
    const inputAddress = internals.dataHeapPtr;
    // UTF-8 needs at most three bytes per UTF-16 unit; grow first so one encodeInto always fits.
    const needed = inputAddress + json.length * 3 - memory.buffer.byteLength;
    if (needed > 0) memory.grow(Math.ceil(needed / WASM_PAGE_BYTES));
    const { written } = encoder.encodeInto(json, new Uint8Array(memory.buffer, inputAddress));
    const resultAddress = opaEval(0, entrypoint, internals.dataAddr, inputAddress, written, inputAddress + written, 0);
    const heap = new Uint8Array(memory.buffer);
    const resultEnd = heap.indexOf(0, resultAddress);
    return JSON.parse(decoder.decode(heap.subarray(resultAddress, resultEnd))) as unknown;
  };
}

/** A deny that says why; every failure of the engine turns into one of these. */
export function denial(reason: string): Decision {
  return { allow: false, reasons: [reason], grants: [] };
}

/** opa-wasm throws plain strings and objects as well as Errors. */
export function describeFailure(failure: unknown): string {
  if (failure instanceof Error) return failure.message;
  if (typeof failure === 'string') return failure;
  try {
    return JSON.stringify(failure) ?? String(failure);
  } catch {
    return String(failure);
  }
}

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== 'string') return false;
  return true;
}

/** Turns a raw result set into a Decision, or a deny when it is not exactly one well-formed decision. */
export function decisionFromResultSet(resultSet: unknown): Decision {
  if (!Array.isArray(resultSet) || resultSet.length === 0) return denial('policy returned no decision');
  if (resultSet.length !== 1) return denial('policy returned more than one decision');
  const entry: unknown = resultSet[0];
  const result: unknown = typeof entry === 'object' && entry !== null ? (entry as { result?: unknown }).result : undefined;
  if (typeof result !== 'object' || result === null) return denial('policy returned no decision');
  const { allow, reasons, grants } = result as Record<string, unknown>;
  if (typeof allow !== 'boolean' || !isStringArray(reasons) || !isStringArray(grants)) {
    return denial('policy returned a malformed decision');
  }
  if (!allow && reasons.length === 0) return { allow, reasons: ['policy denied without giving a reason'], grants };
  return { allow, reasons, grants };
}

/** Runs one evaluation; nothing it throws escapes. */
export function decideSafely(evaluate: Evaluate, input: object): Decision {
  try {
    return decisionFromResultSet(evaluate(input));
  } catch (failure) {
    return denial(`policy evaluation failed: ${describeFailure(failure)}`);
  }
}
