/**
 * Dialing a peer sidecar over mTLS: our leaf as the client certificate, every current root as the trust store, the
 * target's SNI, and the peer's SPIFFE ID checked to name the service we meant to reach (Envoy's SAN matcher on the
 * upstream cluster does the same). Resolves once the handshake and the identity check both passed, so a caller can
 * tell a connect failure (safe to retry elsewhere: nothing was sent) from a failure later.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { MeshgateError } from '../lib/errors.ts';
import { armDialDeadline } from './connect-timeout.ts';
import { ProxyErrors } from './errors.ts';
import type { Endpoint } from './endpoints.ts';
import type { TlsMaterial } from './identity.ts';
import { serviceIdentity } from './peer.ts';

export interface DialOptions {
  readonly endpoint: Endpoint;
  /** The service the peer's SPIFFE ID must name (the discovery target's). */
  readonly expectedService: string;
  readonly tls: TlsMaterial;
  readonly sni?: string | undefined;
  readonly timeoutMs: number;
  /** ALPN protocols to offer (['http/1.1'] for HTTP upstreams). */
  readonly alpn?: string[];
}

/** A connect failure: the peer was never reached with a byte of application data. */
export class ConnectFailure extends MeshgateError {
  readonly reason: 'timeout' | 'refused' | 'tls' | 'identity';
  constructor(reason: ConnectFailure['reason'], message: string, cause?: unknown) {
    super('MG_PROXY_CONNECT_FAILED', 503, message, { cause });
    this.reason = reason;
  }
}

export function dialPeer(opts: DialOptions): Promise<TLSSocket> {
  const { endpoint, tls } = opts;
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = tlsConnect({
      host: endpoint.host,
      port: endpoint.port,
      secureContext: tls.context,
      ...(opts.sni ? { servername: opts.sni } : {}),
      ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}),
      rejectUnauthorized: true,
      // Identity is a SPIFFE URI, not a host name: checked below instead of Node's DNS-name check.
      checkServerIdentity: () => undefined,
    });
    const fail = (err: ConnectFailure): void => {
      if (settled) return;
      settled = true;
      disarm();
      socket.destroy();
      reject(err);
    };
    // Not a plain timer: one armed before a long synchronous turn would fail a dial whose peer answered in time.
    const disarm = armDialDeadline(opts.timeoutMs, () => fail(new ConnectFailure('timeout', `connect to ${endpoint.key} timed out after ${opts.timeoutMs} ms`)));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const tlsError = err.code?.startsWith('ERR_SSL') || err.code?.includes('CERT') || err.code === 'ECONNRESET';
      fail(new ConnectFailure(tlsError ? 'tls' : 'refused', `connect to ${endpoint.key}: ${err.message}`, err));
    });
    socket.once('secureConnect', () => {
      if (settled) return;
      try {
        const id = serviceIdentity(socket.getPeerCertificate(), tls.trustDomain);
        if (id.service !== opts.expectedService) throw ProxyErrors.peerIdentity(`peer at ${endpoint.key} is ${id.service}, expected ${opts.expectedService}`);
      } catch (err) {
        fail(new ConnectFailure('identity', (err as Error).message, err));
        return;
      }
      settled = true;
      disarm();
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
