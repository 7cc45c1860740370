import { describe, expect, it } from 'vitest';
import { createSpinner } from './spinner.ts';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('spinner', () => {
  it('a fast answer shows nothing', async () => {
    let out = '';
    const spinner = createSpinner((t) => { out += t; }, 50);
    spinner.start('Asking…');
    await wait(10);
    spinner.stop();
    await wait(80);
    expect(out).toBe('');
  });

  it('a slow one spins after the delay, and the line is erased when it ends', async () => {
    let out = '';
    const spinner = createSpinner((t) => { out += t; }, 20);
    spinner.start('Asking…');
    await wait(150);
    spinner.stop();
    expect(out).toContain('⠋ Asking…');
    expect(out.endsWith('\r\u001B[K')).toBe(true);
    const length = out.length;
    await wait(100);
    expect(out.length).toBe(length);
  });
});
