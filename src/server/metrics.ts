/**
 * The server's metrics, on a registry of its own (several servers may share a process in tests). Exposed by
 * /v1/agent/metrics as Consul's JSON shape or, with ?format=prometheus, as Prometheus text.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'meshgate_http_requests_total',
    help: 'HTTP API requests by method, endpoint pattern and status code.',
    labelNames: ['method', 'endpoint', 'code'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'meshgate_http_request_duration_seconds',
    help: 'HTTP API request latency by method and endpoint pattern (blocking queries included).',
    labelNames: ['method', 'endpoint'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 300, 600],
    registers: [this.registry],
  });
  readonly checkRuns = new Counter({
    name: 'meshgate_health_check_runs_total',
    help: 'Health check executions by check type and resulting status.',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });

  constructor(sources: { index: () => number; openBlockingQueries: () => number; storeCommits?: () => number }) {
    const registry = this.registry;
    new Gauge({
      name: 'meshgate_store_index',
      help: 'The state store index (X-Consul-Index ceiling).',
      registers: [registry],
      collect() {
        this.set(sources.index());
      },
    });
    new Gauge({
      name: 'meshgate_blocking_queries_open',
      help: 'Blocking queries currently waiting for a change.',
      registers: [registry],
      collect() {
        this.set(sources.openBlockingQueries());
      },
    });
    if (sources.storeCommits) {
      const commits = sources.storeCommits;
      new Gauge({
        name: 'meshgate_store_commits',
        help: 'Durable group commits made by the state store since start.',
        registers: [registry],
        collect() {
          this.set(commits());
        },
      });
    }
    collectDefaultMetrics({ register: registry, prefix: 'meshgate_process_' });
  }
}
