// The benchmark's side of its child processes (bench/gateway-child.ts): starts one (node --import tsx)
// with a clean environment, waits until it serves, asks it how busy it has been, and stops it.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ProcessUsage } from './cpu-accounting.ts';
import type { ChildCommand, ChildMessage } from './gateway-child.ts';

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
