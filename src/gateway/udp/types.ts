/** The UDP data plane's contract (Traefik's udp.Handler): a handler takes over one client session. */

/** One client's datagrams on an entry point, keyed by the client's address and port (listener.ts). */
export interface UdpSession {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Sends one datagram to the client (counts as activity). */
  write(datagram: Buffer): void;
  /** The client's datagrams, in order; those that arrived before a consumer was set are delivered first. */
  onMessage(consumer: (datagram: Buffer) => void): void;
  /** Called once when the session ends (idle timeout, the handler's close, the entry point's close). */
  onClose(listener: () => void): void;
  close(): void;
}

export type UdpHandler = (session: UdpSession) => void;
