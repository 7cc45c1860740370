// The control plane's few web pages share one layout: server-rendered HTML, escaped by construction,
// no third-party scripts, and a strict Content-Security-Policy; a page's inline script runs only with
// the response's nonce.
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A fragment of HTML that is already safe. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Tagged template: interpolated strings are escaped, SafeHtml fragments (and arrays of them) are not. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const render = (v: unknown): string => {
      if (v instanceof SafeHtml) return v.value;
      if (Array.isArray(v)) return v.map(render).join('');
      if (v === null || v === undefined || v === false) return '';
      return escapeHtml(typeof v === 'string' ? v : JSON.stringify(v));
    };
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

const STYLE = `
  :root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6475; --bg: #f6f7f9; --card: #fff; --accent: #2456d3; --warn: #8a4b00; --warn-bg: #fff3d6; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #9aa3b2; --bg: #12151b; --card: #1b1f27; --accent: #7aa2ff; --warn: #ffd27a; --warn-bg: #3a2c0c; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 16px 24px; display: flex; justify-content: space-between; align-items: center; }
  header .brand { font-weight: 700; letter-spacing: .02em; }
  main { max-width: 560px; margin: 8vh auto; padding: 0 16px; }
  .card { background: var(--card); border-radius: 12px; padding: 28px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  h1 { font-size: 1.4rem; margin: 0 0 8px; }
  p { margin: 8px 0; } .muted { color: var(--muted); }
  .button { display: inline-block; border: 0; border-radius: 8px; padding: 10px 18px; font: inherit; font-weight: 600; cursor: pointer; background: var(--accent); color: #fff; text-decoration: none; }
  .button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
  .button[disabled] { opacity: .5; cursor: default; }
  .dev { background: var(--warn-bg); color: var(--warn); padding: 8px 24px; font-size: .9rem; text-align: center; }
  .status { display: inline-block; padding: 2px 10px; border-radius: 999px; border: 1px solid var(--muted); font-size: .85rem; }
  .error { color: #c0392b; } input { font: inherit; padding: 8px 10px; border-radius: 8px; border: 1px solid var(--muted); background: transparent; color: inherit; }
  code { font-size: 1.1rem; letter-spacing: .12em; }
`;

export interface PageOptions {
  title: string;
  body: SafeHtml;
  /** Shown on every page while the development identity provider is in use. */
  developmentIdentityProvider: boolean;
  /** Inline module script for this page; allowed by a per-response CSP nonce. */
  script?: string;
  signedIn?: { displayName: string } | null;
}

export function sendPage(reply: FastifyReply, options: PageOptions, status = 200): FastifyReply {
  const nonce = randomBytes(16).toString('base64');
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · OpenCrane</title><style nonce="${nonce}">${new SafeHtml(STYLE)}</style></head>
<body>
${options.developmentIdentityProvider ? html`<div class="dev" role="note">Development identity provider — for trying OpenCrane only, never for production.</div>` : ''}
<header><span class="brand">OpenCrane</span>${options.signedIn ? html`<span class="muted">${options.signedIn.displayName} · <a href="/auth/logout" id="logout">Sign out</a></span>` : ''}</header>
<main>${options.body}</main>
${options.script ? html`<script type="module" nonce="${nonce}">${new SafeHtml(options.script)}</script>` : ''}
</body></html>`;
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy',
      `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`)
    .send(page.value);
}
