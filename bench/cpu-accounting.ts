// Where the machine's CPU went while a figure was measured: the token service process, this process
// (the load generator, or the code under test), other processes (the database, anyone else's), and
// what the hypervisor took (steal). On a shared 2-core virtual machine a figure means little without
// the last two.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** Cumulative readings a process reports about itself. */
export interface ProcessUsage {
  cpuMicros: number;
  loopActive: number;
  loopIdle: number;
  /** performance.now() in the benchmark's process when the reading arrived. */
  at: number;
  /** Event-loop delay since the previous reading. */
  delayMs: { p99: number; max: number };
  /** Garbage-collection pauses since the previous reading. */
  gc: { pauses: number; totalMs: number; maxMs: number };
  /** Requests since the previous reading, from being read to the answer handed to the socket. */
  handlingMs: { count: number; p50: number; p99: number; max: number };
}

export interface CpuWindow {
  /** CPU cores this process used. */
  ownCores: number;
  /** CPU cores everything else used (the token service excluded when it was watched); undefined off Linux. */
  otherCores: number | undefined;
  /** CPU cores the hypervisor took from this virtual machine (steal); undefined off Linux. */
  stolenCores: number | undefined;
  server?: {
    /** CPU cores of the token service process, all its threads. */
    cores: number;
    /** Share of the time its event loop was not waiting for I/O. */
    loopBusy: number;
    delayMs: { p99: number; max: number };
    gc: { pauses: number; totalMs: number; maxMs: number };
    handlingMs: { count: number; p50: number; p99: number; max: number };
  };
  /** This process's event-loop delay (it times the requests it sends). */
  ownDelayMs: { p99: number; max: number };
}

/** CPU ticks of the whole machine from Linux /proc/stat (steal: taken by the hypervisor), or undefined elsewhere. */
function machineTicks(): { busy: number; steal: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq;
    return { busy, steal, total: busy + steal + idle + iowait };
  } catch {
    return undefined;
  }
}

/** Runs `work` and accounts for the machine's CPU meanwhile; `server` is the token service, when it runs. */
export async function measured<T>(
  work: () => Promise<T>, server?: { usage(): Promise<ProcessUsage> },
): Promise<{ value: T; cpu: CpuWindow }> {
  const serverBefore = await server?.usage();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const cpuBefore = process.cpuUsage();
  const ticksBefore = machineTicks();
  const started = performance.now();
  const value = await work();
  const elapsedMs = performance.now() - started;
  delay.disable();
  const ticksAfter = machineTicks();
  const own = process.cpuUsage(cpuBefore);
  const serverAfter = await server?.usage();
  const ownCores = (own.user + own.system) / 1000 / elapsedMs;
  const serverFigures = serverBefore && serverAfter ? {
    cores: (serverAfter.cpuMicros - serverBefore.cpuMicros) / 1000 / (serverAfter.at - serverBefore.at),
    loopBusy: (serverAfter.loopActive - serverBefore.loopActive)
      / ((serverAfter.loopActive + serverAfter.loopIdle) - (serverBefore.loopActive + serverBefore.loopIdle)),
    delayMs: serverAfter.delayMs,
    gc: serverAfter.gc,
    handlingMs: serverAfter.handlingMs,
  } : undefined;
  const share = (pick: (t: { busy: number; steal: number }) => number) => (ticksBefore && ticksAfter && ticksAfter.total > ticksBefore.total
    ? ((pick(ticksAfter) - pick(ticksBefore)) / (ticksAfter.total - ticksBefore.total)) * os.cpus().length : undefined);
  const machineCores = share((t) => t.busy);
  return {
    value,
    cpu: {
      ownCores,
      ownDelayMs: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
      otherCores: machineCores === undefined ? undefined : Math.max(0, machineCores - ownCores - (serverFigures?.cores ?? 0)),
      stolenCores: share((t) => t.steal),
      ...(serverFigures ? { server: serverFigures } : {}),
    },
  };
}
