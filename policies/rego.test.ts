// The opa suites, the committed artifact and the custom-package guard, run through the policy script so
// that `npm test` covers them.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMMITTED_WASM,
  DEFAULT_LAYOUT,
  PolicyToolError,
  buildPolicyWasm,
  checkCustomPackages,
  runPolicyTests,
  type PolicyLayout,
} from '../scripts/policies.ts';

describe('the Rego policies', () => {
  it('pass every opa test with 100% line coverage of the base and snapshot policies', () => {
    const report = runPolicyTests();
    expect(report.failures).toEqual([]);
    expect(report.coverageGaps).toEqual([]);
    expect(report.testCount).toBeGreaterThan(0);
    const base = report.coverage.find((entry) => entry.file === 'policies/base/access.rego');
    expect(base?.percent).toBe(100);
    expect(report.passed).toBe(true);
  });

  it('the committed policy.wasm is exactly what the sources build, and the build is deterministic', () => {
    const first = buildPolicyWasm();
    const second = buildPolicyWasm();
    expect(first.equals(second)).toBe(true);
    expect(first.equals(readFileSync(COMMITTED_WASM))).toBe(true);
  });
});

describe('custom policy files are confined to package opencrane.custom', () => {
  let customDir: string;
  let layout: PolicyLayout;

  beforeAll(() => {
    customDir = mkdtempSync(join(tmpdir(), 'opencrane-custom-'));
    layout = { ...DEFAULT_LAYOUT, customDir };
  });

  afterAll(() => {
    rmSync(customDir, { recursive: true, force: true });
  });

  function onlyFile(relativePath: string, text: string): void {
    rmSync(customDir, { recursive: true, force: true });
    mkdirSync(join(customDir, 'nested'), { recursive: true });
    writeFileSync(join(customDir, relativePath), text);
  }

  it.each([
    ['a file that tries to add allows in package opencrane.access', 'sneaky.rego', 'package opencrane.access\n\nallow := true\n'],
    ['a file in an unrelated package', 'other.rego', 'package acme.rules\n\ndeny contains "x" if true\n'],
    ['a file in a package that only starts with the same letters', 'lookalike.rego', 'package opencrane.customs\n\ndeny contains "x" if true\n'],
    ['a file nested two levels below opencrane.custom (never read by the base policy)', 'deep.rego', 'package opencrane.custom.a.b\n\ndeny contains "x" if true\n'],
    ['a wrongly packaged file in a subfolder', 'nested/hidden.rego', 'package opencrane.snapshot\n\ndecision := {}\n'],
  ])('refuses %s', (_label, file, text) => {
    onlyFile(file, text);
    expect(() => checkCustomPackages(layout)).toThrow(PolicyToolError);
    expect(() => runPolicyTests(layout)).toThrow(/refusing custom policy files/);
    expect(() => buildPolicyWasm(layout)).toThrow(/refusing custom policy files/);
  });

  it.each([
    ['package opencrane.custom', 'package opencrane.custom\n\ndeny contains "x" if input.never\n'],
    ['a direct subpackage', 'package opencrane.custom.contractors\n\ndeny contains "x" if input.never\n'],
  ])('accepts %s', (_label, text) => {
    onlyFile('rule.rego', text);
    expect(() => checkCustomPackages(layout)).not.toThrow();
  });
});
