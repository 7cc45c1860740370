// Requests at a fixed arrival rate, evenly spaced, whatever the answers do (an open loop). autocannon's
// `overallRate` is a per-connection budget per second: each connection sends its share back to back at
// the start of every second and then waits, so the server sees bursts at full concurrency, not a rate.
// This sends request i at start + i / rate on a keep-alive pool and times each one both from when it was
// written and from when it was due. With sockets to spare, a stall of the server does not delay the
// writes, so it shows up in the figures from the write; the figures from when due add this sender's own
// lateness (setTimeout fires on whole milliseconds, and this process pauses too).
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const REQUEST_TIMEOUT_MS = 10_000;

export interface OpenLoopOptions {
  url: string;
  path: string;
  headers: Record<string, string>;
  bodies: string[];
  ratePerSecond: number;
  durationMs: number;
  /** Sockets in the pool; a request beyond them waits for one, and only the figures from when it was due count that wait. */
  maxSockets: number;
}

export interface OpenLoopResult {
  sent: number;
  ok: number;
  /** Status codes other than 2xx, and transport errors, by what happened. */
  failures: Map<string, number>;
  /** From writing the request to the end of the answer, ms, for every 2xx. */
  latencyMs: number[];
  /** From when the request was due to the end of the answer, ms, for every 2xx. */
  fromDueMs: number[];
  /** From when the request was due to its write: this sender's own lateness (timer granularity, its own pauses). */
  lateMs: number[];
  /** Requests answered per second over the whole run, last answer included. */
  achievedPerSecond: number;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { hostname, port } = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const total = Math.round((options.ratePerSecond * options.durationMs) / 1000);
  const intervalMs = 1000 / options.ratePerSecond;
  const result: OpenLoopResult = { sent: 0, ok: 0, failures: new Map(), latencyMs: [], fromDueMs: [], lateMs: [], achievedPerSecond: 0 };
  const fail = (what: string) => result.failures.set(what, (result.failures.get(what) ?? 0) + 1);
  const inFlight = new Set<Promise<void>>();

  const send = (index: number, due: number) => {
    const body = options.bodies[index % options.bodies.length]!;
    const work = new Promise<void>((resolve) => {
      let written = due;
      const request = http.request({
        host: hostname, port, method: 'POST', path: options.path, agent,
        headers: { ...options.headers, 'content-length': Buffer.byteLength(body) },
      }, (response) => {
        response.resume();
        response.on('end', () => {
          const end = performance.now();
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            result.ok++;
            result.latencyMs.push(end - written);
            result.fromDueMs.push(end - due);
            result.lateMs.push(written - due);
          } else {
            fail(`HTTP ${status}`);
          }
          resolve();
        });
      });
      request.on('socket', () => { written = performance.now(); });
      request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(new Error('no answer within 10 s')));
      request.on('error', (err) => {
        fail(err.message);
        resolve();
      });
      request.end(body);
    });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    result.sent++;
  };

  const start = performance.now();
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        send(next, start + next * intervalMs);
        next++;
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  result.achievedPerSecond = result.ok / ((performance.now() - start) / 1000);
  agent.destroy();
  return result;
}
