/**
 * TLS termination for one HTTPS entry point with Traefik's per-host option sets (Traefik's GetConfigForClient).
 * Node's own https wrapping applies one set of protocol versions, ciphers and client-certificate mode to every
 * connection, and its SNICallback comes too late to change them; so each connection's ClientHello is read first
 * (`client-hello.ts`), its SNI picks the option set — the one the routers with that Host name, else `default` — and
 * the raw socket goes to a `tls.Server` built for that option set (never listening: it only handshakes). Its
 * SNICallback picks the certificate and returns the cached secure context of that (option set, certificate) pair;
 * the handshaken socket is then handed to the entry point's https server as its own `secureConnection`, so the HTTP
 * layer, connection tracking and metrics see one server. `swap()` replaces the configuration atomically: a
 * connection uses the configuration current when its ClientHello arrived, and the listening socket is never touched.
 */
import type https from 'node:https';
import type { Socket } from 'node:net';
import tls, { type SecureContext, type TLSSocket } from 'node:tls';
import type { Logger } from '../../lib/logger.ts';
import { IpSet } from '../../lib/ip/checker.ts';
import { unmapIpv4 } from '../../lib/ip/address.ts';
import { readClientHello, type ClientHello } from './client-hello.ts';
import { ACME_TLS_ALPN } from '../acme/challenges.ts';
import type { TcpEntryRouting, TcpRoute } from '../tcp/routing.ts';
import { readProxyHeader } from '../tcp/proxy-protocol.ts';
import { contextOptions, type StoredCertificate, type TlsConfiguration } from './tls-configuration.ts';
import type { ClientAuthType, ResolvedTlsOptions } from './tls-options.ts';
import type { OcspStapler } from './ocsp.ts';

export interface TlsHandshakesOptions {
  readonly entryPoint: string;
  /** The entry point's https server: it listens; its 'secureConnection' is the HTTP layer's connection listener. */
  readonly server: https.Server;
  readonly configuration: TlsConfiguration;
  readonly logger: Logger;
  /** How long a client may take to send its ClientHello, and then to finish the handshake. */
  readonly helloTimeoutMs: number;
  /**
   * Serve connections that do not start with a TLS handshake as plain HTTP on the same port, as Traefik's entry
   * points do (TLS is a router's choice, not the port's). Without it such connections are closed.
   */
  readonly acceptPlain?: boolean;
  /**
   * Takes a connection that speaks HTTP/2: TLS with `h2` chosen by ALPN, or (with `acceptPlain`) plain bytes that open
   * with the HTTP/2 preface (h2c prior knowledge). Without it such connections go to the HTTP/1.1 layer as before.
   */
  readonly onHttp2?: (socket: Socket | TLSSocket) => void;
  /**
   * ACME TLS-ALPN-01 (RFC 8737, gateway/acme): the challenge certificate's context for a ClientHello that offers
   * `acme-tls/1`, or undefined when no challenge is pending for that name (the handshake then goes on as usual).
   */
  readonly tlsAlpnChallenge?: (servername: string | undefined) => SecureContext | undefined;
  /** Entry point `proxyProtocol`: read a PROXY header from these peers (`insecure`: from every peer). */
  readonly proxyProtocol?: { readonly insecure: boolean; readonly trustedIPs: readonly string[] };
  /** Static `ocsp`: staples each served certificate's OCSP answer (ocsp.ts). */
  readonly ocsp?: OcspStapler;
}

/** One option set's handshaking server; `configuration` follows swaps while the option set is unchanged. */
interface Handshaker {
  readonly server: tls.Server;
  readonly certificateId: string;
  configuration: TlsConfiguration;
}

