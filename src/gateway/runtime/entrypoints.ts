/**
 * Opens every static entry point through the data plane's `createEntryPoint`, each calling the runtime's dispatch
 * (one stable function; the runtime swaps what it routes to). Every entry point serves HTTPS for TLS routers with
 * the current build's TLS state (certificates, option sets, hosts → option sets), swapped on each reload; one
 * without `http.tls` also serves plain HTTP on the same port. An entry point whose address ends in `/udp` is a UDP
 * listener (gateway/udp) serving the UDP router attached to it.
 */
import type { Logger } from '../../lib/logger.ts';
import type { EntryPointConfig, StaticConfig } from '../config/static.ts';
import type { Handler } from '../http/types.ts';
import { deniedEncodings, denyEncodedCharacters } from '../http/encoded-characters.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { AccessLog } from '../accesslog/accesslog.ts';
import { createEntryPoint, type EntryPoint } from '../entrypoints/entrypoint.ts';
import type { EntryPointConfig as DataPlaneEntryPointConfig } from '../entrypoints/schema.ts';
import type { TlsConfiguration } from '../entrypoints/tls-configuration.ts';
import { addressProtocol, parseAddress } from '../entrypoints/schema.ts';
import { UdpEntryPoint } from '../udp/listener.ts';
import type { Layer4Routing } from './layer4.ts';
import { answerHttpChallenge, type ChallengeStore } from '../acme/challenges.ts';
import type { OcspStapler } from '../entrypoints/ocsp.ts';

export interface OpenEntryPointsOptions {
  readonly staticConfig: StaticConfig;
  readonly logger: Logger;
  readonly dispatch: Handler;
  readonly tls: TlsConfiguration;
  readonly metrics?: GatewayMetrics;
  readonly accessLog?: AccessLog;
  /** ACME challenges (gateway/acme): HTTP-01 answered before routing on `httpEntryPoints`, TLS-ALPN-01 on every entry point. */
  readonly acme?: { readonly challenges: ChallengeStore; readonly httpEntryPoints: ReadonlySet<string> };
  /** The TCP and UDP routers of the configuration serving when the entry points open. */
  readonly layer4?: Layer4Routing;
}

/** How a graceful close treats idle keep-alive connections (EntryPoint.close's `lingerIdleMs`). */
export interface CloseOptions {
  lingerIdleMs?: number;
}

export interface OpenEntryPoints {
  /** Bound address of each entry point (port 0 in the configuration resolves to the real port). */
  addresses(): Record<string, { address: string; port: number }>;
  /** A reload's TLS state, swapped into every TLS entry point without touching its listening socket. */
  setTls(tls: TlsConfiguration): void;
  /** A reload's TCP and UDP routers, swapped into every entry point (open UDP sessions keep their server). */
  setLayer4(layer4: Layer4Routing): void;
  /** Graceful: stop accepting, let in-flight requests finish within each entry point's `lifeCycle.graceTimeOut`. */
  close(options?: CloseOptions): Promise<void>;
}

/** Our validated static block in the data plane's shape (its schema defaults `trustedIPs` to a list). */
function toDataPlane(ep: EntryPointConfig): DataPlaneEntryPointConfig {
  const { name: _name, ...rest } = ep;
  return {
    ...rest,
    ...(ep.forwardedHeaders ? { forwardedHeaders: { ...ep.forwardedHeaders, trustedIPs: ep.forwardedHeaders.trustedIPs ?? [] } } : {}),
  } as DataPlaneEntryPointConfig;
}

