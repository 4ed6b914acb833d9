/**
 * Which client a request counts for: Traefik's `ipStrategy` over a gateway request (the strategies themselves live in
 * src/lib/ip) for ipAllowList, and its `sourceCriterion` (IP strategy, a request header or the host) for rateLimit
 * and inFlightReq. Compiled at create time, so the request path runs one closure.
 */
import { z } from 'zod';
import type { GatewayRequest } from '../http/types.ts';
import { requestHeader } from '../http/request.ts';
import { compileIpStrategy } from '../../lib/ip/strategy.ts';

export const ipStrategySchema = z
  .object({
    depth: z.number().int().min(0).optional(),
    excludedIPs: z.array(z.string()).optional(),
    ipv6Subnet: z.number().int().min(0).max(128).optional(),
  })
  .strict();
export type IpStrategyConfig = z.infer<typeof ipStrategySchema>;

export const sourceCriterionSchema = z
  .object({
    ipStrategy: ipStrategySchema.optional(),
    requestHeaderName: z.string().optional(),
    requestHost: z.boolean().optional(),
  })
  .strict();
export type SourceCriterionConfig = z.infer<typeof sourceCriterionSchema>;

/** Traefik's ip.Strategy over a gateway request: which address is "the client" ('' when none qualifies). */
export function requestIpStrategy(config: IpStrategyConfig | undefined): (req: GatewayRequest) => string {
  const strategy = compileIpStrategy(config);
  return (req) => strategy(req.remoteAddress, req.headers['x-forwarded-for']);
}

/**
 * Traefik's source extractor for rateLimit and inFlightReq. With nothing set, rateLimit groups by the TCP peer
 * address (`'ip'`) and inFlightReq by the request host (`'host'`), as in Traefik.
 */
export function compileSourceCriterion(config: SourceCriterionConfig | undefined, fallback: 'ip' | 'host' = 'ip'): (req: GatewayRequest) => string {
  const set = [config?.ipStrategy !== undefined, !!config?.requestHeaderName, !!config?.requestHost].filter(Boolean).length;
  if (set > 1) throw new Error('sourceCriterion: ipStrategy, requestHeaderName and requestHost are mutually exclusive');
  if (config?.requestHeaderName) {
    const name = config.requestHeaderName.toLowerCase();
    return (req) => requestHeader(req, name) ?? '';
  }
  if (config?.requestHost || (set === 0 && fallback === 'host')) return (req) => req.host;
  return requestIpStrategy(config?.ipStrategy);
}
