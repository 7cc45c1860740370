// `npm run bench:gateway`: the same MCP tool call sent direct to an upstream MCP server and through the
// OpenCrane MCP gateway, in one run, closed loop at 1, 16 and 64 concurrent connections: the latency the
// gateway adds (p50, p99) and its throughput as a share of direct, against the targets; then the same
// for the session-based revision; and where the machine's CPU went meanwhile. Prints one Markdown report.
//
// Three processes, so that none shares an event loop with another: the upstream (bench/gateway-upstream.ts,
// built with the MCP SDK, one `echo` tool), the control plane with the gateway (bench/gateway-server.ts,
// `createControlPlane` as `npm start` runs it, LOG_LEVEL info by default (BENCH_LOG_LEVEL), its log lines
// to /dev/null), and this one: the loopback workload issuer, the token exchange, and autocannon. The
// data lives in a throwaway database on the PostgreSQL server (TEST_DATABASE_URL, DATABASE_URL, or
// 127.0.0.1:5432), dropped at the end; `--pglite` or BENCH_DATABASE=pglite uses the embedded PGlite.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { freePort } from '../test/support/ports.ts';
import { startWorkloadIssuer, type TestWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE_JWT } from '../token-service/exchange.ts';
import { measured, type CpuWindow, type ProcessUsage } from './cpu-accounting.ts';
import { authorised, checkCall, isEchoAnswer, openSession, sessionCall, STATELESS_CALL, type McpCall } from './gateway-calls.ts';
import { startChild, type BenchChild } from './child-process.ts';
import type { GatewayReady } from './gateway-server.ts';
import type { UpstreamReady } from './gateway-upstream.ts';
import { fmt, fmtInt, summarise, type LatencySummary } from './stats.ts';
import { chooseDatabaseTarget } from './token-databases.ts';

const CONCURRENCIES = [1, 16, 64] as const;
const FIRST_WARM_UP_SECONDS = 3;
/** Before each concurrency, each side again: new connections, and the gateway's pool to the upstream grows. */
const WARM_UP_SECONDS = 1;
/** Each side runs twice per concurrency, in the order A B B A, so a drift in the machine's speed falls on both alike. */
const HALF_SECONDS = 4;
const SESSION_HALF_SECONDS = 2;
/** Other processes or the hypervisor busier than this make a figure suspect; the report says so. */
const QUIET_CORES = 0.25;
const TARGETS = { addedP50Ms: 0.3, addedP99Ms: 1.5, throughputRatio: 0.5 };

type Side = 'direct' | 'gateway';
type ServerFigures = NonNullable<CpuWindow['server']>;

interface Target {
  url: string;
  call: McpCall;
  /** Gives each connection of one autocannon run what is its own (a session); called afresh for every run. */
  perConnection?: () => (client: autocannon.Client) => void;
  /** Connections opened by every run so far; each run ends by closing them, calls in flight or not. */
  connectionsOpened: number;
}

interface Window {
  loadCores: number;
  loadDelayMs: { p99: number; max: number };
  gateway: ServerFigures;
  upstream: ServerFigures;
  otherCores: number | undefined;
  stolenCores: number | undefined;
}

interface SideFigures {
  perSecond: number;
  latency: LatencySummary;
  /** What was not a verified 2xx echo, readable; 'none' when everything was. */
  failures: string;
  failed: number;
  window: Window;
}

interface Pair { concurrency: number; direct: SideFigures; gateway: SideFigures }

interface Load { ok: number; seconds: number; latencyMs: number[]; failures: Map<string, number> }