export class TlsHandshakes {
  #configuration: TlsConfiguration;
  readonly #options: TlsHandshakesOptions;
  /** By option set key: built on first use, kept across reloads that leave the option set and default certificate alone. */
  #handshakers = new Map<string, Handshaker>();
  /** This entry point's TCP routers (tcp/routing.ts), swapped on reload like the TLS state. */
  #tcp: TcpEntryRouting | undefined;
  /** Connections handed to TCP services: the entry point closes them when its grace period ends. */
  readonly #tcpSockets = new Set<Socket | TLSSocket>();
  readonly #proxyTrusted: IpSet | undefined;
  /** Carry the OCSP stapler for the TCP routers' own handshakes, one per served certificate id (#tcpOcspServer). */
  readonly #ocspServers = new Map<string, tls.Server>();

  constructor(options: TlsHandshakesOptions) {
    this.#options = options;
    this.#configuration = options.configuration;
    options.ocsp?.watch(options.configuration.certificates().map((c) => c.cert));
    // Node's own listener wraps every connection with the server's single TLS setup; ours chooses per ClientHello.
    options.server.removeAllListeners('connection');
    options.server.on('connection', (socket: Socket) => this.#start(socket));
    const pp = options.proxyProtocol;
    this.#proxyTrusted = pp === undefined || pp.insecure ? undefined : new IpSet(pp.trustedIPs, `entryPoints.${options.entryPoint}.proxyProtocol.trustedIPs`);
  }

  /** Swaps in a reload's TCP routers; connections already routed keep their service. */
  setTcpRouting(routing: TcpEntryRouting | undefined): void {
    this.#tcp = routing;
  }

  /** Closes every connection handed to a TCP service (the end of the entry point's grace period). */
  closeTcp(): void {
    for (const socket of this.#tcpSockets) socket.destroy();
    this.#tcpSockets.clear();
  }

  #start(socket: Socket): void {
    const pp = this.#options.proxyProtocol;
    if (pp === undefined) {
      this.#accept(socket);
      return;
    }
    const peer = unmapIpv4(socket.remoteAddress ?? '');
    if (!pp.insecure && !this.#proxyTrusted!.contains(peer)) {
      // Traefik's proxyproto IGNORE policy: an untrusted peer is served as itself, its bytes untouched.
      this.#accept(socket);
      return;
    }
    readProxyHeader(socket, this.#options.helloTimeoutMs).then((header) => {
      if (header.source !== undefined) {
        // Every layer after this one (forwarded headers, ClientIP rules, access log, TCP rules) reads the client here.
        Object.defineProperty(socket, 'remoteAddress', { value: header.source.address, configurable: true });
        Object.defineProperty(socket, 'remotePort', { value: header.source.port, configurable: true });
      }
      this.#accept(socket);
    }, (err: Error) => {
      this.#options.logger.debug({ entryPoint: this.#options.entryPoint, err: err.message }, 'PROXY protocol header refused; closing the connection');
      socket.destroy();
    });
  }

  /** Hands a connection to a TCP route: as it is (plain, passthrough) or after the gateway's own TLS handshake. */
  #toTcp(route: TcpRoute, socket: Socket, hello: ClientHello | undefined): void {
    const connection = (stream: Socket | TLSSocket) => {
      this.#tcpSockets.add(stream);
      stream.once('close', () => this.#tcpSockets.delete(stream));
      route.handler({
        socket: stream,
        remoteAddress: unmapIpv4(socket.remoteAddress ?? ''),
        remotePort: socket.remotePort ?? 0,
        localAddress: unmapIpv4(socket.localAddress ?? ''),
        localPort: socket.localPort ?? 0,
      });
    };
    if (route.tls !== 'terminate') {
      connection(socket);
      return;
    }
    const configuration = this.#configuration;
    const options = configuration.optionsByName(route.tlsOptions);
    if (options === undefined) {
      this.#options.logger.debug({ entryPoint: this.#options.entryPoint, router: route.name, tlsOptions: route.tlsOptions }, 'TCP router TLS options unusable; closing');
      socket.destroy();
      return;
    }
    const matching = configuration.certificateFor(hello?.servername);
    const terminate = () => this.#terminate(route, socket, configuration, options, matching ?? configuration.defaultCertificate, connection);
    if (matching === undefined) this.#withDefaultCertificate(configuration, socket, terminate);
    else terminate();
  }

