/**
 * The proxy's registration read from the catalog instead of a local agent: where no agent runs beside the sidecar
 * (Kubernetes, where the endpoints controller registers each pod's proxy on a synthetic `<node>-virtual` node),
 * the proxy is told its node (`-node-name`, consul-dataplane's `-service-node-name`) and reads
 * `/v1/catalog/node-services/<node>`, whose entries have the agent's service shape, then follows it with blocking
 * queries on that node's index. As with the agent watch, a registration that went away or no longer parses keeps
 * the last good settings.
 */
import type { ConsulClient } from '../api/client.ts';
import type { AgentService } from '../api/types.ts';
import type { Logger } from '../lib/logger.ts';
import { ProxyErrors } from './errors.ts';
import { settingsFromRegistration, type ProxySettings } from './registration.ts';
import { applyRegistration, backOffAfterFailure } from './registration-watch.ts';

function findProxy(services: readonly AgentService[] | undefined, proxyId: string): AgentService | undefined {
  return (services ?? []).find((s) => s.ID === proxyId);
}

export async function loadProxySettingsFromCatalog(client: ConsulClient, nodeName: string, proxyId: string): Promise<ProxySettings> {
  const { value } = await client.catalog.nodeServices(nodeName);
  const svc = findProxy(value?.Services, proxyId);
  if (!svc) throw ProxyErrors.registration(`proxy service ${JSON.stringify(proxyId)} is not registered on node ${JSON.stringify(nodeName)} in the catalog`);
  return settingsFromRegistration(svc);
}

export function followCatalogRegistration(
  client: ConsulClient, nodeName: string, proxyId: string, onChange: (settings: ProxySettings) => Promise<void>, logger: Logger,
): { stop(): void } {
  const abort = new AbortController();
  const { signal } = abort;
  void (async () => {
    let index = 0;
    let last = '';
    let failures = 0;
    while (!signal.aborted) {
      try {
        const { value, meta } = await client.catalog.nodeServices(nodeName, { index, waitMs: 300_000, signal });
        const next = meta.LastIndex;
        failures = 0;
        // An index that went backwards (a restored snapshot) starts over, as Consul's watch does.
        index = next < index ? 0 : next;
        const svc = findProxy(value?.Services, proxyId);
        if (!svc) {
          logger.warn({ proxyId, nodeName }, 'the proxy registration is gone from the catalog; keeping the last settings');
          continue;
        }
        const text = JSON.stringify(svc);
        if (text === last) continue;
        last = text;
        await applyRegistration(svc, onChange, logger);
      } catch (err) {
        if (signal.aborted) return;
        await backOffAfterFailure(++failures, err, signal, logger);
      }
    }
  })();
  return { stop: () => abort.abort() };
}
