// Small building blocks: a screen frame with its key line, a spinner line, and a filterable picker.
import { useRef, useState, type ReactNode } from 'react';
import { Box, Text, useInput } from 'ink';
import { Spinner } from '@inkjs/ui';
import { keyLine } from './keybindings.ts';
import type { Theme } from './theme.ts';
import type { Option } from './hooks.ts';

export const VISIBLE_ROWS = 12;

export function Frame({ title, keys, theme, children }: { title: string; keys: readonly (readonly [string, string])[]; theme: Theme; children: ReactNode }) {
  return (
    <Box flexDirection="column" width={80}>
      <Text bold color={theme.accent}>OpenCrane · {title}</Text>
      <Box flexDirection="column" marginY={1}>{children}</Box>
      <Text dimColor={theme.dim}>{keyLine(keys)}</Text>
    </Box>
  );
}

export function Waiting({ what }: { what: string }) {
  return <Spinner label={what} />;
}

export function Failure({ message, theme }: { message: string; theme: Theme }) {
  return <Text color={theme.bad}>Error: {message}</Text>;
}

/** A list to choose from: typing filters it, arrows move, enter chooses, esc goes back. */
export function Picker({ options, onChoose, onBack, theme, prompt }: {
  options: Option[]; onChoose: (option: Option) => void; onBack: () => void; theme: Theme; prompt: string;
}) {
  const [view, setView] = useState({ filter: '', index: 0 });
  // Keys can arrive faster than React re-renders: the handler works on the latest state in a ref, so a
  // fast "down, enter" chooses the row the down arrow moved to.
  const latest = useRef(view);
  latest.current = view;
  const visible = (filter: string) => options.filter((o) => `${o.label} ${o.detail ?? ''}`.toLowerCase().includes(filter.toLowerCase()));
  const update = (next: { filter: string; index: number }) => { latest.current = next; setView(next); };
  useInput((input, key) => {
    const { filter, index } = latest.current;
    const matching = visible(filter);
    const current = Math.min(index, Math.max(0, matching.length - 1));
    if (key.escape) onBack();
    else if (key.upArrow) update({ filter, index: Math.max(0, current - 1) });
    else if (key.downArrow) update({ filter, index: Math.min(matching.length - 1, current + 1) });
    else if (key.return) { const choice = matching[current]; if (choice) onChoose(choice); }
    else if (key.backspace || key.delete) update({ filter: filter.slice(0, -1), index: 0 });
    else if (input && !key.ctrl && !key.meta) update({ filter: filter + input, index: 0 });
  });
  const { filter } = view;
  const shown = visible(filter);
  const selected = Math.min(view.index, Math.max(0, shown.length - 1));
  const start = Math.max(0, Math.min(selected - VISIBLE_ROWS + 1, shown.length - VISIBLE_ROWS));
  return (
    <Box flexDirection="column">
      <Text>{prompt} <Text color={theme.accent}>{filter}</Text><Text dimColor={theme.dim}>{filter ? '' : '(type to filter)'}</Text></Text>
      {shown.length === 0 ? <Text dimColor={theme.dim}>Nothing matches.</Text> : null}
      {shown.slice(start, start + VISIBLE_ROWS).map((o, i) => (
        <Text key={o.id} wrap="truncate" color={start + i === selected ? theme.accent : undefined}>
          {start + i === selected ? '›' : ' '} {o.label}{o.detail ? `  ${o.detail}` : ''}
        </Text>
      ))}
    </Box>
  );
}
