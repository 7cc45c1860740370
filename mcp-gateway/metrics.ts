// Prometheus metrics for the gateway (prom-client): requests by tool, method and outcome; policy
// decisions; latency through the gateway and of the upstream; upstream errors.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'tool' | 'method' | 'outcome'>;
  decisions: Counter<'tool' | 'action' | 'decision'>;
  duration: Histogram<'tool' | 'method'>;
  upstreamErrors: Counter<'tool' | 'kind'>;
  auditDropped: Counter;
}

export function createGatewayMetrics(registry = new Registry()): GatewayMetrics {
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'opencrane_mcp_requests_total', help: 'MCP requests through the gateway by tool server, method and outcome',
      labelNames: ['tool', 'method', 'outcome'], registers: [registry],
    }),
    decisions: new Counter({
      name: 'opencrane_mcp_decisions_total', help: 'Policy decisions made by the gateway',
      labelNames: ['tool', 'action', 'decision'], registers: [registry],
    }),
    duration: new Histogram({
      name: 'opencrane_mcp_request_duration_seconds', help: 'Time from the request to the end of the answer, through the gateway',
      labelNames: ['tool', 'method'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'opencrane_mcp_upstream_errors_total', help: 'Upstream failures: unreachable, timeout, 5xx, refused credentials, oversize',
      labelNames: ['tool', 'kind'], registers: [registry],
    }),
    auditDropped: new Counter({
      name: 'opencrane_mcp_audit_dropped_total', help: 'Gateway audit events dropped because the queue overflowed', registers: [registry],
    }),
  };
}
