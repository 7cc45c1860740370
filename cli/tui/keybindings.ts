// Every key the interactive view answers to, in one place; each screen shows its own line of them.
export const KEYS = {
  dashboard: [
    ['p', 'people'], ['a', 'assistants'], ['g', 'grants'], ['n', 'new grant'], ['x', 'access explorer'], ['l', 'live audit'], ['q', 'quit'],
  ],
  list: [['↑/↓', 'move'], ['/', 'filter'], ['esc', 'back']],
  picker: [['↑/↓', 'move'], ['type', 'filter'], ['enter', 'choose'], ['esc', 'back']],
  confirm: [['y', 'create'], ['n', 'cancel']],
  result: [['enter', 'again'], ['esc', 'back']],
  audit: [['esc', 'back']],
} as const satisfies Record<string, readonly (readonly [string, string])[]>;

export const keyLine = (bindings: readonly (readonly [string, string])[]) => bindings.map(([key, what]) => `${key} ${what}`).join('  ·  ');
