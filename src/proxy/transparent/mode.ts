/**
 * Transparent mode for a running sidecar (Consul's `mode = "transparent"`): the outbound listener on
 * `TransparentProxy.OutboundListenerPort` (default 15001) receives every connection `redirect-traffic` captured,
 * maps its original destination to a mesh service (DestinationIndex) and serves it through an Upstream for that
 * service — the same path as an explicit upstream's listener: mTLS to a healthy instance's sidecar with our leaf,
 * the destination's discovery chain for L7 protocols, intentions enforced by the destination's sidecar. As in
 * Consul, every mesh service is an implicit upstream in this mode: the Upstream is created on first use and kept.
 * Destinations that are not in the mesh pass through unless the `mesh` config entry sets
 * `TransparentProxy.MeshDestinationsOnly`.
 */
import type { Socket } from 'node:net';
import type { ConsulClient } from '../../api/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { DestinationIndex } from './destinations.ts';
import type { ConntrackTable } from './original-dst.ts';
import { startTransparentOutbound, type RunningTransparentOutbound, type TransparentDecision } from './outbound.ts';

/** What mode.ts needs from an upstream: the Upstream class of the proxy satisfies it. */
export interface ConnectionHandler {
  readonly protocol: string;
  handleConnection(socket: Socket): void;
}

export interface TransparentModeOptions {
  client: ConsulClient;
  logger: Logger;
  outboundPort: number;
  conntrack: Pick<ConntrackTable, 'lookup'>;
  /** The explicit upstream for a service when there is one, else a new one (started) for it. */
  upstreamFor(service: string): Promise<ConnectionHandler>;
  onDecision?: (decision: TransparentDecision) => void;
}

export interface RunningTransparentMode {
  readonly outboundPort: number;
  stop(): Promise<void>;
}

async function meshDestinationsOnly(client: ConsulClient, logger: Logger): Promise<boolean> {
  try {
    const entry = (await client.configEntries.get('mesh', 'mesh')).value as { TransparentProxy?: { MeshDestinationsOnly?: boolean } } | null;
    return entry?.TransparentProxy?.MeshDestinationsOnly === true;
  } catch (err) {
    logger.warn({ err }, 'could not read the mesh config entry; passing non-mesh destinations through');
    return false;
  }
}

export async function startTransparentMode(options: TransparentModeOptions): Promise<RunningTransparentMode> {
  const { client, logger } = options;
  const index = new DestinationIndex({ client, logger: logger.child({ part: 'transparent-destinations' }) });
  await index.start();
  const pending = new Map<string, Promise<ConnectionHandler>>();
  const upstreamFor = (service: string): Promise<ConnectionHandler> => {
    let handler = pending.get(service);
    if (!handler) {
      handler = options.upstreamFor(service);
      pending.set(service, handler);
      handler.catch(() => pending.delete(service));
    }
    return handler;
  };
  let outbound: RunningTransparentOutbound;
  try {
    outbound = await startTransparentOutbound({
      port: options.outboundPort,
      conntrack: options.conntrack,
      meshDestinationsOnly: await meshDestinationsOnly(client, logger),
      logger: logger.child({ part: 'transparent-outbound' }),
      classify: (d) => index.lookup(d.address, d.port),
      dialUpstream: (service, socket) => {
        upstreamFor(service).then((upstream) => {
          upstream.handleConnection(socket);
          // The listener accepted it paused; an HTTP upstream reads through its server, which does not resume it.
          socket.resume();
        }, (err: unknown) => {
          logger.warn({ err, service }, 'no upstream for a transparent destination');
          socket.destroy();
        });
      },
      ...(options.onDecision ? { onDecision: (decision: TransparentDecision) => options.onDecision!(decision) } : {}),
    });
  } catch (err) {
    index.close();
    throw err;
  }
  return {
    outboundPort: outbound.port,
    async stop() {
      index.close();
      await outbound.close();
    },
  };
}
