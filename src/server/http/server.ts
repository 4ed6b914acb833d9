/**
 * The HTTP API server: node:http, Consul's wire conventions (JSON bodies, text errors, `?pretty`, the index
 * headers), and the error mapping from coded MeshgateErrors to status codes. Every request is counted and timed per
 * endpoint pattern.
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions as HttpServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import { Readable } from 'node:stream';
import { Errors, MeshgateError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { consulHttpPath, type ServerMetrics } from '../metrics.ts';
import { parseJsonBody } from './decode.ts';
import { requestToken } from './token.ts';
import { ACLS_DISABLED, type AclResolver } from '../acl/authorizer.ts';
import type { ApiResponse, ApiRouter, RequestContext } from './router.ts';

/** Bodies larger than this are refused before they are read in full (KV enforces its own 512 KiB limit). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Default bound on the time a client may take to send a whole request (head and body). Go's net/http has no such
 * bound unless the server sets ReadTimeout; without one a client trickling a body ties up its connection for ever.
 * 60 s is far beyond any honest client on a loopback or LAN (a 4 MiB body at 1 Mbit/s takes 35 s).
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export interface HttpApiOptions {
  router: ApiRouter;
  /**
   * ms a client may take to send a whole request, head and body (Node's requestTimeout; the answer is not
   * bounded, so blocking queries still wait their full `wait`). Past it the server answers 408 and closes.
   * Default DEFAULT_REQUEST_TIMEOUT_MS; 0 disables the bound.
   */
  requestTimeout?: number;
  logger: Logger;
  metrics: ServerMetrics;
  /** Resolves each request's token to its permissions; absent = ACLs disabled. */
  acl?: AclResolver;
  /** Adds headers every response carries (X-Consul-Default-ACL-Policy). */
  commonHeaders?: Record<string, string>;
  /** Serve HTTPS with these (certificate, key, CA, client-certificate checks; see https.ts); absent = plain HTTP. */
  tls?: HttpsServerOptions;
}

export function createHttpApi(options: HttpApiOptions): Server {
  const requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const serverOptions: HttpServerOptions = {
    keepAliveTimeout: 30_000,
    // Node stops counting once the request has arrived (the parser leaves its active list on message
    // complete), so this bounds receiving only.
    requestTimeout,
    headersTimeout: requestTimeout > 0 ? Math.min(30_000, requestTimeout) : 30_000,
    // Node looks for expired requests this often (default 30 s): a quarter of the bound keeps the cut near it.
    connectionsCheckingInterval: requestTimeout > 0 ? Math.max(50, Math.min(30_000, Math.floor(requestTimeout / 4))) : 30_000,
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(options, req, res);
  };
  // An https.Server is an http.Server underneath (tls.Server emitting the same request events).
  const server = options.tls ? (createHttpsServer({ ...serverOptions, ...options.tls }, listener) as unknown as Server) : createServer(serverOptions, listener);
  // Blocking queries legitimately hold a request open for up to 10 min + jitter.
  server.timeout = 0;
  return server;
}

async function handle(options: HttpApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  let endpoint = 'unknown';
  let status = 500;
  const abort = new AbortController();
  // Only a client that leaves before the answer is written aborts: an AbortError (with its stack) per request
  // was ~12% of the server's CPU under load.
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    const lookup = options.router.lookup(method, url.pathname);
    let response: ApiResponse;
    if (lookup.kind === 'not-found') {
      response = { status: 404, body: '', text: true };
    } else if (lookup.kind === 'method-not-allowed') {
      endpoint = url.pathname;
      response = { status: 405, body: `method ${method} not allowed`, text: true, headers: { Allow: lookup.allow.join(',') } };
    } else if (lookup.kind === 'options') {
      endpoint = url.pathname;
      response = { status: 200, headers: { Allow: lookup.allow.join(',') } };
    } else {
      endpoint = lookup.match.route.pattern;
      const ctx = createContext(req, url, method, lookup.match.params, abort.signal, options.acl ?? ACLS_DISABLED);
      response = await lookup.match.route.handler(ctx);
    }
    status = send(res, url, method, response, options.commonHeaders);
  } catch (err) {
    status = sendError(res, err, options.logger, method, url.pathname, options.commonHeaders);
  } finally {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    options.metrics.httpRequests.inc({ method, endpoint, code: String(status) });
    options.metrics.httpDuration.observe({ method, endpoint }, seconds);
    options.metrics.apiHttp.observe({ method, path: consulHttpPath(endpoint) }, seconds * 1000);
  }
}

