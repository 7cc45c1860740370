// Starts the interactive view on the terminal, signed in as the current context.
import { render } from 'ink';
import { CommandContext, type CliIo } from '../context.ts';
import { createApiClient } from '../client.ts';
import { CliError, EXIT } from '../errors.ts';
import { App } from './app.tsx';
import { themeFor } from './theme.ts';

export async function runTui(io: CliIo): Promise<number> {
  const ctx = new CommandContext(io, { output: 'table' });
  let api;
  try {
    // Its own client, without the command line's spinner: Ink owns the terminal here.
    const session = await ctx.currentSession();
    if (!session.token) throw new CliError('you are not signed in', EXIT.auth, 'Run `oc login`, or pass an API token with OPENCRANE_TOKEN.');
    api = createApiClient(session, io.env, io.fetch);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr(`Error: ${err.message}.\n${err.hint ? `${err.hint}\n` : ''}`);
      return err.exitCode;
    }
    throw err;
  }
  const instance = render(<App api={api} theme={themeFor(io.env)} quit={() => instance.unmount()} />);
  await instance.waitUntilExit();
  return 0;
}
