// The tool servers the gateway fronts, by name, in memory: loaded at start, kept current by the
// directory change feed (a tool created, changed or deleted elsewhere is re-read here within
// milliseconds), and reloaded whole on a reconnect and periodically as a safety net.
import type { Logger } from 'pino';
import { CHANGES_CHANNEL, parseChange, repositories, schema, type Database, type Db, type Tool, type Unlisten } from '../core/index.ts';
import type { ToolAuthConfig, ToolAuthKind } from './credentials/index.ts';

export interface GatewayTool {
  id: string;
  name: string;
  url: string;
  auth: { kind: ToolAuthKind; config: ToolAuthConfig };
  rateLimitPerMinute: number | null;
}

export interface ToolRegistry {
  byName(name: string): GatewayTool | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Applies a tool this replica just wrote, before its notification comes back. */
  refresh(id: string): Promise<void>;
}

const toGatewayTool = (t: Tool): GatewayTool => ({
  id: t.id, name: t.name, url: t.url, auth: { kind: t.authKind, config: t.authConfig }, rateLimitPerMinute: t.rateLimitPerMinute,
});

export function createToolRegistry(deps: {
  database: Pick<Database, 'listen'>; db: Db; logger: Pick<Logger, 'warn' | 'error'>; resyncIntervalMs: number;
}): ToolRegistry {
  let byName = new Map<string, GatewayTool>();
  const nameOfId = new Map<string, string>();
  let unlisten: Unlisten | undefined;
  let timer: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (work: () => Promise<void>) => {
    queue = queue.then(work).catch((err: unknown) => deps.logger.error({ err }, 'tool registry step failed'));
    return queue;
  };

  async function loadAll(): Promise<void> {
    const rows = await deps.db.select().from(schema.tools);
    const next = new Map<string, GatewayTool>();
    nameOfId.clear();
    for (const row of rows) {
      next.set(row.name, toGatewayTool(row));
      nameOfId.set(row.id, row.name);
    }
    byName = next;
  }

  async function loadOne(id: string): Promise<void> {
    const row = await repositories.tools.get(deps.db, id);
    const previous = nameOfId.get(id);
    if (previous !== undefined) byName.delete(previous);
    nameOfId.delete(id);
    if (row) {
      byName.set(row.name, toGatewayTool(row));
      nameOfId.set(row.id, row.name);
    }
  }

  return {
    byName: (name) => byName.get(name),
    async start() {
      unlisten = await deps.database.listen(CHANGES_CHANNEL, (payload) => {
        const change = parseChange(payload);
        if (!change) void enqueue(loadAll);
        else if (change.entity === 'tool') void enqueue(() => loadOne(change.id));
        else if (change.entity === 'resource-deleted' && change.kind === 'tool') void enqueue(() => loadOne(change.id));
      }, () => void enqueue(loadAll));
      await enqueue(loadAll);
      timer = setInterval(() => void enqueue(loadAll), deps.resyncIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await unlisten?.();
      await queue;
    },
    refresh: (id) => enqueue(() => loadOne(id)),
  };
}
