// `npm run bench:tokens`: token exchanges per second over HTTP at concurrency 32, beside the raw jose
// limit measured in the same run (one ServiceAccount-token verify + one sign per exchange); latency at
// an evenly paced 1,000 exchanges/s; the access-token verifier cold (signature) and warm (cache); and
// revocation propagation from a revoke to every replica refusing. Prints one Markdown report; every
// figure and ratio in it comes from this one run.
//
// The token service runs as its own process (bench/token-server.ts, `startTokenService` as in
// production) so that autocannon, here, does not share its event loop. By default the data lives in
// throwaway databases on the PostgreSQL server (TEST_DATABASE_URL, DATABASE_URL, or 127.0.0.1:5432),
// dropped at the end; `--pglite` or BENCH_DATABASE=pglite uses the embedded PGlite instead.
// BENCH_LOG_LEVEL sets the token service's log level (default info, the production default; the lines
// go to /dev/null).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { startWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { freePort } from '../test/support/ports.ts';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE_JWT } from '../token-service/exchange.ts';
import { measureRawJose, measureVerifier } from './jose-limits.ts';
import { runOpenLoop, type OpenLoopResult } from './open-loop.ts';
import { measureRevocationPropagation } from './revocation-propagation.ts';
import { fmt, fmtInt, summarise } from './stats.ts';
import { chooseDatabaseTarget } from './token-databases.ts';
import type { TokenServerCommand, TokenServerMessage } from './token-server.ts';
import type { SeededAssistant } from './token-org.ts';

const PEOPLE = 200;
const CONCURRENCY = 32;
const WARM_UP_SECONDS = 3;
const CLOSED_LOOP_SECONDS = 10;
const OPEN_LOOP_RATE = 1000;
const OPEN_LOOP_MS = 10_000;
const AUTOCANNON_RATE_SECONDS = 5;
const RAW_JOSE_MS = 3000;
const PROPAGATION_ROUNDS = 100;
const FORM = 'application/x-www-form-urlencoded';

const TARGETS = { ratio: 0.6, p99AtRateMs: 5, warmPerSecond: 200_000, propagationP99Ms: 100 };

interface LoadFigures {
  perSecond: number;
  latency: ReturnType<typeof summarise>;
  failures: string;
  failed: number;
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
  const codes = Object.entries(result.statusCodeStats ?? {}).filter(([code]) => !code.startsWith('2')).map(([code, s]) => `${s.count ?? 0}× HTTP ${code}`);
  if (result.errors) codes.push(`${result.errors} errors (${result.timeouts} timeouts)`);
  return {
    perSecond: latencyMs.length / seconds, latency: summarise(latencyMs),
    failures: codes.join(', ') || 'none', failed: result.non2xx + result.errors, correctedP99: result.latency.p99,
  };
}

const exchangeForm = (subjectToken: string) => new URLSearchParams({
  grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subjectToken, subject_token_type: TOKEN_TYPE_JWT, audience: 'mcp-gateway',
}).toString();

const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : fmt(value, 2));
const verdict = (met: boolean) => (met ? 'met' : '**NOT met**');

