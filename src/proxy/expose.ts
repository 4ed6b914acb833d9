/**
 * The proxy's `Expose.Paths` (Consul's proxy `expose` config): each path is served on a plain-HTTP listener of its
 * own, with no mTLS and no intentions, so something outside the mesh — the kubelet's probes above all, once the
 * connect injector has moved them to 20300+ (src/kubernetes/probes.ts) — can reach one exact path of the local app.
 * As Envoy is configured by Consul (agent/xds/listeners.go makeExposedCheckListener): the listener binds the proxy's
 * address at `ListenerPort`, a request whose path (query string aside) equals `Path` is forwarded to the local app
 * at `LocalPathPort`, anything else is 404. Paths sharing a listener port share its listener. Only `http` (Consul's
 * default protocol for a path) is served; `http2` paths are refused at start, named in the error.
 * `Expose.Checks` (paths derived from the service's HTTP checks) is not implemented: pods have none, their health
 * is the endpoints controller's readiness check.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../lib/logger.ts';
import { ProxyErrors } from './errors.ts';
import { copyRequestHeaders, copyResponseHeaders } from './http-forward.ts';
import { relayAnswer } from './answer.ts';

export interface ExposePathSpec {
  readonly listenerPort: number;
  readonly path: string;
  readonly localPathPort: number;
}

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

/** `Proxy.Expose` of a registration → the paths to serve; a bad field is a coded config error naming it. */
export function parseExposePaths(expose: unknown): ExposePathSpec[] {
  if (expose === undefined || expose === null) return [];
  if (typeof expose !== 'object') throw ProxyErrors.config('Proxy.Expose', 'must be an object');
  const paths = (expose as { Paths?: unknown }).Paths;
  if (paths === undefined || paths === null) return [];
  if (!Array.isArray(paths)) throw ProxyErrors.config('Proxy.Expose.Paths', 'must be a list');
  return paths.map((raw: unknown, i) => {
    const field = `Proxy.Expose.Paths[${i}]`;
    const p = (raw ?? {}) as Record<string, unknown>;
    if (!isPort(p.ListenerPort)) throw ProxyErrors.config(`${field}.ListenerPort`, 'must be a port (1-65535)');
    if (!isPort(p.LocalPathPort)) throw ProxyErrors.config(`${field}.LocalPathPort`, 'must be a port (1-65535)');
    if (typeof p.Path !== 'string' || !p.Path.startsWith('/')) throw ProxyErrors.config(`${field}.Path`, 'must begin with "/"');
    const protocol = p.Protocol === undefined || p.Protocol === '' ? 'http' : p.Protocol;
    if (protocol !== 'http') throw ProxyErrors.config(`${field}.Protocol`, `${JSON.stringify(protocol)} is not served (only http)`);
    return { listenerPort: p.ListenerPort, path: p.Path, localPathPort: p.LocalPathPort };
  });
}

export interface ExposeListeners {
  /** Listener port → bound address. */
  readonly addresses: ReadonlyMap<number, AddressInfo>;
  close(): Promise<void>;
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? raw : raw.slice(0, q);
}

function forward(req: IncomingMessage, res: ServerResponse, host: string, port: number, logger: Logger): void {
  const upstream = httpRequest({ host, port, method: req.method, path: req.url, headers: copyRequestHeaders(req.headers) }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, copyResponseHeaders(answer.headers));
    relayAnswer(answer, res, () => logger.debug({ port }, 'expose path: the caller left before the answer ended'));
  });
  upstream.on('error', (err) => {
    logger.debug({ err, port }, 'expose path: the local app did not answer');
    if (!res.headersSent) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('upstream connect error\n');
    } else res.destroy();
  });
  req.pipe(upstream);
}

/** Binds one listener per distinct ListenerPort; resolves once all are bound (closing those bound if one fails). */
export async function startExposeListeners(options: {
  readonly bindAddress: string;
  readonly localAddress: string;
  readonly paths: readonly ExposePathSpec[];
  readonly logger: Logger;
}): Promise<ExposeListeners> {
  const byPort = new Map<number, Map<string, number>>();
  for (const p of options.paths) {
    const routes = byPort.get(p.listenerPort) ?? new Map<string, number>();
    if (!routes.has(p.path)) routes.set(p.path, p.localPathPort);
    byPort.set(p.listenerPort, routes);
  }
  const servers: Server[] = [];
  const addresses = new Map<number, AddressInfo>();
  const close = async (): Promise<void> => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => {
      s.closeAllConnections();
      s.close(() => r());
    })));
  };
  try {
    for (const [port, routes] of byPort) {
      const server = createServer((req, res) => {
        const target = routes.get(pathOf(req.url));
        if (target === undefined) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end();
          return;
        }
        forward(req, res, options.localAddress, target, options.logger);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, options.bindAddress, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
      addresses.set(port, server.address() as AddressInfo);
    }
  } catch (err) {
    await close();
    throw err;
  }
  options.logger.info({ paths: options.paths.map((p) => `${p.listenerPort}${p.path} → ${p.localPathPort}`) }, 'expose paths listening');
  return { addresses, close };
}
