// `npm run bench:tokens`: token exchanges per second over HTTP at concurrency 32, beside the raw jose
// limit measured in the same run (one ServiceAccount-token verify + one sign per exchange); latency at
// an evenly paced 1,000 exchanges/s; the access-token verifier cold (signature) and warm (cache); and
// revocation propagation from a revoke to every replica refusing. Prints one Markdown report; every
// figure and ratio in it comes from this one run, with where the machine's CPU went while it was taken.
//
// The token service runs as its own process (bench/token-server.ts, `startTokenService` as in
// production) so that the load generator, here, does not share its event loop. By default the data
// lives in throwaway databases on the PostgreSQL server (TEST_DATABASE_URL, DATABASE_URL, or
// 127.0.0.1:5432), dropped at the end; `--pglite` or BENCH_DATABASE=pglite uses the embedded PGlite.
// BENCH_LOG_LEVEL sets the token service's log level (default info, the production default; its lines
// go to /dev/null).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { startWorkloadIssuer, type TestWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { freePort } from '../test/support/ports.ts';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE_JWT } from '../token-service/exchange.ts';
import { measured, type CpuWindow } from './cpu-accounting.ts';
import { measureRawJose, measureVerifier, paceRawJose } from './jose-limits.ts';
import { runOpenLoop } from './open-loop.ts';
import { measureRevocationPropagation } from './revocation-propagation.ts';
import { fmt, fmtInt, summarise, type LatencySummary } from './stats.ts';
import { chooseDatabaseTarget } from './token-databases.ts';
import { startChild, type BenchChild } from './child-process.ts';
import type { TokenServerReady } from './token-server.ts';

const PEOPLE = 200;
const CONCURRENCY = 32;
const WARM_UP_SECONDS = 3;
const CLOSED_LOOP_SECONDS = 10;
const OPEN_LOOP_RATE = 1000;
const OPEN_LOOP_MS = 10_000;
/** Enough that a server stall of up to ~100 ms at this rate does not hold the writes back. */
const OPEN_LOOP_SOCKETS = 128;
const AUTOCANNON_RATE_SECONDS = 5;
const RAW_JOSE_MS = 3000;
const PROPAGATION_ROUNDS = 100;

/** bench/token-server.ts in its own process, and where it listens. */
type TokenServer = BenchChild<TokenServerReady> & { url: string };
/** Other processes busier than this during a figure make it suspect; the report says so. */
const QUIET_CORES = 0.25;
const FORM = 'application/x-www-form-urlencoded';

const TARGETS = { ratio: 0.6, p99AtRateMs: 5, warmPerSecond: 200_000, propagationP99Ms: 100 };

interface LoadFigures {
  perSecond: number;
  latency: LatencySummary;
  /** What was not a 2xx, readable; 'none' when everything was. */
  failures: string;
  failed: number;
  answered: number;
}

/** One autocannon run, with every 2xx latency at the resolution autocannon times it (hrtime, fractional ms). */
async function cannon(options: autocannon.Options): Promise<LoadFigures & { correctedP99: number }> {
  const latencyMs: number[] = [];
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: unknown, res: autocannon.Result) => {
      if (err instanceof Error) reject(err);
      else if (err) reject(new Error(`autocannon failed: ${JSON.stringify(err)}`));
      else resolve(res);
    });
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencyMs.push(ms);
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const failures = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => !code.startsWith('2')).map(([code, s]) => `${s.count ?? 0}× HTTP ${code}`);
  if (result.errors) failures.push(`${result.errors} errors (${result.timeouts} timeouts)`);
  const failed = result.non2xx + result.errors;
  return {
    perSecond: latencyMs.length / seconds, latency: summarise(latencyMs), failures: failures.join(', ') || 'none',
    failed, answered: latencyMs.length + failed, correctedP99: result.latency.p99,
  };
}

const exchangeForm = (subjectToken: string) => new URLSearchParams({
  grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subjectToken, subject_token_type: TOKEN_TYPE_JWT, audience: 'mcp-gateway',
}).toString();

