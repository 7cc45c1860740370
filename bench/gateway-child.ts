// The child side of the gateway benchmark's processes (bench/gateway-upstream.ts, bench/gateway-server.ts):
// over IPC, `ready` once serving, then a `usage` reading whenever the parent asks (CPU time and
// event-loop utilisation so far; event-loop delay, GC pauses and request times since the last reading),
// and a clean stop when told to or when the parent goes away. The same readings as bench/token-server.ts.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createHistogram, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

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

function send<Ready>(message: ChildMessage<Ready>): void {
  if (!process.send) throw new Error('this benchmark process runs as a child of bench/gateway.ts (it needs an IPC channel)');
  process.send(message);
}

/** Reports on `server` to the parent until told to stop; `close` stops whatever the process serves. */
export function serveParent<Ready>(server: Server, ready: Ready, close: () => Promise<void>): void {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let gc = { pauses: 0, totalMs: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc = { pauses: gc.pauses + 1, totalMs: gc.totalMs + entry.duration, maxMs: Math.max(gc.maxMs, entry.duration) };
    }
  }).observe({ entryTypes: ['gc'] });
  // From the server reading a request to handing the whole answer to the socket.
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
      process.stderr.write(`benchmark child: stopping failed: ${String(err)}\n`);
      process.exit(1);
    });
  };
  process.on('message', (command: ChildCommand) => {
    if (command.kind === 'stop') stop();
    else send(reading());
  });
  process.on('disconnect', stop);
  send<Ready>({ kind: 'ready', ready });
}
