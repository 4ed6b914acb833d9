/**
 * The server's metrics, on a registry of its own (several servers may share a process in tests). Exposed by
 * /v1/agent/metrics as Consul's JSON shape or, with ?format=prometheus, as Prometheus text.
 *
 * Where Meshgate measures something Consul also measures, it is exported under Consul's name, unit and type (the
 * agent telemetry reference, developer.hashicorp.com/consul/docs/reference/agent/telemetry; Consul's Prometheus sink
 * turns `consul.kvs.apply` into `consul_kvs_apply`, timers into summaries in milliseconds with 0.5/0.9/0.99
 * quantiles), so existing Consul dashboards and alerts work: `consul_api_http`, `consul_kvs_apply`,
 * `consul_catalog_register`/`deregister`, `consul_health_service_query`, `consul_catalog_service_query`,
 * `consul_raft_apply`, `consul_state_*`, `consul_server_isLeader`, `consul_runtime_*`. What only Meshgate has keeps
 * a `meshgate_` name. `CONSUL_JSON_NAMES` gives the dotted names the JSON form uses, as Consul's in-memory sink does.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';

/** Prometheus name → Consul's dotted go-metrics name, for the JSON form of /v1/agent/metrics. */
export const CONSUL_JSON_NAMES: Readonly<Record<string, string>> = {
  consul_api_http: 'consul.api.http',
  consul_kvs_apply: 'consul.kvs.apply',
  consul_catalog_register: 'consul.catalog.register',
  consul_catalog_deregister: 'consul.catalog.deregister',
  consul_health_service_query: 'consul.health.service.query',
  consul_catalog_service_query: 'consul.catalog.service.query',
  consul_raft_apply: 'consul.raft.apply',
  consul_state_nodes: 'consul.state.nodes',
  consul_state_service_instances: 'consul.state.service_instances',
  consul_state_kv_entries: 'consul.state.kv_entries',
  consul_server_isLeader: 'consul.server.isLeader',
  consul_runtime_alloc_bytes: 'consul.runtime.alloc_bytes',
  consul_runtime_sys_bytes: 'consul.runtime.sys_bytes',
  consul_runtime_total_gc_pause_ns: 'consul.runtime.total_gc_pause_ns',
  consul_runtime_total_gc_runs: 'consul.runtime.total_gc_runs',
};

/** Consul's Prometheus sink publishes timers as summaries with these quantiles. */
const CONSUL_QUANTILES = [0.5, 0.9, 0.99];

/** What the Consul-named gauges read from the running server. */
export interface ConsulStateSources {
  nodes: () => number;
  serviceInstances: () => number;
  kvEntries: () => number;
  isLeader: () => boolean;
  transactions: () => number;
}

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

  /** consul.api.http: time to serve a request, by method and Consul's path shape (`v1.kv._`), in ms. */
  readonly apiHttp = new Summary({
    name: 'consul_api_http',
    help: 'Time to serve an HTTP API request, by method and path (names replaced by _), in milliseconds.',
    labelNames: ['method', 'path'] as const,
    percentiles: CONSUL_QUANTILES,
    registers: [this.registry],
  });
  readonly kvsApply = consulTimer(this.registry, 'consul_kvs_apply', 'Time to apply a KV write (PUT or DELETE /v1/kv), in milliseconds.');
  readonly catalogRegister = consulTimer(this.registry, 'consul_catalog_register', 'Time to apply a catalog registration, in milliseconds.');
  readonly catalogDeregister = consulTimer(this.registry, 'consul_catalog_deregister', 'Time to apply a catalog deregistration, in milliseconds.');
  readonly healthServiceQuery = new Counter({
    name: 'consul_health_service_query',
    help: 'Health queries for a service (/v1/health/service/:service), by service.',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });
  readonly catalogServiceQuery = new Counter({
    name: 'consul_catalog_service_query',
    help: 'Catalog queries for a service (/v1/catalog/service/:service), by service.',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });

  constructor(sources: { index: () => number; openBlockingQueries: () => number; storeCommits?: () => number; state?: ConsulStateSources }) {
    const registry = this.registry;
    if (sources.state) registerStateGauges(registry, sources.state);
    registerRuntimeGauges(registry);
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

/** A Consul timer: a summary in milliseconds with Consul's quantiles; `time()` returns the stop function. */
function consulTimer(registry: Registry, name: string, help: string): { time(): () => void } {
  const summary = new Summary({ name, help, percentiles: CONSUL_QUANTILES, registers: [registry] });
  return {
    time() {
      const started = process.hrtime.bigint();
      return () => summary.observe(Number(process.hrtime.bigint() - started) / 1e6);
    },
  };
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

function registerStateGauges(registry: Registry, state: ConsulStateSources): void {
  gauge(registry, 'consul_state_nodes', 'Nodes in the catalog.', state.nodes);
  gauge(registry, 'consul_state_service_instances', 'Service instances in the catalog.', state.serviceInstances);
  gauge(registry, 'consul_state_kv_entries', 'Entries in the KV store.', state.kvEntries);
  gauge(registry, 'consul_server_isLeader', '1 while this server leads (runs the leader-only duties), else 0.', () => (state.isLeader() ? 1 : 0));
  // consul.raft.apply counts applied log entries; here, committed store transactions.
  new Counter({
    name: 'consul_raft_apply',
    help: 'Transactions committed to the state store (Raft log entries applied, in Consul).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(state.transactions());
    },
  });
}

/** Consul's runtime gauges, from what Node can tell: heap in use, resident size, GC pauses. */
function registerRuntimeGauges(registry: Registry): void {
  gauge(registry, 'consul_runtime_alloc_bytes', 'Bytes allocated on the heap and still in use.', () => process.memoryUsage().heapUsed);
  gauge(registry, 'consul_runtime_sys_bytes', 'Bytes obtained from the operating system (resident set size).', () => process.memoryUsage.rss());
  const gc = { pauseNs: 0, runs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.pauseNs += Math.round(entry.duration * 1e6);
      gc.runs++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  gauge(registry, 'consul_runtime_total_gc_pause_ns', 'Nanoseconds spent in garbage-collection pauses since start.', () => gc.pauseNs);
  gauge(registry, 'consul_runtime_total_gc_runs', 'Garbage collections since start.', () => gc.runs);
}

/**
 * Consul's `path` label for consul.api.http: the registered pattern with dots for slashes and `_` where a name is
 * (`/v1/kv/*key` → `v1.kv._`, `/v1/health/service/:service` → `v1.health.service._`).
 */
export function consulHttpPath(pattern: string): string {
  return pattern.split('/').filter((s) => s !== '').map((s) => (s.startsWith(':') || s.startsWith('*') ? '_' : s)).join('.');
}
