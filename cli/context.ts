// What every command gets: where to write, the global options, a lazily made API client, and the
// helpers that turn names people type (an email, `team:platform`, `tool:github`, `30d`) into API values.
import type { Command } from 'commander';
import { call, createApiClient, resolveSession, type ApiClient, type Session } from './client.ts';
import { CliError, EXIT } from './errors.ts';
import { render, type Column, type OutputFormat } from './output.ts';
import { createSpinner, spinnerMiddleware } from './spinner.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input (for secrets piped in), or undefined when it is a terminal. */
  readStdin(): Promise<string | undefined>;
  /** Asks on the terminal without echo; undefined when there is no terminal. */
  promptSecret?(question: string): Promise<string>;
  openUrl?(url: string): Promise<void>;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  columns?: number;
  fetch?: typeof fetch;
  /** Waits between polls (device login, audit tail); tests may shorten it. */
  sleep?(ms: number): Promise<void>;
}

export interface GlobalOptions { url?: string; token?: string; context?: string; output: OutputFormat; debug?: boolean }

export class CommandContext {
  private client: ApiClient | undefined;
  /** Shown while waiting, on a terminal only. */
  readonly spinner = createSpinner((text) => { if (this.io.isTTY) this.io.stderr(text); });
  private session: Session | undefined;
  constructor(readonly io: CliIo, readonly options: GlobalOptions) {}

  static of(io: CliIo, command: Command): CommandContext {
    return new CommandContext(io, command.optsWithGlobals());
  }

  async currentSession(): Promise<Session> {
    this.session ??= await resolveSession(this.options, this.io.env);
    return this.session;
  }

  async api(): Promise<ApiClient> {
    if (!this.client) {
      const session = await this.currentSession();
      if (!session.token) throw new CliError('you are not signed in', EXIT.auth, 'Run `oc login`, or pass an API token with --token or OPENCRANE_TOKEN.');
      this.client = createApiClient(session, this.io.env, this.io.fetch);
      if (this.io.isTTY) this.client.use(spinnerMiddleware(this.spinner));
    }
    return this.client;
  }

  print<T>(data: unknown, rows: T[], columns: Column<T>[]): void {
    this.io.stdout(render(this.options.output, data, rows, columns, this.io.columns ?? 160));
  }

  /** A one-line confirmation for people; scripts asking for json or yaml get the record instead. */
  done<T>(message: string, data: T, columns?: Column<T>[]): void {
    if (this.options.output === 'table') {
      this.io.stdout(`${message}\n`);
      if (columns) this.print(data, [data], columns);
    } else {
      this.print(data, [data], columns ?? []);
    }
  }

  sleep(ms: number): Promise<void> {
    return this.io.sleep ? this.io.sleep(ms) : new Promise((resolve) => setTimeout(resolve, ms));
  }
}

const ID = /^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$/;
export type ResourceKind = 'tool' | 'skill' | 'knowledge';
export type SubjectKind = 'person' | 'team' | 'department';

/** A person's id from their id or email address. */
export async function personId(ctx: CommandContext, reference: string): Promise<string> {
  if (ID.test(reference)) return reference;
  const api = await ctx.api();
  const page = await call(`looking up ${reference}`, api.GET('/api/v1/people', { params: { query: { email: reference } } }));
  const person = page.items[0];
  if (!person) throw new CliError(`no person has the email address ${reference}`, EXIT.notFound, 'List people with `oc people list`.');
  return person.id;
}

const NAMED = {
  team: '/api/v1/teams', department: '/api/v1/departments', tool: '/api/v1/tools', skill: '/api/v1/skills', knowledge: '/api/v1/knowledge',
} as const;

/** The id of a team, department, tool, skill or knowledge collection from its id or name. */
export async function namedId(ctx: CommandContext, kind: keyof typeof NAMED, reference: string): Promise<string> {
  if (ID.test(reference)) return reference;
  const api = await ctx.api();
  const page = await call(`looking up ${kind} ${reference}`, api.GET(NAMED[kind], { params: { query: { name: reference } } }));
  const found = page.items[0];
  if (!found) throw new CliError(`there is no ${kind} named ${reference}`, EXIT.notFound, `List them with \`oc ${kind === 'knowledge' ? 'knowledge' : `${kind}s`} list\`.`);
  return found.id;
}

/** `team:platform`, `person:ada@example.com`, `department:engineering` (or an id). */
export async function subject(ctx: CommandContext, spec: string): Promise<{ kind: SubjectKind; id: string }> {
  const [kind, ...rest] = spec.split(':');
  const reference = rest.join(':');
  if (kind === 'person' && reference) return { kind, id: await personId(ctx, reference) };
  if ((kind === 'team' || kind === 'department') && reference) return { kind, id: await namedId(ctx, kind, reference) };
  throw new CliError(`"${spec}" is not a subject`, EXIT.usage, 'Write person:<email>, team:<name> or department:<name>.');
}

/** `tool:github`, `skill:summarise`, `knowledge:handbook` (or an id). */
export async function resource(ctx: CommandContext, spec: string): Promise<{ kind: ResourceKind; id: string }> {
  const [kind, ...rest] = spec.split(':');
  const reference = rest.join(':');
  if ((kind === 'tool' || kind === 'skill' || kind === 'knowledge') && reference) return { kind, id: await namedId(ctx, kind, reference) };
  throw new CliError(`"${spec}" is not a resource`, EXIT.usage, 'Write tool:<name>, skill:<name> or knowledge:<name>.');
}

/** `30d`, `12h`, `90m`, `2w` in milliseconds, or undefined for anything else. */
export function durationMs(text: string): number | undefined {
  const relative = /^(\d{1,4})([mhdw])$/.exec(text);
  if (!relative) return undefined;
  return Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[relative[2] as 'm' | 'h' | 'd' | 'w'];
}

/** A time before now (`30m`, `12h`, `7d` ago) or an ISO date/time. */
export function sinceFrom(text: string, now = new Date()): string {
  const ms = durationMs(text);
  if (ms !== undefined) return new Date(now.getTime() - ms).toISOString();
  const absolute = Date.parse(text);
  if (Number.isNaN(absolute)) throw new CliError(`"${text}" is not a time`, EXIT.usage, 'Write 30m, 12h, 7d (ago) or an ISO time.');
  return new Date(absolute).toISOString();
}

/** `30d`, `12h`, `90m`, `2w` from now, or an ISO date/time. */
export function expiryFrom(text: string, now = new Date()): string {
  const ms = durationMs(text);
  if (ms !== undefined) return new Date(now.getTime() + ms).toISOString();
  const absolute = Date.parse(text);
  if (Number.isNaN(absolute)) throw new CliError(`"${text}" is not an expiry`, EXIT.usage, 'Write 30d, 12h, 90m, 2w or an ISO date such as 2027-01-31.');
  return new Date(absolute).toISOString();
}
