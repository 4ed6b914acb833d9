/**
 * What the push backends (StatsD, DogStatsD, InfluxDB 2, OTLP) receive: one event per request, connection, server
 * state change, retry and reload. GatewayMetrics calls one MetricsSink whatever the number of backends (MultiSink
 * fans out, as Traefik's MultiRegistry does), and each backend honours its own addEntryPointsLabels /
 * addRoutersLabels / addServicesLabels.
 *
 * IntervalStore is the accumulation the StatsD-family and InfluxDB backends share (go-kit's metrics packages, which
 * Traefik uses for them, work the same way): counters add up until the next push and are sent as that interval's
 * delta, a gauge sends its current value when it changed, a histogram keeps the interval's observations.
 */

export interface MetricsSink {
  request(entryPoint: string | undefined, router: string | undefined, service: string | undefined,
    method: string, protocol: string, code: number, seconds: number, requestBytes: number, responseBytes: number): void;
  /** `delta`: +1/-1 per connection in a process; any count from the cluster primary's sum (cluster-push.ts). */
  openConnection(entryPoint: string, protocol: string, delta: number): void;
  serverUp(service: string, url: string, up: boolean): void;
  retry(service: string): void;
  configReload(success: boolean, atMs: number): void;
  /** A request that came over TLS (Traefik's *ReqsTLSCounter): the scopes' labels, then tls_version and tls_cipher. */
  tlsRequest(entryPoint: string | undefined, router: string | undefined, service: string | undefined, version: string, cipher: string): void;
  /** The certificates served after a reload (Traefik's TLSCertsNotAfterTimestampGauge, set for each). */
  certificates(certs: readonly CertificateExpiry[]): void;
  /** Push what is pending and stop. */
  close(): Promise<void>;
}

/** One served certificate as Traefik labels its expiry gauge (cmd/traefik appendCertMetric): cn, serial, sans. */
export interface CertificateExpiry {
  readonly cn: string;
  /** Decimal, as Go's big.Int String(). */
  readonly serial: string;
  /** The DNS names, sorted, joined with ",". */
  readonly sans: string;
  /** Unix seconds. */
  readonly notAfter: number;
}

export class MultiSink implements MetricsSink {
  readonly #sinks: MetricsSink[];

  constructor(sinks: MetricsSink[]) {
    this.#sinks = sinks;
  }

