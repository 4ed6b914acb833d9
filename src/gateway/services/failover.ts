/**
 * Traefik's `failover` service: requests go to `service` while it has a healthy server, else to `fallback`.
 * The main service's health comes from its load balancer's health checks (status propagation); a main service
 * that answers "no available server" before writing anything is also failed over.
 *
 * With `errors` (Traefik v3.7, pkg/server/service/loadbalancer/failover responseWriter): the request body is read
 * into memory first (up to `maxRequestBodyBytes`; a larger body is answered 413, as the retry middleware does,
 * since it could not be sent twice), and a main-service answer whose status is in `errors.status` is discarded —
 * headers and body — and the same request goes to the fallback. Informational answers (1xx but 101) are ignored.
 */
import type { Handler, GatewayRequest, ResponseHeaders, ResponseWriter } from '../http/types.ts';
import { GatewayErrors } from '../http/errors.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { mergeHeaders, setHeader } from '../../lib/http/headers.ts';
import { inRanges, parseStatusRanges, readBody, writeError, type StatusRanges } from '../middlewares/common.ts';
import { healthOf, HealthFlag } from './health.ts';
import type { FailoverConfig } from './schema.ts';

export function createFailover(config: FailoverConfig, resolve: (name: string) => Handler): { handler: Handler; health: HealthFlag; close(): void } {
  const main = resolve(config.service);
  const fallback = resolve(config.fallback);
  const mainHealth = healthOf(main);
  const fallbackHealth = healthOf(fallback);
  const health = new HealthFlag((mainHealth?.up() ?? true) || (fallbackHealth?.up() ?? true));
  const refresh = () => health.set((mainHealth?.up() ?? true) || (fallbackHealth?.up() ?? true));
  const unsubscribe = [mainHealth?.onChange(refresh), fallbackHealth?.onChange(refresh)];
  const ranges = config.errors ? parseStatusRanges(config.errors.status, 'failover.errors.status') : undefined;
  const maxBody = config.errors?.maxRequestBodyBytes ?? -1;

  const handler: Handler = async (req: GatewayRequest, rw: ResponseWriter) => {
    if (mainHealth !== undefined && !mainHealth.up()) return fallback(req, rw);
    let writer: ResponseWriter = rw;
    if (ranges !== undefined) {
      if (req.bufferedBody === undefined) {
        const { body, overflow } = await readBody(req, maxBody > 0 ? maxBody : 0);
        if (overflow) {
          writeError(rw, 413, 'Request body too large');
          return;
        }
        req.bufferedBody = body;
      }
      writer = new FailoverWriter(rw, ranges);
    }
    try {
      await main(req, writer);
    } catch (err) {
      if (!rw.headersSent && isMeshgateError(err, GatewayErrors.noAvailableServer.code)) return fallback(req, rw);
      throw err;
    }
    if (writer instanceof FailoverWriter && writer.needFallback) return fallback(req, rw);
  };
  return { handler, health, close: () => { for (const u of unsubscribe) u?.(); } };
}

/** Holds the main service's headers back until its status is known; drops the whole answer when it is in range. */
class FailoverWriter implements ResponseWriter {
  private readonly inner: ResponseWriter;
  private readonly ranges: StatusRanges;
  headers: ResponseHeaders = Object.create(null) as ResponseHeaders;
  needFallback = false;
  private written = false;

  constructor(inner: ResponseWriter, ranges: StatusRanges) {
    this.inner = inner;
    this.ranges = ranges;
  }
  get headersSent(): boolean {
    return this.written && !this.needFallback ? this.inner.headersSent : this.written;
  }
  get statusCode(): number {
    return this.written && !this.needFallback ? this.inner.statusCode : 0;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (this.written) return;
    if (headers) for (const [k, v] of Object.entries(headers)) setHeader(this.headers, k, v);
    if (statusCode >= 100 && statusCode < 200 && statusCode !== 101) {
      this.headers = Object.create(null) as ResponseHeaders;
      return;
    }
    this.written = true;
    this.needFallback = inRanges(this.ranges, statusCode);
    if (this.needFallback) return;
    mergeHeaders(this.inner.headers, this.headers, 'preset');
    this.inner.writeHead(statusCode);
  }
  write(chunk: Buffer | string): boolean {
    if (!this.written) this.writeHead(200);
    return this.needFallback ? true : this.inner.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    if (!this.written) this.writeHead(200);
    if (!this.needFallback) this.inner.end(chunk);
  }
  onDrain(listener: () => void): void {
    if (this.written && !this.needFallback) this.inner.onDrain(listener);
    else queueMicrotask(listener);
  }
  onClose(listener: () => void): void {
    this.inner.onClose?.(listener);
  }
  flush(): void {
    if (this.written && !this.needFallback) this.inner.flush?.();
  }
  addTrailers(trailers: ResponseHeaders): void {
    if (this.written && !this.needFallback) this.inner.addTrailers?.(trailers);
  }
}
