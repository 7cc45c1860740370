// `npm run bench:decisions`: decision latency and throughput at the scale (10,000 people, 1,000
// teams, 100 departments, 500 resources, 50,000 grants) for both policy-data designs in process, the same
// decisions asked of `opa run --server` over loopback HTTP, and how long a grant change takes to reach
// decisions. Prints one Markdown report; every figure and ratio in it comes from this one run.
//
// BENCH_SCALE=0.1 shrinks the organisation for a quick look. With TEST_DATABASE_URL or DATABASE_URL set,
// the change-propagation part runs on that PostgreSQL server (in a database of its own), else on PGlite.
import os from 'node:os';
import { AccessIndex, createAccessService } from '../core/index.ts';
import { loadPolicyEngine, loadSnapshotEngine, type Decision } from '../policies/index.ts';
import { FULL_SCALE, generateOrg, generateQuestions, type Org, type OrgScale, type Question } from './org.ts';
import { fmt, fmtInt, summarise } from './stats.ts';
import { startOpaServer } from './opa-server.ts';
import { openBenchDatabase, seedDatabase } from './seed.ts';
import { measureChangePropagation } from './propagation.ts';

const WARMUP = 20_000;
const TIMED = 200_000;
const THROUGHPUT_MS = 3_000;

function scaled(factor: number): OrgScale {
  const s = (n: number) => Math.max(1, Math.round(n * factor));
  return {
    people: s(FULL_SCALE.people), teams: s(FULL_SCALE.teams), departments: s(FULL_SCALE.departments),
    resources: s(FULL_SCALE.resources), grants: s(FULL_SCALE.grants),
  };
}

interface InProcessResult { p50: number; p99: number; p999: number; perSecond: number; allowed: number; samples: number[] }

function measureInProcess(decide: (q: Question) => Decision, questions: Question[]): InProcessResult {
  const n = questions.length;
  for (let i = 0; i < WARMUP; i++) decide(questions[i % n]!);
  const samples = new Array<number>(TIMED);
  let allowed = 0;
  for (let i = 0; i < TIMED; i++) {
    const q = questions[i % n]!;
    const start = process.hrtime.bigint();
    const d = decide(q);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
    if (d.allow) allowed++;
  }
  let count = 0;
  const until = performance.now() + THROUGHPUT_MS;
  while (performance.now() < until) {
    for (let j = 0; j < 1000; j++) decide(questions[(count + j) % n]!);
    count += 1000;
  }
  const { p50, p99, p999 } = summarise(samples);
  return { p50, p99, p999, perSecond: count / (THROUGHPUT_MS / 1000), allowed: allowed / TIMED, samples };
}

