/**
 * An HTTP keep-alive connection pool to one peer sidecar, whose connections are made by `dialPeer` (mTLS, identity
 * checked) through Node's asynchronous `createConnection` callback. A pool is bound to one TLS generation: when the
 * leaf or the roots change the proxy stops handing requests to it (`retire`), its idle connections close at once and
 * busy ones close after their request instead of going back to the pool — nothing in flight is cut.
 */
import { Agent, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { dialPeer } from './dialer.ts';
import type { Endpoint } from './endpoints.ts';
import type { TlsMaterial } from './identity.ts';

export interface PeerAgentOptions {
  readonly endpoint: Endpoint;
  readonly expectedService: string;
  readonly sni: string;
  readonly tls: TlsMaterial;
}

export class PeerAgent extends Agent {
  readonly peer: PeerAgentOptions;
  connectTimeoutMs = 5000;
  private retired = false;

  constructor(peer: PeerAgentOptions) {
    super({ keepAlive: true, maxFreeSockets: 256, timeout: 120_000 });
    this.peer = peer;
  }

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const p = this.peer;
    dialPeer({ endpoint: p.endpoint, expectedService: p.expectedService, sni: p.sni, tls: p.tls, timeoutMs: this.connectTimeoutMs, alpn: ['http/1.1'] })
      .then((socket) => {
        socket.setNoDelay(true);
        callback?.(null, socket);
      }, (err: Error) => callback?.(err, undefined as unknown as Duplex));
    return undefined;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    if (this.retired) return false;
    return (Agent.prototype.keepSocketAlive as (this: Agent, s: Duplex) => boolean).call(this, socket);
  }

  /** No new requests come here; idle connections close now, busy ones after their response. */
  retire(): void {
    this.retired = true;
    for (const list of Object.values(this.freeSockets)) for (const s of list ?? []) s.destroy();
  }
}
