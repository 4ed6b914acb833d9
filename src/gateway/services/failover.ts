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
import { HeldStatusWriter } from '../http/held-status-writer.ts';
import { inRanges, parseStatusRanges, type StatusRanges } from '../http/status-ranges.ts';
import { readBody } from '../http/request.ts';
import { writeError } from '../http/write-error.ts';
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
class FailoverWriter extends HeldStatusWriter {
  private readonly ranges: StatusRanges;

  constructor(inner: ResponseWriter, ranges: StatusRanges) {
    super(inner, true);
    this.ranges = ranges;
  }
  /** The main service's answer was dropped: the request goes to the fallback. */
  get needFallback(): boolean {
    return this.state === 'dropped';
  }
  protected drops(statusCode: number): boolean {
    return inRanges(this.ranges, statusCode);
  }
  // Trailers (gRPC's status) belong to an answer that passed; a dropped one's go with it.
  addTrailers(trailers: ResponseHeaders): void {
    if (this.state === 'passed') this.inner.addTrailers?.(trailers);
  }
}