/** Latency by the number of candidate grants a decision carried (sample i asked question i mod n). */
function byCandidateCount(samples: number[], candidateCounts: number[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  samples.forEach((us, i) => {
    const count = Math.min(candidateCounts[i % candidateCounts.length]!, 4);
    const group = groups.get(count);
    if (group) group.push(us);
    else groups.set(count, [us]);
  });
  return new Map([...groups].sort((a, b) => a[0] - b[0]));
}

function indexSnapshotOf(org: Org) {
  return {
    people: org.people.map((p) => ({ id: p.id, status: p.status, departmentId: p.departmentId })),
    memberships: org.people.flatMap((p) => p.teams.map((teamId) => ({ teamId, personId: p.id }))),
    grants: org.grants,
  };
}

async function main(): Promise<void> {
  const factor = Number(process.env.BENCH_SCALE ?? '1');
  const scale = scaled(factor);
  const now = Date.now();
  const lines: string[] = [];
  const out = (line = '') => { lines.push(line); console.log(line); };

  out(`# Decision benchmark — ${new Date().toISOString()}`);
  out();
  out(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}. ` +
    `Scale: ${fmtInt(scale.people)} people, ${fmtInt(scale.teams)} teams, ${fmtInt(scale.departments)} departments, ` +
    `${fmtInt(scale.resources)} resources, ${fmtInt(scale.grants)} grants.`);
  const org = generateOrg(scale, 42, now);
  const questions = generateQuestions(org, 20_000);

  // Design 1: candidate grants from TypeScript indexes carried in the input.
  const index = new AccessIndex();
  let started = performance.now();
  index.load(indexSnapshotOf(org));
  const indexLoadMs = performance.now() - started;
  const engine = await loadPolicyEngine();
  if (!engine.available) throw new Error(`policy engine unavailable: ${engine.unavailableReason}`);
  const access = createAccessService({ index, engine, now: () => now });
  const inputDesign = measureInProcess((q) => access.decide(q), questions);
  const candidateCounts = questions.map((q) => index.candidates(index.subject(q.personId), q.resource.kind, q.resource.id).length);
  const candidates = candidateCounts.reduce((sum, c) => sum + c, 0) / questions.length;

  // Design 2: the whole directory as the policy's data snapshot.
  const snapshot = { people: org.people, grants: org.grants };
  started = performance.now();
  const snapshotEngine = await loadSnapshotEngine({ snapshot });
  const snapshotLoadMs = performance.now() - started;
  if (!snapshotEngine.available) throw new Error(`snapshot engine unavailable: ${snapshotEngine.unavailableReason}`);
  const snapshotDecide = (q: Question) => snapshotEngine.decide({ personId: q.personId, action: q.action, resource: q.resource, context: { now } });
  const snapshotDesign = measureInProcess(snapshotDecide, questions);
  const swapSamples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const changed = { people: snapshot.people, grants: [...snapshot.grants.slice(1), snapshot.grants[0]!] };
    const t = performance.now();
    await snapshotEngine.replaceSnapshot(changed);
    swapSamples.push(performance.now() - t);
  }

  // Both designs must agree on every question before their speed means anything.
  let disagreements = 0;
  for (const q of questions) {
    const a = access.decide(q);
    const b = snapshotDecide(q);
    if (a.allow !== b.allow || a.grants.join() !== b.grants.join()) disagreements++;
  }

  // The same policy and data behind `opa run --server`, over loopback HTTP.
  const opa = await startOpaServer(snapshot);
  let opaResult;
  try {
    opaResult = await opa.measure(questions.map((q) => ({ personId: q.personId, action: q.action, resource: q.resource, context: { now } })));
  } finally {
    await opa.stop();
  }

  out();
  out('## Decisions on one core');
  out();
  out('| path | p50 µs | p99 µs | p99.9 µs | decisions/s | allowed |');
  out('|---|---:|---:|---:|---:|---:|');
  const row = (name: string, r: { p50: number; p99: number; p999: number; perSecond: number; allowed: number }) =>
    out(`| ${name} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.p999)} | ${fmtInt(r.perSecond)} | ${fmt(r.allowed * 100, 0)} % |`);
  row('in process, grants in the input (TS indexes + WASM)', inputDesign);
  row('in process, snapshot as policy data (WASM)', snapshotDesign);
  row(`opa run --server ${opa.version}, HTTP on loopback (sequential latency; ${opa.concurrency} concurrent for throughput)`, opaResult);
  out();
  out(`- Average candidate grants per decision (input design): ${fmt(candidates, 2)}. Questions: 20,000 (half follow an existing grant).`);
  out(`- The two in-process designs disagreed on ${disagreements} of ${questions.length} questions.`);
  out(`- In process vs OPA server: p50 ${fmt(opaResult.p50 / inputDesign.p50)}× faster, p99 ${fmt(opaResult.p99 / inputDesign.p99)}× faster, ` +
    `throughput ${fmt(inputDesign.perSecond / opaResult.perSecond)}× higher (input design).`);
  out();
  out('Input design by the number of candidate grants in the decision:');
  out();
  out('| candidates | share | p50 µs | p99 µs |');
  out('|---:|---:|---:|---:|');
  for (const [count, group] of byCandidateCount(inputDesign.samples, candidateCounts)) {
    const r = summarise(group);
    out(`| ${count === 4 ? '4 or more' : count} | ${fmt((group.length / inputDesign.samples.length) * 100)} % | ${fmt(r.p50)} | ${fmt(r.p99)} |`);
  }
  out();
  out(`- Building the TS indexes from a full snapshot: ${fmt(indexLoadMs)} ms. Loading the snapshot design's first policy instance: ${fmt(snapshotLoadMs)} ms; ` +
    `rebuilding and swapping it after one change: median ${fmt(summarise(swapSamples).p50)} ms (before any database read).`);

  // How long a written grant takes to reach decisions, through the real database and change feed.
  const bench = await openBenchDatabase();
  try {
    await seedDatabase(bench.database, org);
    const propagation = await measureChangePropagation({ database: bench.database, second: bench.second, org, engine, rounds: 30 });
    out();
    out(`## A grant change reaching decisions (${bench.label})`);
    out();
    out('| from the commit to … | p50 ms | max ms |');
    out('|---|---:|---:|');
    out(`| the writing replica's next decision (it applies its own change before answering) | ${fmt(propagation.writer.p50, 2)} | ${fmt(propagation.writer.max, 2)} |`);
    out(`| another replica's decisions (LISTEN/NOTIFY, re-read, apply) | ${fmt(propagation.other.p50, 2)} | ${fmt(propagation.other.max, 2)} |`);
    out();
    out(`- ${propagation.rounds} changes, each a new allow grant for a person who was denied by default; every one was observed. ` +
      `A full reload of the directory from the database (the resync path) took ${fmt(propagation.fullReloadMs)} ms.`);
  } finally {
    await bench.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