/** One closed-loop autocannon run; latencies of verified answers at autocannon's resolution (hrtime, fractional ms). */
async function cannon(target: Target, connections: number, seconds: number): Promise<Load> {
  const latencyMs: number[] = [];
  const started = performance.now();
  target.connectionsOpened += connections;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: target.url, method: 'POST', headers: target.call.headers, body: target.call.body, connections, duration: seconds,
      verifyBody: (body) => typeof body === 'string' && isEchoAnswer(body), ...(target.perConnection ? { setupClient: target.perConnection() } : {}),
    }, (err: unknown, res: autocannon.Result) => {
      if (err instanceof Error) reject(err);
      else if (err) reject(new Error(`autocannon failed: ${JSON.stringify(err)}`));
      else resolve(res);
    });
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencyMs.push(ms);
    });
  });
  const failures = new Map<string, number>();
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) if (!code.startsWith('2')) failures.set(`HTTP ${code}`, s.count ?? 0);
  if (result.errors) failures.set(`errors (${result.timeouts} timeouts)`, result.errors);
  if (result.mismatches) failures.set('2xx without the echo', result.mismatches);
  // A 2xx whose body was not the echo was timed too; with any failure the run is reported as failed anyway.
  return { ok: latencyMs.length - result.mismatches, seconds: (performance.now() - started) / 1000, latencyMs, failures };
}

function between(before: ProcessUsage, after: ProcessUsage): ServerFigures {
  return {
    cores: (after.cpuMicros - before.cpuMicros) / 1000 / (after.at - before.at),
    loopBusy: (after.loopActive - before.loopActive) / ((after.loopActive + after.loopIdle) - (before.loopActive + before.loopIdle)),
    delayMs: after.delayMs, gc: after.gc, handlingMs: after.handlingMs,
  };
}

/** `work`, with the CPU of this process, the gateway, the upstream, everything else and the hypervisor meanwhile. */
async function accounted<T>(work: () => Promise<T>, gateway: BenchChild<GatewayReady>, upstream: BenchChild<UpstreamReady>) {
  const upstreamBefore = await upstream.usage();
  const { value, cpu } = await measured(work, gateway);
  const upstreamFigures = between(upstreamBefore, await upstream.usage());
  const window: Window = {
    loadCores: cpu.ownCores, loadDelayMs: cpu.ownDelayMs, gateway: cpu.server!, upstream: upstreamFigures,
    otherCores: cpu.otherCores === undefined ? undefined : Math.max(0, cpu.otherCores - upstreamFigures.cores), stolenCores: cpu.stolenCores,
  };
  return { value, window };
}

const mean = (a: number, b: number) => (a + b) / 2;
const meanOrUndefined = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : mean(a, b));

/** Two equal halves of one side's measurement: CPU averaged, pauses added, the worse of the two tails. */
function mergeFigures(a: ServerFigures, b: ServerFigures): ServerFigures {
  const count = a.handlingMs.count + b.handlingMs.count;
  return {
    cores: mean(a.cores, b.cores), loopBusy: mean(a.loopBusy, b.loopBusy),
    delayMs: { p99: Math.max(a.delayMs.p99, b.delayMs.p99), max: Math.max(a.delayMs.max, b.delayMs.max) },
    gc: { pauses: a.gc.pauses + b.gc.pauses, totalMs: a.gc.totalMs + b.gc.totalMs, maxMs: Math.max(a.gc.maxMs, b.gc.maxMs) },
    handlingMs: {
      count, p50: count === 0 ? Number.NaN : (a.handlingMs.p50 * a.handlingMs.count + b.handlingMs.p50 * b.handlingMs.count) / count,
      p99: Math.max(a.handlingMs.p99, b.handlingMs.p99), max: Math.max(a.handlingMs.max, b.handlingMs.max),
    },
  };
}

function mergeWindows(a: Window, b: Window): Window {
  return {
    loadCores: mean(a.loadCores, b.loadCores),
    loadDelayMs: { p99: Math.max(a.loadDelayMs.p99, b.loadDelayMs.p99), max: Math.max(a.loadDelayMs.max, b.loadDelayMs.max) },
    gateway: mergeFigures(a.gateway, b.gateway), upstream: mergeFigures(a.upstream, b.upstream),
    otherCores: meanOrUndefined(a.otherCores, b.otherCores), stolenCores: meanOrUndefined(a.stolenCores, b.stolenCores),
  };
}

