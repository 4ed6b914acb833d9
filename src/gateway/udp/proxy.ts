/**
 * Forwarding one UDP session to one server (Traefik's pkg/udp Proxy): a datagram socket of its own connected to
 * the server, the client's datagrams sent on it and the server's answers written back to the client, each datagram
 * whole. The server socket closes with the session; a socket error (an ICMP port unreachable, a name that does not
 * resolve) ends the session, as a failed read ends Traefik's copy loop.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../lib/logger.ts';
import { splitAddress } from '../tcp/forward.ts';
import type { UdpHandler, UdpSession } from './types.ts';

export function udpProxy(address: string, logger: Logger): UdpHandler {
  const { host, port } = splitAddress(address);
  const type = net.isIPv6(host) ? 'udp6' : 'udp4';
  return function proxy(session: UdpSession): void {
    const server = dgram.createSocket(type);
    let pending: Buffer[] | undefined = [];
    let closed = false;
    const closeServer = () => {
      if (closed) return;
      closed = true;
      try {
        server.close();
      } catch {
        // already closed by an error
      }
    };
    server.on('error', (err) => {
      logger.debug({ err: err.message, server: address, client: `${session.remoteAddress}:${session.remotePort}` }, 'UDP server socket error; session closed');
      session.close();
      closeServer();
    });
    server.on('message', (datagram) => session.write(datagram));
    server.connect(port, host, () => {
      const queued = pending ?? [];
      pending = undefined;
      for (const datagram of queued) server.send(datagram);
    });
    session.onMessage((datagram) => {
      if (closed) return;
      if (pending !== undefined) pending.push(datagram);
      else server.send(datagram);
    });
    session.onClose(closeServer);
  };
}