  request(entryPoint: string | undefined, router: string | undefined, service: string | undefined,
    method: string, protocol: string, code: number, seconds: number, requestBytes: number, responseBytes: number): void {
    for (const s of this.#sinks) s.request(entryPoint, router, service, method, protocol, code, seconds, requestBytes, responseBytes);
  }

  openConnection(entryPoint: string, protocol: string, delta: number): void {
    for (const s of this.#sinks) s.openConnection(entryPoint, protocol, delta);
  }

  serverUp(service: string, url: string, up: boolean): void {
    for (const s of this.#sinks) s.serverUp(service, url, up);
  }

  retry(service: string): void {
    for (const s of this.#sinks) s.retry(service);
  }

  configReload(success: boolean, atMs: number): void {
    for (const s of this.#sinks) s.configReload(success, atMs);
  }

  tlsRequest(entryPoint: string | undefined, router: string | undefined, service: string | undefined, version: string, cipher: string): void {
    for (const s of this.#sinks) s.tlsRequest(entryPoint, router, service, version, cipher);
  }

  certificates(certs: readonly CertificateExpiry[]): void {
    for (const s of this.#sinks) s.certificates(certs);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#sinks.map((s) => s.close()));
  }
}

/** A backend's metric names (Traefik's constants in pkg/metrics/<backend>.go), without the prefix. */
export interface ScopeNames {
  requests: string;
  requestsTls: string;
  duration: string;
  requestBytes: string;
  responseBytes: string;
}
export interface PushNames {
  configReloads: string;
  lastReloadSuccess: string;
  openConnections: string;
  tlsCertsNotAfter: string;
  entryPoint: ScopeNames;
  router: ScopeNames;
  service: ScopeNames & { retries: string; serverUp: string };
}

export interface ScopeFlags {
  addEntryPointsLabels: boolean;
  addRoutersLabels: boolean;
  addServicesLabels: boolean;
}

export type Tags = ReadonlyArray<readonly [string, string]>;

export interface CounterPoint { name: string; tags: Tags; value: number }
export interface HistogramPoint { name: string; tags: Tags; values: number[] }

/** Most observations one histogram series keeps per interval; past it they are dropped (the count still is not). */
export const MAX_SAMPLES_PER_INTERVAL = 10_000;

interface RequestSeries { requests: CounterPoint; duration: HistogramPoint; requestBytes: CounterPoint; responseBytes: CounterPoint }

/** The interval's accumulated points, taken (and reset) by `drain`. */
export interface Drained { counters: CounterPoint[]; gauges: CounterPoint[]; histograms: HistogramPoint[] }

export class IntervalStore {
  readonly #names: PushNames;
  readonly #flags: ScopeFlags;
  /** Plain StatsD has no tags: every series of a name is one (go-kit's statsd drops label values). */
  readonly #tagged: boolean;
  /** Duration unit: StatsD timings are milliseconds, the others seconds (Traefik's NewScalableHistogram unit). */
  readonly #durationScale: number;
  #counters = new Map<string, CounterPoint>();
  #histograms = new Map<string, HistogramPoint>();
  #requests = new Map<string, RequestSeries>();
  readonly #gauges = new Map<string, CounterPoint>();
  #changedGauges = new Set<CounterPoint>();

  constructor(names: PushNames, flags: ScopeFlags, options: { tagged: boolean; durationScale: number }) {
    this.#names = names;
    this.#flags = flags;
    this.#tagged = options.tagged;
    this.#durationScale = options.durationScale;
  }

  #counter(name: string, tags: Tags): CounterPoint {
    const key = this.#tagged ? `${name}\u0000${tags.map((t) => t[1]).join('\u0000')}` : name;
    let c = this.#counters.get(key);
    if (c === undefined) {
      c = { name, tags: this.#tagged ? tags : [], value: 0 };
      this.#counters.set(key, c);
    }
    return c;
  }

  #histogram(name: string, tags: Tags): HistogramPoint {
    const key = this.#tagged ? `${name}\u0000${tags.map((t) => t[1]).join('\u0000')}` : name;
    let h = this.#histograms.get(key);
    if (h === undefined) {
      h = { name, tags: this.#tagged ? tags : [], values: [] };
      this.#histograms.set(key, h);
    }
    return h;
  }

  #gauge(name: string, tags: Tags): CounterPoint {
    const key = this.#tagged ? `${name}\u0000${tags.map((t) => t[1]).join('\u0000')}` : name;
    let g = this.#gauges.get(key);
    if (g === undefined) {
      g = { name, tags: this.#tagged ? tags : [], value: 0 };
      this.#gauges.set(key, g);
    }
    this.#changedGauges.add(g);
    return g;
  }

  #record(names: ScopeNames, scopeKey: string, tags: () => Tags, seconds: number, requestBytes: number, responseBytes: number): void {
    const key = `${names.requests}\u0000${scopeKey}`;
    let s = this.#requests.get(key);
    if (s === undefined) {
      const t = tags();
      s = {
        requests: this.#counter(names.requests, t),
        duration: this.#histogram(names.duration, t),
        requestBytes: this.#counter(names.requestBytes, t),
        responseBytes: this.#counter(names.responseBytes, t),
      };
      this.#requests.set(key, s);
    }
    s.requests.value++;
    if (s.duration.values.length < MAX_SAMPLES_PER_INTERVAL) s.duration.values.push(seconds * this.#durationScale);
    s.requestBytes.value += requestBytes;
    s.responseBytes.value += responseBytes;
  }

  request(entryPoint: string | undefined, router: string | undefined, service: string | undefined,
    method: string, protocol: string, code: number, seconds: number, requestBytes: number, responseBytes: number): void {
    const c = String(code);
    const common = `${c}\u0000${method}\u0000${protocol}`;
    // Label order as Traefik's metrics middleware adds them: the scope's labels, then code, method, protocol.
    if (entryPoint !== undefined && this.#flags.addEntryPointsLabels) {
      this.#record(this.#names.entryPoint, `${entryPoint}\u0000${common}`,
        () => [['entrypoint', entryPoint], ['code', c], ['method', method], ['protocol', protocol]], seconds, requestBytes, responseBytes);
    }
    if (router !== undefined && this.#flags.addRoutersLabels) {
      const svc = service ?? '';
      this.#record(this.#names.router, `${router}\u0000${svc}\u0000${common}`,
        () => [['router', router], ['service', svc], ['code', c], ['method', method], ['protocol', protocol]], seconds, requestBytes, responseBytes);
    }
    if (service !== undefined && this.#flags.addServicesLabels) {
      this.#record(this.#names.service, `${service}\u0000${common}`,
        () => [['service', service], ['code', c], ['method', method], ['protocol', protocol]], seconds, requestBytes, responseBytes);
    }
  }

  tlsRequest(entryPoint: string | undefined, router: string | undefined, service: string | undefined, version: string, cipher: string): void {
    const n = this.#names;
    if (entryPoint !== undefined && this.#flags.addEntryPointsLabels) {
      this.#counter(n.entryPoint.requestsTls, [['entrypoint', entryPoint], ['tls_version', version], ['tls_cipher', cipher]]).value++;
    }
    if (router !== undefined && this.#flags.addRoutersLabels) {
      this.#counter(n.router.requestsTls, [['router', router], ['service', service ?? ''], ['tls_version', version], ['tls_cipher', cipher]]).value++;
    }
    if (service !== undefined && this.#flags.addServicesLabels) {
      this.#counter(n.service.requestsTls, [['service', service], ['tls_version', version], ['tls_cipher', cipher]]).value++;
    }
  }

  /** Not behind any add*Labels flag, as in Traefik; untagged (StatsD) every certificate sets the one gauge. */
  certificates(certs: readonly CertificateExpiry[]): void {
    for (const c of certs) this.#gauge(this.#names.tlsCertsNotAfter, [['cn', c.cn], ['serial', c.serial], ['sans', c.sans]]).value = c.notAfter;
  }

  openConnection(entryPoint: string, protocol: string, delta: number): void {
    this.#gauge(this.#names.openConnections, [['entrypoint', entryPoint], ['protocol', protocol]]).value += delta;
  }

  serverUp(service: string, url: string, up: boolean): void {
    if (!this.#flags.addServicesLabels) return;
    this.#gauge(this.#names.service.serverUp, [['service', service], ['url', url]]).value = up ? 1 : 0;
  }

  retry(service: string): void {
    if (!this.#flags.addServicesLabels) return;
    this.#counter(this.#names.service.retries, [['service', service]]).value++;
  }

  /** Traefik v3 counts successful reloads (config.reload.total) and their time; failures have no push metric. */
  configReload(success: boolean, atMs: number): void {
    if (!success) return;
    this.#counter(this.#names.configReloads, []).value++;
    this.#gauge(this.#names.lastReloadSuccess, []).value = Math.floor(atMs / 1000);
  }

  /** The interval's points; counters and histograms start again from zero, gauges keep their value. */
  drain(): Drained {
    const counters = [...this.#counters.values()].filter((c) => c.value !== 0);
    const histograms = [...this.#histograms.values()].filter((h) => h.values.length > 0);
    const gauges = [...this.#changedGauges].map((g) => ({ ...g }));
    this.#counters = new Map();
    this.#histograms = new Map();
    this.#requests = new Map();
    this.#changedGauges = new Set();
    return { counters, gauges, histograms };
  }
}

/** Runs `push` every `intervalMs` without keeping the process alive, and once more on close. */
export class PushLoop {
  readonly #timer: NodeJS.Timeout;
  readonly #push: () => Promise<void>;
  #running: Promise<void> = Promise.resolve();

  constructor(intervalMs: number, push: () => Promise<void>) {
    this.#push = push;
    this.#timer = setInterval(() => void this.run(), Math.max(intervalMs, 1));
    this.#timer.unref();
  }

  /** One push at a time: a slow collector never gets two overlapping writes. */
  run(): Promise<void> {
    this.#running = this.#running.then(this.#push, this.#push).catch(() => {});
    return this.#running;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.run();
  }
}

/**
 * A backend on IntervalStore: every event goes to the store, and `push` sends what `drain` returns every
 * `pushInterval` and once more on close.
 */
export abstract class StoreSink implements MetricsSink {
  protected readonly store: IntervalStore;
  readonly #loop: PushLoop;

  constructor(store: IntervalStore, pushIntervalMs: number) {
    this.store = store;
    this.#loop = new PushLoop(pushIntervalMs, () => this.push());
  }

  protected abstract push(): Promise<void>;

  /** After the last push: release the connection. */
  protected abstract stop(): Promise<void>;

  request(entryPoint: string | undefined, router: string | undefined, service: string | undefined,
    method: string, protocol: string, code: number, seconds: number, requestBytes: number, responseBytes: number): void {
    this.store.request(entryPoint, router, service, method, protocol, code, seconds, requestBytes, responseBytes);
  }

  openConnection(entryPoint: string, protocol: string, delta: number): void {
    this.store.openConnection(entryPoint, protocol, delta);
  }

  serverUp(service: string, url: string, up: boolean): void {
    this.store.serverUp(service, url, up);
  }

  retry(service: string): void {
    this.store.retry(service);
  }

  configReload(success: boolean, atMs: number): void {
    this.store.configReload(success, atMs);
  }

  tlsRequest(entryPoint: string | undefined, router: string | undefined, service: string | undefined, version: string, cipher: string): void {
    this.store.tlsRequest(entryPoint, router, service, version, cipher);
  }

  certificates(certs: readonly CertificateExpiry[]): void {
    this.store.certificates(certs);
  }

  async close(): Promise<void> {
    await this.#loop.close();
    await this.stop();
  }
}
