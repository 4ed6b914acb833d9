/**
 * An entry point (Traefik's pkg/server/server_entrypoint_tcp.go for HTTP): a node http or https server on
 * `address` that turns each request into a GatewayRequest + ResponseWriter and calls the current dispatch handler
 * — held in a mutable holder the control plane swaps atomically on reload. It owns the transport-level defences
 * (header timeout against slowloris, read/write/idle timeouts, header size, request smuggling rejected by node's
 * strict parser with a 400), forwarded-header trust, the entry point's metrics and access log, the error responses
 * for coded GatewayErrors, and graceful drain.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Handler } from '../http/types.ts';
import { NodeResponseWriter, UpgradeResponseWriter, createRequestAdapter, type IncomingGatewayRequest } from '../http/response-writer.ts';
import { H2ResponseWriter, normalizeH2Request } from '../http/h2.ts';
import { IpSet } from '../../lib/ip/checker.ts';
import { BAD_REQUEST, HeaderLines, hasInvalidPathEscape, scanHeaderLines, TOO_MANY_HOSTS, withPrototypeFreeHeaders } from '../http/request-target.ts';
import { statusText, STATUS_CLIENT_CLOSED_REQUEST } from '../../lib/http/status.ts';
import { MeshgateError } from '../../lib/errors.ts';
import { silentLogger, type Logger } from '../../lib/logger.ts';
import type { GatewayMetrics, RequestRecorder } from '../metrics/metrics.ts';
import type { AccessLog } from '../accesslog/accesslog.ts';
import { ENTRYPOINT_DEFAULTS, parseAddress, type EntryPointConfig } from './schema.ts';
import { TlsConfiguration } from './tls-configuration.ts';
import { TlsHandshakes } from './tls-handshake.ts';
import { isH2cUpgrade, upgradeToH2c } from './h2c-upgrade.ts';
import type { OcspStapler } from './ocsp.ts';
import type { TcpEntryRouting } from '../tcp/routing.ts';

/** The control plane keeps one holder per entry point and assigns `handler` on every reload. */
export interface DispatchHolder {
  handler: Handler;
}

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface EntryPointOptions {
  name: string;
  config: EntryPointConfig;
  /**
   * Serve HTTPS. `configuration` is the runtime's TLS state (certificates, option sets, hosts → option sets);
   * `certificates` alone (the first is the default) is the same with only the `default` option set.
   */
  tls?: { configuration?: TlsConfiguration; certificates?: CertificateFiles[]; acceptPlain?: boolean };
  /** ACME TLS-ALPN-01 challenge certificates by server name (gateway/acme), answered during the handshake. */
  tlsAlpnChallenge?: (servername: string | undefined) => SecureContext | undefined;
  /** Static `ocsp`: OCSP stapling for the certificates served (shared by every entry point). */
  ocsp?: OcspStapler;
  metrics?: GatewayMetrics;
  accessLog?: AccessLog;
  logger?: Logger;
  /** Time allowed to receive the request head (slowloris); default min(readTimeout, 60s). */
  headersTimeout?: number;
}

export interface EntryPoint {
  readonly name: string;
  readonly server: http.Server | https.Server;
  listen(): Promise<AddressInfo>;
  address(): AddressInfo;
  /**
   * Stops accepting, lets in-flight requests finish until `graceMs` (lifeCycle.graceTimeOut), closes idle sockets.
   * `lingerIdleMs`: idle keep-alive connections stay open that long for their next request (answered with
   * `Connection: close`) before they are closed — a rolled cluster worker, so a busy client never has an idle
   * connection closed under a request it is sending.
   */
  close(graceMs?: number, lingerIdleMs?: number): Promise<void>;
  /** Replaces the certificates (dynamic configuration reload); the `default` option set only. */
  setCertificates(certificates: CertificateFiles[]): void;
  /** Swaps in a reload's TLS state; handshakes already past their ClientHello finish on the previous one. */
  setTlsConfiguration(configuration: TlsConfiguration): void;
  /** Swaps in a reload's TCP routers for this entry point (gateway/tcp); undefined: none. */
  setTcpRouting(routing: TcpEntryRouting | undefined): void;
}

