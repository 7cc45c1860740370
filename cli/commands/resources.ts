// Tools (MCP servers) and their credentials, skills and knowledge collections.
import type { Command } from 'commander';
import { call } from '../client.ts';
import { CommandContext, namedId, personId, type CliIo } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
import type { Column } from '../output.ts';
import type { components } from '../api/schema.ts';

type Tool = components['schemas']['Tool'];
type Named = { id: string; name: string; description?: string | null };

const TOOL_COLUMNS: Column<Tool>[] = [
  { header: 'id', value: (t) => t.id }, { header: 'name', value: (t) => t.name }, { header: 'url', value: (t) => t.url },
  { header: 'auth', value: (t) => t.auth.kind }, { header: 'description', value: (t) => t.description },
];
const NAMED_COLUMNS: Column<Named>[] = [
  { header: 'id', value: (r) => r.id }, { header: 'name', value: (r) => r.name }, { header: 'description', value: (r) => r.description },
];

/** The secret from standard input when something is piped in, else asked for without echo; never from an argument. */
async function readSecret(io: CliIo): Promise<string> {
  const piped = await io.readStdin();
  if (piped !== undefined) {
    const secret = piped.replace(/\r?\n$/, '');
    if (!secret) throw new CliError('standard input was empty', EXIT.usage, 'Pipe the secret in, e.g. `pass show github | oc tools credentials set github`.');
    return secret;
  }
  if (!io.promptSecret) throw new CliError('no secret given', EXIT.usage, 'Pipe the secret into standard input, or run in a terminal to be asked for it.');
  const secret = await io.promptSecret('Secret (not shown): ');
  if (!secret) throw new CliError('no secret given', EXIT.usage, 'Type the secret at the prompt, or pipe it into standard input.');
  return secret;
}

