/**
 * A UDP session (Traefik's pkg/udp Conn): what one client address sent to an entry point, until it has been idle —
 * no datagram either way — for the entry point's `udp.timeout`. Datagrams that arrive before the handler consumes
 * them wait in a short queue (a handler dials its backend first); beyond it they are dropped, as a full socket
 * buffer would drop them.
 */
import type { UdpSession } from './types.ts';

/** Datagrams kept for a session whose handler has not started consuming yet. */
const MAX_QUEUED = 64;

export interface SessionOwner {
  send(datagram: Buffer, port: number, address: string): void;
  forget(session: ListenerSession): void;
}

export class ListenerSession implements UdpSession {
  readonly remoteAddress: string;
  readonly remotePort: number;
  lastActivity = performance.now();
  #owner: SessionOwner;
  #consumer: ((datagram: Buffer) => void) | undefined;
  #queue: Buffer[] = [];
  #closeListeners: Array<() => void> = [];
  #closed = false;

  constructor(owner: SessionOwner, remoteAddress: string, remotePort: number) {
    this.#owner = owner;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A datagram from the client (listener.ts). */
  deliver(datagram: Buffer): void {
    if (this.#closed) return;
    this.lastActivity = performance.now();
    if (this.#consumer !== undefined) this.#consumer(datagram);
    else if (this.#queue.length < MAX_QUEUED) this.#queue.push(datagram);
  }

  write(datagram: Buffer): void {
    if (this.#closed) return;
    this.lastActivity = performance.now();
    this.#owner.send(datagram, this.remotePort, this.remoteAddress);
  }

  onMessage(consumer: (datagram: Buffer) => void): void {
    this.#consumer = consumer;
    const queued = this.#queue;
    this.#queue = [];
    for (const datagram of queued) consumer(datagram);
  }

  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#owner.forget(this);
    for (const listener of this.#closeListeners.splice(0)) listener();
  }
}
