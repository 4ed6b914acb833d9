/**
 * The proxy's own health checks, as Consul's `sidecar_service` defaults register them
 * (agent/sidecar_service.go): "Connect Sidecar Listening", a TCP check on the public listener every 10s, and
 * "Connect Sidecar Aliasing <service-id>", an alias of the service it fronts, so the sidecar drops out of every
 * healthy view when its service does. Registered with the local agent only when the proxy registration has no checks
 * of its own. An agent that does not run alias checks (Meshgate's does not yet) refuses that one with 400; the proxy
 * then registers the same check as a TTL check and mirrors the service's aggregated status into it itself — a
 * blocking watch on the service's checks, refreshed well inside the TTL (as `consul connect proxy -register` keeps
 * its TTL check alive), so the check also turns critical when the proxy dies.
 */
import type { ConsulClient } from '../api/client.ts';
import { isApiStatusError } from '../api/errors.ts';
import type { CheckStatus } from '../api/types.ts';
import type { Logger } from '../lib/logger.ts';

const MIRROR_TTL = '30s';
const MIRROR_REFRESH_MS = 10_000;

export interface LocalChecks {
  readonly registered: readonly string[];
  stop(): void;
}

export interface LocalCheckTarget {
  readonly proxyId: string;
  /** The fronted service's instance ID and name. */
  readonly serviceId: string;
  readonly service: string;
  /** host:port of the public listener. */
  readonly tcpAddress: string;
}

export async function registerLocalChecks(client: ConsulClient, target: LocalCheckTarget, logger: Logger): Promise<LocalChecks> {
  const { proxyId, serviceId } = target;
  const existing = Object.values(await client.agent.checks()).filter((c) => c.ServiceID === proxyId);
  const none: LocalChecks = { registered: [], stop: () => {} };
  if (existing.length > 0) return none;
  const registered: string[] = [];
  const listening = { ID: `service:${proxyId}:1`, Name: 'Connect Sidecar Listening', ServiceID: proxyId, TCP: target.tcpAddress, Interval: '10s' };
  try {
    await client.agent.checkRegister(listening);
    registered.push(listening.ID);
  } catch (err) {
    logger.warn({ err, check: listening.Name }, 'registering a proxy health check failed');
  }
  const alias = { ID: `service:${proxyId}:2`, Name: `Connect Sidecar Aliasing ${serviceId}`, ServiceID: proxyId };
  try {
    await client.agent.checkRegister({ ...alias, AliasService: serviceId });
    registered.push(alias.ID);
    return { registered, stop: () => {} };
  } catch (err) {
    if (!isApiStatusError(err, 400)) {
      logger.warn({ err, check: alias.Name }, 'registering a proxy health check failed');
      return { registered, stop: () => {} };
    }
  }
  try {
    await client.agent.checkRegister({ ...alias, TTL: MIRROR_TTL, Notes: `mirrors the health of ${serviceId} (alias check run by the proxy)` });
    registered.push(alias.ID);
  } catch (err) {
    logger.warn({ err, check: alias.Name }, 'registering a proxy health check failed');
    return { registered, stop: () => {} };
  }
  return { registered, stop: mirrorServiceHealth(client, target, alias.ID, logger) };
}

/** Worst status wins; an instance without checks is passing (Consul's alias check semantics). */
export function aggregateStatus(statuses: readonly CheckStatus[]): CheckStatus {
  if (statuses.includes('critical')) return 'critical';
  if (statuses.includes('warning')) return 'warning';
  return 'passing';
}

function mirrorServiceHealth(client: ConsulClient, target: LocalCheckTarget, checkId: string, logger: Logger): () => void {
  const abort = new AbortController();
  let status: CheckStatus | undefined;
  const push = async (): Promise<void> => {
    if (!status) return;
    try {
      await client.agent.checkUpdate(checkId, { Status: status, Output: `${target.serviceId} is ${status}` });
    } catch (err) {
      if (!abort.signal.aborted) logger.warn({ err, check: checkId }, 'updating the alias check failed');
    }
  };
  client.watchEach((q) => client.health.checks(target.service, q), async (r) => {
    const next = aggregateStatus(r.value.filter((c) => c.ServiceID === target.serviceId).map((c) => c.Status));
    if (next === status) return;
    status = next;
    await push();
  }, { signal: abort.signal, onError: (err) => logger.warn({ err }, 'watching the service\'s health for the alias check failed') })
    .done.catch((err: unknown) => logger.error({ err }, 'alias check watch stopped'));
  const timer = setInterval(() => void push(), MIRROR_REFRESH_MS);
  timer.unref();
  return () => {
    abort.abort();
    clearInterval(timer);
  };
}
