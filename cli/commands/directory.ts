// People, teams, departments and assistants.
import type { Command } from 'commander';
import { call } from '../client.ts';
import { CliError, EXIT } from '../errors.ts';
import { CommandContext, namedId, personId, type CliIo } from '../context.ts';
import type { Column } from '../output.ts';
import type { components } from '../api/schema.ts';

type Person = components['schemas']['Person'];
type Team = components['schemas']['Team'];
type Department = components['schemas']['Department'];
type Assistant = components['schemas']['Assistant'];

export const PERSON_COLUMNS: Column<Person>[] = [
  { header: 'id', value: (p) => p.id }, { header: 'email', value: (p) => p.email }, { header: 'name', value: (p) => p.displayName },
  { header: 'status', value: (p) => p.status }, { header: 'department', value: (p) => p.departmentId },
];
const TEAM_COLUMNS: Column<Team>[] = [
  { header: 'id', value: (t) => t.id }, { header: 'name', value: (t) => t.name }, { header: 'department', value: (t) => t.departmentId },
  { header: 'description', value: (t) => t.description },
];
const DEPARTMENT_COLUMNS: Column<Department>[] = [
  { header: 'id', value: (d) => d.id }, { header: 'name', value: (d) => d.name }, { header: 'description', value: (d) => d.description },
];
export const ASSISTANT_COLUMNS: Column<Assistant>[] = [
  { header: 'id', value: (a) => a.id }, { header: 'person', value: (a) => a.personId }, { header: 'status', value: (a) => a.status },
  { header: 'message', value: (a) => a.statusMessage }, { header: 'endpoint', value: (a) => a.endpoint },
];

const listOptions = (command: Command) => command
  .option('--limit <n>', 'how many to show (1-200)', (v) => Number(v), 50)
  .option('--cursor <cursor>', 'continue after the last page (the nextCursor of a json listing)');

function pageHint(ctx: CommandContext, nextCursor: string | null | undefined): void {
  if (nextCursor && ctx.options.output === 'table') ctx.io.stderr(`More results: add --cursor ${nextCursor}\n`);
}

