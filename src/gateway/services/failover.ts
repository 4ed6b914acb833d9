/**
 * Traefik's `failover` service: requests go to `service` while it has a healthy server, else to `fallback`.
 * The main service's health comes from its load balancer's health checks (status propagation); a main service
 * that answers "no available server" before writing anything is also failed over.
 */
import type { Handler, GatewayRequest, ResponseWriter } from '../http/types.ts';
import { GatewayErrors } from '../http/errors.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { healthOf, HealthFlag } from './health.ts';
import type { FailoverConfig } from './schema.ts';

export function createFailover(config: FailoverConfig, resolve: (name: string) => Handler): { handler: Handler; health: HealthFlag; close(): void } {
  const main = resolve(config.service);
  const fallback = resolve(config.fallback);
  const mainHealth = healthOf(main);
  const fallbackHealth = healthOf(fallback);
  const health = new HealthFlag((mainHealth?.up() ?? true) || (fallbackHealth?.up() ?? true));
  const refresh = () => health.set((mainHealth?.up() ?? true) || (fallbackHealth?.up() ?? true));
  const unsubscribe = [mainHealth?.onChange(refresh), fallbackHealth?.onChange(refresh)];

  const handler: Handler = async (req: GatewayRequest, rw: ResponseWriter) => {
    if (mainHealth !== undefined && !mainHealth.up()) return fallback(req, rw);
    try {
      await main(req, rw);
    } catch (err) {
      if (!rw.headersSent && isMeshgateError(err, GatewayErrors.noAvailableServer.code)) return fallback(req, rw);
      throw err;
    }
  };
  return { handler, health, close: () => { for (const u of unsubscribe) u?.(); } };
}
