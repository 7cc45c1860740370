// Every way the policy can fail must end in a deny with a reason, never an allow or an exception.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileWasm } from '../scripts/policies.ts';
import { loadPolicyEngine, loadSnapshotEngine, type DecisionInput } from './index.ts';
import { decisionFromResultSet } from './policy-wasm.ts';

const allowedRequest: DecisionInput = {
  subject: { personId: 'alice', status: 'active', teams: ['web'], departmentId: 'eng' },
  action: 'tools.call',
  resource: { kind: 'tool', id: 'github', toolName: 'list_repos' },
  context: { now: 1000 },
  grants: [{ id: 'g1', subject: { kind: 'team', id: 'web' }, resource: { kind: 'tool', id: 'github', toolPattern: null }, effect: 'allow', expiresAt: null }],
};

let workDir: string;

/** Builds Rego text to WASM with the pinned opa, the same way the real policy is built. */
function buildFixture(name: string, files: Record<string, string>, extraSources: string[] = []): Uint8Array {
  const dir = join(workDir, name);
  mkdirSync(dir, { recursive: true });
  const sources = Object.entries(files).map(([file, text]) => {
    const path = join(dir, file);
    writeFileSync(path, text);
    return path;
  });
  return compileWasm([...extraSources, ...sources], ['opencrane/access/decision']);
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'opencrane-fail-closed-'));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function expectDeniedWithReason(decision: { allow: boolean; reasons: string[] }, reasonPattern: RegExp): void {
  expect(decision.allow).toBe(false);
  expect(decision.reasons.length).toBeGreaterThan(0);
  expect(decision.reasons.join(' ')).toMatch(reasonPattern);
}

describe('the policy engine fails closed', () => {
  it('corrupt WASM bytes give an unavailable engine whose every decision denies', async () => {
    const engine = await loadPolicyEngine({ wasm: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]) });
    expect(engine.available).toBe(false);
    expectDeniedWithReason(engine.decide(allowedRequest), /^policy engine unavailable: /);
    expectDeniedWithReason(engine.decide({ ...allowedRequest, action: 'skills.read' }), /^policy engine unavailable: /);
  });

  it('a missing policy file gives an engine that denies', async () => {
    const engine = await loadPolicyEngine({ wasm: join(workDir, 'no-such-policy.wasm') });
    expect(engine.available).toBe(false);
    expectDeniedWithReason(engine.decide(allowedRequest), /policy engine unavailable: .*no-such-policy/);
  });

  it('a corrupt policy gives a snapshot engine that denies', async () => {
    const engine = await loadSnapshotEngine({ wasm: new Uint8Array([1, 2, 3]), snapshot: { people: [], grants: [] } });
    expect(engine.available).toBe(false);
    expectDeniedWithReason(engine.decide({ ...allowedRequest, personId: 'alice' }), /^policy engine unavailable: /);
  });

  it('a policy without the decision entrypoint gives an engine that denies', async () => {
    const dir = join(workDir, 'other-entrypoint');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'other.rego'), 'package other\n\ndecision := {"allow": true, "reasons": [], "grants": []}\n');
    const engine = await loadPolicyEngine({ wasm: compileWasm([join(dir, 'other.rego')], ['other/decision']) });
    expectDeniedWithReason(engine.decide(allowedRequest), /policy engine unavailable: .*opencrane\/access\/decision/);
  });
});