export function registerDirectoryCommands(program: Command, io: CliIo): void {
  const people = program.command('people').description('People in the directory');
  listOptions(people.command('list').description('List people')
    .option('--status <status>', 'active or suspended').option('--department <department>', 'a department name or id')
    .addHelpText('after', '\nExamples:\n  oc people list\n  oc people list --status suspended -o json'))
    .action(async (opts: { limit: number; cursor?: string; status?: 'active' | 'suspended'; department?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const api = await ctx.api();
      const departmentId = opts.department ? await namedId(ctx, 'department', opts.department) : undefined;
      const page = await call('listing people', api.GET('/api/v1/people', {
        params: { query: { limit: opts.limit, cursor: opts.cursor, status: opts.status, departmentId } },
      }));
      ctx.print(page, page.items, PERSON_COLUMNS);
      pageHint(ctx, page.nextCursor);
    });
  people.command('get').description('Show one person').argument('<person>', 'email or id')
    .addHelpText('after', '\nExample:\n  oc people get ada@example.com')
    .action(async (reference: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const api = await ctx.api();
      const id = await personId(ctx, reference);
      const person = await call(`getting ${reference}`, api.GET('/api/v1/people/{id}', { params: { path: { id } } }));
      ctx.print(person, [person], PERSON_COLUMNS);
    });
  people.command('create').description('Add a person (and their assistant)')
    .requiredOption('--email <email>', 'their email address').requiredOption('--name <name>', 'their display name')
    .option('--department <department>', 'a department name or id')
    .addHelpText('after', '\nExample:\n  oc people create --email ada@example.com --name "Ada Lovelace" --department engineering')
    .action(async (opts: { email: string; name: string; department?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const api = await ctx.api();
      const departmentId = opts.department ? await namedId(ctx, 'department', opts.department) : undefined;
      const person = await call('creating the person', api.POST('/api/v1/people', {
        body: { email: opts.email, displayName: opts.name, ...(departmentId ? { departmentId } : {}) },
      }));
      ctx.done(`Created ${person.email} (${person.id}).`, person, PERSON_COLUMNS);
    });
  for (const [name, status, words] of [['suspend', 'suspended', 'Suspend'], ['activate', 'active', 'Reactivate']] as const) {
    people.command(name).description(`${words} a person: ${status === 'suspended' ? 'their sessions end and their assistant\'s tokens stop working' : 'they may sign in again'}`)
      .argument('<person>', 'email or id')
      .addHelpText('after', `\nExample:\n  oc people ${name} ada@example.com`)
      .action(async (reference: string, _opts: unknown, command: Command) => {
        const ctx = CommandContext.of(io, command);
        const api = await ctx.api();
        const id = await personId(ctx, reference);
        const person = await call(`${name} ${reference}`, api.PATCH('/api/v1/people/{id}', { params: { path: { id } }, body: { status } }));
        ctx.done(`${person.email} is now ${person.status}.`, person, PERSON_COLUMNS);
      });
  }
  people.command('delete').description('Remove a person, their memberships, grants and assistant').argument('<person>', 'email or id')
    .addHelpText('after', '\nExample:\n  oc people delete ada@example.com')
    .action(async (reference: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const api = await ctx.api();
      const id = await personId(ctx, reference);
      await call(`deleting ${reference}`, api.DELETE('/api/v1/people/{id}', { params: { path: { id } } }));
      ctx.done(`Deleted ${reference}.`, { id, deleted: true });
    });

  const teams = program.command('teams').description('Teams and their members');
  listOptions(teams.command('list').description('List teams').addHelpText('after', '\nExample:\n  oc teams list'))
    .action(async (opts: { limit: number; cursor?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const page = await call('listing teams', (await ctx.api()).GET('/api/v1/teams', { params: { query: { limit: opts.limit, cursor: opts.cursor } } }));
      ctx.print(page, page.items, TEAM_COLUMNS);
      pageHint(ctx, page.nextCursor);
    });
  teams.command('create').description('Create a team').argument('<name>')
    .option('--department <department>', 'a department name or id').option('--description <text>')
    .addHelpText('after', '\nExample:\n  oc teams create platform --department engineering')
    .action(async (name: string, opts: { department?: string; description?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const api = await ctx.api();
      const departmentId = opts.department ? await namedId(ctx, 'department', opts.department) : undefined;
      const team = await call('creating the team', api.POST('/api/v1/teams', {
        body: { name, ...(departmentId ? { departmentId } : {}), ...(opts.description ? { description: opts.description } : {}) },
      }));
      ctx.done(`Created team ${team.name} (${team.id}).`, team, TEAM_COLUMNS);
    });
  teams.command('delete').description('Delete a team and its grants').argument('<team>', 'name or id')
    .addHelpText('after', '\nExample:\n  oc teams delete platform')
    .action(async (reference: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const id = await namedId(ctx, 'team', reference);
      await call(`deleting team ${reference}`, (await ctx.api()).DELETE('/api/v1/teams/{id}', { params: { path: { id } } }));
      ctx.done(`Deleted team ${reference}.`, { id, deleted: true });
    });
  teams.command('members').description('List a team\'s members').argument('<team>', 'name or id')
    .addHelpText('after', '\nExample:\n  oc teams members platform')
    .action(async (reference: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const teamId = await namedId(ctx, 'team', reference);
      const page = await call('listing members', (await ctx.api()).GET('/api/v1/teams/{teamId}/members', { params: { path: { teamId } } }));
      ctx.print(page, page.items, [{ header: 'person', value: (m) => m.personId }, { header: 'source', value: (m) => m.source }, { header: 'since', value: (m) => m.createdAt }]);
    });
  for (const [name, verb] of [['add-member', 'PUT'], ['remove-member', 'DELETE']] as const) {
    teams.command(name).description(verb === 'PUT' ? 'Add a person to a team' : 'Remove a person from a team')
      .argument('<team>', 'name or id').argument('<person>', 'email or id')
      .addHelpText('after', `\nExample:\n  oc teams ${name} platform ada@example.com`)
      .action(async (teamRef: string, personRef: string, _opts: unknown, command: Command) => {
        const ctx = CommandContext.of(io, command);
        const api = await ctx.api();
        const path = { teamId: await namedId(ctx, 'team', teamRef), personId: await personId(ctx, personRef) };
        if (verb === 'PUT') await call('adding the member', api.PUT('/api/v1/teams/{teamId}/members/{personId}', { params: { path } }));
        else await call('removing the member', api.DELETE('/api/v1/teams/{teamId}/members/{personId}', { params: { path } }));
        ctx.done(`${verb === 'PUT' ? 'Added' : 'Removed'} ${personRef} ${verb === 'PUT' ? 'to' : 'from'} ${teamRef}.`, { ...path, member: verb === 'PUT' });
      });
  }

  const departments = program.command('departments').description('Departments');
  listOptions(departments.command('list').description('List departments').addHelpText('after', '\nExample:\n  oc departments list'))
    .action(async (opts: { limit: number; cursor?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const page = await call('listing departments', (await ctx.api()).GET('/api/v1/departments', { params: { query: { limit: opts.limit, cursor: opts.cursor } } }));
      ctx.print(page, page.items, DEPARTMENT_COLUMNS);
      pageHint(ctx, page.nextCursor);
    });
  departments.command('create').description('Create a department').argument('<name>').option('--description <text>')
    .addHelpText('after', '\nExample:\n  oc departments create engineering')
    .action(async (name: string, opts: { description?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const department = await call('creating the department', (await ctx.api()).POST('/api/v1/departments', {
        body: { name, ...(opts.description ? { description: opts.description } : {}) },
      }));
      ctx.done(`Created department ${department.name} (${department.id}).`, department, DEPARTMENT_COLUMNS);
    });
  departments.command('delete').description('Delete a department and its grants').argument('<department>', 'name or id')
    .addHelpText('after', '\nExample:\n  oc departments delete engineering')
    .action(async (reference: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const id = await namedId(ctx, 'department', reference);
      await call(`deleting department ${reference}`, (await ctx.api()).DELETE('/api/v1/departments/{id}', { params: { path: { id } } }));
      ctx.done(`Deleted department ${reference}.`, { id, deleted: true });
    });

  const assistants = program.command('assistants').description('Assistants, one per person, and their provisioning status');
  listOptions(assistants.command('list').description('List assistants')
    .option('--person <person>', 'email or id').option('--status <status>', 'pending, provisioning, ready, suspended, failed or deleting')
    .addHelpText('after', '\nExamples:\n  oc assistants list\n  oc assistants list --status failed'))
    .action(async (opts: { limit: number; cursor?: string; person?: string; status?: Assistant['status'] }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const api = await ctx.api();
      const person = opts.person ? await personId(ctx, opts.person) : undefined;
      const page = await call('listing assistants', api.GET('/api/v1/assistants', {
        params: { query: { limit: opts.limit, cursor: opts.cursor, personId: person, status: opts.status } },
      }));
      ctx.print(page, page.items, ASSISTANT_COLUMNS);
      pageHint(ctx, page.nextCursor);
    });
  assistants.command('get').description('Show a person\'s assistant').argument('<person>', 'the owner\'s email or id')
    .addHelpText('after', '\nExample:\n  oc assistants get ada@example.com')
    .action(async (reference: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const api = await ctx.api();
      const page = await call('getting the assistant', api.GET('/api/v1/assistants', { params: { query: { personId: await personId(ctx, reference) } } }));
      const assistant = page.items[0];
      if (!assistant) throw new CliError(`${reference} has no assistant`, EXIT.notFound, 'People created with createAssistant=false have none.');
      ctx.print(assistant, [assistant], ASSISTANT_COLUMNS);
    });
}
