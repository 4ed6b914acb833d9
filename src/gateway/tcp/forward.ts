/**
 * Forwarding one client connection to one server (Traefik's pkg/tcp Proxy): dial (plain, or TLS when the server
 * says `tls: true`), write the PROXY header first when configured, then copy both ways. When one side finishes
 * sending, the other side's write half is closed and, after `terminationDelay`, both connections are closed
 * (Traefik's terminationDelay; negative: wait for the other side to finish on its own).
 */
import net, { type Socket } from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import type { Logger } from '../../lib/logger.ts';
import { proxyHeader } from './proxy-protocol.ts';
import type { TcpConnection, TcpHandler } from './types.ts';

export interface ForwardOptions {
  readonly address: string;
  readonly tls: boolean;
  /** A function when the options change while the service runs (a SPIFFE transport's SVID rotates). */
  readonly tlsOptions?: ConnectionOptions | (() => ConnectionOptions);
  readonly dialTimeoutMs: number;
  readonly terminationDelayMs: number;
  readonly proxyProtocol?: 1 | 2;
  readonly logger: Logger;
}

/** `host:port`, `[v6]:port`. */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  let host = colon === -1 ? address : address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (colon === -1 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`invalid server address "${address}": host:port expected`);
  return { host, port };
}

export function forwarder(options: ForwardOptions): TcpHandler {
  const { host, port } = splitAddress(options.address);
  return function forward(conn: TcpConnection): void {
    const client = conn.socket;
    let tlsOptions: ConnectionOptions | undefined;
    try {
      tlsOptions = typeof options.tlsOptions === 'function' ? options.tlsOptions() : options.tlsOptions;
    } catch (err) {
      options.logger.warn({ server: options.address, err: (err as Error).message }, 'TCP upstream TLS unavailable');
      client.destroy();
      return;
    }
    const upstream: Socket = options.tls
      ? tls.connect({ ...tlsOptions, host, port, ...(tlsOptions?.servername === undefined && net.isIP(host) === 0 ? { servername: host } : {}) })
      : net.connect({ host, port });
    upstream.setNoDelay(true);
    let dialTimer: NodeJS.Timeout | undefined;
    if (options.dialTimeoutMs > 0) {
      dialTimer = setTimeout(() => upstream.destroy(new Error(`dial ${options.address}: timeout`)), options.dialTimeoutMs);
      dialTimer.unref();
    }
    let closed = false;
    const closeBoth = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstream.destroy();
    };
    upstream.once('error', (err: Error) => {
      options.logger.debug({ server: options.address, err: err.message }, 'TCP upstream error');
      closeBoth();
    });
    client.on('error', () => closeBoth());
    client.once('close', () => { if (!closed) upstream.end(); setTimeout(closeBoth, Math.max(0, options.terminationDelayMs)).unref(); });
    upstream.once('close', () => { if (!closed) client.end(); setTimeout(closeBoth, Math.max(0, options.terminationDelayMs)).unref(); });
    // One side done sending: the other's write half closes now, both after terminationDelay.
    const halfClosed = () => {
      if (options.terminationDelayMs >= 0) setTimeout(closeBoth, options.terminationDelayMs).unref();
    };
    upstream.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(dialTimer);
      if (options.proxyProtocol !== undefined) {
        upstream.write(proxyHeader(options.proxyProtocol, {
          sourceAddress: conn.remoteAddress, sourcePort: conn.remotePort, destinationAddress: conn.localAddress, destinationPort: conn.localPort,
        }));
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('end', halfClosed);
      upstream.once('end', halfClosed);
      client.resume();
    });
  };
}
