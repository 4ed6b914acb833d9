/**
 * The proxy's Prometheus metrics (prom-client, one registry per proxy) and the endpoint that serves them. Labels name
 * the peer service: `upstream` on the outbound side (the service we call), `downstream` on the inbound side (the
 * service that called us, from its SPIFFE ID). Histograms are in seconds, as Prometheus recommends.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LeanHistogram, type HistogramChild } from './metrics-histogram.ts';

export type Direction = 'inbound' | 'outbound';

/**
 * What one (direction, peer service) pair has counted since the last scrape. prom-client hashes and validates the
 * label set on every `inc`, even through a labelled child (about a microsecond each, three per request); the request
 * counters are summed here in plain numbers and added to prom-client when a scrape asks (`collect`).
 */
interface PendingCounts {
  readonly direction: Direction;
  readonly service: string;
  readonly codes: Map<number, number>;
  rx: number;
  tx: number;
  latency: HistogramChild;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'direction' | 'service' | 'code'>;
  readonly bytes: Counter<'direction' | 'service' | 'flow'>;
  /** Observed once per request on both sides: LeanHistogram, not prom-client's (see metrics-histogram.ts). */
  readonly requestDuration: LeanHistogram;
  readonly connectionDuration: Histogram<'direction' | 'service'>;
  readonly connections: Counter<'direction' | 'service'>;
  readonly activeConnections: Gauge<'direction' | 'service'>;
  readonly tlsFailures: Counter<'direction' | 'service'>;
  readonly intentionDenials: Counter<'downstream' | 'layer'>;
  readonly upstreamFailures: Counter<'service' | 'reason'>;

  constructor(proxyId: string) {
    this.registry.setDefaultLabels({ proxy: proxyId });
    const registers = [this.registry];
    const collect = (): void => this.flush();
    this.requests = new Counter({
      name: 'meshgate_proxy_requests_total', help: 'HTTP requests handled, by direction, peer service and status code', labelNames: ['direction', 'service', 'code'], registers, collect,
    });
    this.bytes = new Counter({
      name: 'meshgate_proxy_bytes_total', help: 'Bytes moved, by direction, peer service and flow (rx from the peer, tx to it)', labelNames: ['direction', 'service', 'flow'], registers, collect,
    });
    this.requestDuration = new LeanHistogram({
      name: 'meshgate_proxy_request_duration_seconds', help: 'HTTP request latency through the proxy', registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.connectionDuration = new Histogram({
      name: 'meshgate_proxy_connection_duration_seconds', help: 'Lifetime of proxied connections', labelNames: ['direction', 'service'], registers,
      buckets: [0.001, 0.01, 0.1, 1, 10, 60, 600, 3600],
    });
    this.connections = new Counter({ name: 'meshgate_proxy_connections_total', help: 'Connections accepted (inbound) or opened (outbound)', labelNames: ['direction', 'service'], registers });
    this.activeConnections = new Gauge({ name: 'meshgate_proxy_active_connections', help: 'Connections open now', labelNames: ['direction', 'service'], registers });
    this.tlsFailures = new Counter({ name: 'meshgate_proxy_tls_failures_total', help: 'mTLS handshakes that failed or presented no valid identity', labelNames: ['direction', 'service'], registers });
    this.intentionDenials = new Counter({ name: 'meshgate_proxy_intention_denials_total', help: 'Connections (l4) or requests (l7) refused by intentions', labelNames: ['downstream', 'layer'], registers });
    this.upstreamFailures = new Counter({ name: 'meshgate_proxy_upstream_failures_total', help: 'Upstream attempts that failed, by reason', labelNames: ['service', 'reason'], registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'meshgate_proxy_' });
  }

  private readonly pending = new Map<string, PendingCounts>();

  /**
   * One finished HTTP request: count, latency and bytes. The latency histogram's child is looked up once per peer
   * service; the counts wait in `pending` for the next scrape.
   */
  recordRequest(direction: Direction, service: string, code: number, seconds: number, rxBytes: number, txBytes: number): void {
    const key = direction === 'inbound' ? `i|${service}` : `o|${service}`;
    let p = this.pending.get(key);
    if (!p) {
      p = { direction, service, codes: new Map(), rx: 0, tx: 0, latency: this.requestDuration.child({ direction, service }) };
      this.pending.set(key, p);
    }
    p.codes.set(code, (p.codes.get(code) ?? 0) + 1);
    p.rx += rxBytes;
    p.tx += txBytes;
    p.latency.observe(seconds);
  }

  /** Adds the counts recorded since the last scrape to the prom-client counters (their `collect`, run per scrape). */
  private flush(): void {
    for (const p of this.pending.values()) {
      const { direction, service } = p;
      for (const [code, n] of p.codes) if (n > 0) this.requests.inc({ direction, service, code: String(code) }, n);
      p.codes.clear();
      if (p.rx > 0) this.bytes.inc({ direction, service, flow: 'rx' }, p.rx);
      if (p.tx > 0) this.bytes.inc({ direction, service, flow: 'tx' }, p.tx);
      p.rx = 0;
      p.tx = 0;
    }
  }

  /** Serves `/metrics` (Prometheus text) on `host:port`; resolves with the bound address. */
  async serve(host: string, port: number): Promise<{ server: Server; address: AddressInfo }> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics' && req.url !== '/') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then((text) => {
        res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text);
      }, (err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return { server, address: server.address() as AddressInfo };
  }
}
