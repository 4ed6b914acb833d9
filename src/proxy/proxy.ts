/**
 * `meshgate proxy`: one sidecar put together — identity (leaf + roots), intentions, the public listener, one listener
 * per upstream, metrics and access logs, and the proxy's own health checks. `startProxy` resolves once every listener
 * is bound and the proxy can serve; `stop()` closes listeners and watches.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { ConsulClient } from '../api/client.ts';
import type { Logger } from '../lib/logger.ts';
import { createAccessLog, noAccessLog, type AccessLog } from './access-log.ts';
import { EndpointSet } from './endpoints.ts';
import { startExposeListeners } from './expose.ts';
import { ProxyErrors } from './errors.ts';
import { ProxyIdentity } from './identity.ts';
import { InboundListener } from './inbound.ts';
import { IntentionWatcher } from './intentions.ts';
import { registerLocalChecks } from './local-checks.ts';
import { ProxyMetrics } from './metrics.ts';
import { loadProxySettings, lookupProxyIdForSidecar, type ProxySettings } from './registration.ts';
import { followRegistration } from './registration-watch.ts';
import { followCatalogRegistration, loadProxySettingsFromCatalog } from './catalog-registration.ts';
import { startTransparentMode } from './transparent/mode.ts';
import { ConntrackTable } from './transparent/original-dst.ts';
import { Upstream } from './upstream.ts';
import { UpstreamSet } from './upstream-set.ts';

export interface ProxyOptions {
  readonly client: ConsulClient;
  readonly logger: Logger;
  readonly sidecarFor?: string | undefined;
  readonly proxyId?: string | undefined;
  /** `host:port` for Prometheus metrics; none when unset. */
  readonly metricsAddr?: string | undefined;
  /** Access log destination: `-` for stdout or a file path; none when unset. */
  readonly accessLog?: string | undefined;
  /** Register the sidecar's default checks when the registration has none (default true). */
  readonly registerChecks?: boolean | undefined;
  /**
   * Transparent mode's view of the conntrack table, opened by the caller while it still had root (see
   * transparent/original-dst.ts); opened here when absent.
   */
  readonly conntrack?: Pick<ConntrackTable, 'lookup'> | undefined;
  /** Follow the registration and apply upstream changes without a restart (default true). */
  readonly followRegistration?: boolean | undefined;
  /**
   * Read the registration from the catalog on this node rather than from a local agent (consul-dataplane's
   * `-service-node-name`; Kubernetes pods registered by the endpoints controller). Requires `proxyId`; no local
   * checks are registered then — the registration's owner keeps its health.
   */
  readonly nodeName?: string | undefined;
}

export interface RunningProxy {
  readonly settings: ProxySettings;
  readonly publicAddress: AddressInfo;
  /** Live: upstreams added or removed in the registration appear here and go. */
  readonly upstreamAddresses: ReadonlyMap<string, AddressInfo>;
  readonly metricsAddress: AddressInfo | undefined;
  readonly metrics: ProxyMetrics;
  /** The TLS identity in force (leaf serial, trust domain) — new connections use `identity.current()`. */
  readonly identity: ProxyIdentity;
  /** The upstreams by destination name: a transparent listener maps an original destination to one of these. */
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** The transparent outbound listener's port, in transparent mode. */
  readonly transparentOutboundPort: number | undefined;
  stop(): Promise<void>;
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const { client } = options;
  let proxyId = options.proxyId;
  if (!proxyId) {
    if (!options.sidecarFor) throw ProxyErrors.config('-sidecar-for', 'one of -sidecar-for or -proxy-id is required');
    proxyId = await lookupProxyIdForSidecar(client, options.sidecarFor);
  }
  const nodeName = options.nodeName;
  if (nodeName && options.sidecarFor) throw ProxyErrors.config('-node-name', 'needs -proxy-id (a catalog node has no agent to ask for the sidecar of a service)');
  const settings = nodeName ? await loadProxySettingsFromCatalog(client, nodeName, proxyId) : await loadProxySettings(client, proxyId);
  const logger = options.logger.child({ proxy: settings.proxyId, service: settings.service });
  const metrics = new ProxyMetrics(settings.proxyId);
  let accessLog: AccessLog = noAccessLog;
  let flushAccessLog = (): void => {};
  if (options.accessLog) {
    const created = createAccessLog(options.accessLog);
    accessLog = created.log;
    flushAccessLog = () => created.logger.flush();
  }