  /** The gateway's own TLS handshake for a TCP router that terminates TLS; `connection` gets the decrypted stream. */
  #terminate(route: TcpRoute, socket: Socket, configuration: TlsConfiguration, options: ResolvedTlsOptions, certificate: StoredCertificate,
    connection: (stream: Socket | TLSSocket) => void): void {
    const secureContext = configuration.contextFor(options, certificate);
    const ocspServer = this.#tcpOcspServer(certificate);
    const secure = new tls.TLSSocket(socket, {
      isServer: true, secureContext, ALPNProtocols: [],
      // Node reads the certificate to staple from the SNI context, else from the server's own (#tcpOcspServer).
      ...(ocspServer !== undefined ? { server: ocspServer, SNICallback: (_name: string, done: (err: Error | null, ctx: SecureContext) => void) => done(null, secureContext) } : {}),
    });
    const timer = setTimeout(() => secure.destroy(), this.#options.helloTimeoutMs);
    secure.once('secure', () => {
      clearTimeout(timer);
      connection(secure);
    });
    secure.once('error', (err: Error) => {
      clearTimeout(timer);
      this.#options.logger.debug({ entryPoint: this.#options.entryPoint, router: route.name, err: err.message }, 'TCP router TLS handshake failed');
      secure.destroy();
    });
  }

  /**
   * Node asks for a staple through the socket's `server` ('OCSPRequest'); a standalone TLSSocket has none, so the TCP
   * routers' terminations use never-listening servers that carry the stapler's listener (Traefik staples them as
   * HTTPS ones: one tls.Config from its TLS manager for both). Node takes the certificate to staple from the SNI
   * context, and without SNI from the server's own context — so each server holds the certificate it terminates with:
   * a client without SNI gets the default certificate's staple, as on the HTTPS path. One per certificate served.
   */
  #tcpOcspServer(served: StoredCertificate): tls.Server | undefined {
    const ocsp = this.#options.ocsp;
    if (ocsp === undefined) return undefined;
    let server = this.#ocspServers.get(served.id);
    if (server === undefined) {
      server = tls.createServer({ cert: served.cert, key: served.key });
      server.on('OCSPRequest', (certificate: Buffer | null, issuer: Buffer | null, done: (err: Error | null, response?: Buffer | null) => void) => {
        if (certificate === null || certificate.length === 0) done(null, null);
        else ocsp.onRequest(certificate, issuer, done);
      });
      this.#ocspServers.set(served.id, server);
    }
    return server;
  }

  get configuration(): TlsConfiguration {
    return this.#configuration;
  }

  swap(configuration: TlsConfiguration): void {
    const kept = new Map<string, Handshaker>();
    for (const [key, handshaker] of this.#handshakers) {
      if (configuration.hasOptionsKey(key) && handshaker.certificateId === configuration.defaultCertificateId) {
        handshaker.configuration = configuration;
        kept.set(key, handshaker);
      }
    }
    this.#configuration = configuration;
    this.#handshakers = kept;
    this.#options.ocsp?.watch(configuration.certificates().map((c) => c.cert));
    // Only the certificates still served keep their stapling server.
    const served = new Set(configuration.certificates().map((c) => c.id));
    for (const id of this.#ocspServers.keys()) if (!served.has(id)) this.#ocspServers.delete(id);
  }

  #accept(socket: Socket): void {
    const { logger, entryPoint } = this.#options;
    const tcp = this.#tcp;
    // Traefik's Router.ServeTCP fast path: only non-TLS TCP routers here, so a client that waits for the server to
    // speak first (a database) is routed without waiting for a first byte.
    if (tcp !== undefined && tcp.plain.length > 0 && tcp.secure.length === 0 && !this.#configuration.hasAnyHost(entryPoint)) {
      const route = tcp.matchPlain({ serverName: '', remoteIp: unmapIpv4(socket.remoteAddress ?? ''), alpn: [] });
      if (route !== undefined) {
        this.#toTcp(route, socket, undefined);
        return;
      }
    }
    readClientHello(socket, this.#options.helloTimeoutMs).then((hello) => {
      if (!socket.destroyed) this.#route(socket, hello);
    }, (err: Error) => {
      logger.debug({ entryPoint, err: err.message }, 'no TLS ClientHello; closing the connection');
      socket.destroy();
    });
  }

  /** Routes a connection whose ClientHello (or first plain bytes) was read: TCP router, h2c, plain HTTP or TLS. */
  #route(socket: Socket, hello: ClientHello): void {
    const { logger, entryPoint } = this.#options;
    const tcp = this.#tcp;
    if (hello.tls && hello.alpn?.includes(ACME_TLS_ALPN) === true && this.#answerAlpnChallenge(socket, hello)) return;
    if (tcp !== undefined) {
      const conn = { serverName: hello.servername ?? '', remoteIp: unmapIpv4(socket.remoteAddress ?? ''), alpn: hello.alpn ?? [] };
      // Plain bytes: a non-TLS TCP router first, then HTTP. TLS: an HTTPS router naming this SNI first, then a TCP
      // TLS router (HostSNI, passthrough or terminated), then HTTPS (Traefik's order in Router.ServeTCP).
      const route = !hello.tls ? tcp.matchPlain(conn) : this.#configuration.hasHost(entryPoint, hello.servername) ? undefined : tcp.matchTls(conn);
      if (route !== undefined) {
        this.#toTcp(route, socket, hello);
        return;
      }
    }
    if (!hello.tls && hello.h2c === true && this.#options.acceptPlain === true && this.#options.onHttp2 !== undefined) {
      this.#options.onHttp2(socket);
      return;
    }
    if (!hello.tls && this.#options.acceptPlain === true) {
      // The HTTP layer of the same (listening, connection-tracking) server reads the socket; the bytes peeked
      // for the ClientHello were put back and flow again on resume.
      this.#options.server.emit('secureConnection', socket);
      socket.resume();
      return;
    }
    const configuration = this.#configuration;
    const options = configuration.optionsFor(entryPoint, hello.servername);
    if (options.sniStrict && configuration.certificateFor(hello.servername) === undefined) {
      logger.debug({ entryPoint, servername: hello.servername ?? '', tlsOptions: options.name }, 'strict SNI enabled - no certificate found for domain, closing connection');
      socket.destroy();
      return;
    }
    this.#withDefaultCertificate(configuration, socket, () => {
      // A swap may have come while the default certificate was made (a resolver's first certificates often do): a
      // handshaker built from the configuration captured above would serve it — without them — until the next swap.
      const current = this.#configuration;
      this.#handshaker(current, current === configuration ? options : current.optionsFor(entryPoint, hello.servername)).server.emit('connection', socket);
    });
  }

  /**
   * Runs `next` once `configuration.defaultCertificate` can be read: at once, or — on the first TLS handshake of a
   * process without a configured default certificate — when the generated one is made (default-certificate.ts).
   */
  #withDefaultCertificate(configuration: TlsConfiguration, socket: Socket, next: () => void): void {
    const making = configuration.prepare();
    if (making === undefined) {
      next();
      return;
    }
    making.then(() => {
      if (!socket.destroyed) next();
    }, (err: Error) => {
      this.#options.logger.error({ entryPoint: this.#options.entryPoint, err: err.message }, 'cannot make the default certificate; closing the connection');
      socket.destroy();
    });
  }

  /** Completes a TLS-ALPN-01 validation handshake with the challenge certificate, then closes; false: none pending. */
  #answerAlpnChallenge(socket: Socket, hello: ClientHello): boolean {
    const context = this.#options.tlsAlpnChallenge?.(hello.servername);
    if (context === undefined) return false;
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: [ACME_TLS_ALPN] });
    const timer = setTimeout(() => secure.destroy(), this.#options.helloTimeoutMs);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.end();
    });
    secure.once('error', (err: Error) => {
      clearTimeout(timer);
      this.#options.logger.debug({ entryPoint: this.#options.entryPoint, servername: hello.servername, err: err.message }, 'ACME TLS-ALPN-01 handshake failed');
      secure.destroy();
    });
    return true;
  }

  #handshaker(configuration: TlsConfiguration, options: ResolvedTlsOptions): Handshaker {
    const existing = this.#handshakers.get(options.key);
    if (existing !== undefined) return existing;
    const { logger, entryPoint } = this.#options;
    const { requestCert, rejectUnauthorized } = verifyMode(options.clientAuthType);
    const fallback = configuration.defaultCertificate;
    const server = tls.createServer({
      ...contextOptions(options),
      // Presented when the client sends no SNI (node calls SNICallback only for a name).
      cert: fallback.cert,
      key: fallback.key,
      requestCert,
      rejectUnauthorized,
      ALPNProtocols: options.alpnProtocols,
      handshakeTimeout: this.#options.helloTimeoutMs,
      SNICallback: (servername, done) => {
        const current = handshaker.configuration;
        const certificate = current.certificateFor(servername);
        if (certificate === undefined && options.sniStrict) {
          done(new Error(`strict SNI enabled - No certificate found for domain: "${servername}", closing connection`));
          return;
        }
        try {
          done(null, current.contextFor(options, certificate ?? current.defaultCertificate));
        } catch (err) {
          done(err as Error);
        }
      },
    });
    const handshaker: Handshaker = { server, certificateId: configuration.defaultCertificateId, configuration };
    server.on('secureConnection', (socket: TLSSocket) => {
      const problem = clientCertificateProblem(options.clientAuthType, socket);
      if (problem !== undefined) {
        logger.debug({ entryPoint, tlsOptions: options.name, problem }, 'client certificate refused');
        socket.destroy();
        return;
      }
      if (socket.alpnProtocol === 'h2' && this.#options.onHttp2 !== undefined) this.#options.onHttp2(socket);
      else this.#options.server.emit('secureConnection', socket);
    });
    if (this.#options.ocsp !== undefined) server.on('OCSPRequest', this.#options.ocsp.onRequest);
    server.on('tlsClientError', (err: Error) => logger.debug({ entryPoint, tlsOptions: options.name, err: err.message }, 'TLS handshake failed'));
    this.#handshakers.set(options.key, handshaker);
    return handshaker;
  }
}

/**
 * Go's ClientAuthType in OpenSSL's terms. Node verifies a presented certificate against the context's CAs; only
 * RequireAndVerifyClientCert may let node refuse on its own (no certificate, or an unverified one).
 */
function verifyMode(type: ClientAuthType): { requestCert: boolean; rejectUnauthorized: boolean } {
  if (type === 'NoClientCert') return { requestCert: false, rejectUnauthorized: false };
  return { requestCert: true, rejectUnauthorized: type === 'RequireAndVerifyClientCert' };
}

/** What the handshake could not enforce by itself: a certificate required but absent, or given but not verified. */
function clientCertificateProblem(type: ClientAuthType, socket: TLSSocket): string | undefined {
  if (type !== 'RequireAnyClientCert' && type !== 'VerifyClientCertIfGiven') return undefined;
  const presented = Object.keys(socket.getPeerCertificate()).length > 0;
  if (type === 'RequireAnyClientCert') return presented ? undefined : 'a client certificate is required';
  return presented && !socket.authorized ? `the client certificate is not valid: ${String(socket.authorizationError)}` : undefined;
}
