// Where the machine's CPU went while a figure was measured: the token service process, this process
// (the load generator, or the code under test), and everything else (the database, other people's
// processes). On a shared 2-core machine a figure means little without the last column.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** Cumulative readings a process reports about itself. */
export interface ProcessUsage {
  cpuMicros: number;
  loopActive: number;
  loopIdle: number;
  /** performance.now() in the benchmark's process when the reading arrived. */
  at: number;
  /** Event-loop delay since the previous reading. */
  delayMs: { p99: number; max: number };
}

export interface CpuWindow {
  /** CPU cores this process used. */
  ownCores: number;
  /** CPU cores everything else used (the token service excluded when it was watched); undefined off Linux. */
  otherCores: number | undefined;
  server?: {
    /** CPU cores of the token service process, all its threads. */
    cores: number;
    /** Share of the time its event loop was not waiting for I/O. */
    loopBusy: number;
    delayMs: { p99: number; max: number };
  };
}

/** Busy and total CPU ticks of the whole machine (Linux /proc/stat; steal counts as busy), or undefined elsewhere. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

/** Runs `work` and accounts for the machine's CPU meanwhile; `server` is the token service, when it runs. */
export async function measured<T>(
  work: () => Promise<T>, server?: { usage(): Promise<ProcessUsage> },
): Promise<{ value: T; cpu: CpuWindow }> {
  const serverBefore = await server?.usage();
  const cpuBefore = process.cpuUsage();
  const ticksBefore = machineTicks();
  const started = performance.now();
  const value = await work();
  const elapsedMs = performance.now() - started;
  const ticksAfter = machineTicks();
  const own = process.cpuUsage(cpuBefore);
  const serverAfter = await server?.usage();
  const ownCores = (own.user + own.system) / 1000 / elapsedMs;
  const serverFigures = serverBefore && serverAfter ? {
    cores: (serverAfter.cpuMicros - serverBefore.cpuMicros) / 1000 / (serverAfter.at - serverBefore.at),
    loopBusy: (serverAfter.loopActive - serverBefore.loopActive)
      / ((serverAfter.loopActive + serverAfter.loopIdle) - (serverBefore.loopActive + serverBefore.loopIdle)),
    delayMs: serverAfter.delayMs,
  } : undefined;
  const machineCores = ticksBefore && ticksAfter && ticksAfter.total > ticksBefore.total
    ? ((ticksAfter.busy - ticksBefore.busy) / (ticksAfter.total - ticksBefore.total)) * os.cpus().length : undefined;
  return {
    value,
    cpu: {
      ownCores,
      otherCores: machineCores === undefined ? undefined : Math.max(0, machineCores - ownCores - (serverFigures?.cores ?? 0)),
      ...(serverFigures ? { server: serverFigures } : {}),
    },
  };
}