function sideFigures(halves: { value: Load; window: Window }[]): SideFigures {
  const [a, b] = halves as [{ value: Load; window: Window }, { value: Load; window: Window }];
  const failures = new Map<string, number>();
  for (const half of halves) for (const [what, n] of half.value.failures) failures.set(what, (failures.get(what) ?? 0) + n);
  return {
    perSecond: (a.value.ok + b.value.ok) / (a.value.seconds + b.value.seconds),
    latency: summarise([...a.value.latencyMs, ...b.value.latencyMs]),
    failures: [...failures].map(([what, n]) => `${fmtInt(n)}× ${what}`).join(', ') || 'none',
    failed: [...failures.values()].reduce((x, y) => x + y, 0),
    window: mergeWindows(a.window, b.window),
  };
}

/** Both sides at each concurrency, warmed, then measured A B B A (the order flips at each concurrency). */
async function measurePairs(
  targets: Record<Side, Target>, halfSeconds: number, gateway: BenchChild<GatewayReady>, upstream: BenchChild<UpstreamReady>,
): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (const [index, concurrency] of CONCURRENCIES.entries()) {
    const [first, second]: [Side, Side] = index % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
    await cannon(targets[first], concurrency, WARM_UP_SECONDS);
    await cannon(targets[second], concurrency, WARM_UP_SECONDS);
    const halves: Record<Side, { value: Load; window: Window }[]> = { direct: [], gateway: [] };
    for (const side of [first, second, second, first]) {
      halves[side].push(await accounted(() => cannon(targets[side], concurrency, halfSeconds), gateway, upstream));
    }
    pairs.push({ concurrency, direct: sideFigures(halves.direct), gateway: sideFigures(halves.gateway) });
  }
  return pairs;
}