type AnyWriter = NodeResponseWriter | UpgradeResponseWriter | H2ResponseWriter;

export function createEntryPoint(options: EntryPointOptions, dispatch: DispatchHolder): EntryPoint {
  const { name, config } = options;
  const logger = options.logger ?? silentLogger();
  const metrics = options.metrics;
  const accessLog = options.accessLog;
  const recorder: RequestRecorder | undefined = metrics?.entryPoint(name);
  const observe = metrics !== undefined || accessLog !== undefined;
  // Traefik's entry point `observability`; a request's router replaces it with its own (req.observability).
  const epMetrics = config.observability?.metrics ?? true;
  const epAccessLogs = config.observability?.accessLogs ?? true;
  const timeouts = config.transport?.respondingTimeouts;
  const readTimeout = timeouts?.readTimeout ?? ENTRYPOINT_DEFAULTS.readTimeout;
  const writeTimeout = timeouts?.writeTimeout ?? 0;
  const idleTimeout = timeouts?.idleTimeout ?? ENTRYPOINT_DEFAULTS.idleTimeout;
  const headersTimeout = options.headersTimeout ?? Math.min(readTimeout > 0 ? readTimeout : 60_000, 60_000);
  const grace = config.transport?.lifeCycle?.graceTimeOut ?? ENTRYPOINT_DEFAULTS.graceTimeOut;
  const secure = options.tls !== undefined && (options.tls.configuration !== undefined || (options.tls.certificates ?? []).length > 0);
  const acceptPlain = secure && options.tls!.acceptPlain === true;
  const adapt = createRequestAdapter({
    entryPoint: name,
    tls: acceptPlain ? 'per-connection' : secure,
    trustedIPs: new IpSet(config.forwardedHeaders?.trustedIPs ?? [], `entryPoints.${name}.forwardedHeaders.trustedIPs`),
    insecure: config.forwardedHeaders?.insecure ?? false,
    sanitizePath: config.http?.sanitizePath ?? true,
  });
  const drain = { draining: false };

  const serverOptions: http.ServerOptions = {
    maxHeaderSize: config.http?.maxHeaderBytes ?? ENTRYPOINT_DEFAULTS.maxHeaderBytes,
    insecureHTTPParser: false,
    requestTimeout: readTimeout,
    headersTimeout: readTimeout > 0 ? Math.min(headersTimeout, readTimeout) : headersTimeout,
    keepAliveTimeout: idleTimeout,
    // node enforces headersTimeout/requestTimeout from a periodic sweep; make it fine enough for small timeouts.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
    noDelay: true,
  };

  let server: http.Server | https.Server;
  let handshakes: TlsHandshakes | undefined;
  // HTTP/2 (h2 by ALPN, h2c by prior knowledge) on the same listener: a non-listening node:http2 server gets the
  // sockets that speak it; its sessions are tracked here for the graceful drain (node's HTTP/1 server cannot see them).
  const h2Sessions = new Set<Http2Session>();
  const h2Server = http2.createServer({
    settings: {
      // Traefik's HTTP2Config.SetDefaults: 250 streams (Go's http2 default), 4096-byte HPACK tables.
      maxConcurrentStreams: config.http2?.maxConcurrentStreams ?? 250,
      headerTableSize: config.http2?.maxDecoderHeaderTableSize ?? 4096,
      maxHeaderListSize: serverOptions.maxHeaderSize,
    },
    maxHeaderListPairs: 2000,
  });
  h2Server.setTimeout(idleTimeout);
  h2Server.on('session', (session: Http2Session) => {
    h2Sessions.add(session);
    if (drain.draining) session.close();
    session.once('close', () => h2Sessions.delete(session));
    session.on('error', (err: Error) => logger.debug({ err: err.message, entryPoint: name }, 'HTTP/2 session error'));
  });
  h2Server.on('request', (raw: Http2ServerRequest, res: Http2ServerResponse) => onH2Request(raw, res));
  const onHttp2 = (socket: Socket) => {
    if (metrics) {
      metrics.openConnection(name, 'TCP', 1);
      socket.once('close', () => metrics.openConnection(name, 'TCP', -1));
    }
    h2Server.emit('connection', socket);
  };
  if (secure) {
    const httpsServer = https.createServer(serverOptions as https.ServerOptions);
    const configuration = options.tls!.configuration ?? TlsConfiguration.fromCertificates(options.tls!.certificates ?? []);
    handshakes = new TlsHandshakes({
      entryPoint: name, server: httpsServer, configuration, logger, helloTimeoutMs: serverOptions.headersTimeout!, acceptPlain, onHttp2,
      ...(options.tlsAlpnChallenge !== undefined ? { tlsAlpnChallenge: options.tlsAlpnChallenge } : {}),
      ...(options.ocsp !== undefined ? { ocsp: options.ocsp } : {}),
      ...(config.proxyProtocol !== undefined ? { proxyProtocol: { insecure: config.proxyProtocol.insecure, trustedIPs: config.proxyProtocol.trustedIPs ?? [] } } : {}),
    });
    server = httpsServer;
  } else {
    server = http.createServer(serverOptions);
  }
  if (config.transport?.keepAliveMaxRequests) server.maxRequestsPerSocket = config.transport.keepAliveMaxRequests;

  function finish(req: IncomingGatewayRequest, rw: AnyWriter, protocol: string): void {
    if (!observe) return;
    const clientGone = rw.closed && (rw instanceof UpgradeResponseWriter ? rw.statusCode !== 101 : rw instanceof H2ResponseWriter ? !rw.finished : !rw.res.writableFinished);
    const status = clientGone ? STATUS_CLIENT_CLOSED_REQUEST : rw.statusCode;
    const durationMs = performance.now() - req.start;
    const length = req.headers['content-length'];
    const requestBytes = length === undefined ? 0 : Number(length) || 0;
    const obs = req.observability;
    if (metrics !== undefined && (obs === undefined ? epMetrics : obs.metrics)) {
      metrics.recordRequest(recorder, req.routerName, req.serviceName, req.method, protocol, status, durationMs / 1000, requestBytes, rw.bytesWritten, req.headers, req.raw.socket);
    }
    if (accessLog !== undefined && (obs === undefined ? epAccessLogs : obs.accessLogs)) {
      accessLog.log({
        req, clientPort: req.raw.socket.remotePort ?? 0, status, startMs: Date.now() - durationMs, durationMs,
        requestBytes, responseBytes: rw.bytesWritten,
        responseHeaders: rw instanceof UpgradeResponseWriter ? undefined : rw.sentHeaders,
        protocol: req.raw.httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${req.raw.httpVersion}`, retryAttempts: (req.dataIfAny?.RetryAttempts as number | undefined) ?? 0,
      });
    }
  }

  function fail(req: IncomingGatewayRequest, rw: AnyWriter, err: unknown, protocol: string): void {
    if (!rw.headersSent && !rw.closed) {
      let status = 500;
      let body = statusText(500);
      if (err instanceof MeshgateError && err.statusCode >= 400 && err.statusCode < 600) {
        status = err.statusCode;
        // Coded messages are written for clients; an internal error's message is not.
        body = status === 500 ? statusText(500) : err.message;
      }
      if (status >= 500) logger.debug({ err, cause: (err as { cause?: unknown }).cause, entryPoint: name, router: req.routerName, service: req.serviceName }, `${status} ${body}`);
      rw.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
      rw.end(body);
    } else {
      logger.debug({ err, entryPoint: name }, 'handler failed after the response started; closing the connection');
      if (rw instanceof NodeResponseWriter) rw.res.destroy();
      else if (rw instanceof H2ResponseWriter) rw.abort();
      else rw.socket.destroy();
    }
    finish(req, rw, protocol);
  }

  /**
   * Traefik's SNI check (pkg/middlewares/snicheck, wired in pkg/server/router/tcp/manager.go): on TLS, a request
   * whose Host maps to other TLS options than the handshake's server name is answered 421 Misdirected Request.
   * Without it a client could handshake as a lenient host (no client certificate) and then ask for a host whose
   * options require one: domain fronting across option sets.
   */
  function misdirected(raw: IncomingMessage, req: IncomingGatewayRequest): boolean {
    if (handshakes === undefined || (raw.socket as TLSSocket).encrypted !== true) return false;
    const servername = (raw.socket as TLSSocket).servername;
    const sni = typeof servername === 'string' && servername !== '' ? servername.toLowerCase() : undefined;
    if (sni === req.host) return false;
    const configuration = handshakes.configuration;
    return configuration.optionsFor(name, sni).name !== configuration.optionsFor(name, req.host).name;
  }

  function answerMisdirected(req: IncomingGatewayRequest, rw: AnyWriter, protocol: string): void {
    logger.debug({ entryPoint: name, host: req.host, servername: (req.raw.socket as TLSSocket).servername }, 'TLS options of Host and SNI differ: 421');
    rw.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
    rw.end(statusText(421));
    finish(req, rw, protocol);
  }

  function onRequest(raw: IncomingMessage, res: ServerResponse): void {
    const lines = scanHeaderLines(raw);
    const refusal = (lines & HeaderLines.repeatedHost) !== 0 ? TOO_MANY_HOSTS : hasInvalidPathEscape(raw.url!) ? BAD_REQUEST : undefined;
    if (refusal !== undefined) {
      res.shouldKeepAlive = false;
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(refusal.length), connection: 'close' });
      res.end(refusal);
      return;
    }
    if ((lines & HeaderLines.protoName) !== 0) withPrototypeFreeHeaders(raw);
    const req = adapt(raw);
    const rw = new NodeResponseWriter(res, drain);
    const protocol = req.headers.accept === 'text/event-stream' ? 'sse' : 'http';
    if (misdirected(raw, req)) {
      answerMisdirected(req, rw, protocol);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    if (writeTimeout > 0) {
      timer = setTimeout(() => { if (!res.writableFinished) res.destroy(); }, writeTimeout);
      res.once('finish', () => clearTimeout(timer));
    }
    serve(req, rw, protocol);
  }

  /** Runs the handler; answers 500 for one that resolved without answering, ends what it left open, records. */
  function serve(req: IncomingGatewayRequest, rw: NodeResponseWriter | H2ResponseWriter, protocol: string): void {
    let done: Promise<void>;
    try {
      done = dispatch.handler(req, rw);
    } catch (err) {
      done = Promise.reject(err);
    }
    done.then(() => {
      if (!rw.headersSent && !rw.closed) {
        // A handler that resolved without answering: do not leave the client hanging.
        rw.writeHead(500);
        rw.end(statusText(500));
      } else if (!rw.closed && !(rw instanceof H2ResponseWriter ? rw.finished : rw.res.writableEnded)) {
        rw.end();
      }
      finish(req, rw, protocol);
    }, (err: unknown) => fail(req, rw, err, protocol));
  }

  /** One HTTP/2 stream: the head made HTTP/1.1-shaped (http/h2.ts), then the same path as onRequest. */
  function onH2Request(raw2: Http2ServerRequest, res: Http2ServerResponse): void {
    const raw = normalizeH2Request(raw2);
    const req = adapt(raw);
    const rw = new H2ResponseWriter(res);
    const protocol = req.headers['content-type']?.startsWith('application/grpc') === true ? 'grpc' : 'http';
    if (misdirected(raw, req)) {
      answerMisdirected(req, rw, protocol);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    if (writeTimeout > 0) {
      timer = setTimeout(() => { if (!rw.finished) rw.abort(); }, writeTimeout);
      res.once('close', () => clearTimeout(timer));
    }
    serve(req, rw, protocol);
  }

  function onUpgrade(raw: IncomingMessage, socket: Duplex, head: Buffer): void {
    if ((socket as { encrypted?: boolean }).encrypted !== true && isH2cUpgrade(raw)) {
      // Plain connections only (a TLS entry point may accept plain ones too). The socket is already counted as an
      // HTTP/1.1 connection, so it goes to the HTTP/2 server directly.
      const upgraded = upgradeToH2c(raw, socket, head);
      if (upgraded !== undefined) {
        h2Server.emit('connection', upgraded);
        return;
      }
    }
    const lines = scanHeaderLines(raw);
    const refusal = (lines & HeaderLines.repeatedHost) !== 0 ? TOO_MANY_HOSTS : hasInvalidPathEscape(raw.url!) ? BAD_REQUEST : undefined;
    if (refusal !== undefined) {
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${refusal.length}\r\n\r\n${refusal}`);
      return;
    }
    if ((lines & HeaderLines.protoName) !== 0) withPrototypeFreeHeaders(raw);
    const req = adapt(raw, head);
    const rw = new UpgradeResponseWriter(socket);
    socket.on('error', (err) => logger.debug({ err, entryPoint: name }, 'upgraded client socket error'));
    if (misdirected(raw, req)) {
      answerMisdirected(req, rw, 'websocket');
      return;
    }
    let done: Promise<void>;
    try {
      done = dispatch.handler(req, rw);
    } catch (err) {
      done = Promise.reject(err);
    }
    done.then(() => {
      if (!rw.headersSent) { rw.writeHead(500); rw.end(statusText(500)); }
      finish(req, rw, 'websocket');
    }, (err: unknown) => fail(req, rw, err, 'websocket'));
  }

  server.on('request', onRequest);
  server.on('upgrade', onUpgrade);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (socket as Socket).destroyed) {
      socket.destroy();
      return;
    }
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    logger.debug({ entryPoint: name, code: err.code }, 'rejected malformed request');
    const text = statusText(code);
    socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
  });
  if (metrics) {
    server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
      metrics.openConnection(name, 'TCP', 1);
      socket.once('close', () => metrics.openConnection(name, 'TCP', -1));
    });
  }

  const { host, port } = parseAddress(config.address);

  return {
    name,
    server,
    listen() {
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, reusePort: config.reusePort === true }, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    address() {
      return server.address() as AddressInfo;
    },
    close(graceMs = grace, lingerIdleMs = 0) {
      drain.draining = true;
      // GOAWAY: HTTP/2 clients open no new stream; the ones in flight finish within the grace period.
      for (const session of h2Sessions) session.close();
      return new Promise<void>((resolve) => {
        let sweep: NodeJS.Timeout | undefined;
        const sweepIdle = () => {
          server.closeIdleConnections();
          sweep ??= setInterval(() => server.closeIdleConnections(), 50);
        };
        const linger = lingerIdleMs > 0 ? setTimeout(sweepIdle, Math.min(lingerIdleMs, graceMs)) : undefined;
        const deadline = setTimeout(() => {
          server.closeAllConnections();
          for (const session of h2Sessions) session.destroy();
          handshakes?.closeTcp();
        }, graceMs);
        const closed = () => {
          clearInterval(sweep);
          clearTimeout(linger);
          clearTimeout(deadline);
          resolve();
        };
        // node:http's close() also closes the idle connections at once; lingering stops only the listener (net's close).
        if (linger === undefined) {
          server.close(closed);
          sweepIdle();
        } else net.Server.prototype.close.call(server, closed);
      });
    },
    setCertificates(certificates: CertificateFiles[]) {
      if (handshakes) handshakes.swap(TlsConfiguration.fromCertificates(certificates, handshakes.configuration));
    },
    setTlsConfiguration(configuration: TlsConfiguration) {
      handshakes?.swap(configuration);
    },
    setTcpRouting(routing: TcpEntryRouting | undefined) {
      handshakes?.setTcpRouting(routing);
    },
  };
}
