/**
 * errors: when the service answers with a status in `status` ("500-599", "404"), the body is replaced by the
 * error page that `service` returns for `query` ({status} and {url} substituted); the client still gets the
 * original status, or its rewrite from statusRewrites (Traefik pkg/middlewares/customerrors).
 */
import { z } from 'zod';
import type { GatewayRequest, Handler, ResponseWriter } from '../http/types.ts';
import { HeldStatusWriter } from '../http/held-status-writer.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { registerMiddleware } from './registry.ts';
import { RecordingWriter } from '../http/recording-writer.ts';
import { deriveRequest, emptyBody } from '../http/request.ts';
import { inRanges, parseStatusRanges, type StatusRanges } from '../http/status-ranges.ts';
import { setHeader } from '../../lib/http/headers.ts';
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
class CodeCatcher extends HeldStatusWriter {
  private readonly ranges: StatusRanges;
  /** The error status caught (0 while none): the page is served for it. */
  caught = 0;

  constructor(inner: ResponseWriter, ranges: StatusRanges) {
    super(inner, false);
    this.ranges = ranges;
  }
  protected drops(statusCode: number): boolean {
    if (!inRanges(this.ranges, statusCode)) return false;
    this.caught = statusCode;
    return true;
  }
  override get statusCode(): number {
    return this.caught || this.inner.statusCode;
  }
  // Before any status, a drain goes to the client writer (only a passed answer can be slow anyway).
  override onDrain(listener: () => void): void {
    if (this.state === 'dropped') queueMicrotask(listener);
    else this.inner.onDrain(listener);
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
