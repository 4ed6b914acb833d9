/**
 * A UDP entry point (Traefik's pkg/udp Listener, served by pkg/server/server_entrypoint_udp.go): one datagram
 * socket; the first datagram from a client address opens a session handed to the current handler, later ones from
 * that address go to the same session, and a session idle for `udp.timeout` (default 3s) is closed with whatever
 * the handler opened for it. The handler is swapped on reload; sessions already open keep theirs. Without a router
 * on the entry point, datagrams are dropped. Closing stops new sessions, lets open ones finish until the grace
 * period, then closes the rest.
 */
import dgram from 'node:dgram';
import net, { type AddressInfo } from 'node:net';
import type { Logger } from '../../lib/logger.ts';
import { ListenerSession, type SessionOwner } from './session.ts';
import type { UdpHandler } from './types.ts';

export interface UdpEntryPointOptions {
  readonly name: string;
  /** `host:port` as the static configuration writes it (the `/udp` suffix already removed). */
  readonly host: string | undefined;
  readonly port: number;
  /** `entryPoints.<name>.udp.timeout` in ms. */
  readonly timeoutMs: number;
  /** `transport.lifeCycle.graceTimeOut` in ms. */
  readonly graceMs: number;
  readonly logger: Logger;
  /** Entry point `reusePort`: SO_REUSEPORT, so several gateways share the port. */
  readonly reusePort?: boolean;
}

export class UdpEntryPoint implements SessionOwner {
  readonly name: string;
  readonly #options: UdpEntryPointOptions;
  readonly #sessions = new Map<string, ListenerSession>();
  #socket: dgram.Socket | undefined;
  #handler: UdpHandler | undefined;
  #accepting = true;
  #sweep: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: UdpEntryPointOptions) {
    this.name = options.name;
    this.#options = options;
  }

  /** Open sessions (for tests and the API's view of an entry point). */
  get sessions(): number {
    return this.#sessions.size;
  }

  setHandler(handler: UdpHandler | undefined): void {
    this.#handler = handler;
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = this.#options;
    // No host: every interface, IPv6 with v4-mapped addresses where the machine has IPv6, else IPv4 only.
    const families: Array<'udp4' | 'udp6'> = host === undefined ? ['udp6', 'udp4'] : [net.isIPv6(host) ? 'udp6' : 'udp4'];
    let last: unknown;
    for (const type of families) {
      const socket = dgram.createSocket({ type, reuseAddr: false, reusePort: this.#options.reusePort === true });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind({ port, ...(host !== undefined ? { address: host } : {}) }, () => {
            socket.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        last = err;
        socket.close();
        continue;
      }
      this.#socket = socket;
      socket.on('message', (datagram, rinfo) => this.#receive(datagram, rinfo));
      socket.on('error', (err) => this.#options.logger.debug({ err: err.message, entryPoint: this.name }, 'UDP socket error'));
      const every = Math.max(10, Math.min(1000, Math.floor(this.#options.timeoutMs / 10)));
      this.#sweep = setInterval(() => this.#expire(), every);
      this.#sweep.unref();
      return socket.address();
    }
    throw last;
  }

  address(): AddressInfo {
    if (this.#socket === undefined) throw new Error(`UDP entry point ${this.name} is not listening`);
    return this.#socket.address();
  }

  send(datagram: Buffer, port: number, address: string): void {
    this.#socket?.send(datagram, port, address, (err) => {
      if (err) this.#options.logger.debug({ err: err.message, entryPoint: this.name }, 'UDP send to client failed');
    });
  }

  forget(session: ListenerSession): void {
    const key = `${session.remoteAddress}|${session.remotePort}`;
    if (this.#sessions.get(key) === session) this.#sessions.delete(key);
  }

  #receive(datagram: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}|${rinfo.port}`;
    let session = this.#sessions.get(key);
    if (session === undefined) {
      const handler = this.#handler;
      if (!this.#accepting || handler === undefined) return;
      session = new ListenerSession(this, rinfo.address, rinfo.port);
      this.#sessions.set(key, session);
      try {
        handler(session);
      } catch (err) {
        this.#options.logger.error({ err: (err as Error).message, entryPoint: this.name }, 'UDP handler failed');
        session.close();
        return;
      }
    }
    session.deliver(datagram);
  }

  #expire(): void {
    const idleBefore = performance.now() - this.#options.timeoutMs;
    for (const session of [...this.#sessions.values()]) if (session.lastActivity < idleBefore) session.close();
  }

  close(graceMs = this.#options.graceMs): Promise<void> {
    this.#closing ??= (async () => {
      this.#accepting = false;
      const deadline = performance.now() + graceMs;
      while (this.#sessions.size > 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, deadline - performance.now()))));
      }
      for (const session of [...this.#sessions.values()]) session.close();
      clearInterval(this.#sweep);
      const socket = this.#socket;
      if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
    })();
    return this.#closing;
  }
}