function createContext(
  req: IncomingMessage, url: URL, method: string, params: Record<string, string>, signal: AbortSignal, acl: AclResolver,
): RequestContext {
  let bodyPromise: Promise<Buffer> | undefined;
  const body = (): Promise<Buffer> => (bodyPromise ??= readBody(req));
  const token = requestToken(req.headers, url.searchParams);
  return {
    method,
    path: url.pathname,
    params,
    query: url.searchParams,
    headers: req.headers,
    token,
    authorizer: () => acl.resolve(token),
    watchRevocation: (onRevoked) => acl.watchRevocation(token, onRevoked),
    remoteAddress: req.socket.remoteAddress ?? '',
    signal,
    body,
    bodyStream: () => req,
    async json() {
      const buf = await body();
      if (buf.length === 0) return undefined;
      return parseJsonBody(buf.toString('utf8'));
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    return Promise.reject(Errors.payloadTooLarge(`Request body too large: ${declared} bytes exceeds the ${MAX_BODY_BYTES} byte limit`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(Errors.payloadTooLarge(`Request body too large: exceeds the ${MAX_BODY_BYTES} byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, url: URL, method: string, response: ApiResponse, common?: Record<string, string>): number {
  const status = response.status ?? 200;
  // Prototype-free: a header name is data (`constructor`, `__proto__` are ordinary names).
  const headers = Object.assign(Object.create(null) as Record<string, string>, common, response.headers);
  if (response.index !== undefined) {
    headers['X-Consul-Index'] = String(response.index);
    headers['X-Consul-KnownLeader'] = 'true';
    headers['X-Consul-LastContact'] = '0';
  }
  const body = response.body;
  if (body instanceof Readable) {
    // A streamed answer (/v1/agent/monitor, /v1/snapshot): headers now, chunks as they come, until either side ends
    // it; a stream that fails midway cuts the connection (a client sees a truncated body, never a complete-looking one).
    headers['Content-Type'] ??= 'application/octet-stream';
    res.writeHead(status, headers);
    res.flushHeaders();
    if (method === 'HEAD') {
      body.destroy();
      res.end();
      return status;
    }
    body.on('error', () => res.destroy());
    body.pipe(res);
    res.on('close', () => body.destroy());
    return status;
  }
  let payload: Buffer | string;
  if (Buffer.isBuffer(body)) {
    payload = body;
    headers['Content-Type'] ??= 'application/octet-stream';
  } else if (typeof body === 'string' && response.text) {
    payload = body;
    if (body !== '') headers['Content-Type'] ??= 'text/plain; charset=utf-8';
  } else if (body === undefined) {
    payload = '';
  } else {
    payload = url.searchParams.has('pretty') ? `${JSON.stringify(body, null, 4)}\n` : JSON.stringify(body);
    headers['Content-Type'] ??= 'application/json';
  }
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(status, headers);
  res.end(method === 'HEAD' ? undefined : payload);
  return status;
}

function sendError(res: ServerResponse, err: unknown, logger: Logger, method: string, path: string, common?: Record<string, string>): number {
  const status = err instanceof MeshgateError ? err.statusCode : 500;
  const message = err instanceof Error ? err.message : String(err);
  if (status >= 500) logger.error({ err, method, path }, 'request failed');
  else logger.debug({ method, path, status, error: message }, 'request refused');
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const body = Buffer.from(message);
  res.writeHead(status, { ...common, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.length) });
  res.end(body);
  return status;
}
