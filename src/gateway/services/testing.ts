/** Test helpers for the gateway data plane: small upstream servers and a gateway entry point on loopback port 0. */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEntryPoint, type EntryPoint, type EntryPointOptions } from '../entrypoints/entrypoint.ts';
import { entryPointSchema } from '../entrypoints/schema.ts';
import type { Handler } from '../http/types.ts';

export interface Upstream {
  url: string;
  server: http.Server;
  hits: number;
  close(): Promise<void>;
}

export async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const up: Upstream = {
    url: '', hits: 0, server: http.createServer((req, res) => { up.hits++; handler(req, res); }),
    close: () => new Promise<void>((resolve) => { up.server.closeAllConnections(); up.server.close(() => resolve()); }),
  };
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