export async function openEntryPoints(options: OpenEntryPointsOptions): Promise<OpenEntryPoints> {
  const { staticConfig, logger } = options;
  const holder = { handler: options.dispatch };
  const acme = options.acme;
  // Traefik's acme-http@internal router: the highest priority on the challenge entry point, ahead of every user route.
  const challengeHolder = acme === undefined ? holder : {
    handler: (req: Parameters<Handler>[0], rw: Parameters<Handler>[1]) => (answerHttpChallenge(acme.challenges, req, rw) ? Promise.resolve() : options.dispatch(req, rw)),
  };
  // Static `ocsp`: one stapler for every entry point, loaded only when configured (startup-modules.test.ts).
  let ocsp: OcspStapler | undefined;
  if (staticConfig.ocsp !== undefined) {
    const { OcspStapler } = await import('../entrypoints/ocsp.ts');
    ocsp = new OcspStapler({ config: staticConfig.ocsp, logger: logger.child({ component: 'ocsp' }) });
  }
  const opened: EntryPoint[] = [];
  const udp: UdpEntryPoint[] = [];
  const secure = new Set<EntryPoint>();
  try {
    for (const ep of Object.values(staticConfig.entryPoints)) {
      if (addressProtocol(ep.address) === 'udp') {
        const { host, port } = parseAddress(ep.address);
        const listener = new UdpEntryPoint({
          name: ep.name, host, port, timeoutMs: ep.udp?.timeout ?? 3_000, graceMs: ep.transport?.lifeCycle?.graceTimeOut ?? 10_000, reusePort: ep.reusePort === true,
          logger: logger.child({ entryPoint: ep.name }),
        });
        listener.setHandler(options.layer4?.udp.byEntryPoint.get(ep.name));
        await listener.listen();
        udp.push(listener);
        continue;
      }
      // Every entry point speaks TLS for its TLS routers, as Traefik's do; one with `http.tls` speaks only TLS,
      // the others also serve plain HTTP on the same port (the first byte tells a ClientHello from a request).
      const tlsOnly = ep.http?.tls !== undefined;
      const routed = acme?.httpEntryPoints.has(ep.name) === true ? challengeHolder : holder;
      // http.encodedCharacters refuses before routing, as Traefik's deny handler (allowed unless set to false).
      const denied = deniedEncodings(ep.http?.encodedCharacters ?? {}, true);
      const entryPoint = createEntryPoint({
        name: ep.name,
        config: toDataPlane(ep),
        logger: logger.child({ entryPoint: ep.name }),
        tls: { configuration: options.tls, acceptPlain: !tlsOnly },
        ...(acme !== undefined ? { tlsAlpnChallenge: (servername: string | undefined) => acme.challenges.tlsContext(servername) } : {}),
        ...(ocsp !== undefined ? { ocsp } : {}),
        ...(options.metrics ? { metrics: options.metrics } : {}),
        ...(options.accessLog ? { accessLog: options.accessLog } : {}),
      }, denied.size === 0 ? routed : { handler: denyEncodedCharacters(denied, (req, rw) => routed.handler(req, rw)) });
      entryPoint.setTcpRouting(options.layer4?.tcp.byEntryPoint.get(ep.name));
      await entryPoint.listen();
      opened.push(entryPoint);
      secure.add(entryPoint);
    }
  } catch (err) {
    await Promise.all([...opened.map((ep) => ep.close(0)), ...udp.map((ep) => ep.close(0))]);
    ocsp?.close();
    throw err;
  }
  return {
    addresses() {
      const out: Record<string, { address: string; port: number }> = {};
      for (const ep of opened) {
        const a = ep.address();
        out[ep.name] = { address: a.address, port: a.port };
      }
      for (const ep of udp) {
        const a = ep.address();
        out[ep.name] = { address: a.address, port: a.port };
      }
      return out;
    },
    setTls(tls) {
      for (const ep of secure) ep.setTlsConfiguration(tls);
    },
    setLayer4(layer4) {
      for (const ep of opened) ep.setTcpRouting(layer4.tcp.byEntryPoint.get(ep.name));
      for (const ep of udp) ep.setHandler(layer4.udp.byEntryPoint.get(ep.name));
    },
    async close(options: CloseOptions = {}) {
      await Promise.all([...opened.map((ep) => ep.close(undefined, options.lingerIdleMs)), ...udp.map((ep) => ep.close())]);
      ocsp?.close();
    },
  };
}
