/**
 * The push backends of a node:cluster gateway. Each worker pushes its own request counters and histograms: they are
 * interval deltas, which add up at the backend. The gateway-wide series are another matter — Traefik's "Global
 * Metrics" (docs/content/observability/metrics/overview.md: config reloads, last reload success, open connections by
 * entrypoint and protocol, TLS certificates not after; registered once per process in pkg/metrics/datadog.go,
 * influxdb2.go, statsd.go, otel.go) and each server's up gauge. In Traefik one process holds them. Pushed by every
 * worker under the same series and tags, the backend kept whichever worker came last: a quarter of the open
 * connections with four workers, a reload counted once per worker.
 *
 * So a worker's GatewayMetrics sends none of them to its sinks (attachPush with gatewayWide: false); it sends its
 * values to the primary every push interval (WorkerGauges), and the primary, which runs sinks of its own, pushes the
 * gateway's: open connections summed over the live workers (a per-process count, so the gateway's is the sum), a
 * server's up gauge the lowest of the workers' (each worker runs its own checks; down in any is down, as the
 * Prometheus aggregation's 'min'), the certificates the union of what the workers serve, and a reload once per
 * configuration the providers delivered, when the first worker serves it (config-reload-counting in main.ts).
 */
import type { CertificateExpiry, MetricsSink } from './sink.ts';

/** One worker's gateway-wide values, sent to the primary (JSON over node:cluster IPC). */
export interface WorkerGauges {
  openConnections: Array<[entryPoint: string, protocol: string, count: number]>;
  serverUp: Array<[service: string, url: string, up: 0 | 1]>;
  certificates: CertificateExpiry[];
}

export class ClusterPushGauges {
  readonly #sink: MetricsSink;
  readonly #workers = new Map<number, WorkerGauges>();
  /** What was pushed last, so only changes are pushed (open connections as deltas, as the sinks take them). */
  readonly #open = new Map<string, { entryPoint: string; protocol: string; count: number }>();
  readonly #up = new Map<string, boolean>();
  #certificates = '';

  constructor(sink: MetricsSink) {
    this.#sink = sink;
  }

  /** A worker's latest values (they replace its previous ones). */
  update(worker: number, gauges: WorkerGauges): void {
    this.#workers.set(worker, gauges);
    this.#publish();
  }

  /** A worker exited: its connections are gone, its view no longer counts. */
  forget(worker: number): void {
    if (this.#workers.delete(worker)) this.#publish();
  }

  /** A configuration the providers delivered now serves (counted once for the gateway, not once per worker). */
  configReload(atMs: number): void {
    this.#sink.configReload(true, atMs);
  }

  /** Pushes what is pending and stops the sinks. */
  close(): Promise<void> {
    return this.#sink.close();
  }

  #publish(): void {
    const open = new Map<string, { entryPoint: string; protocol: string; count: number }>();
    const up = new Map<string, { service: string; url: string; up: boolean }>();
    const certificates = new Map<string, CertificateExpiry>();
    for (const gauges of this.#workers.values()) {
      for (const [entryPoint, protocol, count] of gauges.openConnections) {
        const key = `${entryPoint}\u0000${protocol}`;
        const sum = open.get(key);
        if (sum === undefined) open.set(key, { entryPoint, protocol, count });
        else sum.count += count;
      }
      for (const [service, url, value] of gauges.serverUp) {
        const key = `${service}\u0000${url}`;
        const seen = up.get(key);
        if (seen === undefined) up.set(key, { service, url, up: value === 1 });
        else seen.up &&= value === 1;
      }
      for (const c of gauges.certificates) certificates.set(`${c.cn}\u0000${c.serial}\u0000${c.sans}`, c);
    }
    // A series no live worker reports (its workers exited) goes back to zero rather than keep their last count.
    for (const [key, pushed] of this.#open) if (!open.has(key)) open.set(key, { ...pushed, count: 0 });
    for (const [key, sum] of open) {
      const pushed = this.#open.get(key)?.count ?? 0;
      if (sum.count !== pushed) this.#sink.openConnection(sum.entryPoint, sum.protocol, sum.count - pushed);
      this.#open.set(key, sum);
    }
    for (const [key, server] of up) {
      if (this.#up.get(key) === server.up) continue;
      this.#up.set(key, server.up);
      this.#sink.serverUp(server.service, server.url, server.up);
    }
    const certificateKey = [...certificates.keys()].sort().join('\n');
    if (certificateKey !== this.#certificates && certificates.size > 0) {
      this.#certificates = certificateKey;
      this.#sink.certificates([...certificates.values()]);
    }
  }
}
