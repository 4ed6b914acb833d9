/**
 * An `https://` origin whose protocol the server chooses (Go's Transport with ForceAttemptHTTP2, Traefik's default
 * unless the serversTransport says `disableHTTP2`): the first request opens a TLS connection offering `h2` and
 * `http/1.1`; the server's ALPN answer decides for the origin from then on — HTTP/2 (that connection becomes the
 * session) or the HTTP/1.1 keep-alive pool. Requests that arrive while the first handshake runs wait for it. After
 * the choice a request costs one comparison more than the HTTP/1.1 pool alone.
 */
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { H2Pool } from './h2-pool.ts';
import type { UpstreamPool } from './pool.ts';
import type { UpstreamDispatcher, UpstreamHandler, UpstreamRequest } from './types.ts';
import { dialDeadline } from '../../../lib/poll-timeout.ts';

type Choice = 'pending' | 'h1' | 'h2';

export class AlpnDispatcher implements UpstreamDispatcher {
  readonly origin: string;
  private choice: Choice | undefined = undefined;
  private readonly waiting: Array<[UpstreamRequest, UpstreamHandler]> = [];
  private readonly h1: UpstreamPool;
  private readonly makeH2: (socket: TLSSocket) => H2Pool;
  private h2: H2Pool | undefined;
  private readonly tls: ConnectionOptions;
  private readonly connectTimeoutMs: number;

  constructor(h1: UpstreamPool, tlsOptions: ConnectionOptions, connectTimeoutMs: number, makeH2: (socket: TLSSocket) => H2Pool) {
    this.origin = h1.origin;
    this.h1 = h1;
    this.tls = tlsOptions;
    this.connectTimeoutMs = connectTimeoutMs;
    this.makeH2 = makeH2;
  }

  /** The protocol chosen for the origin, once known. */
  get protocol(): 'h1' | 'h2' | undefined {
    return this.choice === 'h1' || this.choice === 'h2' ? this.choice : undefined;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): boolean {
    const choice = this.choice;
    if (choice === 'h1') return this.h1.dispatch(request, handler);
    if (choice === 'h2') return this.h2!.dispatch(request, handler);
    this.waiting.push([request, handler]);
    if (choice === undefined) this.negotiate();
    return true;
  }

  private negotiate(): void {
    this.choice = 'pending';
    const url = new URL(this.origin);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || 443);
    const socket = tls.connect({
      ...this.tls, host, port, ALPNProtocols: ['h2', 'http/1.1'],
      ...(this.tls.servername === undefined && isIP(host) === 0 ? { servername: host } : {}),
    });
    // Counts only time the loop ran (lib/poll-timeout.ts dialDeadline): a handshake that went on while the process was held up is not cut.
    const timer = this.connectTimeoutMs > 0 ? dialDeadline(this.connectTimeoutMs, () => socket.destroy(new Error(`dial ${url.host}: timeout`))) : undefined;
    const settle = (choice: 'h1' | 'h2' | undefined) => {
      timer?.clear();
      socket.off('error', onError);
      // A failed first handshake decides nothing: the waiting requests go to the HTTP/1.1 pool, which reports the
      // failure the usual way, and the next request tries again.
      this.choice = choice;
      const waiting = this.waiting.splice(0);
      for (const [request, handler] of waiting) {
        if (choice === 'h2') this.h2!.dispatch(request, handler);
        else this.h1.dispatch(request, handler);
      }
    };
    const onError = () => settle(undefined);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol === 'h2') {
        this.h2 = this.makeH2(socket);
        settle('h2');
      } else {
        socket.destroy();
        settle('h1');
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.h1.close(), this.h2?.close()]);
  }

  async destroy(): Promise<void> {
    await Promise.all([this.h1.destroy(), this.h2?.destroy()]);
  }
}
