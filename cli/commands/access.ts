// Grants, access questions (why / who), revocation, the audit trail and the policy toolchain.
import type { Command } from 'commander';
import { call } from '../client.ts';
import { CommandContext, expiryFrom, personId, resource, sinceFrom, subject, type CliIo, type ResourceKind } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
import { renderTable, type Column } from '../output.ts';
import type { components } from '../api/schema.ts';

type Grant = components['schemas']['Grant'];
type AuditEvent = components['schemas']['AuditEvent'];
type Action = 'tools.list' | 'tools.call' | 'skills.read' | 'knowledge.read';

export const GRANT_COLUMNS: Column<Grant>[] = [
  { header: 'id', value: (g) => g.id }, { header: 'effect', value: (g) => g.effect },
  { header: 'subject', value: (g) => `${g.subject.kind}:${g.subject.id}` },
  { header: 'resource', value: (g) => `${g.resource.kind}:${g.resource.id}` },
  { header: 'tools', value: (g) => g.resource.toolPattern }, { header: 'expires', value: (g) => g.expiresAt }, { header: 'reason', value: (g) => g.reason },
];
export const AUDIT_COLUMNS: Column<AuditEvent>[] = [
  { header: 'time', value: (e) => e.at }, { header: 'actor', value: (e) => e.actor }, { header: 'action', value: (e) => e.action },
  { header: 'target', value: (e) => `${e.targetKind}:${e.targetId}` },
];

const DEFAULT_ACTION: Record<ResourceKind, Action> = { tool: 'tools.list', skill: 'skills.read', knowledge: 'knowledge.read' };

function actionFor(kind: ResourceKind, action: string | undefined, toolName: string | undefined): Action {
  if (action) {
    if (!['tools.list', 'tools.call', 'skills.read', 'knowledge.read'].includes(action)) {
      throw new CliError(`"${action}" is not an action`, EXIT.usage, 'Use tools.list, tools.call, skills.read or knowledge.read.');
    }
    return action as Action;
  }
  return kind === 'tool' && toolName ? 'tools.call' : DEFAULT_ACTION[kind];
}

