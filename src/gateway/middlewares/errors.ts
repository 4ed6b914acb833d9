/**
 * errors: when the service answers with a status in `status` ("500-599", "404"), the body is replaced by the
 * error page that `service` returns for `query` ({status} and {url} substituted); the client still gets the
 * original status, or its rewrite from statusRewrites (Traefik pkg/middlewares/customerrors).
 */
import { z } from 'zod';
import type { GatewayRequest, Handler, ResponseHeaders, ResponseWriter } from '../http/types.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { registerMiddleware } from './registry.ts';
import { RecordingWriter, deriveRequest, emptyBody, inRanges, parseStatusRanges, type StatusRanges } from './common.ts';
import { mergeHeaders, setHeader } from '../../lib/http/headers.ts';
import { statusText } from '../../lib/http/status.ts';

export const errorsSchema = z
  .object({
    status: z.array(z.string()).min(1),
    /** Traefik's pages write the target both as 404 and "404"; the loader reads text into the int either way. */
    statusRewrites: z.record(z.string(), z.number().int().min(100).max(599)).optional(),
    service: z.string(),
    query: z.string().optional(),
  })
  .strict();

/**
 * Holds back the status line while it may be an error; an error status turns the writer into a sink that
 * drops the upstream body, every other status streams through untouched.
 */
class CodeCatcher implements ResponseWriter {
  private readonly inner: ResponseWriter;
  private readonly ranges: StatusRanges;
  headers: ResponseHeaders = Object.create(null) as ResponseHeaders;
  caught = 0;
  private passed = false;

  constructor(inner: ResponseWriter, ranges: StatusRanges) {
    this.inner = inner;
    this.ranges = ranges;
  }
  get headersSent(): boolean {
    return this.passed ? this.inner.headersSent : this.caught !== 0;
  }
  get statusCode(): number {
    return this.caught || this.inner.statusCode;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (this.caught || this.passed) return;
    if (headers) for (const [k, v] of Object.entries(headers)) setHeader(this.headers, k, v);
    if (inRanges(this.ranges, statusCode)) {
      this.caught = statusCode;
      return;
    }
    this.passed = true;
    mergeHeaders(this.inner.headers, this.headers, 'preset');
    this.inner.writeHead(statusCode);
  }
  write(chunk: Buffer | string): boolean {
    if (!this.caught && !this.passed) this.writeHead(200);
    return this.caught ? true : this.inner.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    if (!this.caught && !this.passed) this.writeHead(200);
    if (!this.caught) this.inner.end(chunk);
  }
  onDrain(listener: () => void): void {
    if (this.caught) queueMicrotask(listener);
    else this.inner.onDrain(listener);
  }
  onClose(listener: () => void): void {
    this.inner.onClose?.(listener);
  }
  flush(): void {
    if (this.passed) this.inner.flush?.();
  }
}

registerMiddleware('errors', {
  schema: errorsSchema,
  create(config, context) {
    const ranges = parseStatusRanges(config.status);
    const rewrites = new Map(Object.entries(config.statusRewrites ?? {}).flatMap(([from, to]) => parseStatusRanges([from], 'statusRewrites').map((r) => [r, to] as const)));
    // Traefik: "/" + TrimPrefix(query, "/").
    const query = `/${(config.query ?? '').replace(/^\//, '')}`;
    const needsStatus = query.includes('{status}');
    const needsOriginal = query.includes('{originalStatus}');
    const needsUrl = query.includes('{url}');
    let service: Handler | undefined;
    // Resolved lazily: the error service may be built after this middleware.
    const errorService = (): Handler => (service ??= context.resolveService(config.service));
    const rewrite = (code: number): number => {
      for (const [[from, to], target] of rewrites) if (code >= from && code <= to) return target;
      return code;
    };

    const servePage = async (req: GatewayRequest, rw: ResponseWriter, original: number): Promise<void> => {
      // Traefik's customerrors: the status is rewritten first, and the page fetched is the rewritten status's
      // ({status}); {originalStatus} is what the service answered.
      const status = rewrite(original);
      let url = query;
      if (needsStatus) url = url.replaceAll('{status}', String(status));
      if (needsOriginal) url = url.replaceAll('{originalStatus}', String(original));
      if (needsUrl) url = url.replaceAll('{url}', encodeURIComponent(req.url)); // Traefik: the URL as this middleware sees it
      const headers = { ...req.headers };
      delete headers['content-length'];
      delete headers['transfer-encoding'];
      const pageReq = deriveRequest(req, { method: 'GET', url, headers, body: emptyBody(), bufferedBody: undefined });
      const page = new RecordingWriter(Infinity, rw);
      try {
        await errorService()(pageReq, page);
      } catch (err) {
        context.logger.error({ err, middleware: context.name, service: config.service }, 'errors: error page service failed');
      }
      if (!page.finished) {
        rw.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
        rw.end(`${status} ${statusText(status)}`);
        return;
      }
      delete page.headers['content-length'];
      for (const [k, v] of Object.entries(page.headers)) setHeader(rw.headers, k, v);
      const body = page.body();
      rw.writeHead(status, { 'content-length': String(body.length) });
      rw.end(body);
    };

    return (next) => async (req, rw) => {
      const catcher = new CodeCatcher(rw, ranges);
      try {
        await next(req, catcher);
      } catch (err) {
        // A coded failure before any byte (the proxy's 502/504) is an error status like any other.
        if (isMeshgateError(err) && !catcher.headersSent && inRanges(ranges, err.statusCode)) {
          await servePage(req, rw, err.statusCode);
          return;
        }
        throw err;
      }
      if (catcher.caught) await servePage(req, rw, catcher.caught);
    };
  },
});
