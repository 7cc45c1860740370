// A keyed work queue in the manner of client-go's: a key waits at most once however often it is added;
// a key added while it is being worked on runs again afterwards, never twice at the same time; a
// failed key comes back after an exponential backoff. Workers take keys in the order they were added.

export interface WorkQueueOptions {
  concurrency: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called with the key, its consecutive failures so far and the error. */
  onError?: (key: string, failures: number, err: unknown) => void;
}

export interface WorkQueue {
  add(key: string): void;
  /** Adds after a delay (a retry, or a requeue the work asked for). */
  addAfter(key: string, delayMs: number): void;
  /** Keys waiting, not counting the ones being worked on. */
  depth(): number;
  /** Starts the workers; `work` runs for one key at a time per worker. */
  start(work: (key: string) => Promise<void>): void;
  /** Stops taking keys; resolves when the running ones have finished. */
  stop(): Promise<void>;
  /** Resolves when nothing waits, runs or is scheduled. */
  idle(): Promise<void>;
}

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const baseDelay = options.baseDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 60_000;
  const waiting = new Set<string>();
  const running = new Set<string>();
  const dirtyWhileRunning = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  let work: ((key: string) => Promise<void>) | undefined;
  let stopped = false;
  let active = 0;
  let idleWaiters: (() => void)[] = [];

  const isIdle = () => waiting.size === 0 && running.size === 0 && timers.size === 0;
  const notifyIdle = () => {
    if (!isIdle()) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  function pump(): void {
    if (!work || stopped) return;
    while (active < options.concurrency) {
      const key = next();
      if (key === undefined) break;
      active++;
      running.add(key);
      void run(key);
    }
  }

  function next(): string | undefined {
    for (const key of waiting) {
      if (running.has(key)) continue;
      waiting.delete(key);
      return key;
    }
    return undefined;
  }

  async function run(key: string): Promise<void> {
    try {
      await work!(key);
      failures.delete(key);
    } catch (err) {
      const count = (failures.get(key) ?? 0) + 1;
      failures.set(key, count);
      options.onError?.(key, count, err);
      if (!stopped) queue.addAfter(key, Math.min(maxDelay, baseDelay * 2 ** (count - 1)));
    } finally {
      running.delete(key);
      active--;
      if (dirtyWhileRunning.delete(key)) waiting.add(key);
      pump();
      notifyIdle();
    }
  }

  const queue: WorkQueue = {
    add(key) {
      if (stopped) return;
      if (running.has(key)) { dirtyWhileRunning.add(key); return; }
      waiting.add(key);
      pump();
    },
    addAfter(key, delayMs) {
      if (stopped || timers.has(key)) return;
      timers.set(key, setTimeout(() => {
        timers.delete(key);
        queue.add(key);
        notifyIdle();
      }, delayMs));
    },
    depth: () => waiting.size,
    start(fn) {
      work = fn;
      pump();
    },
    async stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      waiting.clear();
      dirtyWhileRunning.clear();
      while (running.size > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      notifyIdle();
    },
    idle: () => (isIdle() ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
  };
  return queue;
}
