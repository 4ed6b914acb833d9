/**
 * Opens every static entry point and hands each request to the runtime's dispatch. This is the control plane's
 * seam with the data plane's entry points: listening sockets (shared with node:cluster workers), the request
 * adapter with forwarded-headers trust, error-to-status mapping, metrics and access log per request, and a graceful
 * close that lets in-flight requests finish within `transport.lifeCycle.graceTimeOut`.
 */
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/logger.ts';
import { MeshgateError } from '../../lib/errors.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import type { EntryPointConfig, StaticConfig } from '../config/static.ts';
import type { Handler } from '../http/types.ts';
import { createIpMatcher } from '../http/ip.ts';
import { createRequestAdapter, NodeResponseWriter } from '../http/response-writer.ts';
import { statusText } from '../http/errors.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';

export interface OpenEntryPointsOptions {
  readonly staticConfig: StaticConfig;
  readonly logger: Logger;
  readonly dispatch: Handler;
  readonly metrics?: GatewayMetrics;
}

export interface OpenEntryPoints {
  /** Bound address of each entry point (port 0 in the configuration resolves to the real port). */
  addresses(): Record<string, { address: string; port: number }>;
  /** The configuration's `tls` section (certificates for TLS entry points). */
  setCertificates(tls: DynamicConfig['tls']): void;
  close(): Promise<void>;
}

/** Traefik's `:80`, `0.0.0.0:80`, `[::1]:80` → host and port for listen(). */
export function parseListenAddress(address: string): { host: string | undefined; port: number } {
  const colon = address.lastIndexOf(':');
  const hostPart = colon === -1 ? '' : address.slice(0, colon);
  const port = Number(colon === -1 ? address : address.slice(colon + 1));
  const host = hostPart.replace(/^\[|\]$/g, '');
  return { host: host === '' ? undefined : host, port };
}

export async function openEntryPoints(options: OpenEntryPointsOptions): Promise<OpenEntryPoints> {
  const servers = new Map<string, { server: Server; config: EntryPointConfig; inflight: Set<ServerResponse> }>();
  try {
    for (const ep of Object.values(options.staticConfig.entryPoints)) {
      servers.set(ep.name, await listen(ep, options));
    }
  } catch (err) {
    await Promise.all([...servers.values()].map(({ server }) => new Promise((r) => server.close(r))));
    throw err;
  }
  return {
    addresses() {
      const out: Record<string, { address: string; port: number }> = {};
      for (const [name, { server }] of servers) {
        const a = server.address() as AddressInfo;
        out[name] = { address: a.address, port: a.port };
      }
      return out;
    },
    setCertificates() {
      // TLS termination belongs to the data plane's entry points.
    },
    async close() {
      await Promise.all([...servers.values()].map(({ server, config, inflight }) => closeGracefully(server, inflight, config)));
    },
  };
}

async function listen(ep: EntryPointConfig, options: OpenEntryPointsOptions) {
  const adapt = createRequestAdapter({
    entryPoint: ep.name,
    tls: ep.http?.tls !== undefined,
    trustedIPs: createIpMatcher(ep.forwardedHeaders?.trustedIPs ?? []),
    insecure: ep.forwardedHeaders?.insecure ?? false,
  });
  const inflight = new Set<ServerResponse>();
  const recorder = options.metrics?.entryPoint(ep.name);
  const { dispatch, logger, metrics } = options;
  const timeouts = ep.transport?.respondingTimeouts;
  const server = createServer({ keepAliveTimeout: timeouts?.idleTimeout ?? 180_000, requestTimeout: timeouts?.readTimeout ?? 60_000 }, (raw: IncomingMessage, res: ServerResponse) => {
    inflight.add(res);
    res.once('close', () => inflight.delete(res));
    const req = adapt(raw);
    const rw = new NodeResponseWriter(res);
    dispatch(req, rw).then(
      () => {
        if (metrics) metrics.recordRequest(recorder, req.routerName, req.serviceName, req.method, 'http', rw.statusCode, (performance.now() - req.start) / 1000, 0, rw.bytesWritten);
      },
      (err: unknown) => {
        const status = err instanceof MeshgateError ? err.statusCode : 500;
        if (!(err instanceof MeshgateError)) logger.error({ err, router: req.routerName }, 'request failed');
        if (!rw.headersSent && !rw.closed) {
          const body = err instanceof MeshgateError && status >= 500 ? err.message : statusText(status);
          rw.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
          rw.end(body);
        } else if (!res.writableEnded) {
          res.destroy();
        }
        if (metrics) metrics.recordRequest(recorder, req.routerName, req.serviceName, req.method, 'http', status, (performance.now() - req.start) / 1000, 0, rw.bytesWritten);
      },
    );
  });
  const { host, port } = parseListenAddress(ep.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, config: ep, inflight };
}

/** Stop accepting, close idle keep-alive connections, let in-flight requests finish, then cut what is left. */
async function closeGracefully(server: Server, inflight: Set<ServerResponse>, ep: EntryPointConfig): Promise<void> {
  const graceMs = ep.transport?.lifeCycle?.graceTimeOut ?? 10_000;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const res of inflight) res.shouldKeepAlive = false;
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  timer.unref();
  await closed;
  clearTimeout(timer);
}
