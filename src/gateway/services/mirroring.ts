/**
 * Traefik's `mirroring` service: the request goes to the main service, and afterwards copies go to each mirror
 * for its `percent` of the traffic (counted exactly, not sampled), fire-and-forget with the responses discarded.
 * With `mirrorBody` the body is read into memory first, up to `maxBodySize` (-1: unbounded); a larger body is sent
 * on to the main service untouched and not mirrored, as Traefik does.
 */
import { Readable } from 'node:stream';
import type { Handler, GatewayRequest, ResponseWriter, ResponseHeaders } from '../http/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { MirroringConfig } from './schema.ts';

interface Mirror {
  name: string;
  handler: Handler;
  percent: number;
  count: number;
}

export function createMirroring(name: string, config: MirroringConfig, resolve: (name: string) => Handler, logger: Logger): Handler {
  const main = resolve(config.service);
  const mirrors: Mirror[] = config.mirrors.map((m) => ({ name: m.name, handler: resolve(m.name), percent: m.percent, count: 0 }));
  let total = 0;

  return async function mirroring(req: GatewayRequest, rw: ResponseWriter): Promise<void> {
    total++;
    const chosen: Mirror[] = [];
    for (const m of mirrors) {
      // Traefik's accounting: mirror while this mirror's share is below its percent of all requests so far.
      if (m.count * 100 < total * m.percent) {
        m.count++;
        chosen.push(m);
      }
    }
    if (chosen.length === 0) return main(req, rw);

    let body: Buffer | undefined;
    if (config.mirrorBody && hasBody(req)) {
      const read = await readLimited(req, config.maxBodySize);
      if (read.complete) {
        body = read.data;
        req.bufferedBody = body;
      } else {
        logger.debug({ service: name }, 'no mirroring, request body larger than allowed size');
        return main(withBody(req, read.data, req.body), rw);
      }
    }
    await main(req, rw);
    for (const m of chosen) {
      const copy = cloneForMirror(req, config.mirrorBody ? body : undefined);
      m.handler(copy, DISCARD).catch((err: unknown) => {
        logger.debug({ service: name, mirror: m.name, err }, 'mirror request failed');
      });
    }
  };
}

function hasBody(req: GatewayRequest): boolean {
  if (req.bufferedBody !== undefined) return true;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

async function readLimited(req: GatewayRequest, max: number): Promise<{ data: Buffer; complete: boolean }> {
  if (req.bufferedBody !== undefined) {
    return { data: req.bufferedBody, complete: max < 0 || req.bufferedBody.length <= max };
  }
  // Plain 'data' events: async iteration would destroy the IncomingMessage (and with it the client socket) at end.
  return new Promise((resolve, reject) => {
    const body = req.body;
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (max >= 0 && size > max) {
        cleanup();
        body.pause();
        resolve({ data: Buffer.concat(chunks), complete: false });
      }
    };
    const onEnd = () => { cleanup(); resolve({ data: Buffer.concat(chunks), complete: true }); };
    const onError = (err: Error) => { cleanup(); reject(err); };
    const cleanup = () => { body.off('data', onData); body.off('end', onEnd); body.off('error', onError); };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  });
}

/** The same request with a different body stream (what was read, then the rest). */
function withBody(req: GatewayRequest, head: Buffer, rest: Readable): GatewayRequest {
  async function* joined() {
    yield head;
    for await (const chunk of rest) yield chunk as Buffer;
  }
  const copy = Object.create(req) as GatewayRequest;
  Object.defineProperty(copy, 'body', { value: Readable.from(joined()), enumerable: true });
  return copy;
}

function cloneForMirror(req: GatewayRequest, body: Buffer | undefined): GatewayRequest {
  const headers = { ...req.headers };
  if (body === undefined) {
    delete headers['content-length'];
    delete headers['transfer-encoding'];
  } else {
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
  }
  return {
    method: req.method, url: req.url, headers, host: req.host, remoteAddress: req.remoteAddress,
    clientIp: req.clientIp, tls: req.tls, entryPoint: req.entryPoint, body: Readable.from([]),
    routerName: req.routerName, serviceName: req.serviceName, originalUrl: req.originalUrl,
    bufferedBody: body, data: {},
  };
}

class DiscardWriter implements ResponseWriter {
  readonly headersSent = false;
  readonly statusCode = 0;
  readonly closed = false;
  get headers(): ResponseHeaders { return {}; }
  writeHead(): void {}
  write(): boolean { return true; }
  end(): void {}
  onDrain(listener: () => void): void { queueMicrotask(listener); }
}

/** Mirrors' responses go nowhere. A shared instance: it holds no state. */
const DISCARD: ResponseWriter = new DiscardWriter();

