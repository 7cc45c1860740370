// Tool-call arguments in audit rows, when an operator asks for them (OPENCRANE_MCP_AUDIT_ARGUMENTS=
// redacted): the shape is kept, values under secret-looking keys are masked, long strings are cut,
// and the whole is bounded, so an audit row never becomes a copy of what the assistant sent.
const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authori[sz]ation|credential|cookie|private|session/i;
const MAX_STRING = 200;
const MAX_KEYS = 50;
const MAX_DEPTH = 5;

export function redactArguments(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.slice(0, MAX_KEYS).map((v) => redactArguments(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value).slice(0, MAX_KEYS)) {
    out[key] = SECRET_KEY.test(key) ? '[redacted]' : redactArguments(v, depth + 1);
  }
  return out;
}
