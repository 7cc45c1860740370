import { describe, expect, it } from 'vitest';
import { createWorkQueue } from './work-queue.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('work queue', () => {
  it('a key added many times while waiting runs once', async () => {
    const queue = createWorkQueue({ concurrency: 1 });
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) queue.add('a');
    queue.add('b');
    queue.start((key) => { seen.push(key); return Promise.resolve(); });
    await queue.idle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('a key added while it runs runs again afterwards, never twice at once', async () => {
    const queue = createWorkQueue({ concurrency: 4 });
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    let release!: () => void;
    const firstRun = new Promise<void>((resolve) => { release = resolve; });
    queue.start(async () => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      runs++;
      if (runs === 1) await firstRun;
      concurrent--;
    });
    queue.add('a');
    await tick();
    queue.add('a');
    queue.add('a');
    await tick();
    expect(runs).toBe(1);
    release();
    await queue.idle();
    expect(runs).toBe(2);
    expect(maxConcurrent).toBe(1);
  });

  it('a failing key is retried with a growing delay until it succeeds', async () => {
    const errors: number[] = [];
    const queue = createWorkQueue({ concurrency: 1, baseDelayMs: 5, onError: (_key, failures) => errors.push(failures) });
    const times: number[] = [];
    queue.start(() => {
      times.push(performance.now());
      return times.length < 3 ? Promise.reject(new Error('not yet')) : Promise.resolve();
    });
    queue.add('a');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await queue.idle();
    expect(times).toHaveLength(3);
    expect(errors).toEqual([1, 2]);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(times[1]! - times[0]! - 1);
  });

  it('workers run different keys concurrently up to the limit', async () => {
    const queue = createWorkQueue({ concurrency: 3 });
    let concurrent = 0;
    let maxConcurrent = 0;
    queue.start(async () => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((resolve) => setTimeout(resolve, 5));
      concurrent--;
    });
    for (let i = 0; i < 10; i++) queue.add(`k${i}`);
    expect(queue.depth()).toBe(7);
    await queue.idle();
    expect(maxConcurrent).toBe(3);
  });

  it('a stopped queue takes no more keys and waits for the running one', async () => {
    const queue = createWorkQueue({ concurrency: 1 });
    let finished = 0;
    queue.start(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      finished++;
    });
    queue.add('a');
    queue.add('b');
    await tick();
    await queue.stop();
    queue.add('c');
    expect(finished).toBe(1);
    expect(queue.depth()).toBe(0);
  });
});
