/**
 * Active health checks of a load balancer's servers (Traefik's pkg/healthcheck): every `interval` (or
 * `unhealthyInterval` while a server is down) a request goes to the server's URL resolved against `path`, with
 * `scheme`, `port`, `hostname`, `method` and `headers` overridden; it is healthy when the status equals `status`,
 * or is 2xx/3xx when none is set, within `timeout`. Probes use their own small agent, never the traffic pools.
 * With `mode: grpc` the probe is grpc.health.v1's Check instead (grpc-healthcheck.ts).
 */
import { interceptors, type Dispatcher } from 'undici';
import type { Logger } from '../../lib/logger.ts';
import type { HealthCheckConfig } from './schema.ts';
import type { ServerStates } from './health.ts';
import { timeoutAfterPoll } from '../../lib/poll-timeout.ts';
import { checkGrpcHealth, grpcHealthTarget, type GrpcHealthTarget } from './grpc-healthcheck.ts';

export interface HealthCheckerOptions {
  service: string;
  config: HealthCheckConfig;
  servers: readonly string[];
  dispatcher: Dispatcher;
  /** This build's status per server URL, seeded from and kept in the HealthRegistry. Missing entries count as up. */
  states: ServerStates;
  onChange(url: string, up: boolean): void;
  logger: Logger;
}

interface Probe {
  url: string;
  origin: string;
  path: string;
  /** `mode: grpc`: where the Check call goes. */
  grpc: GrpcHealthTarget | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class HealthChecker {
  private readonly options: HealthCheckerOptions;
  private readonly probes: Probe[];
  private readonly dispatcher: Dispatcher;
  private readonly headers: Record<string, string>;
  private stopped = false;

  constructor(options: HealthCheckerOptions) {
    this.options = options;
    const { config } = options;
    this.dispatcher = config.followRedirects
      ? options.dispatcher.compose(interceptors.redirect({ maxRedirections: 10 }))
      : options.dispatcher;
    this.headers = { ...config.headers };
    if (config.hostname) this.headers.host = config.hostname;
    this.probes = options.servers.map((url) => {
      const target = new URL(config.path ?? '/', url);
      if (config.scheme) target.protocol = `${config.scheme}:`;
      if (config.port) target.port = String(config.port);
      const grpc = config.mode === 'grpc' ? grpcHealthTarget(url, config) : undefined;
      return { url, origin: target.origin, path: target.pathname + target.search, grpc, timer: undefined };
    });
  }

  start(): void {
    for (const probe of this.probes) this.schedule(probe, 0);
  }

  stop(): void {
    this.stopped = true;
    for (const probe of this.probes) clearTimeout(probe.timer);
  }

  private schedule(probe: Probe, delay: number): void {
    if (this.stopped) return;
    probe.timer = setTimeout(() => void this.run(probe), delay);
    probe.timer.unref();
  }

  private async run(probe: Probe): Promise<void> {
    const { config, states } = this.options;
    const up = await this.check(probe);
    if (this.stopped) return;
    // A newer build checks these servers now; what this probe saw is older than what that build may already know.
    if (states.replaced) {
      this.stop();
      return;
    }
    const was = states.get(probe.url) ?? true;
    states.set(probe.url, up);
    if (was !== up) {
      this.options.logger.warn({ service: this.options.service, server: probe.url, status: up ? 'UP' : 'DOWN' },
        up ? 'health check up: returning to server list' : 'health check failed: removing server from the list');
      this.options.onChange(probe.url, up);
    }
    const interval = up ? config.interval : (config.unhealthyInterval ?? config.interval);
    this.schedule(probe, interval);
  }

  private async check(probe: Probe): Promise<boolean> {
    const { config } = this.options;
    if (probe.grpc !== undefined) {
      const failure = await checkGrpcHealth(probe.grpc, config.timeout);
      if (failure !== undefined) this.options.logger.debug({ service: this.options.service, server: probe.url, err: failure }, 'gRPC health check failed');
      return failure === undefined;
    }
    // The whole probe (head and body) within `timeout`, judged after the loop has read what arrived (lib/poll-timeout.ts):
    // a turn held up past the timeout must not fail a server that answered in time. undici's own head and body
    // timers are plain timers, so they are off.
    const controller = new AbortController();
    const timeout = timeoutAfterPoll(config.timeout, () => controller.abort(new Error(`health check timed out after ${config.timeout}ms`)));
    try {
      const res = await this.dispatcher.request({
        origin: probe.origin,
        path: probe.path,
        method: config.method as Dispatcher.HttpMethod,
        headers: this.headers,
        headersTimeout: 0,
        bodyTimeout: 0,
        signal: controller.signal,
      });
      await res.body.dump();
      if (config.status !== undefined) return res.statusCode === config.status;
      return res.statusCode >= 200 && res.statusCode < 400;
    } catch (err) {
      this.options.logger.debug({ service: this.options.service, server: probe.url, err }, 'health check request failed');
      return false;
    } finally {
      timeout.clear();
    }
  }
}
