// Prometheus metrics for the operator (prom-client): reconciles by result, errors, queue depth,
// reconcile durations, writes to the API server by kind and verb, and whether this replica leads.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  errors: Counter;
  queueDepth: Gauge;
  /** Where the queue-depth gauge reads its value at each scrape. */
  measureQueueDepth(source: () => number): void;
  duration: Histogram;
  writes: Counter<'kind' | 'verb'>;
  leader: Gauge;
}

export function createOperatorMetrics(registry = new Registry(), defaults = true): OperatorMetrics {
  if (defaults) collectDefaultMetrics({ register: registry });
  let depth = () => 0;
  const queueDepth = new Gauge({
    name: 'opencrane_operator_queue_depth', help: 'Assistants waiting to be reconciled', registers: [registry],
    collect() { this.set(depth()); },
  });
  return {
    registry,
    reconciles: new Counter({
      name: 'opencrane_operator_reconciles_total', help: 'Reconciles of one Assistant, by result', labelNames: ['result'], registers: [registry],
    }),
    errors: new Counter({ name: 'opencrane_operator_reconcile_errors_total', help: 'Reconciles that failed and were retried', registers: [registry] }),
    queueDepth,
    measureQueueDepth(source) { depth = source; },
    duration: new Histogram({
      name: 'opencrane_operator_reconcile_duration_seconds', help: 'Time to reconcile one Assistant',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
    }),
    writes: new Counter({
      name: 'opencrane_operator_writes_total', help: 'Write requests to the Kubernetes API server, by kind and verb (apply, status, delete)',
      labelNames: ['kind', 'verb'], registers: [registry],
    }),
    leader: new Gauge({ name: 'opencrane_operator_leader', help: '1 while this replica holds the leader Lease', registers: [registry] }),
  };
}
