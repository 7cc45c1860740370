// What `oc` tells a person when something fails: one sentence that says what happened and what to do
// next, and an exit code scripts can rely on. Stack traces only with --debug.

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** Not signed in, the token expired or was revoked, or the role may not do this. */
  auth: 3,
  notFound: 4,
  /** The API refused the input (400, 409, 422). */
  refused: 5,
  /** `oc access why`: the person may not. */
  denied: 6,
} as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(message: string, readonly exitCode: number = EXIT.failure, readonly hint?: string) {
    super(message);
  }
}

interface Problem { status?: number; title?: string; detail?: string; code?: string; errors?: { field: string; message: string }[] }

/** A problem+json answer (RFC 9457) as a sentence with a next step. */
export function problemToError(status: number, body: unknown, what: string): CliError {
  const problem = (body && typeof body === 'object' ? body : {}) as Problem;
  const detail = problem.detail ?? problem.title ?? `HTTP ${status}`;
  const fields = (problem.errors ?? []).map((e) => `${e.field.replace(/^(body|querystring|params)\/?/, '') || 'request'} ${e.message}`);
  const sentence = `${what} failed: ${detail}${fields.length ? ` (${fields.join('; ')})` : ''}.`;
  if (status === 401) return new CliError(sentence, EXIT.auth, 'Sign in again with `oc login`, or pass a valid token with --token or OPENCRANE_TOKEN.');
  if (status === 403) return new CliError(sentence, EXIT.auth, 'Your role may not do this; ask an OpenCrane admin.');
  if (status === 404) return new CliError(sentence, EXIT.notFound, 'Check the name or id; list them with the matching `oc … list`.');
  if (status === 400 || status === 409 || status === 422) return new CliError(sentence, EXIT.refused, 'Fix the input and try again; `--help` shows examples.');
  if (status === 429) return new CliError(sentence, EXIT.failure, 'Wait a moment and try again.');
  return new CliError(sentence, EXIT.failure, 'The control plane could not do it now; try again, and tell your admin if it persists.');
}