export function registerAccessCommands(program: Command, io: CliIo): void {
  program.command('grant').description('Allow (or with --deny, forbid) a person, team or department to reach a tool, skill or knowledge')
    .argument('<kind>', 'tool, skill or knowledge').argument('<name>', 'the resource\'s name or id')
    .requiredOption('--to <subject>', 'person:<email>, team:<name> or department:<name>')
    .option('--tools <pattern>', 'for a tool: only MCP tools matching this pattern (e.g. \'list_*\')')
    .option('--expires <when>', 'an expiry: 30d, 12h, 90m, 2w or an ISO date')
    .option('--deny', 'an explicit deny (beats any allow)')
    .option('--reason <text>', 'why, for the audit trail')
    .addHelpText('after', '\nExamples:\n  oc grant tool github --to team:platform\n  oc grant tool github --to team:platform --tools \'list_*\' --expires 30d\n  oc grant tool github --to person:eve@example.com --deny --reason "contractor"')
    .action(async (kind: string, name: string, opts: { to: string; tools?: string; expires?: string; deny?: boolean; reason?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const who = await subject(ctx, opts.to);
      const target = await resource(ctx, `${kind}:${name}`);
      const expiresAt = opts.expires ? expiryFrom(opts.expires) : undefined;
      const grant = await call('creating the grant', (await ctx.api()).POST('/api/v1/grants', {
        body: {
          subject: who,
          resource: { kind: target.kind, id: target.id, ...(opts.tools ? { toolPattern: opts.tools } : {}) },
          effect: opts.deny ? 'deny' : 'allow',
          ...(expiresAt ? { expiresAt } : {}),
          ...(opts.reason ? { reason: opts.reason } : {}),
        },
      }));
      ctx.done(`${opts.deny ? 'Denied' : 'Granted'} ${kind} ${name} to ${opts.to}${opts.tools ? ` (tools ${opts.tools})` : ''}${expiresAt ? ` until ${expiresAt}` : ''}: ${grant.id}.`, grant, GRANT_COLUMNS);
    });

  const grants = program.command('grants').description('Grants: who may reach what');
  grants.command('list').description('List grants')
    .option('--subject <subject>', 'person:<email>, team:<name> or department:<name>')
    .option('--resource <resource>', 'tool:<name>, skill:<name> or knowledge:<name>')
    .option('--effect <effect>', 'allow or deny').option('--limit <n>', 'how many (1-200)', (v) => Number(v), 50)
    .addHelpText('after', '\nExamples:\n  oc grants list\n  oc grants list --subject team:platform\n  oc grants list --resource tool:github -o json')
    .action(async (opts: { subject?: string; resource?: string; effect?: 'allow' | 'deny'; limit: number }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const who = opts.subject ? await subject(ctx, opts.subject) : undefined;
      const what = opts.resource ? await resource(ctx, opts.resource) : undefined;
      const page = await call('listing grants', (await ctx.api()).GET('/api/v1/grants', {
        params: {
          query: {
            limit: opts.limit, effect: opts.effect,
            ...(who ? { subjectKind: who.kind, subjectId: who.id } : {}), ...(what ? { resourceKind: what.kind, resourceId: what.id } : {}),
          },
        },
      }));
      ctx.print(page, page.items, GRANT_COLUMNS);
    });
  grants.command('revoke').description('Revoke (delete) a grant').argument('<id>', 'the grant\'s id')
    .addHelpText('after', '\nExample:\n  oc grants revoke grt_01J…')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.of(io, command);
      await call(`revoking grant ${id}`, (await ctx.api()).DELETE('/api/v1/grants/{id}', { params: { path: { id } } }));
      ctx.done(`Revoked grant ${id}.`, { id, revoked: true });
    });

  const access = program.command('access').description('Ask the policy: why can or can\'t someone reach something, and who can');
  access.command('why').description('Explain whether a person may reach a resource, and which grants and rules decided (exit 6 when denied)')
    .argument('<person>', 'email or id').argument('<resource>', 'tool:<name>, skill:<name> or knowledge:<name>')
    .option('--action <action>', 'tools.list, tools.call, skills.read or knowledge.read (from the resource by default)')
    .option('--tool <name>', 'for a tool: one MCP tool (implies tools.call)')
    .addHelpText('after', '\nExamples:\n  oc access why ada@example.com tool:github\n  oc access why ada@example.com tool:github --tool delete_repo')
    .action(async (personRef: string, resourceRef: string, opts: { action?: string; tool?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const target = await resource(ctx, resourceRef);
      const action = actionFor(target.kind, opts.action, opts.tool);
      const explanation = await call('asking the policy', (await ctx.api()).POST('/api/v1/decisions/explain', {
        body: { subject: { personId: await personId(ctx, personRef) }, action, resource: { ...target, ...(opts.tool ? { toolName: opts.tool } : {}) } },
      }));
      if (ctx.options.output === 'table') {
        const lines = [
          `${explanation.allow ? 'ALLOWED' : 'DENIED'}: ${explanation.summary}`,
          ...(explanation.reasons.length ? ['', 'Reasons:', ...explanation.reasons.map((r) => `  - ${r}`)] : []),
          '', explanation.considered.length ? 'Grants considered:' : 'No grant applies to this person and resource.',
          ...explanation.considered.map((g) => `  ${g.decisive ? '*' : ' '} ${g.effect.padEnd(5)} ${g.subject}${g.toolPattern ? ` tools ${g.toolPattern}` : ''}${g.expiresAt ? ` until ${g.expiresAt}` : ''} (${g.id})`),
        ];
        io.stdout(`${lines.join('\n')}\n`);
      } else {
        ctx.print(explanation, [], []);
      }
      // A scriptable answer: exit 0 when allowed, 6 when denied (nothing more to print).
      if (!explanation.allow) throw new CliError('', EXIT.denied);
    });
  access.command('who').description('List the people the policy lets reach a resource')
    .argument('<resource>', 'tool:<name>, skill:<name> or knowledge:<name>')
    .option('--action <action>', 'tools.list, tools.call, skills.read or knowledge.read').option('--tool <name>', 'for a tool: one MCP tool')
    .addHelpText('after', '\nExamples:\n  oc access who tool:github\n  oc access who tool:github --tool delete_repo')
    .action(async (resourceRef: string, opts: { action?: string; tool?: string }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const target = await resource(ctx, resourceRef);
      const answer = await call('asking the policy', (await ctx.api()).GET('/api/v1/access/who', {
        params: { query: { kind: target.kind, id: target.id, action: actionFor(target.kind, opts.action, opts.tool), ...(opts.tool ? { toolName: opts.tool } : {}) } },
      }));
      ctx.print(answer, answer.items, [
        { header: 'email', value: (p) => p.email }, { header: 'name', value: (p) => p.displayName },
        { header: 'person', value: (p) => p.personId }, { header: 'grants', value: (p) => p.grants },
      ]);
      if (ctx.options.output === 'table') io.stderr(`${answer.items.length} of ${answer.evaluated} active people may ${answer.action} ${resourceRef}${answer.toolName ? ` (${answer.toolName})` : ''}.\n`);
    });

  program.command('revoke').description('Revoke everything a person holds, now, on every replica')
    .argument('<what>', 'person').argument('<person>', 'email or id').option('--reason <text>', 'why, for the audit trail')
    .addHelpText('after', '\nEnds their sessions and pairing links and refuses every token already issued to them or their assistant.\n\nExample:\n  oc revoke person eve@example.com')
    .action(async (what: string, reference: string, opts: { reason?: string }, command: Command) => {
      if (what !== 'person') throw new CliError(`cannot revoke "${what}"`, EXIT.usage, 'Write `oc revoke person <email>`.');
      const ctx = CommandContext.of(io, command);
      const id = await personId(ctx, reference);
      const result = await call(`revoking ${reference}`, (await ctx.api()).POST('/api/v1/people/{id}/revoke', {
        params: { path: { id } }, body: opts.reason ? { reason: opts.reason } : {},
      }));
      ctx.done(`Revoked ${reference}: every replica now refuses their tokens (epoch ${result.epoch}).`, result);
    });

  const audit = program.command('audit').description('The audit trail');
  const filters = (command: Command) => command
    .option('--actor <actor>', 'who did it (e.g. person:prs_…, token:…)').option('--action <action>', 'e.g. grant.create')
    .option('--since <when>', 'an ISO time, or 30m, 12h, 7d ago');
  const since = (text: string | undefined) => (text ? sinceFrom(text) : undefined);
  filters(audit.command('list').description('List audit events, newest first').option('--limit <n>', 'how many (1-200)', (v) => Number(v), 50)
    .addHelpText('after', '\nExamples:\n  oc audit list --since 1h\n  oc audit list --action grant.create -o json'))
    .action(async (opts: { actor?: string; action?: string; since?: string; limit: number }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const page = await call('listing audit events', (await ctx.api()).GET('/api/v1/audit', {
        params: { query: { limit: opts.limit, actor: opts.actor, action: opts.action, since: since(opts.since) } },
      }));
      ctx.print(page, page.items, AUDIT_COLUMNS);
    });
  filters(audit.command('tail').description('Follow the audit trail: print new events as they happen (Ctrl-C stops)')
    .option('--interval <seconds>', 'how often to ask', (v) => Number(v), 2)
    .option('--count <n>', 'stop after this many events', (v) => Number(v))
    .addHelpText('after', '\nExamples:\n  oc audit tail\n  oc audit tail --action grant.create -o json'))
    .action(async (opts: { actor?: string; action?: string; since?: string; interval: number; count?: number }, command: Command) => {
      const ctx = CommandContext.of(io, command);
      const api = await ctx.api();
      let cursor = since(opts.since) ?? new Date().toISOString();
      // Events at the cursor's instant can come again (since is inclusive): remember only those.
      const seen = new Map<string, string>();
      let printed = 0;
      let header = ctx.options.output === 'table';
      for (;;) {
        const page = await call('reading the audit trail', api.GET('/api/v1/audit', {
          params: { query: { limit: 200, actor: opts.actor, action: opts.action, since: cursor } },
        }));
        const fresh = page.items.filter((e) => !seen.has(e.id)).reverse();
        for (const event of fresh) {
          seen.set(event.id, event.at);
          if (ctx.options.output === 'table') {
            const text = renderTable([event], AUDIT_COLUMNS, io.columns ?? 160).split('\n');
            io.stdout(`${(header ? text.slice(0, 2) : text.slice(1, 2)).join('\n')}\n`);
            header = false;
          } else {
            io.stdout(`${JSON.stringify(event)}\n`);
          }
          printed++;
          if (opts.count !== undefined && printed >= opts.count) return;
          if (event.at > cursor) cursor = event.at;
        }
        for (const [id, at] of seen) if (at < cursor) seen.delete(id);
        await ctx.sleep(opts.interval * 1000);
      }
    });

  const policy = program.command('policy').description('For security teams: test and build the Rego policies in policies/ with the pinned opa');
  policy.command('test').description('Run the policy test suites (base, snapshot and your custom rules) with the coverage gate')
    .addHelpText('after', '\nExample:\n  oc policy test')
    .action(async () => {
      const { runPolicyTests } = await import('../../scripts/policies.ts');
      const report = runPolicyTests();
      io.stdout(`${report.testCount} opa tests, ${report.failures.length} failed\n`);
      for (const failure of report.failures) io.stdout(`FAIL ${failure}\n`);
      for (const gap of report.coverageGaps) io.stdout(`COVERAGE ${gap.file} is at ${gap.percent.toFixed(1)}%, 100% required\n`);
      if (!report.passed) throw new CliError('the policy tests failed', EXIT.failure, 'Fix the rules or tests named above, then run `oc policy test` again.');
      io.stdout('policy tests passed\n');
    });
  policy.command('build').description('Compile the policies (with your custom rules) to a policy.wasm the services can load')
    .option('--out <file>', 'where to write it', 'policy.wasm')
    .addHelpText('after', '\nLoad the result with OPENCRANE_POLICY_WASM=<file>.\n\nExample:\n  oc policy build --out /tmp/policy.wasm')
    .action(async (opts: { out: string }) => {
      const { buildPolicyWasm } = await import('../../scripts/policies.ts');
      const { writeFile } = await import('node:fs/promises');
      const wasm = buildPolicyWasm();
      await writeFile(opts.out, wasm);
      io.stdout(`wrote ${opts.out} (${wasm.length} bytes); load it with OPENCRANE_POLICY_WASM=${opts.out}\n`);
    });
}
