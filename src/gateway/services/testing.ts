/** Test helpers for the gateway data plane: small upstream servers and a gateway entry point on loopback port 0. */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntryPoint, type EntryPoint, type EntryPointOptions } from '../entrypoints/entrypoint.ts';
import { entryPointSchema } from '../entrypoints/schema.ts';
import type { Handler } from '../http/types.ts';
import { silentLogger, type Logger } from '../../lib/logger.ts';
import { buildServiceHandler, type BuiltService, type ServiceBuildContext } from './build.ts';
import { serviceSchema, type ServiceConfigInput } from './schema.ts';

export interface Upstream {
  url: string;
  server: http.Server;
  hits: number;
  close(): Promise<void>;
}

/** Upstreams not closed yet: `after(closeOpenUpstreams)` closes them even when a test failed half-way. */
const openUpstreams = new Set<Upstream>();

export async function closeOpenUpstreams(): Promise<void> {
  await Promise.all([...openUpstreams].map((up) => up.close()));
}

export async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const up: Upstream = {
    url: '', hits: 0, server: http.createServer((req, res) => { up.hits++; handler(req, res); }),
    close: () => new Promise<void>((resolve) => { openUpstreams.delete(up); up.server.closeAllConnections(); up.server.close(() => resolve()); }),
  };
  openUpstreams.add(up);
  await new Promise<void>((resolve) => up.server.listen(0, '127.0.0.1', resolve));
  up.url = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}`;
  return up;
}

/** An upstream that answers with its own name and the request it saw as JSON. */
export function echoUpstream(name: string): Promise<Upstream> {
  return startUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }));
    });
  });
}

export interface TestGateway {
  url: string;
  port: number;
  entryPoint: EntryPoint;
  holder: { handler: Handler };
  close(): Promise<void>;
}

export async function startGateway(handler: Handler, options: Omit<Partial<EntryPointOptions>, 'config'> & { config?: Record<string, unknown> } = {}): Promise<TestGateway> {
  const holder = { handler };
  const config = entryPointSchema.parse({ address: '127.0.0.1:0', ...options.config });
  const entryPoint = createEntryPoint({ name: 'web', ...options, config }, holder);
  const addr = await entryPoint.listen();
  return {
    url: `http://127.0.0.1:${addr.port}`, port: addr.port, entryPoint, holder,
    close: () => entryPoint.close(1000),
  };
}

/** Builds `http.services` entries (as written) the way the service manager does, resolving references by name. */
export function buildServices(services: Record<string, ServiceConfigInput>, ctx: Omit<ServiceBuildContext, 'resolveService' | 'logger'> & { logger?: Logger }): {
  get(name: string): BuiltService;
  close(): void;
} {
  const built = new Map<string, BuiltService>();
  const resolveService = (name: string): Handler => {
    const existing = built.get(name);
    if (existing) return existing.handler;
    const config = services[name];
    if (!config) throw new Error(`no service ${name}`);
    const b = buildServiceHandler(name, serviceSchema.parse(config), { ...ctx, logger: ctx.logger ?? silentLogger(), resolveService });
    built.set(name, b);
    return b.handler;
  };
  for (const name of Object.keys(services)) resolveService(name);
  return { get: (n: string) => built.get(n)!, close: () => { for (const b of built.values()) b.close(); } };
}
