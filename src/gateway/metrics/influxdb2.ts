/**
 * Traefik's InfluxDB 2 backend (pkg/metrics/influxdb2.go, which writes go-kit's influx store through
 * influxdb-client-go's blocking write API) on @influxdata/influxdb-client: every `pushInterval` one write to
 * `<address>/api/v2/write?org=&bucket=` with `Authorization: Token <token>`. Points keep Traefik's shapes: a counter
 * is `count=<interval delta>`, a gauge `value=<current>`, a duration histogram `p50,p90,p95,p99` of the interval's
 * observations in seconds; labels and `additionalLabels` are tags. Without token, org or bucket Traefik logs an error
 * and pushes nothing, and so does Meshgate.
 */
import { InfluxDB, Point, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from '../../lib/logger.ts';
import { IntervalStore, StoreSink, type MetricsSink, type PushNames, type Tags } from './sink.ts';
import type { InfluxDB2Config } from '../config/schema/metrics.ts';

/** Traefik's influxDB* constants (pkg/metrics/influxdb2.go): `requests` plural, `traefik.` built in. */
export const INFLUXDB_NAMES: PushNames = {
  configReloads: 'traefik.config.reload.total',
  lastReloadSuccess: 'traefik.config.reload.lastSuccessTimestamp',
  openConnections: 'traefik.open.connections',
  tlsCertsNotAfter: 'traefik.tls.certs.notAfterTimestamp',
  entryPoint: {
    requests: 'traefik.entrypoint.requests.total', requestsTls: 'traefik.entrypoint.requests.tls.total', duration: 'traefik.entrypoint.request.duration',
    requestBytes: 'traefik.entrypoint.requests.bytes.total', responseBytes: 'traefik.entrypoint.responses.bytes.total',
  },
  router: {
    requests: 'traefik.router.requests.total', requestsTls: 'traefik.router.requests.tls.total', duration: 'traefik.router.request.duration',
    requestBytes: 'traefik.router.requests.bytes.total', responseBytes: 'traefik.router.responses.bytes.total',
  },
  service: {
    requests: 'traefik.service.requests.total', requestsTls: 'traefik.service.requests.tls.total', duration: 'traefik.service.request.duration',
    requestBytes: 'traefik.service.requests.bytes.total', responseBytes: 'traefik.service.responses.bytes.total',
    retries: 'traefik.service.retries.total', serverUp: 'traefik.service.server.up',
  },
};

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const silent = { error: () => {}, warn: () => {} };

class InfluxDB2Sink extends StoreSink {
  readonly #write: WriteApi;
  readonly #extra: Tags;

  constructor(config: InfluxDB2Config, logger: Logger) {
    super(new IntervalStore(INFLUXDB_NAMES, config, { tagged: true, durationScale: 1 }), config.pushInterval);
    this.#extra = Object.entries(config.additionalLabels ?? {});
    // Traefik turns the client's own logging off; failures are logged here once per push, without the token.
    setLogger(silent);
    this.#write = new InfluxDB({ url: config.address, token: config.token, timeout: 10_000 }).getWriteApi(config.org, config.bucket, 'ns', {
      // One write per push, no retry queue (Traefik's WriteAPIBlocking): a down InfluxDB costs one interval's points.
      flushInterval: 0,
      batchSize: 1 << 20,
      maxRetries: 0,
      writeFailed: (error) => {
        logger.warn({ err: error.message, backend: 'influxdb2' }, 'metrics: InfluxDB write failed');
      },
    });
  }

  #point(name: string, tags: Tags, at: Date): Point {
    const p = new Point(name).timestamp(at);
    for (const [k, v] of this.#extra) p.tag(k, v);
    for (const [k, v] of tags) p.tag(k, v);
    return p;
  }

  protected async push(): Promise<void> {
    const { counters, gauges, histograms } = this.store.drain();
    if (counters.length + gauges.length + histograms.length === 0) return;
    const at = new Date();
    const points: Point[] = [];
    for (const c of counters) points.push(this.#point(c.name, c.tags, at).floatField('count', c.value));
    for (const g of gauges) points.push(this.#point(g.name, g.tags, at).floatField('value', g.value));
    for (const h of histograms) {
      const sorted = h.values.sort((a, b) => a - b);
      points.push(this.#point(h.name, h.tags, at)
        .floatField('p50', quantile(sorted, 0.5)).floatField('p90', quantile(sorted, 0.9))
        .floatField('p95', quantile(sorted, 0.95)).floatField('p99', quantile(sorted, 0.99)));
    }
    this.#write.writePoints(points);
    await this.#write.flush().catch(() => {});
  }

  protected async stop(): Promise<void> {
    await this.#write.close().catch(() => {});
  }
}

/** The InfluxDB 2 sink, or undefined (logged) when token, org or bucket is missing, as Traefik's newInfluxDB2Client. */
export function createInfluxDB2Sink(config: InfluxDB2Config, logger: Logger): MetricsSink | undefined {
  if (config.token === '' || config.org === '' || config.bucket === '') {
    logger.error({ backend: 'influxdb2' }, 'metrics.influxDB2: token, org or bucket property is missing; InfluxDB 2 metrics are off');
    return undefined;
  }
  return new InfluxDB2Sink(config, logger);
}