/** One exchange checked in full before any load: a benchmark of refusals is worthless. */
async function checkOneExchange(server: TokenServer, body: string, publicUrl: string): Promise<void> {
  const response = await fetch(`${server.url}/oauth2/token`, { method: 'POST', headers: { 'content-type': FORM }, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`the first exchange answered ${response.status}: ${text}`);
  const token = (JSON.parse(text) as { access_token: string }).access_token;
  const claims = decodeJwt(token);
  if (decodeProtectedHeader(token).typ !== 'at+jwt' || claims.sub !== server.ready.assistants[0]!.assistantId || claims.aud !== `${publicUrl}/mcp`) {
    throw new Error(`the first exchange issued an unexpected token: ${JSON.stringify(claims)}`);
  }
}

/** Everything measured against the token service process, which is stopped before this returns. */
async function measureExchanges(server: TokenServer, issuer: TestWorkloadIssuer, publicUrl: string) {
  const subjectTokens = await Promise.all(server.ready.assistants.map((a) => issuer.tokenFor(a.assistantId)));
  const bodies = subjectTokens.map(exchangeForm);
  await checkOneExchange(server, bodies[0]!, publicUrl);

  // The raw jose limit, while the server idles: the same cryptography with nothing around it.
  const workloadJwks = await (await fetch(`${issuer.url}/openid/v1/jwks`)).json() as JSONWebKeySet;
  const raw = { subjectTokens, workloadJwks, workloadIssuer: issuer.url, workloadAudience: publicUrl };
  const rawSequential = await measured(() => measureRawJose({ ...raw, durationMs: RAW_JOSE_MS, concurrency: 1 }), server);
  const rawConcurrent = await measured(() => measureRawJose({ ...raw, durationMs: RAW_JOSE_MS, concurrency: CONCURRENCY }), server);
  // What the open loop's rate costs in jose alone, to set beside what it costs the whole token service.
  const rawPaced = await measured(() => paceRawJose({ ...raw, durationMs: RAW_JOSE_MS, ratePerSecond: OPEN_LOOP_RATE }), server);

  const requests = bodies.map((body) => ({ method: 'POST' as const, path: '/oauth2/token', headers: { 'content-type': FORM }, body }));
  let clients = 0;
  const base: autocannon.Options = {
    url: server.url, connections: CONCURRENCY, requests,
    // Each connection walks the tokens from a starting point of its own.
    setupClient: (client) => {
      const shift = (clients++ * 37) % requests.length;
      client.setRequests([...requests.slice(shift), ...requests.slice(0, shift)].map((r) => ({ ...r, headers: { ...r.headers } })));
    },
  };
  await cannon({ ...base, duration: WARM_UP_SECONDS });
  const closed = await measured(() => cannon({ ...base, duration: CLOSED_LOOP_SECONDS }), server);
  const burst = await cannon({ ...base, duration: AUTOCANNON_RATE_SECONDS, overallRate: OPEN_LOOP_RATE });
  const paced = await measured(() => runOpenLoop({
    url: server.url, path: '/oauth2/token', headers: { 'content-type': FORM }, bodies,
    ratePerSecond: OPEN_LOOP_RATE, durationMs: OPEN_LOOP_MS, maxSockets: OPEN_LOOP_SOCKETS,
  }), server);
  return { rawSequential, rawConcurrent, rawPaced, closed, burst, paced };
}

const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : fmt(value, 2));
const cores = (value: number | undefined) => (value === undefined ? 'n/a' : fmt(value, 2));
const verdict = (met: boolean) => (met ? 'met' : '**NOT met**');

