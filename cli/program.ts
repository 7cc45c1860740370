// `oc`: the command tree (commander) and the one place that turns failures into a sentence and an
// exit code. Everything here goes through the REST API; nothing touches the database.
import { Command, CommanderError, Option } from 'commander';
import { registerAccessCommands } from './commands/access.ts';
import { registerDirectoryCommands } from './commands/directory.ts';
import { registerResourceCommands } from './commands/resources.ts';
import { registerSessionCommands } from './commands/session.ts';
import type { CliIo } from './context.ts';
import { CliError, EXIT } from './errors.ts';

export function buildProgram(io: CliIo): Command {
  const program = new Command('oc')
    .description('OpenCrane: who may reach which tools, skills and knowledge, from the command line. Run `oc` alone in a terminal for the interactive view.')
    .version('0.1.0')
    .option('--url <url>', 'the control plane (or OPENCRANE_URL, or the current context)')
    .option('--token <token>', 'an API token (or OPENCRANE_TOKEN); prefer `oc login`')
    .option('--context <name>', 'a saved context instead of the current one (or OPENCRANE_CONTEXT)')
    .addOption(new Option('-o, --output <format>', 'table for people, json or yaml for scripts').choices(['table', 'json', 'yaml']).default('table'))
    .option('--debug', 'show the full error, with its stack trace')
    .showHelpAfterError('(add --help for usage and examples)')
    .configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text), outputError: (text, write) => write(text) })
    .exitOverride();
  registerSessionCommands(program, io);
  registerDirectoryCommands(program, io);
  registerResourceCommands(program, io);
  registerAccessCommands(program, io);
  for (const command of allCommands(program)) command.exitOverride().configureOutput(program.configureOutput());
  return program;
}

export function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** Runs `oc` with these arguments; resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    // No terminal for the interactive view (main.ts checked): show what there is to run.
    io.stdout(program.helpInformation());
    return EXIT.ok;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; a usage mistake has already been printed by commander.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const debug = argv.includes('--debug');
    if (err instanceof CliError) {
      if (err.message) io.stderr(`Error: ${err.message}${err.message.endsWith('.') ? '' : '.'}\n${err.hint ? `${err.hint}\n` : ''}`);
      if (debug && err.stack) io.stderr(`${err.stack}\n`);
      return err.exitCode;
    }
    io.stderr(`Error: ${err instanceof Error ? err.message : String(err)}\n${debug ? '' : 'Run again with --debug for details.\n'}`);
    if (debug && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
    return EXIT.failure;
  }
}
