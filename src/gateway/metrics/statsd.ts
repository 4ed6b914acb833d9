/**
 * Traefik's StatsD and Datadog backends (pkg/metrics/statsd.go, datadog.go) on hot-shots: the same metric names,
 * `<prefix>.` in front, pushed every `pushInterval`. StatsD lines carry no tags (go-kit's statsd package, which
 * Traefik uses, drops label values), request durations are timings in milliseconds (`|ms`); DogStatsD lines carry
 * the labels as tags (`|#entrypoint:web,code:200,…`) and durations are histograms in seconds (`|h`).
 * Datadog's address may be a Unix socket: `unix://` and `unixgram://` (datagrams), `unixstream://` (a stream).
 */
import { createConnection } from 'node:net';
import StatsDClient, { type ClientOptions, type StatsD } from 'hot-shots';
import type { Logger } from '../../lib/logger.ts';
import { IntervalStore, StoreSink, type MetricsSink, type PushNames, type Tags } from './sink.ts';
import type { DatadogConfig, StatsdConfig } from '../config/schema/metrics.ts';

/** Both backends use these names (Traefik's statsd*Name / dd*Name constants are the same strings). */
export const STATSD_NAMES: PushNames = {
  configReloads: 'config.reload.total',
  lastReloadSuccess: 'config.reload.lastSuccessTimestamp',
  openConnections: 'open.connections',
  tlsCertsNotAfter: 'tls.certs.notAfterTimestamp',
  entryPoint: {
    requests: 'entrypoint.request.total', requestsTls: 'entrypoint.request.tls.total', duration: 'entrypoint.request.duration',
    requestBytes: 'entrypoint.requests.bytes.total', responseBytes: 'entrypoint.responses.bytes.total',
  },
  router: {
    requests: 'router.request.total', requestsTls: 'router.request.tls.total', duration: 'router.request.duration',
    requestBytes: 'router.requests.bytes.total', responseBytes: 'router.responses.bytes.total',
  },
  service: {
    requests: 'service.request.total', requestsTls: 'service.request.tls.total', duration: 'service.request.duration',
    requestBytes: 'service.requests.bytes.total', responseBytes: 'service.responses.bytes.total',
    retries: 'service.retries.total', serverUp: 'service.server.up',
  },
};

/** `host:port` or `[v6]:port` → host and port. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) return undefined;
  return { host: m[1] ?? (m[2] || 'localhost'), port: Number(m[3]) };
}

/** The transport options for an address as Traefik's parseDatadogAddress reads it. */
function transport(address: string): ClientOptions {
  const unix = /^(unix|unixgram|unixstream):\/\/(.+)$/.exec(address);
  if (unix) {
    if (unix[1] === 'unixstream') return { protocol: 'stream', stream: createConnection(unix[2]!) };
    return { protocol: 'uds', path: unix[2]! };
  }
  const hp = splitHostPort(address) ?? { host: address, port: 8125 };
  return { protocol: 'udp', host: hp.host, port: hp.port };
}

/**
 * `|#k:v,k:v` as go-kit's dogstatsd writes it (dogstatsd.go tagValues): values as they are, a "," in one included —
 * the certificate gauge's `sans:a.example,b.example` reaches the agent as Traefik sends it. hot-shots' own formatter
 * would rewrite `@` to `_` (`service:app_file`), which Traefik does not do. Only `|` and line breaks are replaced:
 * they would end the line or start a field, letting a label (a router or service name) inject a metric.
 */
function tagSuffix(tags: Tags): string {
  if (tags.length === 0) return '';
  return `|#${tags.map(([k, v]) => `${k}:${v.replace(/[|\r\n]/g, '_')}`).join(',')}`;
}

/** hot-shots' line transport (`send` queues a formatted line into its buffer; not in its type declarations). */
interface LineSender { send(message: string): void }

class StatsdSink extends StoreSink {
  readonly #client: StatsD;
  readonly #dog: boolean;
  readonly #prefix: string;

  constructor(config: StatsdConfig, dog: boolean, logger: Logger) {
    super(new IntervalStore(STATSD_NAMES, config, { tagged: dog, durationScale: dog ? 1 : 1000 }), config.pushInterval);
    this.#dog = dog;
    this.#prefix = config.prefix === '' ? '' : `${config.prefix}.`;
    let warned = false;
    this.#client = new StatsDClient({
      ...transport(config.address),
      // One datagram per ~MTU instead of one per line; written out at each push.
      maxBufferSize: 1400,
      bufferFlushInterval: 1000,
      includeDataDogTags: false,
      errorHandler: (err) => {
        // An absent agent must not fill the log: say it once.
        if (warned) return;
        warned = true;
        logger.warn({ err: err.message, backend: dog ? 'datadog' : 'statsd' }, 'metrics: cannot send to the agent');
      },
    });
  }

  protected async push(): Promise<void> {
    const { counters, gauges, histograms } = this.store.drain();
    const sender = this.#client as unknown as LineSender;
    const p = this.#prefix;
    const tags = (t: Tags) => (this.#dog ? tagSuffix(t) : '');
    for (const c of counters) sender.send(`${p}${c.name}:${c.value}|c${tags(c.tags)}`);
    for (const g of gauges) sender.send(`${p}${g.name}:${g.value}|g${tags(g.tags)}`);
    // Every observation is a line, as go-kit sends them: timings (ms) for StatsD, histograms (s) for DogStatsD.
    const type = this.#dog ? 'h' : 'ms';
    for (const h of histograms) {
      const suffix = tags(h.tags);
      for (const v of h.values) sender.send(`${p}${h.name}:${v}|${type}${suffix}`);
    }
  }

  protected async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#client.close(() => resolve()));
  }
}

export function createStatsdSink(config: StatsdConfig, logger: Logger): MetricsSink {
  return new StatsdSink(config, false, logger);
}

export function createDatadogSink(config: DatadogConfig, logger: Logger): MetricsSink {
  return new StatsdSink(config, true, logger);
}
