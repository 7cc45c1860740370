// The server side of `npm run bench:tokens`, in a child process of its own so the load generator does
// not share its CPU. Configured through the environment like the real service (DATABASE_URL absent means
// an in-memory PGlite). It seeds a small organisation through a control plane's REST API, closes that
// control plane, then serves the token service as its own app (`startTokenService`, as in production)
// and reports to the parent over IPC: `ready` with the assistants, `usage` when asked (CPU time and
// event-loop utilisation so far; event-loop delay, GC pauses and request times since the last one), and
// it stops when told to or when the parent goes away.
import { mkdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHistogram, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import pino from 'pino';
import { createLogger, loadConfig, openDatabase } from '../core/index.ts';
import { createControlPlane } from '../server/control-plane.ts';
import { startTokenService } from '../token-service/app.ts';
import { seedTokenOrganisation, type SeededAssistant } from './token-org.ts';

export type TokenServerMessage =
  | { kind: 'ready'; assistants: SeededAssistant[]; seedMs: number }
  | {
    kind: 'usage'; cpu: NodeJS.CpuUsage; elu: { idle: number; active: number };
    delayMs: { p99: number; max: number }; gc: { pauses: number; totalMs: number; maxMs: number };
    handlingMs: { count: number; p50: number; p99: number; max: number };
  };

export type TokenServerCommand = { kind: 'usage' } | { kind: 'stop' };

function send(message: TokenServerMessage): void {
  if (!process.send) throw new Error('bench/token-server.ts runs as a child of bench/tokens.ts (it needs an IPC channel)');
  process.send(message);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const people = Number(process.env.BENCH_PEOPLE ?? '200');
  await mkdir(config.home, { recursive: true });
  const database = await openDatabase({ url: config.databaseUrl });
  await database.migrate();

  const started = performance.now();
  const plane = await createControlPlane({ config, logger: pino({ level: 'silent' }), database });
  let assistants: SeededAssistant[];
  try {
    const adminToken = (await readFile(config.adminTokenFile, 'utf8')).trim();
    assistants = await seedTokenOrganisation(plane.app, adminToken, people);
  } finally {
    await plane.close();
  }
  const seedMs = performance.now() - started;

  const service = await startTokenService({ config, logger: createLogger(config.logLevel), database });
  await service.app.listen({ host: '127.0.0.1', port: config.port });

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
  service.app.server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    const readAt = performance.now();
    response.once('finish', () => handlingMicros.record(Math.max(1, Math.round((performance.now() - readAt) * 1000))));
  });
  const reading = (): Extract<TokenServerMessage, { kind: 'usage' }> => {
    const { idle, active } = performance.eventLoopUtilization();
    const message = {
      kind: 'usage' as const, cpu: process.cpuUsage(), elu: { idle, active },
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
    service.close().then(() => database.close()).then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`token server: stopping failed: ${String(err)}\n`);
      process.exit(1);
    });
  };
  process.on('message', (command: TokenServerCommand) => {
    if (command.kind === 'stop') stop();
    else send(reading());
  });
  process.on('disconnect', stop);
  send({ kind: 'ready', assistants, seedMs });
}

main().catch((err: unknown) => {
  process.stderr.write(`token server failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
