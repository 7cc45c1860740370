// Signing in and out, who am I, and named contexts (one per OpenCrane instance).
import type { Command } from 'commander';
import { call, resolveSession } from '../client.ts';
import { contextNameOf, loadCliConfig, saveCliConfig } from '../config-store.ts';
import { CommandContext, type CliIo } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';

interface DeviceAuthorization {
  device_code: string; user_code: string; verification_uri: string; verification_uri_complete?: string; expires_in: number; interval?: number;
}

/** RFC 8628: show the code and the URL, open the browser when possible, poll until the person decides. */
async function deviceLogin(ctx: CommandContext, url: string): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
  const fetchImpl = ctx.io.fetch ?? fetch;
  const form = (fields: Record<string, string>) => ({
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields),
  });
  let started: Response;
  try {
    started = await fetchImpl(`${url}/oauth2/device_authorization`, form({ client_id: 'oc' }));
  } catch (err) {
    throw new CliError(`cannot reach ${url} (${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : String(err)})`, EXIT.failure, 'Check the URL and that the control plane is running.');
  }
  if (!started.ok) throw new CliError(`${url} did not start a sign-in (HTTP ${started.status})`, EXIT.failure, 'Is this an OpenCrane control plane?');
  const device = await started.json() as DeviceAuthorization;
  ctx.io.stderr(`To sign in, open ${device.verification_uri} and enter the code ${device.user_code}\n`);
  if (device.verification_uri_complete && ctx.io.openUrl) {
    await ctx.io.openUrl(device.verification_uri_complete).catch(() => undefined);
  }
  let interval = (device.interval ?? 5) * 1000;
  const deadline = Date.now() + device.expires_in * 1000;
  ctx.spinner.start('Waiting for you to approve the code in the browser…');
  try {
    return await poll();
  } finally {
    ctx.spinner.stop();
  }

  async function poll(): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
    while (Date.now() < deadline) {
      await ctx.sleep(interval);
      const response = await fetchImpl(`${url}/oauth2/token`, form({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'oc',
      }));
      const body = await response.json() as { error?: string; access_token?: string; refresh_token?: string; expires_in?: number };
      if (response.ok && body.access_token && body.refresh_token && body.expires_in) {
        return { access_token: body.access_token, refresh_token: body.refresh_token, expires_in: body.expires_in };
      }
      if (body.error === 'authorization_pending') continue;
      if (body.error === 'slow_down') { interval += 5000; continue; }
      if (body.error === 'access_denied') throw new CliError('the sign-in was denied in the browser', EXIT.auth, 'Run `oc login` again if that was a mistake.');
      if (body.error === 'expired_token') break;
      throw new CliError(`the sign-in failed (${body.error ?? `HTTP ${response.status}`})`, EXIT.auth, 'Run `oc login` again.');
    }
    throw new CliError('the sign-in code expired before it was approved', EXIT.auth, 'Run `oc login` again and approve within ten minutes.');
  }
}

export function registerSessionCommands(program: Command, io: CliIo): void {
  program.command('login').description('Sign in to a control plane (device flow: approve in the browser) and save it as a context')
    .option('--name <context>', 'the context\'s name (the URL\'s host by default)')
    .addHelpText('after', '\nWith --token (or OPENCRANE_TOKEN), the API token is saved instead and no browser is needed.\n\nExamples:\n  oc login --url https://opencrane.example.com\n  oc login --url http://127.0.0.1:8080 --token "$(cat .opencrane/admin-token)" --name local')
    .action(async (opts: { name?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const url = (ctx.options.url ?? io.env.OPENCRANE_URL ?? (await resolveSession({}, io.env).catch(() => undefined))?.url)?.replace(/\/$/, '');
      if (!url) throw new CliError('which control plane?', EXIT.usage, 'Run `oc login --url https://opencrane.example.com`.');
      const name = opts.name ?? contextNameOf(url);
      const token = ctx.options.token ?? io.env.OPENCRANE_TOKEN;
      const config = await loadCliConfig(io.env);
      if (token) {
        config.contexts[name] = { url, token };
      } else {
        const tokens = await deviceLogin(ctx, url);
        config.contexts[name] = {
          url, token: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: new Date(Date.now() + tokens.expires_in * 1000).toISOString(),
        };
      }
      config.current = name;
      await saveCliConfig(io.env, config);
      ctx.done(`Signed in to ${url} as context ${name}.`, { context: name, url });
    });

  program.command('logout').description('Forget the current context\'s credentials (or --all)')
    .option('--all', 'every context')
    .addHelpText('after', '\nExample:\n  oc logout')
    .action(async (opts: { all?: boolean }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const config = await loadCliConfig(io.env);
      const names = opts.all ? Object.keys(config.contexts) : [ctx.options.context ?? config.current].filter((n): n is string => Boolean(n));
      for (const name of names) {
        const context = config.contexts[name];
        if (context) config.contexts[name] = { url: context.url };
      }
      await saveCliConfig(io.env, config);
      ctx.done(names.length ? `Signed out of ${names.join(', ')}.` : 'Not signed in anywhere.', { signedOut: names });
    });

  program.command('whoami').description('Who the current credentials belong to')
    .addHelpText('after', '\nExample:\n  oc whoami -o json')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const session = await ctx.currentSession();
      const api = await ctx.api();
      const me = await api.GET('/api/v1/me');
      if (me.response.status === 404) {
        ctx.done(`An API token on ${session.url}${session.context ? ` (context ${session.context})` : ''}: it acts for no person.`, { url: session.url, context: session.context ?? null, kind: 'api-token' });
        return;
      }
      const data = await call('asking who you are', Promise.resolve(me));
      ctx.done(`${data.displayName} <${data.email}> on ${session.url}${session.context ? ` (context ${session.context})` : ''}.`, { url: session.url, context: session.context ?? null, ...data });
    });

  const contexts = program.command('context').description('Named contexts: one per OpenCrane instance');
  contexts.command('list').description('List contexts; * marks the current one')
    .addHelpText('after', '\nExample:\n  oc context list')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const config = await loadCliConfig(io.env);
      const rows = Object.entries(config.contexts).map(([name, c]) => ({
        current: name === config.current, name, url: c.url, signedIn: Boolean(c.token),
      }));
      ctx.print(rows, rows, [
        { header: ' ', value: (r) => (r.current ? '*' : ' ') }, { header: 'name', value: (r) => r.name },
        { header: 'url', value: (r) => r.url }, { header: 'signed in', value: (r) => (r.signedIn ? 'yes' : 'no') },
      ]);
    });
  contexts.command('use').description('Make a context the current one').argument('<name>')
    .addHelpText('after', '\nExample:\n  oc context use staging')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const config = await loadCliConfig(io.env);
      if (!config.contexts[name]) throw new CliError(`there is no context named ${name}`, EXIT.notFound, 'List them with `oc context list`.');
      config.current = name;
      await saveCliConfig(io.env, config);
      ctx.done(`Now using ${name} (${config.contexts[name].url}).`, { context: name });
    });
  contexts.command('delete').description('Delete a context and its credentials').argument('<name>')
    .addHelpText('after', '\nExample:\n  oc context delete staging')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const config = await loadCliConfig(io.env);
      if (!config.contexts[name]) throw new CliError(`there is no context named ${name}`, EXIT.notFound, 'List them with `oc context list`.');
      delete config.contexts[name];
      if (config.current === name) delete config.current;
      await saveCliConfig(io.env, config);
      ctx.done(`Deleted context ${name}.`, { context: name, deleted: true });
    });
}