async function main(): Promise<void> {
  const lines: string[] = [];
  const out = (line = '') => { lines.push(line); console.log(line); };
  const target = await chooseDatabaseTarget(process.argv.slice(2));
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const issuer = await startWorkloadIssuer({ audience: publicUrl });
  const home = await mkdtemp(path.join(os.tmpdir(), 'opencrane-bench-tokens-'));
  const runStarted = performance.now();
  try {
    const database = await target.fresh();
    const server = await startTokenServer({
      HOST: '127.0.0.1', PORT: String(port), PUBLIC_URL: publicUrl, OPENCRANE_HOME: home, LOG_LEVEL: logLevel,
      OPENCRANE_WORKLOAD_ISSUER: issuer.url, BENCH_PEOPLE: String(PEOPLE), ...(database.url ? { DATABASE_URL: database.url } : {}),
    });
    let load: {
      closed: LoadFigures & { window: Window }; paced: OpenLoopResult & { window: Window }; burst: LoadFigures & { correctedP99: number };
      rawSequential: number; rawConcurrent: number;
    };
    try {
      const subjectTokens = await Promise.all(server.assistants.map((a) => issuer.tokenFor(a.assistantId)));
      const bodies = subjectTokens.map(exchangeForm);

      // One exchange checked in full before any load: a benchmark of refusals is worthless.
      const check = await fetch(`${server.url}/oauth2/token`, { method: 'POST', headers: { 'content-type': FORM }, body: bodies[0] });
      const checkBody = await check.text();
      if (check.status !== 200) throw new Error(`the first exchange answered ${check.status}: ${checkBody}`);
      const issued = (JSON.parse(checkBody) as { access_token: string }).access_token;
      const claims = decodeJwt(issued);
      if (decodeProtectedHeader(issued).typ !== 'at+jwt' || claims.sub !== server.assistants[0]!.assistantId || claims.aud !== `${publicUrl}/mcp`) {
        throw new Error(`the first exchange issued an unexpected token: ${JSON.stringify(claims)}`);
      }

      // The raw jose limit, while the server idles: same cryptography, nothing around it.
      const workloadJwks = await (await fetch(`${issuer.url}/openid/v1/jwks`)).json() as JSONWebKeySet;
      const raw = { subjectTokens, workloadJwks, workloadIssuer: issuer.url, workloadAudience: publicUrl, durationMs: RAW_JOSE_MS };
      const rawSequential = await measureRawJose({ ...raw, concurrency: 1 });
      const rawConcurrent = await measureRawJose({ ...raw, concurrency: CONCURRENCY });

      const requests = bodies.map((body) => ({ method: 'POST' as const, path: '/oauth2/token', headers: { 'content-type': FORM }, body }));
      let clients = 0;
      const base: autocannon.Options = {
        url: server.url, connections: CONCURRENCY, requests,
        // Each connection walks the 200 tokens from its own starting point.
        setupClient: (client) => {
          const shift = (clients++ * 37) % requests.length;
          client.setRequests([...requests.slice(shift), ...requests.slice(0, shift)].map((r) => ({ ...r, headers: { ...r.headers } })));
        },
      };
      await cannon({ ...base, duration: WARM_UP_SECONDS });
      const closed = await measured(server, () => cannon({ ...base, duration: CLOSED_LOOP_SECONDS }));
      const burst = await cannon({ ...base, duration: AUTOCANNON_RATE_SECONDS, overallRate: OPEN_LOOP_RATE });
      const paced = await measured(server, () => runOpenLoop({
        url: server.url, path: '/oauth2/token', headers: { 'content-type': FORM }, bodies,
        ratePerSecond: OPEN_LOOP_RATE, durationMs: OPEN_LOOP_MS, maxSockets: CONCURRENCY,
      }));
      load = { closed, paced, burst, rawSequential, rawConcurrent };
    } finally {
      await server.stop();
    }
    const failed = load.closed.failed + load.burst.failed + [...load.paced.failures.values()].reduce((a, b) => a + b, 0);
    if (failed > 0.01 * (load.paced.sent + load.closed.perSecond * CLOSED_LOOP_SECONDS)) {
      throw new Error(`more than 1 % of exchanges failed (closed loop: ${load.closed.failures}; paced: ${JSON.stringify([...load.paced.failures])})`);
    }

    const verifier = await measureVerifier({ coldTokens: 10_000, warmSetSize: 1_000, warmMs: 2_000 });
    const propagation = await measureRevocationPropagation({
      database: await target.fresh(), issuer, publicUrl, rounds: PROPAGATION_ROUNDS, people: 10,
    });

    const { closed, paced, burst } = load;
    const pacedLatency = summarise(paced.latencyMs);
    const pacedFromDue = summarise(paced.fromDueMs);
    const ratio = closed.perSecond / load.rawSequential;
    const pacedFailures = [...paced.failures].map(([what, n]) => `${n}× ${what}`).join(', ') || 'none';

    out(`# Token service benchmark — ${new Date().toISOString()}`);
    out();
    out(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}. Database: ${target.label}.`);
    out(`Token service: its own process (\`startTokenService\`, LOG_LEVEL ${logLevel}, log lines to /dev/null), seeded through the REST API ` +
      `in ${fmt(server.seedMs / 1000)} s with ${PEOPLE} people in one team holding an allow grant on one tool. Load generator in this process ` +
      `(autocannon; the evenly paced loop on node:http), ${PEOPLE} RS256 ServiceAccount tokens, one per assistant, in turn; audience mcp-gateway.`);
    out();
    out('## Against the targets');
    out();
    out('| figure | measured | target | |');
    out('|---|---|---|---|');
    out(`| token exchanges/s over HTTP, ${CONCURRENCY} concurrent (closed loop, ${CLOSED_LOOP_SECONDS} s) | ${fmtInt(closed.perSecond)}/s, p50 ${ms(closed.latency.p50)} ms, p99 ${ms(closed.latency.p99)} ms | | |`);
    out(`| raw jose limit, one thread (1 RS256 verify + 1 ES256 sign, one at a time) | ${fmtInt(load.rawSequential)}/s | | |`);
    out(`| exchanges ÷ raw jose limit | ${fmt(ratio * 100, 0)} % | ≥ ${TARGETS.ratio * 100} % | ${verdict(ratio >= TARGETS.ratio)} |`);
    out(`| p99 at ${fmtInt(OPEN_LOOP_RATE)} exchanges/s (evenly paced, timed from when each request was due) | ${ms(pacedFromDue.p99)} ms (p50 ${ms(pacedFromDue.p50)} ms; achieved ${fmtInt(paced.achievedPerSecond)}/s) | ≤ ${TARGETS.p99AtRateMs} ms | ${verdict(pacedFromDue.p99 <= TARGETS.p99AtRateMs)} |`);
    out(`| verifier, warm (cache hit) | ${fmtInt(verifier.warmPerSecond)}/s | ≥ ${fmtInt(TARGETS.warmPerSecond)}/s | ${verdict(verifier.warmPerSecond >= TARGETS.warmPerSecond)} |`);
    out(`| verifier, cold (ES256 signature) | ${fmtInt(verifier.coldPerSecond)}/s | | |`);
    out(`| revocation: revoke answered → every replica refuses, p50 / p99 | ${ms(propagation.answerToRefused.p50)} / ${ms(propagation.answerToRefused.p99)} ms (from the call's start: ${ms(propagation.startToRefused.p50)} / ${ms(propagation.startToRefused.p99)} ms) | p99 ≤ ${TARGETS.propagationP99Ms} ms | ${verdict(propagation.answerToRefused.p99 <= TARGETS.propagationP99Ms)} |`);
    out();
    out('## Token exchange over HTTP');
    out();
    out('| load | exchanges/s | p50 ms | p99 ms | p99.9 ms | max ms | not 2xx |');
    out('|---|---:|---:|---:|---:|---:|---|');
    const loadRow = (name: string, perSecond: number, l: ReturnType<typeof summarise>, failures: string) =>
      out(`| ${name} | ${fmtInt(perSecond)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.p999)} | ${ms(l.max)} | ${failures} |`);
    loadRow(`closed loop, ${CONCURRENCY} connections, ${CLOSED_LOOP_SECONDS} s after ${WARM_UP_SECONDS} s warm-up (autocannon)`, closed.perSecond, closed.latency, closed.failures);
    loadRow(`${fmtInt(OPEN_LOOP_RATE)}/s evenly paced, ${OPEN_LOOP_MS / 1000} s, timed from the write`, paced.achievedPerSecond, pacedLatency, pacedFailures);
    loadRow(`${fmtInt(OPEN_LOOP_RATE)}/s evenly paced, timed from when due`, paced.achievedPerSecond, pacedFromDue, pacedFailures);
    loadRow(`autocannon overallRate ${fmtInt(OPEN_LOOP_RATE)}, ${AUTOCANNON_RATE_SECONDS} s (per-second bursts)`, burst.perSecond, burst.latency, burst.failures);
    out();
    out();
    out('Where the CPU went (the machine has ' + String(os.cpus().length) + ' cores):');
    out();
    out('| load | token service, cores | its event loop busy | its loop delay p99 / max ms | load generator, cores | everything else, cores |');
    out('|---|---:|---:|---:|---:|---:|');
    const cpuRow = (name: string, w: Window) => out(`| ${name} | ${fmt(w.serverCores, 2)} | ${fmt(w.serverLoopBusy * 100, 0)} % | ` +
      `${ms(w.serverDelayMs.p99)} / ${ms(w.serverDelayMs.max)} | ${fmt(w.generatorCores, 2)} | ${w.otherCores === undefined ? 'n/a' : fmt(w.otherCores, 2)} |`);
    cpuRow(`closed loop, ${CONCURRENCY} connections`, load.closed.window);
    cpuRow(`${fmtInt(OPEN_LOOP_RATE)}/s evenly paced`, load.paced.window);
    out();
    out(`- Raw jose in this process: ${fmtInt(load.rawSequential)}/s one at a time, ${fmtInt(load.rawConcurrent)}/s with ${CONCURRENCY} in flight ` +
      `(Node's WebCrypto signs and verifies on the libuv threadpool, so concurrent calls spread over the cores). ` +
      `Exchanges ÷ the concurrent figure: ${fmt((closed.perSecond / load.rawConcurrent) * 100, 0)} %.`);
    out(`- autocannon's own p99 for the overallRate run, corrected for coordinated omission at whole-millisecond resolution: ${fmt(burst.correctedP99, 0)} ms.`);
    out();
    out('## Access-token verifier (in process, one thread, local JWKS, constant epoch)');
    out();
    out('| path | verifies/s |');
    out('|---|---:|');
    out(`| cold: ${fmtInt(verifier.coldTokens)} distinct tokens, each verified once (ES256 signature, claims, epoch) | ${fmtInt(verifier.coldPerSecond)} |`);
    out(`| warm: one token again and again (cache hit, epoch checked each time) | ${fmtInt(verifier.warmPerSecond)} |`);
    out(`| warm: ${fmtInt(verifier.warmSetSize)} distinct cached tokens in turn | ${fmtInt(verifier.warmSetPerSecond)} |`);
    out();
    out(`## Revocation propagation (${target.label}${target.kind === 'pglite' ? ', one shared connection' : ', each replica on its own connection pool'})`);
    out();
    out('| from … to … | p50 ms | p99 ms | max ms |');
    out('|---|---:|---:|---:|');
    const row = (name: string, s: ReturnType<typeof summarise>) => out(`| ${name} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} |`);
    row('the revoke call: start → answer', propagation.call);
    row('start → its transaction committed', propagation.toCommit);
    row('commit → answer (its own apply, then every replica\'s acknowledgement)', propagation.commitToAnswer);
    row('commit → each resource-server replica holds the new epoch', propagation.commitToApplied);
    row('answer → both replicas refuse the older token (polled from the answer)', propagation.answerToRefused);
    row('start → both replicas refuse the older token', propagation.startToRefused);
    out();
    out(`- ${propagation.rounds} revokes after 5 warm-up rounds, against a control plane in this process (inject, no socket) and two resource-server ` +
      `replicas (epoch feed + verifier, each token cached before the revoke); each revoke waited for the ${propagation.replicasRegistered} registered replicas.`);
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
