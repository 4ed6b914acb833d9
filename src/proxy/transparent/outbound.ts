/**
 * The transparent outbound listener (Envoy's `outbound_listener:127.0.0.1:15001` in Consul's transparent proxy):
 * every TCP connection the application makes is REDIRECTed here by `redirect-traffic`'s rules. For each one the
 * listener recovers the original destination from conntrack, asks `classify` whether it is a mesh service, and then
 * - hands a mesh destination to `dialUpstream` (the proxy's ordinary upstream path: mTLS, intentions, L7 chain);
 * - passes anything else straight through to where it was going (the proxy's UID is excluded from capture, so its
 *   own dial is not redirected again), unless `meshDestinationsOnly` (Consul's
 *   `mesh.transparent_proxy.mesh_destinations_only`) says to refuse it.
 * A connection with no conntrack entry was not redirected (someone dialled 15001 itself) and is closed: dialling it
 * back to ourselves would loop.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { unmapIpv4 } from '../../lib/ip/address.ts';
import type { Logger } from '../../lib/logger.ts';
import type { ConntrackTable, OriginalDestination, SocketEndpoints } from './original-dst.ts';

export type TransparentDecision = { kind: 'mesh'; service: string } | { kind: 'passthrough' } | { kind: 'refuse'; reason: string };

export interface TransparentOutboundOptions {
  /** Listen address; REDIRECT of locally generated traffic delivers to 127.0.0.1. */
  host?: string;
  /** Default 15001 (Consul's DefaultTProxyOutboundPort); 0 picks one (tests). */
  port?: number;
  /** Maps an original destination to a mesh service (see DestinationIndex). */
  classify(destination: OriginalDestination): string | undefined;
  /** Takes over a client connection bound for a mesh service. */
  dialUpstream(service: string, client: Socket, destination: OriginalDestination): void;
  meshDestinationsOnly?: boolean;
  logger: Logger;
  /** Where original destinations come from; open it before dropping privileges (see ConntrackTable). */
  conntrack: Pick<ConntrackTable, 'lookup'>;
  /** Counters the proxy's metrics read. */
  onDecision?: (decision: TransparentDecision, destination: OriginalDestination | undefined) => void;
}

export interface RunningTransparentOutbound {
  readonly port: number;
  close(): Promise<void>;
}

export function decide(destination: OriginalDestination | undefined, service: string | undefined, meshOnly: boolean): TransparentDecision {
  if (!destination) return { kind: 'refuse', reason: 'no original destination (connection was not redirected)' };
  if (service) return { kind: 'mesh', service };
  if (meshOnly) return { kind: 'refuse', reason: `${destination.address}:${destination.port} is not a mesh destination (mesh_destinations_only)` };
  return { kind: 'passthrough' };
}

export async function startTransparentOutbound(options: TransparentOutboundOptions): Promise<RunningTransparentOutbound> {
  const open = new Set<Socket>();
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', (err) => options.logger.debug({ err }, 'transparent client socket error'));
    void handle(client);
  });

  async function handle(client: Socket): Promise<void> {
    let destination: OriginalDestination | undefined;
    try {
      const endpoints: SocketEndpoints = {
        localAddress: client.localAddress ?? '', localPort: client.localPort ?? 0,
        remoteAddress: client.remoteAddress ?? '', remotePort: client.remotePort ?? 0,
      };
      destination = await options.conntrack.lookup(endpoints);
    } catch (err) {
      options.logger.warn({ err }, 'original destination lookup failed');
    }
    // Conntrack also has entries for connections that were not NATed: their "original" destination is this
    // listener itself, and passing them through would dial ourselves in a loop.
    if (destination && destination.port === client.localPort && destination.address === unmapIpv4(client.localAddress ?? '')) destination = undefined;
    const service = destination ? options.classify(destination) : undefined;
    const decision = decide(destination, service, options.meshDestinationsOnly === true);
    options.onDecision?.(decision, destination);
    if (decision.kind === 'refuse') {
      options.logger.info({ reason: decision.reason }, 'transparent connection refused');
      client.destroy();
      return;
    }
    if (decision.kind === 'mesh') {
      options.dialUpstream(decision.service, client, destination!);
      return;
    }
    const upstream = connect({ host: destination!.address, port: destination!.port });
    upstream.once('connect', () => {
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    upstream.on('error', (err) => {
      options.logger.debug({ err, destination }, 'passthrough dial failed');
      client.destroy();
    });
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 15001, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
