// The child processes of the benchmarks (bench/gateway.ts: gateway-upstream.ts and gateway-server.ts;
// bench/tokens.ts: token-server.ts), both sides of them. The benchmark's side, `startChild`: starts one
// (node --import tsx) with a clean environment, waits until it serves, asks it how busy it has been,
// and stops it. The child's side, `serveParent`: over IPC, `ready` once serving, then a `usage` reading
// whenever the parent asks (CPU time and event-loop utilisation so far; event-loop delay, GC pauses and
// request times since the last reading), and a clean stop when told to or when the parent goes away.
import { spawn } from 'node:child_process';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createHistogram, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ProcessUsage } from './cpu-accounting.ts';

export interface UsageMessage {
  kind: 'usage';
  cpu: NodeJS.CpuUsage;
  elu: { idle: number; active: number };
  delayMs: { p99: number; max: number };
  gc: { pauses: number; totalMs: number; maxMs: number };
  handlingMs: { count: number; p50: number; p99: number; max: number };
}

export type ChildMessage<Ready> = { kind: 'ready'; ready: Ready } | UsageMessage;
export type ChildCommand = { kind: 'usage' } | { kind: 'stop' };

export interface BenchChild<Ready> {
  ready: Ready;
  usage(): Promise<ProcessUsage>;
  stop(): Promise<void>;
}

/** Runs `script` (next to this file) with `env` as its whole environment, beside PATH and HOME. */
export async function startChild<Ready>(name: string, script: string, env: Record<string, string>): Promise<BenchChild<Ready>> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))], {
    env: { PATH: process.env.PATH ?? '', ...(process.env.HOME ? { HOME: process.env.HOME } : {}), ...env },
    // Log lines go nowhere, as they would to a collector; errors show.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const usageWaiters: ((usage: ProcessUsage) => void)[] = [];
  const ready = new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${name} did not start within 120 s`)), 120_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the ${name} exited with code ${code} before it was ready`));
    });
    child.on('message', (message: ChildMessage<Ready>) => {
      if (message.kind === 'ready') {
        clearTimeout(timer);
        resolve(message.ready);
      } else {
        usageWaiters.shift()?.({
          cpuMicros: message.cpu.user + message.cpu.system, loopActive: message.elu.active, loopIdle: message.elu.idle,
          at: performance.now(), delayMs: message.delayMs, gc: message.gc, handlingMs: message.handlingMs,
        });
      }
    });
  });
  const command = (c: ChildCommand) => child.send(c);
  try {
    return {
      ready: await ready,
      usage: () => new Promise((resolve) => {
        usageWaiters.push(resolve);
        command({ kind: 'usage' });
      }),
      async stop() {
        if (child.connected) command({ kind: 'stop' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** How a child names itself in its errors. */
export interface ChildNames {
  /** What runs as a child of `parent`, said when there is no IPC channel. */
  self: string;
  /** The benchmark that starts it. */
  parent: string;
  /** Before `: stopping failed`. */
  stopping: string;
}

/**
 * Reports on `server` to the parent until told to stop; `close` stops whatever the process serves.
 * Call it once `server` listens.
 */
export function serveParent<Ready>(server: Server, ready: Ready, close: () => Promise<void>, names: ChildNames): void {
  const send = (message: ChildMessage<Ready>): void => {
    if (!process.send) throw new Error(`${names.self} runs as a child of ${names.parent} (it needs an IPC channel)`);
    process.send(message);
  };
  // Since the last `usage`: event-loop delay and garbage-collection pauses (a stall there is every
  // waiting request's latency), and how long requests took from the server reading them to handing
  // the answer to the socket (what the load generator sees, less the network and the queue before).
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let gc = { pauses: 0, totalMs: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc = { pauses: gc.pauses + 1, totalMs: gc.totalMs + entry.duration, maxMs: Math.max(gc.maxMs, entry.duration) };
    }
  }).observe({ entryTypes: ['gc'] });
  const handlingMicros = createHistogram();
  server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    const readAt = performance.now();
    response.once('finish', () => handlingMicros.record(Math.max(1, Math.round((performance.now() - readAt) * 1000))));
  });
  const reading = (): UsageMessage => {
    const { idle, active } = performance.eventLoopUtilization();
    const message: UsageMessage = {
      kind: 'usage', cpu: process.cpuUsage(), elu: { idle, active },
      delayMs: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 }, gc,
      handlingMs: {
        count: handlingMicros.count, p50: handlingMicros.percentile(50) / 1000, p99: handlingMicros.percentile(99) / 1000, max: handlingMicros.max / 1000,
      },
    };
    delay.reset();
    handlingMicros.reset();
    gc = { pauses: 0, totalMs: 0, maxMs: 0 };
    return message;
  };
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    close().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`${names.stopping}: stopping failed: ${String(err)}\n`);
      process.exit(1);
    });
  };
  process.on('message', (command: ChildCommand) => {
    if (command.kind === 'stop') stop();
    else send(reading());
  });
  process.on('disconnect', stop);
  send({ kind: 'ready', ready });
}