describe('a policy that misbehaves at evaluation time is a deny', () => {
  async function engineFor(name: string, rego: string, withBase = false) {
    const base = withBase ? [join(import.meta.dirname, 'base/access.rego')] : [];
    const engine = await loadPolicyEngine({ wasm: buildFixture(name, { 'fixture.rego': rego }, base) });
    expect(engine.available).toBe(true);
    return engine;
  }

  it('a conflicting complete rule (an evaluation error, thrown by opa-wasm as a plain string) denies', async () => {
    const engine = await engineFor(
      'conflict',
      `package opencrane.access

decision := {"allow": true, "reasons": ["first"], "grants": []} if input.action == "tools.call"

decision := {"allow": true, "reasons": ["second"], "grants": []} if input.resource.kind == "tool"
`,
    );
    expectDeniedWithReason(engine.decide(allowedRequest), /^policy evaluation failed: /);
    // The instance stays usable after an aborted evaluation.
    expectDeniedWithReason(engine.decide(allowedRequest), /^policy evaluation failed: /);
  });

  it('a custom deny rule that errors turns an allow into a deny', async () => {
    const engine = await engineFor(
      'custom-error',
      `package opencrane.custom.broken

limit := 1 if input.resource.id == "github"

limit := 2 if input.resource.toolName == "list_repos"

deny contains "over the limit" if limit > 5
`,
      true,
    );
    expectDeniedWithReason(engine.decide(allowedRequest), /^policy evaluation failed: /);
  });

  it('the same base policy allows that request when the custom layer is sound', async () => {
    const engine = await engineFor('custom-sound', 'package opencrane.custom.sound\n\ndeny contains "never" if input.resource.id == "nothing"\n', true);
    expect(engine.decide(allowedRequest)).toEqual({
      allow: true,
      reasons: ['grant g1 (team web) allows tools.call on tool github for every tool'],
      grants: ['g1'],
    });
  });

  it('an entrypoint that is undefined for the input denies', async () => {
    const engine = await engineFor('undefined', 'package opencrane.access\n\ndecision := {"allow": true, "reasons": [], "grants": []} if input.never\n');
    expectDeniedWithReason(engine.decide(allowedRequest), /^policy returned no decision$/);
  });

  it('a decision whose allow is not a boolean denies', async () => {
    const engine = await engineFor('not-boolean', 'package opencrane.access\n\ndecision := {"allow": "yes", "reasons": [], "grants": []}\n');
    expectDeniedWithReason(engine.decide(allowedRequest), /^policy returned a malformed decision$/);
  });

  it('a decision whose grant ids are not text denies', async () => {
    const engine = await engineFor('bad-grants', 'package opencrane.access\n\ndecision := {"allow": true, "reasons": ["ok"], "grants": [1]}\n');
    expectDeniedWithReason(engine.decide(allowedRequest), /^policy returned a malformed decision$/);
  });
});

describe('raw result sets are checked before they are trusted', () => {
  it.each([
    ['undefined', undefined, /no decision/],
    ['an empty result set', [], /no decision/],
    ['two results', [{ result: {} }, { result: {} }], /more than one/],
    ['a result that is not an object', [{ result: true }], /no decision/],
    ['reasons that are not a list', [{ result: { allow: true, reasons: 'ok', grants: [] } }], /malformed/],
    ['a deny without reasons', [{ result: { allow: false, reasons: [], grants: [] } }], /without giving a reason/],
  ])('%s is a deny with a reason', (_label, resultSet, reason) => {
    expectDeniedWithReason(decisionFromResultSet(resultSet), reason);
  });
});

describe('the snapshot engine swaps snapshots atomically and fails closed', () => {
  const person = { id: 'alice', status: 'active' as const, departmentId: 'eng', teams: ['web'] };
  const request = { personId: 'alice', action: 'tools.call' as const, resource: { kind: 'tool' as const, id: 'github', toolName: 'list_repos' }, context: { now: 1000 } };

  it('a revoked grant stops allowing once the new snapshot is swapped in, and not before', async () => {
    const engine = await loadSnapshotEngine({ snapshot: { people: [person], grants: allowedRequest.grants } });
    expect(engine.decide(request).allow).toBe(true);
    const swap = engine.replaceSnapshot({ people: [person], grants: [] });
    expect(engine.decide(request).allow).toBe(true);
    await swap;
    expectDeniedWithReason(engine.decide(request), /deny by default/);
  });

  it('only the newest of overlapping snapshot swaps wins', async () => {
    const engine = await loadSnapshotEngine({ snapshot: { people: [person], grants: [] } });
    await Promise.all([engine.replaceSnapshot({ people: [person], grants: [] }), engine.replaceSnapshot({ people: [person], grants: allowedRequest.grants })]);
    expect(engine.decide(request).allow).toBe(true);
  });

  it('a snapshot that cannot be loaded makes the engine deny rather than serve stale grants', async () => {
    const engine = await loadSnapshotEngine({ snapshot: { people: [person], grants: allowedRequest.grants } });
    const unserialisable = { people: [person], grants: [{ ...allowedRequest.grants[0], expiresAt: 10n }] } as unknown as Parameters<typeof engine.replaceSnapshot>[0];
    await expect(engine.replaceSnapshot(unserialisable)).rejects.toThrow(/snapshot failed to load/);
    expect(engine.available).toBe(false);
    expectDeniedWithReason(engine.decide(request), /policy engine unavailable: snapshot failed to load/);
  });
});
