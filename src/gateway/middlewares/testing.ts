/**
 * Test harness for middleware kinds: builds a kind through the registry (schema first, as the runtime does),
 * serves a chain on 127.0.0.1 port 0 behind the data plane's request adapter and NodeResponseWriter (loopback
 * trusted for X-Forwarded-*, as behind a local proxy), and ends in a
 * terminal handler that echoes the request as JSON. Only tests import this file.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../lib/logger.ts';
import type { Handler, Middleware } from '../http/types.ts';
import { NodeResponseWriter, createRequestAdapter } from '../http/response-writer.ts';
import { IpSet } from '../../lib/ip/checker.ts';
import { getMiddlewareKind, type MiddlewareBuildContext } from './registry.ts';
import { readBody } from '../http/request.ts';

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
  const adapt = createRequestAdapter({ entryPoint: 'web', tls: false, trustedIPs: new IpSet(['127.0.0.1/32', '::1']), insecure: false, serverName: 'test' });
  const server = createServer((req, res) => {
    const rw = new NodeResponseWriter(res);
    handler(adapt(req), rw).catch((err: unknown) => {
      // What the entry point does with a coded error: its status and text, never the cause.
      if (!res.headersSent) {
        const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(err instanceof Error ? err.message : String(err));
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
