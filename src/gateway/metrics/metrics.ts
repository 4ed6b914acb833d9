/**
 * Traefik's Prometheus metrics (pkg/metrics/prometheus.go) with its names, labels and default buckets.
 *
 * The request path records into plain numbers: each label combination is a series object found through nested
 * maps keyed by the label values (no label-object hashing, no allocation once a combination has been seen). The
 * families are prom-client metric objects (`get()` in prom-client's JSON shape), so the same registry serves the
 * `/metrics` text and node:cluster aggregation through prom-client's AggregatorRegistry.
 */
import { AggregatorRegistry, Registry } from 'prom-client';
import type { MetricsSink } from './sink.ts';
import type { WorkerGauges } from './cluster-push.ts';
import { certificateExpiries, tlsLabels } from './tls.ts';

/** Traefik's default histogram buckets (seconds). */
export const DEFAULT_BUCKETS = [0.1, 0.3, 1.2, 5.0] as const;

type Labels = Record<string, string>;
type Aggregator = 'sum' | 'first' | 'min' | 'max' | 'average' | 'omit';

interface ScalarSeries { labels: Labels; value: number }
interface HistogramSeries { labels: Labels; buckets: Float64Array; sum: number; count: number }

interface MetricValue { labels: Labels; value: number; metricName?: string }

/**
 * A copy of `labels` with the names in order: Go's client (prometheus/value.go MakeLabelPairs sorts the pairs) writes
 * `{code="200",entrypoint="web",method="GET",protocol="http"}`, as Traefik's metrics page shows; a histogram's `le`
 * comes after them. Done per scrape, not per request.
 */
function sortedLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const name of Object.keys(labels).sort()) out[name] = labels[name]!;
  return out;
}

/** Counter or gauge family: a list of series exposed on demand. */
class ScalarFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly aggregator: Aggregator;
  readonly series: ScalarSeries[] = [];

  constructor(name: string, help: string, type: 'counter' | 'gauge', aggregator: Aggregator = 'sum') {
    this.name = name;
    this.help = help;
    this.type = type;
    this.aggregator = aggregator;
  }

  add(labels: Labels): ScalarSeries {
    const s = { labels, value: 0 };
    this.series.push(s);
    return s;
  }

  get(): { name: string; help: string; type: string; aggregator: Aggregator; values: MetricValue[] } {
    return {
      name: this.name, help: this.help, type: this.type, aggregator: this.aggregator,
      values: this.series.map((s) => ({ labels: sortedLabels(s.labels), value: s.value })),
    };
  }

  reset(): void {
    for (const s of this.series) s.value = 0;
  }
}

class HistogramFamily {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator: Aggregator = 'sum';
  readonly bounds: readonly number[];
  readonly series: HistogramSeries[] = [];

  constructor(name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.bounds = bounds;
  }

  add(labels: Labels): HistogramSeries {
    const s = { labels, buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 };
    this.series.push(s);
    return s;
  }

