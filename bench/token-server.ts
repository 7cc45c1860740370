// The server side of `npm run bench:tokens`, in a child process of its own so the load generator does
// not share its CPU. Configured through the environment like the real service (DATABASE_URL absent means
// an in-memory PGlite). It seeds a small organisation through a control plane's REST API, closes that
// control plane, then serves the token service as its own app (`startTokenService`, as in production)
// and reports to the parent over IPC: `ready` with the assistants, `usage` (CPU time and event-loop
// utilisation so far) when asked, and it stops when told to or when the parent goes away.
import { mkdir, readFile } from 'node:fs/promises';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { createLogger, loadConfig, openDatabase } from '../core/index.ts';
import { createControlPlane } from '../server/control-plane.ts';
import { startTokenService } from '../token-service/app.ts';
import { seedTokenOrganisation, type SeededAssistant } from './token-org.ts';

export type TokenServerMessage =
  | { kind: 'ready'; assistants: SeededAssistant[]; seedMs: number }
  | { kind: 'usage'; cpu: NodeJS.CpuUsage; elu: { idle: number; active: number }; delayMs: { p99: number; max: number } };

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

  // Event-loop delay since the last `usage`: a stall here (GC, a long synchronous step) is every
  // waiting request's latency.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
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
    else {
      const { idle, active } = performance.eventLoopUtilization();
      send({ kind: 'usage', cpu: process.cpuUsage(), elu: { idle, active }, delayMs: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 } });
      delay.reset();
    }
  });
  process.on('disconnect', stop);
  send({ kind: 'ready', assistants, seedMs });
}

main().catch((err: unknown) => {
  process.stderr.write(`token server failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
