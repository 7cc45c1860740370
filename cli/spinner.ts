// A spinner on standard error while `oc` waits for the control plane, for people at a terminal only:
// it appears after a short delay (so fast answers do not flicker) and is erased before any output.
import type { Middleware } from 'openapi-fetch';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Spinner { start(label: string): void; stop(): void }

export function createSpinner(write: (text: string) => void, delayMs = 150): Spinner {
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  let shown = false;
  let frame = 0;
  return {
    start(label) {
      pending++;
      if (pending > 1) return;
      timer = setTimeout(function tick() {
        shown = true;
        write(`\r${FRAMES[frame++ % FRAMES.length]} ${label}`);
        timer = setTimeout(tick, 80);
      }, delayMs);
    },
    stop() {
      pending = Math.max(0, pending - 1);
      if (pending > 0) return;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (shown) write('\r\u001B[K');
      shown = false;
    },
  };
}

/** Spins while any API call is in flight. */
export function spinnerMiddleware(spinner: Spinner): Middleware {
  return {
    onRequest({ request }) { spinner.start(`Asking ${new URL(request.url).host}…`); return request; },
    onResponse({ response }) { spinner.stop(); return response; },
    onError() { spinner.stop(); },
  };
}
