/**
 * The proxy's own health checks, as Consul's `sidecar_service` defaults register them
 * (agent/sidecar_service.go): "Connect Sidecar Listening", a TCP check on the public listener every 10s, and
 * "Connect Sidecar Aliasing <service-id>", an alias of the service it fronts. Registered with the local agent only
 * when the proxy registration has no checks of its own (a registration that brought them keeps them). The agent
 * runs them; an agent that does not run alias checks refuses that one, which is logged and does not stop the proxy.
 */
import type { ConsulClient } from '../api/client.ts';
import type { Logger } from '../lib/logger.ts';

export async function registerLocalChecks(client: ConsulClient, proxyId: string, serviceId: string, tcpAddress: string, logger: Logger): Promise<string[]> {
  const existing = Object.values(await client.agent.checks()).filter((c) => c.ServiceID === proxyId);
  if (existing.length > 0) return [];
  const registered: string[] = [];
  const checks = [
    { ID: `service:${proxyId}:1`, Name: 'Connect Sidecar Listening', ServiceID: proxyId, TCP: tcpAddress, Interval: '10s' },
    { ID: `service:${proxyId}:2`, Name: `Connect Sidecar Aliasing ${serviceId}`, ServiceID: proxyId, AliasService: serviceId },
  ];
  for (const check of checks) {
    try {
      await client.agent.checkRegister(check);
      registered.push(check.ID);
    } catch (err) {
      logger.warn({ err, check: check.Name }, 'registering a proxy health check failed');
    }
  }
  return registered;
}