  const identity = new ProxyIdentity(client, settings.service, logger.child({ part: 'identity' }));
  const intentions = new IntentionWatcher(client, settings.service, logger.child({ part: 'intentions' }));
  const endpoints = new EndpointSet(client, logger.child({ part: 'endpoints' }));
  const inboundProtocol = new ServiceProtocol(client, settings.service, settings.protocol, logger);
  const stops: Array<() => Promise<void> | void> = [() => identity.stop(), () => intentions.stop(), () => endpoints.stop(), () => inboundProtocol.stop()];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s();
    flushAccessLog();
  };
  try {
    await Promise.all([identity.start(), intentions.start(), inboundProtocol.start()]);
    const upstreamSet = new UpstreamSet({ client, identity, endpoints, metrics, accessLog, service: settings.service }, logger);
    stops.push(() => upstreamSet.stop());
    await upstreamSet.apply(settings.upstreams);
    const upstreams = upstreamSet.byName;
    const upstreamAddresses = upstreamSet.addresses;
    let transparentOutboundPort: number | undefined;
    if (settings.mode === 'transparent') {
      const upstreamDeps = { client, identity, endpoints, metrics, accessLog, service: settings.service };
      const transparent = await startTransparentMode({
        client,
        logger: logger.child({ part: 'transparent' }),
        outboundPort: settings.outboundListenerPort,
        conntrack: options.conntrack ?? ConntrackTable.open(),
        upstreamFor: async (service) => {
          const explicit = upstreams.get(service);
          if (explicit) return explicit;
          const implicit = new Upstream({ destinationName: service, localBindAddress: '', localBindPort: 0 }, { ...upstreamDeps, logger: logger.child({ upstream: service }) });
          stops.push(() => implicit.stop());
          await implicit.start();
          return implicit;
        },
      });
      transparentOutboundPort = transparent.outboundPort;
      stops.push(() => transparent.stop());
    }
    const inbound = new InboundListener({
      service: settings.service, bindAddress: settings.bindAddress, bindPort: settings.bindPort, localAddress: settings.localAddress, localPort: settings.localPort,
      localConnectTimeoutMs: settings.localConnectTimeoutMs, handshakeTimeoutMs: settings.handshakeTimeoutMs, protocol: () => inboundProtocol.current,
      identity, intentions, metrics, accessLog, logger: logger.child({ part: 'inbound' }),
    });
    const publicAddress = await inbound.listen();
    stops.push(() => inbound.close());
    if (settings.expose.length > 0) {
      const exposed = await startExposeListeners({ bindAddress: settings.bindAddress, localAddress: settings.localAddress, paths: settings.expose, logger: logger.child({ part: 'expose' }) });
      stops.push(() => exposed.close());
    }
    let metricsAddress: AddressInfo | undefined;
    if (options.metricsAddr) {
      const i = options.metricsAddr.lastIndexOf(':');
      const served = await metrics.serve(options.metricsAddr.slice(0, i) || '127.0.0.1', Number(options.metricsAddr.slice(i + 1)));
      metricsAddress = served.address;
      const server: Server = served.server;
      stops.push(() => new Promise<void>((r) => server.close(() => r())));
    }
    if (options.registerChecks !== false && !nodeName) {
      const host = settings.bindAddress === '0.0.0.0' || settings.bindAddress === '::' ? '127.0.0.1' : settings.bindAddress;
      const checks = await registerLocalChecks(client, {
        proxyId: settings.proxyId, serviceId: settings.serviceId, service: settings.service, tcpAddress: `${host}:${publicAddress.port}`,
      }, logger);
      stops.push(() => checks.stop());
    }
    if (options.followRegistration !== false) {
      const onChange = async (next: ProxySettings): Promise<void> => {
        const restartOnly: string[] = (['bindAddress', 'bindPort', 'localAddress', 'localPort', 'service', 'mode'] as const).filter((k) => next[k] !== settings[k]);
        if (JSON.stringify(next.expose) !== JSON.stringify(settings.expose)) restartOnly.push('expose');
        if (restartOnly.length > 0) logger.warn({ fields: restartOnly }, 'the proxy registration changed fields that apply only on a restart');
        await upstreamSet.apply(next.upstreams);
      };
      const registrationLog = logger.child({ part: 'registration' });
      const watch = nodeName
        ? followCatalogRegistration(client, nodeName, settings.proxyId, onChange, registrationLog)
        : followRegistration(client, settings.proxyId, onChange, registrationLog);
      stops.push(() => watch.stop());
    }
    logger.info({ public: `${publicAddress.address}:${publicAddress.port}`, upstreams: Object.fromEntries([...upstreamAddresses].map(([k, a]) => [k, `${a.address}:${a.port}`])) }, 'proxy running');
    return { settings, publicAddress, upstreamAddresses, metricsAddress, metrics, identity, upstreams, transparentOutboundPort, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The protocol of our own service for the inbound side: the registration's `Config.protocol` when set, else the
 * protocol of the service's compiled discovery chain (service-defaults, then proxy-defaults, then tcp), followed with
 * a blocking query so a service-defaults change applies to new connections.
 */
class ServiceProtocol {
  current: string;
  private readonly client: ConsulClient;
  private readonly service: string;
  private readonly fixed: string | undefined;
  private readonly logger: Logger;
  private readonly abort = new AbortController();

  constructor(client: ConsulClient, service: string, fixed: string | undefined, logger: Logger) {
    this.client = client;
    this.service = service;
    this.fixed = fixed;
    this.current = fixed ?? 'tcp';
    this.logger = logger;
  }

  start(): Promise<void> {
    if (this.fixed) return Promise.resolve();
    let loaded!: () => void;
    const ready = new Promise<void>((r) => (loaded = r));
    this.client.watchEach((q) => this.client.configEntries.discoveryChain(this.service, q), (r) => {
      this.current = r.value.Chain.Protocol || 'tcp';
      loaded();
    }, { signal: this.abort.signal, onError: (err) => this.logger.warn({ err }, 'watching the service protocol failed') })
      .done.catch((err: unknown) => this.logger.error({ err }, 'service protocol watch stopped'));
    return ready;
  }

  stop(): void {
    this.abort.abort();
  }
}
