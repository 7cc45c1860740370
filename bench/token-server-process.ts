// The benchmark's side of bench/token-server.ts: starts it as a child process (node --import tsx) with a
// clean environment, waits for it to be seeded and listening, asks it how busy it has been, and stops it.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ProcessUsage } from './cpu-accounting.ts';
import type { TokenServerCommand, TokenServerMessage } from './token-server.ts';
import type { SeededAssistant } from './token-org.ts';

export interface TokenServer {
  url: string;
  assistants: SeededAssistant[];
  seedMs: number;
  usage(): Promise<ProcessUsage>;
  stop(): Promise<void>;
}

/** `env` configures the token service as the real one is configured; PORT is where it listens. */
export async function startTokenServer(env: Record<string, string>): Promise<TokenServer> {
  const script = fileURLToPath(new URL('./token-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { PATH: process.env.PATH ?? '', ...(process.env.HOME ? { HOME: process.env.HOME } : {}), ...env },
    // Its log lines go nowhere, as they would to a collector; its errors show.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const usageWaiters: ((usage: ProcessUsage) => void)[] = [];
  const ready = new Promise<Extract<TokenServerMessage, { kind: 'ready' }>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the token server did not start within 120 s')), 120_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the token server exited with code ${code} before it was ready`));
    });
    child.on('message', (message: TokenServerMessage) => {
      if (message.kind === 'ready') {
        clearTimeout(timer);
        resolve(message);
      } else {
        usageWaiters.shift()?.({
          cpuMicros: message.cpu.user + message.cpu.system, loopActive: message.elu.active, loopIdle: message.elu.idle,
          at: performance.now(), delayMs: message.delayMs, gc: message.gc,
          handlingMs: message.handlingMs,
        });
      }
    });
  });
  const command = (c: TokenServerCommand) => child.send(c);
  try {
    const { assistants, seedMs } = await ready;
    return {
      url: `http://127.0.0.1:${env.PORT}`, assistants, seedMs,
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
