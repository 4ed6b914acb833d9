/** The TCP data plane's contract (Traefik's tcp.Handler): a handler takes over one client connection. */
import type { Duplex } from 'node:stream';

export interface TcpConnection {
  /** The client's stream: the accepted socket, or the TLS socket when the router terminates TLS. */
  readonly socket: Duplex;
  /** The client as the rules and the PROXY header see it (a trusted PROXY header's source, else the peer). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The entry point's side of the connection (the PROXY header's destination). */
  readonly localAddress: string;
  readonly localPort: number;
}

export type TcpHandler = (conn: TcpConnection) => void;

export type TcpMiddleware = (next: TcpHandler) => TcpHandler;