  get(): { name: string; help: string; type: string; aggregator: Aggregator; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const s of this.series) {
      const labels = sortedLabels(s.labels);
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.buckets[i]!;
        values.push({ labels: { ...labels, le: String(this.bounds[i]) }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const s of this.series) {
      s.buckets.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

function observe(s: HistogramSeries, bounds: readonly number[], seconds: number): void {
  s.sum += seconds;
  s.count++;
  for (let i = 0; i < bounds.length; i++) {
    if (seconds <= bounds[i]!) {
      s.buckets[i]!++;
      return;
    }
  }
}

/** The four series of one (…, method, protocol, code) combination. */
interface RequestSeries {
  labels: Labels;
  requests: ScalarSeries;
  /** With `headerLabels`: the requests counter per combination of those headers' values. */
  requestsByHeaders: Map<string, ScalarSeries> | undefined;
  duration: HistogramSeries;
  requestBytes: ScalarSeries;
  responseBytes: ScalarSeries;
}

interface RequestFamilies {
  requests: ScalarFamily;
  /** `*_requests_tls_total`: the scope's labels, tls_version, tls_cipher. */
  requestsTls: ScalarFamily;
  duration: HistogramFamily;
  requestBytes: ScalarFamily;
  responseBytes: ScalarFamily;
}

/**
 * Records requests for one fixed label prefix (an entry point, a router+service, a service). Obtain it once
 * (per entry point, per router) and keep it; `record` then touches only numbers.
 */
export class RequestRecorder {
  private readonly families: RequestFamilies;
  /** The scope's labels (`{ entrypoint: name }` for an entry point); the push backends take the name from it. */
  readonly prefix: Labels;
  private readonly byMethod = new Map<string, Map<string, RequestSeries[]>>();
  /** `<version>\0<cipher>` → the TLS requests counter of this scope. */
  private readonly tls = new Map<string, ScalarSeries>();

  constructor(families: RequestFamilies, prefix: Labels) {
    this.families = families;
    this.prefix = prefix;
  }

  /** `headerLabels`: [label, value] pairs for the requests counter (Traefik puts them on `*_requests_total` only). */
  record(method: string, protocol: string, code: number, seconds: number, requestBytes: number, responseBytes: number, headerLabels?: HeaderLabelValues): void {
    let byProtocol = this.byMethod.get(method);
    if (byProtocol === undefined) {
      byProtocol = new Map();
      this.byMethod.set(method, byProtocol);
    }
    let byCode = byProtocol.get(protocol);
    if (byCode === undefined) {
      byCode = [];
      byProtocol.set(protocol, byCode);
    }
    let s = byCode[code];
    if (s === undefined) {
      const labels = { code: String(code), method, protocol, ...this.prefix };
      const f = this.families;
      s = {
        labels,
        // Requests with header labels never count in the plain series, so it is not exposed for them.
        requests: headerLabels === undefined ? f.requests.add(labels) : { labels, value: 0 },
        requestsByHeaders: undefined,
        duration: f.duration.add(labels), requestBytes: f.requestBytes.add(labels), responseBytes: f.responseBytes.add(labels),
      };
      byCode[code] = s;
    }
    if (headerLabels === undefined) s.requests.value++;
    else {
      const map = (s.requestsByHeaders ??= new Map());
      let counted = map.get(headerLabels.key);
      if (counted === undefined) {
        counted = this.families.requests.add({ ...s.labels, ...headerLabels.labels });
        map.set(headerLabels.key, counted);
      }
      counted.value++;
    }
    observe(s.duration, this.families.duration.bounds, seconds);
    s.requestBytes.value += requestBytes;
    s.responseBytes.value += responseBytes;
  }

  recordTls(version: string, cipher: string): void {
    const key = `${version}\u0000${cipher}`;
    let s = this.tls.get(key);
    if (s === undefined) {
      s = this.families.requestsTls.add({ ...this.prefix, tls_version: version, tls_cipher: cipher });
      this.tls.set(key, s);
    }
    s.value++;
  }
}

/** A request's `headerLabels` values, computed once per request for every recorder. */
export interface HeaderLabelValues {
  readonly key: string;
  readonly labels: Labels;
}

export interface GatewayMetricsOptions {
  buckets?: readonly number[];
  /** Traefik's metrics.prometheus.headerLabels: label name → request header whose value it takes ('' when absent). */
  headerLabels?: Record<string, string>;
  /** Traefik's addEntryPointsLabels / addRoutersLabels / addServicesLabels (all default true but routers, as in Traefik). */
  addEntryPointsLabels?: boolean;
  addRoutersLabels?: boolean;
  addServicesLabels?: boolean;
  /** false: no Prometheus request series (only push backends are configured; /metrics is not served). Default true. */
  prometheus?: boolean;
}

/** The options of static `metrics.prometheus` (primary and cluster workers build theirs the same way). */
export function prometheusOptions(prom: GatewayMetricsOptions): GatewayMetricsOptions {
  return {
    ...(prom.buckets ? { buckets: prom.buckets } : {}),
    ...(prom.headerLabels ? { headerLabels: prom.headerLabels } : {}),
    ...(prom.addEntryPointsLabels !== undefined ? { addEntryPointsLabels: prom.addEntryPointsLabels } : {}),
    ...(prom.addRoutersLabels !== undefined ? { addRoutersLabels: prom.addRoutersLabels } : {}),
    ...(prom.addServicesLabels !== undefined ? { addServicesLabels: prom.addServicesLabels } : {}),
  };
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly options: Required<Omit<GatewayMetricsOptions, 'buckets' | 'headerLabels'>> & { buckets: readonly number[] };
  /** headerLabels as [label, lower-cased header] pairs; empty without any. */
  private readonly headerLabels: Array<[string, string]>;
  private readonly entryPointFamilies: RequestFamilies;
  private readonly routerFamilies: RequestFamilies;
  private readonly serviceFamilies: RequestFamilies;
  private readonly entryPoints = new Map<string, RequestRecorder>();
  private readonly routers = new Map<string, Map<string, RequestRecorder>>();
  private readonly services = new Map<string, RequestRecorder>();
  private readonly openConnections: ScalarFamily;
  private readonly certsNotAfter: ScalarFamily;
  private readonly openConnectionSeries = new Map<string, ScalarSeries>();
  private readonly serverUp: ScalarFamily;
  private readonly serverUpSeries = new Map<string, ScalarSeries>();
  private readonly retries: ScalarFamily;
  private readonly rateLimitFallbacks: ScalarFamily;
  private readonly retrySeries = new Map<string, ScalarSeries>();
  private readonly fallbackSeries = new Map<string, ScalarSeries>();
  private readonly reloads: ScalarSeries;
  private readonly reloadFailures: ScalarSeries;
  private readonly lastReloadSuccess: ScalarSeries;
  private readonly lastReloadFailure: ScalarSeries;
  /** The push backends (StatsD, Datadog, InfluxDB 2, OTLP): one call per event whatever their number. */
  private push: MetricsSink | undefined;
  /** The same sinks for the gateway-wide series; undefined in a cluster worker, whose primary pushes them (cluster-push.ts). */
  private pushGatewayWide: MetricsSink | undefined;

  constructor(options: GatewayMetricsOptions = {}) {
    const prometheus = options.prometheus ?? true;
    this.options = {
      buckets: options.buckets ?? DEFAULT_BUCKETS,
      addEntryPointsLabels: prometheus && (options.addEntryPointsLabels ?? true),
      addRoutersLabels: prometheus && (options.addRoutersLabels ?? false),
      addServicesLabels: prometheus && (options.addServicesLabels ?? true),
      prometheus,
    };
    this.headerLabels = Object.entries(options.headerLabels ?? {}).map(([label, header]) => [label, header.toLowerCase()]);
    const b = this.options.buckets;
    // Traefik's help texts (pkg/metrics/prometheus.go), which differ between the scopes.
    const tlsHelp: Record<string, string> = {
      entrypoint: 'How many HTTP requests with TLS processed on an entrypoint, partitioned by TLS Version and TLS cipher Used.',
      router: 'How many HTTP requests with TLS are processed on a router, partitioned by service, TLS Version, and TLS cipher Used.',
      service: 'How many HTTP requests with TLS processed on a service, partitioned by TLS version and TLS cipher.',
    };
    const families = (scope: string, what: string): RequestFamilies => ({
      requestsTls: new ScalarFamily(`traefik_${scope}_requests_tls_total`, tlsHelp[scope]!, 'counter'),
      requests: new ScalarFamily(`traefik_${scope}_requests_total`, `How many HTTP requests processed on ${what}, partitioned by status code, protocol, and method.`, 'counter'),
      duration: new HistogramFamily(`traefik_${scope}_request_duration_seconds`, `How long it took to process the request on ${what}, partitioned by status code, protocol, and method.`, b),
      requestBytes: new ScalarFamily(`traefik_${scope}_requests_bytes_total`, `The total size of requests in bytes handled by ${what}, partitioned by status code, protocol, and method.`, 'counter'),
      responseBytes: new ScalarFamily(`traefik_${scope}_responses_bytes_total`, `The total size of responses in bytes handled by ${what}, partitioned by status code, protocol, and method.`, 'counter'),
    });
    this.entryPointFamilies = families('entrypoint', 'an entrypoint');
    this.routerFamilies = families('router', 'a router');
    this.serviceFamilies = families('service', 'a service');
    const register = (f: ScalarFamily | HistogramFamily) => this.registry.registerMetric(f as never);
    const reloads = new ScalarFamily('traefik_config_reloads_total', 'Config reloads', 'counter', 'max');
    const reloadFailures = new ScalarFamily('traefik_config_reloads_failure_total', 'Config reload failures', 'counter', 'max');
    const lastSuccess = new ScalarFamily('traefik_config_last_reload_success', 'Last config reload success', 'gauge', 'max');
    const lastFailure = new ScalarFamily('traefik_config_last_reload_failure', 'Last config reload failure', 'gauge', 'max');
    this.reloads = reloads.add({});
    this.reloadFailures = reloadFailures.add({});
    this.lastReloadSuccess = lastSuccess.add({});
    this.lastReloadFailure = lastFailure.add({});
    for (const f of [reloads, reloadFailures, lastSuccess, lastFailure]) register(f);
    // A worker serves the same certificates as the others: the cluster's value is any worker's ('max').
    this.certsNotAfter = new ScalarFamily('traefik_tls_certs_not_after', 'Certificate expiration timestamp', 'gauge', 'max');
    register(this.certsNotAfter);
    this.openConnections = new ScalarFamily('traefik_open_connections', 'How many open connections exist, by entryPoint and protocol', 'gauge');
    register(this.openConnections);
    for (const fs of [this.entryPointFamilies, this.routerFamilies, this.serviceFamilies]) {
      register(fs.requests); register(fs.requestsTls); register(fs.duration); register(fs.requestBytes); register(fs.responseBytes);
    }
    this.retries = new ScalarFamily('traefik_service_retries_total', 'How many request retries happened on a service.', 'counter');
    this.serverUp = new ScalarFamily('traefik_service_server_up', 'service server is up, described by gauge value of 0 or 1.', 'gauge', 'min');
    register(this.retries);
    register(this.serverUp);
    this.rateLimitFallbacks = new ScalarFamily(
      'meshgate_ratelimit_local_fallback_total',
      'Requests a rateLimit with redis.whenUnavailable=localBucket limited from its per-process bucket while Redis was unreachable.',
      'counter',
    );
    register(this.rateLimitFallbacks);
  }

  /** The recorder for an entry point's requests (keep it; lookups are per name). */
  entryPoint(name: string): RequestRecorder {
    let r = this.entryPoints.get(name);
    if (r === undefined) {
      r = new RequestRecorder(this.entryPointFamilies, { entrypoint: name });
      this.entryPoints.set(name, r);
    }
    return r;
  }

  router(router: string, service: string): RequestRecorder {
    let byService = this.routers.get(router);
    if (byService === undefined) {
      byService = new Map();
      this.routers.set(router, byService);
    }
    let r = byService.get(service);
    if (r === undefined) {
      r = new RequestRecorder(this.routerFamilies, { router, service });
      byService.set(service, r);
    }
    return r;
  }

  service(name: string): RequestRecorder {
    let r = this.services.get(name);
    if (r === undefined) {
      r = new RequestRecorder(this.serviceFamilies, { service: name });
      this.services.set(name, r);
    }
    return r;
  }

  /** Entry point + router + service request metrics in one call (what the entry point does per request). */
  recordRequest(entryPoint: RequestRecorder | undefined, router: string | undefined, service: string | undefined,
    method: string, protocol: string, code: number, seconds: number, requestBytes: number, responseBytes: number,
    headers?: Record<string, string | string[] | undefined>, socket?: object | null): void {
    const h = this.headerLabels.length > 0 && headers !== undefined ? this.headerLabelValues(headers) : undefined;
    const tls = socket === undefined ? undefined : tlsLabels(socket);
    if (tls !== undefined) this.recordTlsRequest(entryPoint, router, service, tls.version, tls.cipher);
    if (entryPoint !== undefined && this.options.addEntryPointsLabels) entryPoint.record(method, protocol, code, seconds, requestBytes, responseBytes, h);
    if (router !== undefined && this.options.addRoutersLabels) this.router(router, service ?? '').record(method, protocol, code, seconds, requestBytes, responseBytes, h);
    if (service !== undefined && this.options.addServicesLabels) this.service(service).record(method, protocol, code, seconds, requestBytes, responseBytes, h);
    this.push?.request(entryPoint?.prefix.entrypoint, router, service, method, protocol, code, seconds, requestBytes, responseBytes);
  }

  private recordTlsRequest(entryPoint: RequestRecorder | undefined, router: string | undefined, service: string | undefined, version: string, cipher: string): void {
    if (entryPoint !== undefined && this.options.addEntryPointsLabels) entryPoint.recordTls(version, cipher);
    if (router !== undefined && this.options.addRoutersLabels) this.router(router, service ?? '').recordTls(version, cipher);
    if (service !== undefined && this.options.addServicesLabels) this.service(service).recordTls(version, cipher);
    this.push?.tlsRequest(entryPoint?.prefix.entrypoint, router, service, version, cipher);
  }

  /**
   * The certificates served now (PEM, leaf first; after each applied configuration), as Traefik sets its expiry gauge from the TLS
   * manager's certificates on every reload; the series of a certificate no longer served is dropped.
   */
  setCertificates(pems: Iterable<string>): void {
    const certs = certificateExpiries(pems);
    this.certsNotAfter.series.length = 0;
    for (const c of certs) this.certsNotAfter.add({ cn: c.cn, serial: c.serial, sans: c.sans }).value = c.notAfter;
    this.pushGatewayWide?.certificates(certs);
  }

  /**
   * Feeds every later event to the push backends too (set once, after they are loaded). `gatewayWide: false` in a
   * cluster worker: open connections, server up, certificates and reloads are the primary's to push (pushGauges).
   */
  attachPush(sink: MetricsSink, options: { gatewayWide: boolean } = { gatewayWide: true }): void {
    this.push = sink;
    this.pushGatewayWide = options.gatewayWide ? sink : undefined;
  }

  /** This process's gateway-wide values, for the cluster primary to push (cluster-push.ts). */
  pushGauges(): WorkerGauges {
    return {
      openConnections: [...this.openConnectionSeries.values()].map((s) => [s.labels.entrypoint!, s.labels.protocol!, s.value]),
      serverUp: [...this.serverUpSeries.values()].map((s) => [s.labels.service!, s.labels.url!, s.value === 1 ? 1 : 0]),
      certificates: this.certsNotAfter.series.map((s) => ({ cn: s.labels.cn!, serial: s.labels.serial!, sans: s.labels.sans!, notAfter: s.value })),
    };
  }

  /** Pushes what the push backends hold and stops them (graceful stop). */
  async close(): Promise<void> {
    const push = this.push;
    this.push = undefined;
    this.pushGatewayWide = undefined;
    await push?.close();
  }

  /** Each header label's value: the request header's first value, '' when the request has none (as Traefik). */
  private headerLabelValues(headers: Record<string, string | string[] | undefined>): HeaderLabelValues {
    const labels: Labels = {};
    let key = '';
    for (const [label, header] of this.headerLabels) {
      const raw = headers[header];
      const value = raw === undefined ? '' : Array.isArray(raw) ? (raw[0] ?? '') : raw;
      labels[label] = value;
      key += `${value}\u0000`;
    }
    return { key, labels };
  }

  openConnection(entryPoint: string, protocol: string, delta: 1 | -1): void {
    const key = `${entryPoint}\u0000${protocol}`;
    let s = this.openConnectionSeries.get(key);
    if (s === undefined) {
      s = this.openConnections.add({ entrypoint: entryPoint, protocol });
      this.openConnectionSeries.set(key, s);
    }
    s.value += delta;
    this.pushGatewayWide?.openConnection(entryPoint, protocol, delta);
  }

  setServerUp(service: string, url: string, up: boolean): void {
    const key = `${service}\u0000${url}`;
    let s = this.serverUpSeries.get(key);
    if (s === undefined) {
      s = this.serverUp.add({ service, url });
      this.serverUpSeries.set(key, s);
    }
    s.value = up ? 1 : 0;
    this.pushGatewayWide?.serverUp(service, url, up);
  }

  /** Drops the server_up series of servers no longer configured (called by the control plane after a reload). */
  retainServers(active: Iterable<[service: string, url: string]>): void {
    const keep = new Set<string>();
    for (const [service, url] of active) keep.add(`${service}\u0000${url}`);
    for (const [key, s] of this.serverUpSeries) {
      if (keep.has(key)) continue;
      this.serverUpSeries.delete(key);
      const i = this.serverUp.series.indexOf(s);
      if (i !== -1) this.serverUp.series.splice(i, 1);
    }
  }

  /** Meshgate's own: a rateLimit served a request from its per-process bucket while Redis was unreachable. */
  recordRateLimitFallback(middleware: string): void {
    let s = this.fallbackSeries.get(middleware);
    if (s === undefined) {
      s = this.rateLimitFallbacks.add({ middleware });
      this.fallbackSeries.set(middleware, s);
    }
    s.value++;
  }

  recordRetry(service: string): void {
    let s = this.retrySeries.get(service);
    if (s === undefined) {
      s = this.retries.add({ service });
      this.retrySeries.set(service, s);
    }
    s.value++;
    this.push?.retry(service);
  }

  recordConfigReload(success: boolean, at = Date.now()): void {
    if (success) {
      this.reloads.value++;
      this.lastReloadSuccess.value = Math.floor(at / 1000);
    } else {
      this.reloadFailures.value++;
      this.lastReloadFailure.value = Math.floor(at / 1000);
    }
    this.pushGatewayWide?.configReload(success, at);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text exposition of this process's metrics. */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /** This process's registry in prom-client's JSON shape: what a cluster worker sends the primary to aggregate. */
  metricsJSON(): Promise<RegistryJSON> {
    return this.registry.getMetricsAsJSON() as Promise<RegistryJSON>;
  }
}

/** One registry's metrics as prom-client's `getMetricsAsJSON` gives them (the `aggregator` of each family included). */
export type RegistryJSON = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * In the cluster primary: every worker's metrics summed into one exposition (counters and histograms add up; each
 * family's `aggregator` says how), plus what the workers that were rolled out had counted. A counter that fell when
 * its worker drained would look like a counter reset to every scraper, and a roll happens on every large reload
 * (runtime/worker-roll.ts): so a retired worker's last counters and histograms (buckets, sum and count are all
 * counters) stay in the sum; its gauges (open connections, server up) describe a process that is gone and drop out.
 */
/** prom-client's types whose values only grow (a histogram's buckets, sum and count). */
const COUNTING = new Set(['counter', 'histogram']);

export class ClusterMetrics {
  /** The retired workers' counters and histograms, folded into one registry's worth. */
  #retired: RegistryJSON = [];

  /** `worker`'s last registry, sent as it exits after a drain. */
  retire(last: RegistryJSON): void {
    const counting = last.filter((family) => COUNTING.has(String(family.type)));
    this.#retired = AggregatorRegistry.aggregate([this.#retired, counting]).getMetricsAsArray().map((metric) => (metric as unknown as { get(): RegistryJSON[number] }).get());
  }

  /** The exposition of the live workers' registries and the retired ones' counters. */
  metricsText(live: RegistryJSON[]): Promise<string> {
    return AggregatorRegistry.aggregate([...live, this.#retired]).metrics();
  }

  get contentType(): string {
    return Registry.PROMETHEUS_CONTENT_TYPE;
  }
}
