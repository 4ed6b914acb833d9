/**
 * `buildServiceHandler`: one `http.services` entry (already parsed with `serviceSchema`) → a Handler, for the control
 * plane. A `loadBalancer` becomes weighted round robin over one proxy per server with optional sticky cookie and
 * active health checks; `weighted`, `mirroring` and `failover` compose other services, obtained through
 * `ctx.resolveService`. `close()` stops the health checks; upstream pools belong to the TransportRegistry.
 */
import type { Handler } from '../http/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { Errors } from '../../lib/errors.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { ServiceConfig, LoadBalancerConfig, WeightedConfig, MirroringConfig, FailoverConfig } from './schema.ts';
import type { TransportRegistry } from './transport.ts';
import { createProxy } from './proxy.ts';
import { WeightedRoundRobin } from './wrr.ts';
import { PowerOfTwoChoices } from './p2c.ts';
import { HighestRandomWeight } from './hrw.ts';
import { LeastTime } from './leasttime.ts';
import type { ServerBalancer } from './server-balancer.ts';
import { PassiveHealthChecker } from './passive-health.ts';
import { HealthChecker } from './healthcheck.ts';
import { HealthRegistry, healthOf, registerHealth } from './health.ts';
import { createMirroring } from './mirroring.ts';
import { createFailover } from './failover.ts';
import { getServiceKind, listServiceKinds, registerServiceKind } from './registry.ts';

export interface ServiceBuildContext {
  /** A built service's handler by (possibly unqualified) name; throws when it does not exist. */
  resolveService(name: string): Handler;
  transports: TransportRegistry;
  metrics?: GatewayMetrics;
  logger: Logger;
  /** Keeps per-server health across reloads; without it every build starts with all servers up. */
  healthRegistry?: HealthRegistry;
}

export type ServerStatus = 'UP' | 'DOWN';

export interface BuiltService {
  handler: Handler;
  close(): void;
  /** Traefik's API `serverStatus` (loadBalancer only; empty for the composite kinds). */
  status(): { serverStatus: Record<string, ServerStatus> };
}

/** Builds a service of whichever registered kind its block names (exactly one key, checked by the schema). */
export function buildServiceHandler(name: string, config: ServiceConfig, ctx: ServiceBuildContext): BuiltService {
  for (const key of Object.keys(config) as Array<keyof ServiceConfig>) {
    const block = config[key];
    if (block === undefined) continue;
    const build = getServiceKind(key);
    if (build) return build(name, block as never, ctx);
  }
  throw Errors.invalidConfig(`service "${name}": needs one of ${listServiceKinds().join(', ')}`);
}

registerServiceKind('loadBalancer', buildLoadBalancer);
registerServiceKind('weighted', buildWeighted);
registerServiceKind('mirroring', (name: string, config: MirroringConfig, ctx: ServiceBuildContext): BuiltService => {
  const handler = createMirroring(name, config, ctx.resolveService, ctx.logger);
  const main = healthOf(ctx.resolveService(config.service));
  if (config.healthCheck && main) registerHealth(handler, main);
  return { handler, close() {}, status: () => ({ serverStatus: {} }) };
});
registerServiceKind('failover', (_name: string, config: FailoverConfig, ctx: ServiceBuildContext): BuiltService => {
  const failover = createFailover(config, ctx.resolveService);
  if (config.healthCheck) registerHealth(failover.handler, failover.health);
  return { handler: failover.handler, close: failover.close, status: () => ({ serverStatus: {} }) };
});

function buildLoadBalancer(name: string, lb: LoadBalancerConfig, ctx: ServiceBuildContext): BuiltService {
  const transport = ctx.transports.get(lb.serversTransport);
  const wrr = createBalancer(name, lb);
  const hc = lb.healthCheck;
  const states = hc ? (ctx.healthRegistry ?? new HealthRegistry()).claim(name, JSON.stringify(hc)) : undefined;
  const passive = lb.passiveHealthCheck
    ? new PassiveHealthChecker({
      config: lb.passiveHealthCheck,
      hasActiveHealthCheck: hc !== undefined,
      setUp(url, up) {
        ctx.logger.warn({ service: name, server: url, status: up ? 'UP' : 'DOWN' },
          up ? 'passive health check: failure window passed, returning server to the list' : 'passive health check: too many failures, removing server from the list');
        wrr.setUp(url, up);
        ctx.metrics?.setServerUp(name, url, up);
      },
    })
    : undefined;
  const urls: string[] = [];
  for (const server of lb.servers) {
    let parsed: URL;
    try {
      parsed = new URL(server.url);
    } catch {
      throw Errors.invalidConfig(`service "${name}": servers.url "${server.url}" is not a URL`);
    }
    if (urls.includes(server.url)) continue;
    urls.push(server.url);
    const proxy = createProxy({
      url: server.url,
      passHostHeader: lb.passHostHeader,
      preservePath: server.preservePath ?? false,
      dispatcher: transport.dispatcher(parsed),
    });
    const up = states?.get(server.url) ?? true;
    wrr.add(server.url, passive ? passive.wrap(server.url, proxy) : proxy, server.weight ?? 1, up);
    ctx.metrics?.setServerUp(name, server.url, up);
  }
  let checker: HealthChecker | undefined;
  if (hc && states && urls.length > 0) {
    checker = new HealthChecker({
      service: name, config: hc, servers: urls, dispatcher: transport.healthCheckAgent(), states, logger: ctx.logger,
      onChange(url, up) {
        wrr.setUp(url, up);
        ctx.metrics?.setServerUp(name, url, up);
      },
    });
    checker.start();
  }
  const handler = wrr.handle;
  registerHealth(handler, wrr.health);
  return {
    handler,
    close: () => { checker?.stop(); passive?.stop(); },
    status: () => {
      const serverStatus: Record<string, ServerStatus> = {};
      for (const url of urls) serverStatus[url] = wrr.isUp(url) ? 'UP' : 'DOWN';
      return { serverStatus };
    },
  };
}

/** The servers' balancer for the configured `strategy` (Traefik's getLoadBalancerServiceHandler switch). */
function createBalancer(name: string, lb: LoadBalancerConfig): ServerBalancer {
  switch (lb.strategy) {
    case 'p2c': return new PowerOfTwoChoices(name, lb.sticky?.cookie);
    case 'hrw': return new HighestRandomWeight(name);
    case 'leasttime': return new LeastTime(name, lb.sticky?.cookie);
    default: return new WeightedRoundRobin(name, lb.sticky?.cookie);
  }
}

function buildWeighted(name: string, config: WeightedConfig, ctx: ServiceBuildContext): BuiltService {
  const wrr = new WeightedRoundRobin(name, config.sticky?.cookie);
  const unsubscribe: (() => void)[] = [];
  for (const child of config.services) {
    const handler = ctx.resolveService(child.name);
    const health = config.healthCheck ? healthOf(handler) : undefined;
    wrr.add(child.name, handler, child.weight ?? 1, health ? health.up() : true);
    if (health) unsubscribe.push(health.onChange((up) => wrr.setUp(child.name, up)));
  }
  if (config.healthCheck) registerHealth(wrr.handle, wrr.health);
  return {
    handler: wrr.handle,
    close: () => { for (const u of unsubscribe) u(); },
    status: () => ({ serverStatus: {} }),
  };
}
