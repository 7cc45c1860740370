import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './context.ts';
import { allCommands, buildProgram } from './program.ts';
import { cliReference } from './reference.ts';

describe('the command reference', () => {
  it('docs/cli.md is what the command definitions say (run `npm run cli:docs` if not)', async () => {
    expect(await readFile(new URL('../docs/cli.md', import.meta.url), 'utf8')).toBe(cliReference());
  });

  it('every command that does something shows an example in its --help', () => {
    let out = '';
    const io: CliIo = { stdout: (t) => { out += t; }, stderr: () => undefined, readStdin: () => Promise.resolve(undefined), env: {}, isTTY: false };
    const program = buildProgram(io);
    const missing: string[] = [];
    for (const command of allCommands(program)) {
      if (command.commands.length > 0) continue;
      out = '';
      command.configureOutput({ writeOut: (t) => { out += t; } });
      command.outputHelp();
      if (!/Examples?:\n[\s\S]*\boc /.test(out)) missing.push(command.name());
    }
    expect(missing).toEqual([]);
  });
});
