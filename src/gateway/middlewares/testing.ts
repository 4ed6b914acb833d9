/**
 * Test harness for middleware kinds: builds a kind through the registry (schema first, as the runtime does),
 * serves a chain on 127.0.0.1 port 0 behind a minimal IncomingMessage/ServerResponse adapter, and ends in a
 * terminal handler that echoes the request as JSON. Only tests import this file.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../lib/logger.ts';
import type { GatewayRequest, Handler, Middleware, ResponseHeaders, ResponseWriter } from '../http/types.ts';
import { getMiddlewareKind, type MiddlewareBuildContext } from './registry.ts';
import { readBody, setHeader } from './common.ts';

export class NodeResponseWriter implements ResponseWriter {
  private readonly res: ServerResponse;
  headers: ResponseHeaders = {};
  statusCode = 0;
  constructor(res: ServerResponse) {
    this.res = res;
  }
  get headersSent(): boolean {
    return this.res.headersSent;
  }
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }
  writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (this.res.headersSent) return;
    if (headers) for (const [k, v] of Object.entries(headers)) setHeader(this.headers, k, v);
    this.statusCode = statusCode;
    this.res.writeHead(statusCode, this.headers);
  }
  write(chunk: Buffer | string): boolean {
    if (!this.res.headersSent) this.writeHead(200);
    return this.res.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    if (!this.res.headersSent) this.writeHead(200);
    this.res.end(chunk);
  }
  onDrain(listener: () => void): void {
    this.res.once('drain', listener);
  }
  flush(): void {
    this.res.flushHeaders();
  }
}

export function toGatewayRequest(req: IncomingMessage, entryPoint = 'web'): GatewayRequest {
  const hostHeader = req.headers.host ?? '';
  const host = (hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0]!).toLowerCase();
  const remote = req.socket.remoteAddress ?? '';
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    host,
    remoteAddress: `${remote.includes(':') ? `[${remote}]` : remote}:${req.socket.remotePort ?? 0}`,
    clientIp: remote,
    tls: false,
    entryPoint,
    body: req,
    raw: req,
    originalUrl: req.url ?? '/',
    data: {},
  };
}

/** Echoes method, url, host, headers, body and the shared data bag as JSON. */
export const echoHandler: Handler = async (req, rw) => {
  const { body } = await readBody(req);
  const payload = JSON.stringify({ method: req.method, url: req.url, host: req.host, headers: req.headers, body: body.toString('utf8'), data: req.data });
  rw.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) });
  rw.end(payload);
};

export interface Served {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function serveHandler(handler: Handler): Promise<Served> {
  const server = createServer((req, res) => {
    const rw = new NodeResponseWriter(res);
    handler(toGatewayRequest(req), rw).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`harness: ${String(err)}`);
      } else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Composes middlewares, the first one outermost (the order of a router's `middlewares` list). */
export function compose(middlewares: Middleware[], terminal: Handler): Handler {
  let handler = terminal;
  for (let i = middlewares.length - 1; i >= 0; i--) handler = middlewares[i]!(handler);
  return handler;
}

export interface TestContextOptions {
  name?: string;
  middlewares?: Record<string, Middleware>;
  services?: Record<string, Handler>;
  state?: Map<string, unknown>;
}

export function testContext(options: TestContextOptions = {}): MiddlewareBuildContext {
  return {
    name: options.name ?? 'test@file',
    provider: 'file',
    logger: silentLogger(),
    state: options.state ?? new Map(),
    resolveMiddleware(name) {
      const m = options.middlewares?.[name] ?? options.middlewares?.[name.split('@')[0]!];
      if (!m) throw new Error(`middleware "${name}" does not exist`);
      return m;
    },
    resolveService(name) {
      const s = options.services?.[name] ?? options.services?.[name.split('@')[0]!];
      if (!s) throw new Error(`service "${name}" does not exist`);
      return s;
    },
  };
}

/** Validates `config` with the kind's schema and creates it, exactly as the runtime does. */
export function build(kind: string, config: unknown, context: MiddlewareBuildContext = testContext()): Middleware {
  const definition = getMiddlewareKind(kind);
  if (!definition) throw new Error(`middleware kind "${kind}" is not registered`);
  return definition.create(definition.schema.parse(config), context);
}

/** Serves `kind` with `config` in front of `terminal` (the echo handler by default). */
export async function serveKind(kind: string, config: unknown, options: { context?: MiddlewareBuildContext; terminal?: Handler } = {}): Promise<Served> {
  return serveHandler(build(kind, config, options.context)(options.terminal ?? echoHandler));
}