async function exchangeToken(gatewayOrigin: string, issuer: TestWorkloadIssuer, assistantId: string): Promise<string> {
  const response = await fetch(`${gatewayOrigin}/oauth2/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: await issuer.tokenFor(assistantId), subject_token_type: TOKEN_TYPE_JWT, audience: 'mcp-gateway',
    }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`the token exchange answered ${response.status}: ${text}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

/** The gateway's own count of requests by outcome, and of audit rows dropped, from its Prometheus metrics. */
async function gatewayOutcomes(gatewayOrigin: string): Promise<{ outcomes: Map<string, number>; auditDropped: number }> {
  const text = await (await fetch(`${gatewayOrigin}/metrics`)).text();
  const outcomes = new Map<string, number>();
  let auditDropped = 0;
  for (const line of text.split('\n')) {
    const request = /^opencrane_mcp_requests_total\{.*method="([^"]+)".*outcome="([^"]+)".*\} (\d+)$/.exec(line);
    if (request) {
      const key = `${request[1]} ${request[2]}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + Number(request[3]));
    }
    const dropped = /^opencrane_mcp_audit_dropped_total (\d+)$/.exec(line);
    if (dropped) auditDropped = Number(dropped[1]);
  }
  return { outcomes, auditDropped };
}

const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : fmt(value, 2));
const cores = (value: number | undefined) => (value === undefined ? 'n/a' : fmt(value, 2));
const percent = (value: number) => `${fmt(value * 100, 0)} %`;

async function main(): Promise<void> {
  const out = (line = '') => console.log(line);
  const target = await chooseDatabaseTarget(process.argv.slice(2));
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
  const [upstreamPort, gatewayPort] = [await freePort(), await freePort()];
  const gatewayOrigin = `http://127.0.0.1:${gatewayPort}`;
  const issuer = await startWorkloadIssuer({ audience: gatewayOrigin });
  const home = await mkdtemp(path.join(os.tmpdir(), 'opencrane-bench-gateway-'));
  const runStarted = performance.now();
  const children: BenchChild<unknown>[] = [];
  try {
    const database = await target.fresh();
    const maxConnections = Math.max(...CONCURRENCIES);
    // Sessions direct and through the gateway are all the upstream's own.
    const upstream = await startChild<UpstreamReady>('upstream', './gateway-upstream.ts', {
      PORT: String(upstreamPort), BENCH_MAX_SESSIONS: String(2 * maxConnections),
    });
    children.push(upstream);
    const gateway = await startChild<GatewayReady>('gateway', './gateway-server.ts', {
      HOST: '127.0.0.1', PORT: String(gatewayPort), PUBLIC_URL: gatewayOrigin, OPENCRANE_HOME: home, LOG_LEVEL: logLevel,
      OPENCRANE_WORKLOAD_ISSUER: issuer.url, BENCH_UPSTREAM_URL: upstream.ready.url, ...(database.url ? { DATABASE_URL: database.url } : {}),
    });
    children.push(gateway);
    const token = await exchangeToken(gatewayOrigin, issuer, gateway.ready.assistantId);
    const bearer = `Bearer ${token}`;

    const stateless: Record<Side, Target> = {
      direct: { url: upstream.ready.url, call: STATELESS_CALL, connectionsOpened: 0 },
      gateway: { url: gateway.ready.url, call: authorised(STATELESS_CALL, bearer), connectionsOpened: 0 },
    };
    const directAnswer = await checkCall(stateless.direct.url, stateless.direct.call);
    const gatewayAnswer = await checkCall(stateless.gateway.url, stateless.gateway.call);
    await cannon(stateless.direct, 16, FIRST_WARM_UP_SECONDS);
    await cannon(stateless.gateway, 16, FIRST_WARM_UP_SECONDS);
    const statelessPairs = await measurePairs(stateless, HALF_SECONDS, gateway, upstream);

    // One session per connection, as each assistant holds its own.
    const sessionIds: Record<Side, string[]> = { direct: [], gateway: [] };
    for (let i = 0; i < maxConnections; i++) {
      sessionIds.direct.push(await openSession(upstream.ready.url));
      sessionIds.gateway.push(await openSession(gateway.ready.url, bearer));
    }
    const sessionTarget = (url: string, ids: string[], authorization: string | undefined): Target => ({
      url, call: authorised(sessionCall(ids[0]!), authorization), connectionsOpened: 0,
      perConnection: () => {
        let next = 0;
        return (client) => client.setHeaders(authorised(sessionCall(ids[next++ % ids.length]!), authorization).headers);
      },
    });
    const sessions: Record<Side, Target> = {
      direct: sessionTarget(upstream.ready.url, sessionIds.direct, undefined),
      gateway: sessionTarget(gateway.ready.url, sessionIds.gateway, bearer),
    };
    await checkCall(sessions.direct.url, sessions.direct.call);
    await checkCall(sessions.gateway.url, sessions.gateway.call);
    const sessionPairs = await measurePairs(sessions, SESSION_HALF_SECONDS, gateway, upstream);
    const { outcomes, auditDropped } = await gatewayOutcomes(gatewayOrigin);

    out(`# MCP gateway benchmark — ${new Date().toISOString()}`);
    out();
    out(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}. Database: ${target.label}.`);
    out();
    out('Three processes on loopback: an MCP SDK upstream with one `echo` tool; the control plane with the MCP gateway ' +
      `(\`createControlPlane\`, LOG_LEVEL ${logLevel}, its log lines to /dev/null), one tool registered at the upstream with an allow grant ` +
      'for one person, and that person\'s assistant\'s gateway token from the token exchange; and this one (autocannon, closed loop). ' +
      'The same `tools/call` of `echo` goes direct to the upstream and through the gateway (with the bearer token); every answer must ' +
      `be a 2xx carrying the echoed text. Each side runs ${WARM_UP_SECONDS} s to warm up, then twice per concurrency in the order A B B A ` +
      `(${HALF_SECONDS} s each for stateless calls, ${SESSION_HALF_SECONDS} s for session calls), after a first ${FIRST_WARM_UP_SECONDS} s warm-up of each.`);
    out();
    const identical = directAnswer === gatewayAnswer ? 'byte-identical' : 'different';
    out(`First stateless call: direct and through the gateway both 200 with the echoed text (the two answers are ${identical}).`);
    out();

    const withFailures = (pair: Pair) => pair.direct.failed + pair.gateway.failed > 0;
    const verdict = (met: boolean, pair: Pair) => (withFailures(pair) ? '**run had failures**' : met ? 'met' : '**NOT met**');
    const added = (pair: Pair, key: 'p50' | 'p99') => pair.gateway.latency[key] - pair.direct.latency[key];
    const ratio = (pair: Pair) => pair.gateway.perSecond / pair.direct.perSecond;

    out('## Against the targets (stateless 2026-07-28 calls)');
    out();
    out(`| concurrency | added p50 | ≤ ${TARGETS.addedP50Ms} ms | added p99 | ≤ ${TARGETS.addedP99Ms} ms | through the gateway ÷ direct, calls/s | ≥ ${percent(TARGETS.throughputRatio)} |`);
    out('|---:|---:|---|---:|---|---:|---|');
    for (const pair of statelessPairs) {
      out(`| ${pair.concurrency} | ${ms(added(pair, 'p50'))} ms | ${verdict(added(pair, 'p50') <= TARGETS.addedP50Ms, pair)} | ` +
        `${ms(added(pair, 'p99'))} ms | ${verdict(added(pair, 'p99') <= TARGETS.addedP99Ms, pair)} | ` +
        `${percent(ratio(pair))} | ${verdict(ratio(pair) >= TARGETS.throughputRatio, pair)} |`);
    }
    out();

    out('## Direct and through the gateway');
    out();
    out('| calls | concurrency | direct calls/s | gateway calls/s | gateway ÷ direct | direct p50 / p99 ms | gateway p50 / p99 ms | added p50 / p99 ms | direct p99.9 / max ms | gateway p99.9 / max ms | failures (direct; gateway) |');
    out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    const pairRow = (name: string, pair: Pair) => {
      const { direct: d, gateway: g } = pair;
      out(`| ${name} | ${pair.concurrency} | ${fmtInt(d.perSecond)} | ${fmtInt(g.perSecond)} | ${percent(ratio(pair))} | ` +
        `${ms(d.latency.p50)} / ${ms(d.latency.p99)} | ${ms(g.latency.p50)} / ${ms(g.latency.p99)} | ${ms(added(pair, 'p50'))} / ${ms(added(pair, 'p99'))} | ` +
        `${ms(d.latency.p999)} / ${ms(d.latency.max)} | ${ms(g.latency.p999)} / ${ms(g.latency.max)} | ${d.failures}; ${g.failures} |`);
    };
    for (const pair of statelessPairs) pairRow('stateless 2026-07-28', pair);
    for (const pair of sessionPairs) pairRow('session 2025-11-25 (SSE answers)', pair);
    out();
    const outcomeText = [...outcomes].map(([what, n]) => `${what}: ${fmtInt(n)}`).join(', ');
    const closedMidCall = stateless.gateway.connectionsOpened + sessions.gateway.connectionsOpened;
    out(`The gateway's own count of requests by method and outcome over the whole run (warm-ups included): ${outcomeText}; ` +
      `audit rows dropped: ${auditDropped}. autocannon ends each run by closing its connections, calls in flight or not ` +
      `(${fmtInt(closedMidCall)} connections through the gateway in all): the gateway records a call whose client went away ` +
      'before the upstream answered as `client-gone`, not as an upstream error.');
    out();

    out(`## Where the time went (${os.cpus().length} cores)`);
    out();
    out('| run | gateway, cores | its loop busy | upstream, cores | its loop busy | load generator, cores | other processes, cores | hypervisor, cores |');
    out('|---|---:|---:|---:|---:|---:|---:|---:|');
    const all = [...statelessPairs.map((p) => ['stateless', p] as const), ...sessionPairs.map((p) => ['session', p] as const)];
    for (const [calls, pair] of all) {
      for (const side of ['direct', 'gateway'] as const) {
        const w = pair[side].window;
        out(`| ${calls}, ${pair.concurrency}, ${side} | ${cores(w.gateway.cores)} | ${percent(w.gateway.loopBusy)} | ${cores(w.upstream.cores)} | ` +
          `${percent(w.upstream.loopBusy)} | ${cores(w.loadCores)} | ${cores(w.otherCores)} | ${cores(w.stolenCores)} |`);
      }
    }
    out();
    out('| run, through the gateway | in the gateway: read → answered, p50 / p99 ms | in the upstream: read → answered, p50 / p99 ms (direct) | ' +
      'gateway loop delay p99 / max ms | gateway GC: n, total / longest ms | load generator loop delay p99 / max ms |');
    out('|---|---:|---:|---:|---:|---:|');
    for (const [calls, pair] of all) {
      const g = pair.gateway.window;
      const d = pair.direct.window;
      out(`| ${calls}, ${pair.concurrency} | ${ms(g.gateway.handlingMs.p50)} / ${ms(g.gateway.handlingMs.p99)} | ` +
        `${ms(g.upstream.handlingMs.p50)} / ${ms(g.upstream.handlingMs.p99)} (${ms(d.upstream.handlingMs.p50)} / ${ms(d.upstream.handlingMs.p99)}) | ` +
        `${ms(g.gateway.delayMs.p99)} / ${ms(g.gateway.delayMs.max)} | ${g.gateway.gc.pauses}, ${ms(g.gateway.gc.totalMs)} / ${ms(g.gateway.gc.maxMs)} | ` +
        `${ms(g.loadDelayMs.p99)} / ${ms(g.loadDelayMs.max)} |`);
    }
    out();
    const perCall = (coresUsed: number, perSecond: number) => fmtInt((coresUsed * 1e6) / perSecond);
    for (const [calls, pair] of all) {
      out(`- ${calls}, ${pair.concurrency}: CPU per call in the gateway ${perCall(pair.gateway.window.gateway.cores, pair.gateway.perSecond)} µs; ` +
        `in the upstream ${perCall(pair.direct.window.upstream.cores, pair.direct.perSecond)} µs direct, ` +
        `${perCall(pair.gateway.window.upstream.cores, pair.gateway.perSecond)} µs through the gateway; in the load generator ` +
        `${perCall(pair.direct.window.loadCores, pair.direct.perSecond)} / ${perCall(pair.gateway.window.loadCores, pair.gateway.perSecond)} µs.`);
    }
    out('- Medians of the two halves are weighted by their request counts; the p99 and max are the higher of the two halves. ' +
      'Through the gateway, "other processes" includes the database writing the gateway\'s audit rows.');
    out();
    const noisy = Math.max(...all.flatMap(([, pair]) => [
      (pair.direct.window.otherCores ?? 0) + (pair.direct.window.stolenCores ?? 0), pair.gateway.window.stolenCores ?? 0,
    ]));
    if (noisy > QUIET_CORES) {
      out(`**Other processes and the hypervisor took up to ${fmt(noisy, 2)} cores during the direct runs (the hypervisor alone during the gateway ` +
        'runs): the figures are disturbed. Run again on a quiet machine.**');
      out();
    }
    const failed = all.some(([, pair]) => withFailures(pair));
    if (failed) out('**Some calls failed (see the failures column): those runs do not count against the targets.**');
    out(`Run time: ${fmt((performance.now() - runStarted) / 1000)} s.`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    await issuer.close();
    await target.close();
    await rm(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
