/**
 * IP lists as Traefik takes them (`forwardedHeaders.trustedIPs`, `ipAllowList.sourceRange`): single addresses or
 * CIDR ranges, IPv4 and IPv6, matched with node's BlockList. IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`, what a
 * dual-stack socket reports) match their IPv4 entries.
 */
import { BlockList, isIP } from 'node:net';

export interface IpMatcher {
  contains(address: string): boolean;
}

export function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function createIpMatcher(entries: readonly string[]): IpMatcher {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    const slash = entry.indexOf('/');
    const addr = slash === -1 ? entry : entry.slice(0, slash);
    const family = isIP(addr);
    if (family === 0) throw new Error(`invalid IP or CIDR "${raw}"`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash === -1) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(entry.slice(slash + 1)), type);
  }
  const empty = entries.length === 0;
  return {
    contains(address: string): boolean {
      if (empty) return false;
      const ip = normalizeIp(address);
      const family = isIP(ip);
      if (family === 0) return false;
      return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
