/**
 * Which address of a request is "the client" (Traefik's pkg/ip strategy.go, configured by a middleware's
 * `ipStrategy`): the TCP peer (RemoteAddr), the `depth`-th X-Forwarded-For entry from the right (Depth), or the
 * right-most entry not in `excludedIPs` (Pool). Depth wins over excludedIPs; `ipv6Subnet` reduces an IPv6 result of
 * the RemoteAddr and Depth strategies to its network's first address, so a client rotating through its /64 counts
 * as one. Kept free of any request type: callers pass the peer address and the X-Forwarded-For header.
 */
import { Errors } from '../errors.ts';
import { formatIp, maskIp, parseIp, unmapIpv4 } from './address.ts';
import { Checker, hostOfAddress } from './checker.ts';

export interface IpStrategyConfig {
  depth?: number;
  excludedIPs?: string[];
  ipv6Subnet?: number;
}

/** `(peer address, X-Forwarded-For header) → client IP` ('' when the strategy finds none, as Traefik). */
export type IpStrategy = (remoteAddress: string, forwardedFor: string | string[] | undefined) => string;

/** Go's `netip.ParseAddr(ip).Prefix(bits).Addr().String()` for IPv6; any other input is returned unchanged. */
export function ipv6SubnetOf(ip: string, bits: number): string {
  if (!ip.includes(':')) return ip;
  const parsed = parseIp(ip);
  if (parsed === undefined || parsed.v4) return ip;
  return formatIp(maskIp(parsed, bits));
}

function entries(forwardedFor: string | string[] | undefined): string[] {
  if (forwardedFor === undefined) return [''];
  return (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).split(',');
}

/** The peer address without a port, and without the `::ffff:` a dual-stack socket puts before an IPv4 peer. */
export function remoteIp(remoteAddress: string): string {
  return unmapIpv4(hostOfAddress(remoteAddress));
}

export function compileIpStrategy(config: IpStrategyConfig | undefined, field = 'ipStrategy'): IpStrategy {
  const subnet = config?.ipv6Subnet;
  if (subnet !== undefined && (!Number.isInteger(subnet) || subnet <= 0 || subnet > 128)) {
    throw Errors.invalidConfig(`${field}.ipv6Subnet: invalid IPv6 subnet ${subnet} value, should be greater to 0 and lower or equal to 128`);
  }
  const depth = config?.depth ?? 0;
  if (depth > 0) {
    return (_remote, forwardedFor) => {
      const list = entries(forwardedFor);
      if (list.length < depth) return '';
      const ip = list[list.length - depth]!.trim();
      return subnet === undefined ? ip : ipv6SubnetOf(ip, subnet);
    };
  }
  const excluded = config?.excludedIPs ?? [];
  if (excluded.length > 0) {
    const checker = new Checker(excluded, `${field}.excludedIPs`);
    return (_remote, forwardedFor) => {
      const list = entries(forwardedFor);
      for (let i = list.length - 1; i >= 0; i--) {
        const ip = list[i]!.trim();
        if (ip !== '' && !checker.contains(ip)) return ip;
      }
      return '';
    };
  }
  if (subnet !== undefined) return (remote) => ipv6SubnetOf(remoteIp(remote), subnet);
  return remoteIp;
}