async function main(): Promise<void> {
  const out = (line = '') => console.log(line);
  const target = await chooseDatabaseTarget(process.argv.slice(2));
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const issuer = await startWorkloadIssuer({ audience: publicUrl });
  const home = await mkdtemp(path.join(os.tmpdir(), 'opencrane-bench-tokens-'));
  const runStarted = performance.now();
  try {
    const database = await target.fresh();
    // Configured as the real token service is configured; PORT is where it listens.
    const server: TokenServer = {
      url: `http://127.0.0.1:${port}`,
      ...await startChild<TokenServerReady>('token server', './token-server.ts', {
        HOST: '127.0.0.1', PORT: String(port), PUBLIC_URL: publicUrl, OPENCRANE_HOME: home, LOG_LEVEL: logLevel,
        OPENCRANE_WORKLOAD_ISSUER: issuer.url, BENCH_PEOPLE: String(PEOPLE), ...(database.url ? { DATABASE_URL: database.url } : {}),
      }),
    };
    let exchanges: Awaited<ReturnType<typeof measureExchanges>>;
    try {
      exchanges = await measureExchanges(server, issuer, publicUrl);
    } finally {
      await server.stop();
    }
    const { rawSequential, rawConcurrent, rawPaced, closed, burst, paced } = exchanges;
    const pacedFailed = [...paced.value.failures.values()].reduce((a, b) => a + b, 0);
    const failed = closed.value.failed + burst.failed + pacedFailed;
    if (failed > 0.01 * (closed.value.answered + burst.answered + paced.value.sent)) {
      throw new Error(`more than 1 % of exchanges failed (closed loop: ${closed.value.failures}; paced: ${JSON.stringify([...paced.value.failures])})`);
    }

    const verifier = await measured(() => measureVerifier({ coldTokens: 10_000, warmSetSize: 1_000, warmMs: 2_000 }));
    const propagation = await measured(async () => measureRevocationPropagation({
      database: await target.fresh(), issuer, publicUrl, rounds: PROPAGATION_ROUNDS, people: 10,
    }));

    const pacedLatency = summarise(paced.value.latencyMs);
    const pacedFromDue = summarise(paced.value.fromDueMs);
    const ratio = closed.value.perSecond / rawSequential.value;
    const pacedFailures = [...paced.value.failures].map(([what, n]) => `${n}× ${what}`).join(', ') || 'none';
    const revoke = propagation.value;

    out(`# Token service benchmark — ${new Date().toISOString()}`);
    out();
    out(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}. Database: ${target.label}.`);
    out();
    out(`Token service in its own process (\`startTokenService\`, LOG_LEVEL ${logLevel}, its log lines to /dev/null), seeded through the ` +
      `REST API with ${PEOPLE} people in one team that holds an allow grant on one tool (${fmt(server.ready.seedMs / 1000)} s). Load from this ` +
      `process: ${PEOPLE} RS256 ServiceAccount tokens, one per assistant, in turn, each exchanged for an ES256 token for the MCP gateway.`);
    out();
    out('## Against the targets');
    out();
    out('| figure | measured | target | |');
    out('|---|---|---|---|');
    out(`| token exchanges/s over HTTP, ${CONCURRENCY} concurrent (closed loop, ${CLOSED_LOOP_SECONDS} s) | ${fmtInt(closed.value.perSecond)}/s, ` +
      `p50 ${ms(closed.value.latency.p50)} ms, p99 ${ms(closed.value.latency.p99)} ms | | |`);
    const likeForLike = closed.value.perSecond / rawConcurrent.value;
    out(`| raw jose limit, one thread, one at a time (1 RS256 verify + 1 ES256 sign) | ${fmtInt(rawSequential.value)}/s | | |`);
    out(`| raw jose limit, one thread, ${CONCURRENCY} in flight (as the server runs it) | ${fmtInt(rawConcurrent.value)}/s | | |`);
    out(`| exchanges ÷ raw jose, one at a time | ${fmt(ratio * 100, 0)} % | ≥ ${TARGETS.ratio * 100} % | ${verdict(ratio >= TARGETS.ratio)} |`);
    out(`| exchanges ÷ raw jose, ${CONCURRENCY} in flight | ${fmt(likeForLike * 100, 0)} % | ≥ ${TARGETS.ratio * 100} % | ${verdict(likeForLike >= TARGETS.ratio)} |`);
    out(`| p99 at ${fmtInt(OPEN_LOOP_RATE)} exchanges/s (evenly paced open loop, from the write to the answer) | ${ms(pacedLatency.p99)} ms ` +
      `(p50 ${ms(pacedLatency.p50)} ms; from when due: p99 ${ms(pacedFromDue.p99)} ms; ${fmtInt(paced.value.achievedPerSecond)}/s achieved) | ` +
      `≤ ${TARGETS.p99AtRateMs} ms | ${verdict(pacedLatency.p99 <= TARGETS.p99AtRateMs)} |`);
    out(`| verifier, warm (cache hit) | ${fmtInt(verifier.value.warmPerSecond)}/s | ≥ ${fmtInt(TARGETS.warmPerSecond)}/s | ` +
      `${verdict(verifier.value.warmPerSecond >= TARGETS.warmPerSecond)} |`);
    out(`| verifier, cold (ES256 signature) | ${fmtInt(verifier.value.coldPerSecond)}/s | | |`);
    out(`| revocation: revoke answered → every replica refuses, p50 / p99 | ${ms(revoke.answerToRefused.p50)} / ${ms(revoke.answerToRefused.p99)} ms ` +
      `(from the call's start: ${ms(revoke.startToRefused.p50)} / ${ms(revoke.startToRefused.p99)} ms) | p99 ≤ ${TARGETS.propagationP99Ms} ms | ` +
      `${verdict(revoke.answerToRefused.p99 <= TARGETS.propagationP99Ms)} |`);
    out();

    out('## Token exchange over HTTP');
    out();
    out('| load | exchanges/s | p50 ms | p99 ms | p99.9 ms | max ms | not 2xx |');
    out('|---|---:|---:|---:|---:|---:|---|');
    const loadRow = (name: string, perSecond: number, l: LatencySummary, failures: string) =>
      out(`| ${name} | ${fmtInt(perSecond)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.p999)} | ${ms(l.max)} | ${failures} |`);
    loadRow(`closed loop, ${CONCURRENCY} connections, ${CLOSED_LOOP_SECONDS} s after ${WARM_UP_SECONDS} s warm-up (autocannon)`,
      closed.value.perSecond, closed.value.latency, closed.value.failures);
    loadRow(`${fmtInt(OPEN_LOOP_RATE)}/s evenly paced, ${OPEN_LOOP_MS / 1000} s, ${OPEN_LOOP_SOCKETS} sockets, from the write`,
      paced.value.achievedPerSecond, pacedLatency, pacedFailures);
    loadRow(`${fmtInt(OPEN_LOOP_RATE)}/s evenly paced, from when due (adds the sender's own lateness)`, paced.value.achievedPerSecond, pacedFromDue, pacedFailures);
    loadRow(`autocannon overallRate ${fmtInt(OPEN_LOOP_RATE)}, ${AUTOCANNON_RATE_SECONDS} s (sends in per-second bursts)`, burst.perSecond, burst.latency, burst.failures);
    out();
    out('- Raw jose runs in this process while the token service idles. Node\'s WebCrypto, which jose uses, does the signature maths ' +
      'on the libuv threadpool and the JWT and WebCrypto JavaScript on the one thread: one at a time, every operation waits for two ' +
      `thread hand-offs; with ${CONCURRENCY} in flight the hand-offs overlap, as they do in the server under load.`);
    const late = summarise(paced.value.lateMs);
    out(`- The paced sender wrote its requests late by p50 ${ms(late.p50)} ms, p99 ${ms(late.p99)} ms, max ${ms(late.max)} ms.`);
    out(`- autocannon's own p99 for its overallRate run (corrected for coordinated omission, whole milliseconds): ${fmt(burst.correctedP99, 0)} ms.`);
    out();

    out(`## Where the time went (${os.cpus().length} cores)`);
    out();
    out('| while measuring | token service, cores | its event loop busy | this process, cores | other processes, cores | taken by the hypervisor, cores |');
    out('|---|---:|---:|---:|---:|---:|');
    const cpuRow = (name: string, w: CpuWindow) => out(`| ${name} | ${cores(w.server?.cores)} | ` +
      `${w.server ? `${fmt(w.server.loopBusy * 100, 0)} %` : '–'} | ${cores(w.ownCores)} | ${cores(w.otherCores)} | ${cores(w.stolenCores)} |`);
    cpuRow('raw jose, one at a time', rawSequential.cpu);
    cpuRow(`raw jose, ${CONCURRENCY} in flight`, rawConcurrent.cpu);
    cpuRow(`raw jose, ${fmtInt(OPEN_LOOP_RATE)}/s evenly paced`, rawPaced.cpu);
    cpuRow(`closed loop, ${CONCURRENCY} connections`, closed.cpu);
    cpuRow(`${fmtInt(OPEN_LOOP_RATE)}/s evenly paced`, paced.cpu);
    cpuRow('verifier', verifier.cpu);
    cpuRow('revocation rounds (the database counts as other processes)', propagation.cpu);
    out();
    const perOp = (coresUsed: number | undefined, perSecond: number) => (coresUsed === undefined ? 'n/a' : fmtInt((coresUsed * 1e6) / perSecond));
    out(`- CPU per exchange: the token service ${perOp(closed.cpu.server?.cores, closed.value.perSecond)} µs in the closed loop, ` +
      `${perOp(paced.cpu.server?.cores, paced.value.achievedPerSecond)} µs at ${fmtInt(OPEN_LOOP_RATE)}/s; raw jose alone ` +
      `${perOp(rawConcurrent.cpu.ownCores, rawConcurrent.value)} µs with ${CONCURRENCY} in flight, ${perOp(rawPaced.cpu.ownCores, OPEN_LOOP_RATE)} µs ` +
      `at ${fmtInt(OPEN_LOOP_RATE)}/s. A thread that sleeps between requests pays for every wake-up.`);
    out();
    out('| under load | in the token service: read → answered, p50 / p99 / max ms | its loop delay p99 / max ms | its GC pauses: n, total / longest ms | the load generator\'s loop delay p99 / max ms |');
    out('|---|---:|---:|---:|---:|');
    const insideRow = (name: string, w: CpuWindow) => {
      const server = w.server!;
      out(`| ${name} | ${ms(server.handlingMs.p50)} / ${ms(server.handlingMs.p99)} / ${ms(server.handlingMs.max)} | ` +
        `${ms(server.delayMs.p99)} / ${ms(server.delayMs.max)} | ${server.gc.pauses}, ${ms(server.gc.totalMs)} / ${ms(server.gc.maxMs)} | ` +
        `${ms(w.ownDelayMs.p99)} / ${ms(w.ownDelayMs.max)} |`);
    };
    insideRow(`closed loop, ${CONCURRENCY} connections`, closed.cpu);
    insideRow(`${fmtInt(OPEN_LOOP_RATE)}/s evenly paced`, paced.cpu);
    out();
    const busyOthers = Math.max(...[rawSequential, rawConcurrent, rawPaced, closed, paced, verifier].map((w) => (w.cpu.otherCores ?? 0) + (w.cpu.stolenCores ?? 0)));
    if (busyOthers > QUIET_CORES) {
      out(`**Other processes and the hypervisor took up to ${fmt(busyOthers, 2)} cores during the measurements above: the figures are ` +
        'disturbed. Run again on a quiet machine.**');
      out();
    }

    out('## Access-token verifier (in process, one thread, local JWKS, constant epoch)');
    out();
    out('| path | verifies/s |');
    out('|---|---:|');
    out(`| cold: ${fmtInt(verifier.value.coldTokens)} distinct tokens, each verified once (ES256 signature, claims, epoch) | ${fmtInt(verifier.value.coldPerSecond)} |`);
    out(`| warm: one token again and again (cache hit, epoch checked each time) | ${fmtInt(verifier.value.warmPerSecond)} |`);
    out(`| warm: ${fmtInt(verifier.value.warmSetSize)} distinct cached tokens in turn | ${fmtInt(verifier.value.warmSetPerSecond)} |`);
    out();

    out(`## Revocation propagation (${target.label}, ${target.kind === 'pglite' ? 'one connection shared by every replica' : 'each replica on a connection pool of its own'})`);
    out();
    out('| from … to … | p50 ms | p99 ms | max ms |');
    out('|---|---:|---:|---:|');
    const row = (name: string, s: LatencySummary) => out(`| ${name} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} |`);
    row('the revoke call: start → answer', revoke.call);
    row('start → its transaction committed', revoke.toCommit);
    row('commit → answer (its own apply, then every replica\'s acknowledgement)', revoke.commitToAnswer);
    row('commit → each resource-server replica holds the new epoch (seen between event-loop turns: an upper bound)', revoke.commitToApplied);
    row('answer → both replicas refuse the older token (polled from the answer)', revoke.answerToRefused);
    row('start → both replicas refuse the older token', revoke.startToRefused);
    out();
    out(`- ${revoke.rounds} revokes after 5 warm-up rounds, against a control plane in this process (inject, no socket) and two resource-server ` +
      `replicas (epoch feed + verifier; each token verified, so cached, before the revoke). Each revoke waited for the ` +
      `${revoke.replicasRegistered} registered replicas (the control plane's and the two).`);
    out();
    out(`Run time: ${fmt((performance.now() - runStarted) / 1000)} s.`);
  } finally {
    await issuer.close();
    await target.close();
    await rm(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
