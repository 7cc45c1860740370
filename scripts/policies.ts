// The policy toolchain: `test` runs the opa suites with a coverage gate, `build` compiles the committed
// WASM artifact, `verify` checks that the committed artifact is what the sources build.
// Usage: tsx scripts/policies.ts test|build|verify
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT, ensureOpa } from './tools.ts';

export const ENTRYPOINTS = ['opencrane/access/decision', 'opencrane/snapshot/decision'] as const;
export const COMMITTED_WASM = join(REPO_ROOT, 'policies/dist/policy.wasm');

/** Where the sources live. Tests point customDir at temporary folders. */
export interface PolicyLayout {
  baseDir: string;
  snapshotDir: string;
  /** Top-level files are built; subfolders (such as examples/) are tested but never built. */
  customDir: string;
}

export const DEFAULT_LAYOUT: PolicyLayout = {
  baseDir: join(REPO_ROOT, 'policies/base'),
  snapshotDir: join(REPO_ROOT, 'policies/snapshot'),
  customDir: join(REPO_ROOT, 'policies/custom'),
};

export class PolicyToolError extends Error {}

const isTestFile = (file: string) => file.endsWith('_test.rego');

function listRego(dir: string, options: { recursive: boolean }): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: options.recursive });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.rego'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** opa runs from the repository root with relative paths: source paths end up in the build. */
function opa(args: string[]): string {
  return execFileSync(ensureOpa(), args, { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** opa test exits non-zero when a test fails but still writes its JSON report to stdout. */
function opaAllowingFailure(args: string[]): { stdout: string; stderr: string; failed: boolean } {
  try {
    return { stdout: opa(args), stderr: '', failed: false };
  } catch (failure) {
    const { stdout, stderr } = failure as { stdout?: string; stderr?: string };
    return { stdout: stdout ?? '', stderr: stderr ?? '', failed: true };
  }
}

const fromRoot = (files: string[]) => files.map((file) => relative(REPO_ROOT, file));

interface PackagePathTerm {
  type: string;
  value: unknown;
}

/** The dotted package name of a Rego file, read by opa's own parser. */
function packageOf(file: string): string {
  const ast = JSON.parse(opa(['parse', '--format', 'json', relative(REPO_ROOT, file)])) as {
    package?: { path?: PackagePathTerm[] };
  };
  // The first term is always `data`.
  return (ast.package?.path ?? []).slice(1).map((term) => String(term.value)).join('.');
}

/**
 * Custom rules may only live in package opencrane.custom or one level below it: the base policy reads
 * data.opencrane.custom.deny and data.opencrane.custom[_].deny, and a file in any other package (say
 * opencrane.access) could add allows or change the base rules. Test files are never built, so they may
 * use any package.
 */
export function checkCustomPackages(layout: PolicyLayout = DEFAULT_LAYOUT): void {
  const problems: string[] = [];
  for (const file of listRego(layout.customDir, { recursive: true })) {
    if (isTestFile(file)) continue;
    const name = packageOf(file);
    if (!/^opencrane\.custom(\.[^.]+)?$/.test(name)) {
      problems.push(`${relative(REPO_ROOT, file)}: package ${name || '(none)'} is not opencrane.custom or opencrane.custom.<name>`);
    }
  }
  if (problems.length > 0) throw new PolicyToolError(`refusing custom policy files:\n  ${problems.join('\n  ')}`);
}

export function buildSources(layout: PolicyLayout = DEFAULT_LAYOUT): string[] {
  return [
    ...listRego(layout.baseDir, { recursive: true }),
    ...listRego(layout.snapshotDir, { recursive: true }),
    ...listRego(layout.customDir, { recursive: false }),
  ].filter((file) => !isTestFile(file));
}

/** The bytes of one member of a gzipped tar (opa bundles are small: the whole archive fits in memory). */
export function readTarGzMember(archive: Buffer, memberName: string): Buffer {
  const tar = gunzipSync(archive);
  const wanted = memberName.replace(/^\//, '');
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (name === '') break;
    const size = Number.parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    const body = offset + 512;
    if (name.replace(/^\//, '') === wanted) return tar.subarray(body, body + size);
    offset = body + Math.ceil(size / 512) * 512;
  }
  throw new PolicyToolError(`${memberName} not found in the bundle`);
}

/** Compiles Rego files to WASM with the pinned opa and returns the policy.wasm bytes. */
export function compileWasm(sources: string[], entrypoints: readonly string[]): Buffer {
  const workDir = mkdtempSync(join(tmpdir(), 'opencrane-policy-build-'));
  try {
    const bundle = join(workDir, 'bundle.tar.gz');
    opa(['build', '-t', 'wasm', ...entrypoints.flatMap((entrypoint) => ['-e', entrypoint]), '-o', bundle, ...fromRoot(sources)]);
    return readTarGzMember(readFileSync(bundle), '/policy.wasm');
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

export function buildPolicyWasm(layout: PolicyLayout = DEFAULT_LAYOUT): Buffer {
  checkCustomPackages(layout);
  return compileWasm(buildSources(layout), ENTRYPOINTS);
}

export interface FileCoverage {
  file: string;
  percent: number;
  notCoveredLines: number[];
}

export interface PolicyTestReport {
  passed: boolean;
  testCount: number;
  failures: string[];
  coverage: FileCoverage[];
  /** Files that must be fully covered and are not. */
  coverageGaps: FileCoverage[];
}

interface OpaTestResult {
  package: string;
  name: string;
  fail?: boolean;
  error?: unknown;
  skip?: boolean;
}

interface OpaCoverageReport {
  files?: Record<string, { coverage?: number; not_covered?: { start: { row: number }; end: { row: number } }[] }>;
}

function runSuite(files: string[]): { testCount: number; failures: string[]; coverage: FileCoverage[] } {
  const paths = fromRoot(files);
  const run = opaAllowingFailure(['test', '--format', 'json', ...paths]);
  let results: OpaTestResult[];
  try {
    results = JSON.parse(run.stdout) as OpaTestResult[];
  } catch {
    return { testCount: 0, failures: [`opa test did not run: ${run.stderr.trim() || run.stdout.trim()}`], coverage: [] };
  }
  const failures = results
    .filter((result) => result.fail === true || result.error !== undefined)
    .map((result) => `${result.package}.${result.name}${result.error === undefined ? '' : `: ${JSON.stringify(result.error)}`}`);
  if (run.failed && failures.length === 0) failures.push(`opa test failed: ${run.stderr.trim()}`);
  // With failing tests opa prints them instead of the coverage report.
  if (failures.length > 0) return { testCount: results.length, failures, coverage: [] };
  const report = JSON.parse(opaAllowingFailure(['test', '--coverage', '--format', 'json', ...paths]).stdout) as OpaCoverageReport;
  const coverage = Object.entries(report.files ?? {}).map(([file, entry]) => ({
    file,
    percent: entry.coverage ?? 0,
    notCoveredLines: [...new Set((entry.not_covered ?? []).flatMap((range) =>
      Array.from({ length: range.end.row - range.start.row + 1 }, (_, index) => range.start.row + index),
    ))],
  }));
  return { testCount: results.length, failures, coverage };
}

/**
 * Runs two suites. The core suite (base and snapshot policies with their tests, no custom rules, so the
 * security team's rules cannot break the base tests) must pass and fully cover every non-test file. The
 * custom suite loads the base policy with every custom file, examples included, and must pass.
 */
export function runPolicyTests(layout: PolicyLayout = DEFAULT_LAYOUT): PolicyTestReport {
  checkCustomPackages(layout);
  const coreFiles = [...listRego(layout.baseDir, { recursive: true }), ...listRego(layout.snapshotDir, { recursive: true })];
  const core = runSuite(coreFiles);
  const customFiles = listRego(layout.customDir, { recursive: true });
  const custom = customFiles.some(isTestFile)
    ? runSuite([...listRego(layout.baseDir, { recursive: true }).filter((file) => !isTestFile(file)), ...customFiles])
    : { testCount: 0, failures: [], coverage: [] };
  const gated = new Set(fromRoot(coreFiles.filter((file) => !isTestFile(file))));
  const coverageGaps = core.coverage.filter((entry) => gated.has(entry.file) && entry.percent < 100);
  for (const file of gated) {
    if (!core.coverage.some((entry) => entry.file === file)) coverageGaps.push({ file, percent: 0, notCoveredLines: [] });
  }
  const failures = [...core.failures, ...custom.failures];
  const coverage = [...core.coverage, ...custom.coverage.filter((entry) => !gated.has(entry.file))];
  return {
    passed: failures.length === 0 && coverageGaps.length === 0,
    testCount: core.testCount + custom.testCount,
    failures,
    coverage,
    coverageGaps,
  };
}

function printTestReport(report: PolicyTestReport): void {
  console.log(`opa tests run: ${report.testCount}`);
  for (const failure of report.failures) console.log(`FAIL ${failure}`);
  console.log('line coverage:');
  for (const entry of report.coverage) {
    const missing = entry.notCoveredLines.length > 0 ? ` (not covered: lines ${entry.notCoveredLines.join(', ')})` : '';
    console.log(`  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.file}${missing}`);
  }
  for (const gap of report.coverageGaps) console.log(`COVERAGE ${gap.file} is at ${gap.percent.toFixed(1)}%, 100% required`);
  console.log(report.passed ? 'policy tests passed' : 'policy tests FAILED');
}

function main(command: string | undefined): number {
  switch (command) {
    case 'test': {
      const report = runPolicyTests();
      printTestReport(report);
      return report.passed ? 0 : 1;
    }
    case 'build': {
      writeFileSync(COMMITTED_WASM, buildPolicyWasm());
      console.log(`wrote ${relative(REPO_ROOT, COMMITTED_WASM)}`);
      return 0;
    }
    case 'verify': {
      const rebuilt = buildPolicyWasm();
      if (!rebuilt.equals(readFileSync(COMMITTED_WASM))) {
        console.error(`${relative(REPO_ROOT, COMMITTED_WASM)} is not what the sources build: run npm run policies:build`);
        return 1;
      }
      console.log(`${relative(REPO_ROOT, COMMITTED_WASM)} matches the sources`);
      return 0;
    }
    default:
      console.error('usage: tsx scripts/policies.ts test|build|verify');
      return 2;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv[2]);
  } catch (failure) {
    console.error(failure instanceof Error ? failure.message : failure);
    process.exitCode = 1;
  }
}