export function registerResourceCommands(program: Command, io: CliIo): void {
  const tools = program.command('tools').description('Tools (MCP servers) behind the gateway');
  tools.command('list').description('List tools').option('--limit <n>', 'how many (1-200)', (v) => Number(v), 50)
    .addHelpText('after', '\nExample:\n  oc tools list -o yaml')
    .action(async (opts: { limit: number }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const page = await call('listing tools', (await ctx.api()).GET('/api/v1/tools', { params: { query: { limit: opts.limit } } }));
      ctx.print(page, page.items, TOOL_COLUMNS);
    });
  tools.command('get').description('Show a tool').argument('<tool>', 'name or id')
    .addHelpText('after', '\nExample:\n  oc tools get github')
    .action(async (reference: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const id = await namedId(ctx, 'tool', reference);
      const tool = await call(`getting tool ${reference}`, (await ctx.api()).GET('/api/v1/tools/{id}', { params: { path: { id } } }));
      ctx.print(tool, [tool], TOOL_COLUMNS);
    });
  tools.command('create').description('Register a tool (an MCP server reachable from the gateway)').argument('<name>')
    .argument('<server-url>', 'the MCP server\'s URL').option('--description <text>')
    .option('--auth <kind>', 'how the gateway authenticates upstream: none, bearer, header (with --header-name) or per_person', 'none')
    .option('--header-name <name>', 'for --auth header: the header that carries the secret')
    .addHelpText('after', '\nSet the secret afterwards with `oc tools credentials set`.\n\nExamples:\n  oc tools create github https://mcp.github.example.com/mcp --auth bearer\n  oc tools create search https://search.example.com/mcp --auth header --header-name X-Api-Key')
    .action(async (name: string, url: string, opts: { description?: string; auth: string; headerName?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const tool = await call('registering the tool', (await ctx.api()).POST('/api/v1/tools', {
        body: {
          name, url, ...(opts.description ? { description: opts.description } : {}),
          ...(opts.auth !== 'none' ? { auth: { kind: opts.auth as 'bearer', ...(opts.headerName ? { headerName: opts.headerName } : {}) } } : {}),
        },
      }));
      ctx.done(`Registered tool ${tool.name} (${tool.id}).`, tool, TOOL_COLUMNS);
    });
  tools.command('delete').description('Remove a tool and every grant on it').argument('<tool>', 'name or id')
    .addHelpText('after', '\nExample:\n  oc tools delete github')
    .action(async (reference: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const id = await namedId(ctx, 'tool', reference);
      await call(`deleting tool ${reference}`, (await ctx.api()).DELETE('/api/v1/tools/{id}', { params: { path: { id } } }));
      ctx.done(`Deleted tool ${reference}.`, { id, deleted: true });
    });
  const credentials = tools.command('credentials').description('The secret the gateway injects for a tool (write-only)');
  credentials.command('set').description('Store a new version of a tool\'s secret, read from standard input or asked for')
    .argument('<tool>', 'name or id').option('--person <person>', 'store it for one person (email or id) instead of the whole tool')
    .addHelpText('after', '\nThe secret is never taken from an argument (it would land in shell history).\n\nExamples:\n  pass show github-token | oc tools credentials set github\n  oc tools credentials set github --person ada@example.com')
    .action(async (reference: string, opts: { person?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const api = await ctx.api();
      const id = await namedId(ctx, 'tool', reference);
      const secret = await readSecret(io);
      if (opts.person) {
        await call('storing the credential', api.PUT('/api/v1/tools/{id}/credentials/people/{personId}', {
          params: { path: { id, personId: await personId(ctx, opts.person) } }, body: { secret },
        }));
      } else {
        await call('storing the credential', api.PUT('/api/v1/tools/{id}/credentials', { params: { path: { id } }, body: { secret } }));
      }
      ctx.done(`Stored a new version of ${reference}'s credential${opts.person ? ` for ${opts.person}` : ''}.`, { toolId: id, stored: true });
    });
  credentials.command('list').description('List the versions of a tool\'s secret (never the secret)').argument('<tool>', 'name or id')
    .addHelpText('after', '\nExample:\n  oc tools credentials list github')
    .action(async (reference: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const id = await namedId(ctx, 'tool', reference);
      const page = await call('listing credential versions', (await ctx.api()).GET('/api/v1/tools/{id}/credentials', { params: { path: { id } } }));
      ctx.print(page, page.versions, [{ header: 'version', value: (v) => v.version }, { header: 'created', value: (v) => v.createdAt }, { header: 'by', value: (v) => v.createdBy }]);
    });

  for (const [kind, path, plural] of [['skill', '/api/v1/skills', 'skills'], ['knowledge', '/api/v1/knowledge', 'knowledge']] as const) {
    const group = program.command(plural).description(kind === 'skill' ? 'Skills assistants may use' : 'Knowledge collections assistants may read');
    group.command('list').description(`List ${plural}`).addHelpText('after', `\nExample:\n  oc ${plural} list`)
      .action(async (_opts: unknown, command: Command) => {
        const ctx = CommandContext.of(io, command);
        const page = await call(`listing ${plural}`, (await ctx.api()).GET(path, {}));
        ctx.print(page, page.items, NAMED_COLUMNS);
      });
    group.command('create').description(`Create a ${kind === 'skill' ? 'skill' : 'knowledge collection'}`).argument('<name>').option('--description <text>')
      .addHelpText('after', `\nExample:\n  oc ${plural} create ${kind === 'skill' ? 'summarise' : 'handbook'}`)
      .action(async (name: string, opts: { description?: string }, command: Command) => {
        const ctx = CommandContext.of(io, command);
        const created = await call(`creating the ${kind}`, (await ctx.api()).POST(path, { body: { name, ...(opts.description ? { description: opts.description } : {}) } })) as Named;
        ctx.done(`Created ${kind} ${created.name} (${created.id}).`, created, NAMED_COLUMNS);
      });
    group.command('delete').description(`Delete a ${kind} and every grant on it`).argument('<name>', 'name or id')
      .addHelpText('after', `\nExample:\n  oc ${plural} delete ${kind === 'skill' ? 'summarise' : 'handbook'}`)
      .action(async (reference: string, _opts: unknown, command: Command) => {
        const ctx = CommandContext.of(io, command);
        const id = await namedId(ctx, kind, reference);
        const api = await ctx.api();
        if (kind === 'skill') await call(`deleting ${reference}`, api.DELETE('/api/v1/skills/{id}', { params: { path: { id } } }));
        else await call(`deleting ${reference}`, api.DELETE('/api/v1/knowledge/{id}', { params: { path: { id } } }));
        ctx.done(`Deleted ${kind} ${reference}.`, { id, deleted: true });
      });
  }
}
