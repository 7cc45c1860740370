// Every listing and call through the gateway is audited, off the request path: rows are queued and
// written in batches (one multi-row insert every `flushMs`, or sooner when `maxBatch` wait), so a call
// never waits for the database. If the queue overflows (the database is down for long), the oldest
// rows are dropped and the drop is logged and counted; the calls themselves go on.
import type { Logger } from 'pino';
import { newId, schema, type Db } from '../core/index.ts';

export interface GatewayAuditEvent {
  personId: string;
  assistantId: string;
  toolId: string;
  server: string;
  method: string;
  /** The tool, resource URI or prompt name the request named, if any. */
  name: string | null;
  decision: 'allow' | 'deny';
  grants: string[];
  reasons: string[];
  /** The upstream's HTTP status, or null when the request never went upstream. */
  upstreamStatus: number | null;
  latencyMs: number;
  outcome: string;
  requestId: string;
  arguments?: unknown;
}

export interface AuditWriter {
  record(event: GatewayAuditEvent): void;
  flush(): Promise<void>;
  stop(): Promise<void>;
  readonly dropped: number;
}

export function createAuditWriter(deps: {
  db: Db; logger: Pick<Logger, 'error' | 'warn'>; flushMs?: number; maxBatch?: number; maxQueue?: number;
  /** Told how many events were dropped when the queue overflowed. */
  onDrop?: (count: number) => void;
}): AuditWriter {
  const flushMs = deps.flushMs ?? 200;
  const maxBatch = deps.maxBatch ?? 500;
  const maxQueue = deps.maxQueue ?? 50_000;
  let queue: (typeof schema.auditEvents.$inferInsert)[] = [];
  let dropped = 0;
  let writing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const write = async () => {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        await deps.db.insert(schema.auditEvents).values(batch);
      } catch (err) {
        deps.logger.error({ err, rows: batch.length }, 'writing gateway audit events failed; they are requeued');
        queue = [...batch, ...queue].slice(-maxQueue);
        return;
      }
    }
  };
  const flush = () => {
    writing = writing.then(write);
    return writing;
  };
  timer = setInterval(() => void flush(), flushMs);
  timer.unref();

  return {
    record(event) {
      const { personId, assistantId, toolId, method, requestId, ...details } = event;
      queue.push({
        id: newId('audit'), actor: `assistant:${assistantId}`, action: `mcp.${method}`, targetKind: 'tool', targetId: toolId,
        before: null, after: { personId, assistantId, ...details }, requestId,
      });
      if (queue.length > maxQueue) {
        const excess = queue.length - maxQueue;
        queue = queue.slice(excess);
        dropped += excess;
        deps.onDrop?.(excess);
        deps.logger.warn({ dropped: excess }, 'gateway audit queue overflowed; oldest events dropped');
      }
      if (queue.length >= maxBatch) void flush();
    },
    flush,
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await flush();
    },
    get dropped() {
      return dropped;
    },
  };
}
