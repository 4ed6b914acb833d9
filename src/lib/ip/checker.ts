/**
 * A set of addresses and networks (Traefik's pkg/ip Checker: `trustedIPs`, `sourceRange`, `excludedIPs`, and the
 * mesh's intention sources). Entries are single addresses or CIDR networks; lookups parse the address once and
 * compare words, so a check allocates only the parsed address.
 */
import { Errors, type MeshgateError } from '../errors.ts';
import { ipEquals, networkContains, parseCidr, parseIp, type IpAddress, type IpNetwork } from './address.ts';

/** Strips a port the way Go's net.SplitHostPort does (`1.2.3.4:80`, `[::1]:80`); anything else is returned as is. */
export function hostOfAddress(address: string): string {
  if (address.charCodeAt(0) === 91 /* [ */) {
    const close = address.indexOf(']');
    if (close !== -1 && address.charCodeAt(close + 1) === 58 /* : */) return address.slice(1, close);
    return address;
  }
  const colon = address.indexOf(':');
  if (colon !== -1 && address.indexOf(':', colon + 1) === -1) return address.slice(0, colon);
  return address;
}

export class IpSet {
  private readonly addresses: IpAddress[] = [];
  private readonly networks: IpNetwork[] = [];
  readonly size: number;

  /**
   * `field` names the configuration key in errors (Traefik's wording: `parsing CIDR trusted IPs <entry>`).
   * Throws MG_INVALID_CONFIG for an entry that is neither an address nor a network.
   */
  constructor(entries: readonly string[], field = 'trustedIPs') {
    for (const raw of entries) {
      const entry = raw.trim();
      if (entry.includes('/')) {
        const network = parseCidr(entry);
        if (network === undefined) throw invalid(field, raw);
        this.networks.push(network);
      } else {
        const address = parseIp(entry);
        if (address === undefined) throw invalid(field, raw);
        this.addresses.push(address);
      }
    }
    this.size = entries.length;
  }

  /** False for anything that is not an address (Traefik's Contains returns an error; no caller trusts it). */
  contains(address: string): boolean {
    if (this.size === 0) return false;
    const ip = parseIp(address);
    return ip !== undefined && this.containsAddress(ip);
  }

  containsAddress(ip: IpAddress): boolean {
    for (const a of this.addresses) if (ipEquals(a, ip)) return true;
    for (const n of this.networks) if (networkContains(n, ip)) return true;
    return false;
  }
}

function invalid(field: string, entry: string): MeshgateError {
  return Errors.invalidConfig(`${field}: parsing CIDR trusted IPs ${JSON.stringify(entry)}: not an IP address or CIDR network`);
}

/** Traefik's ip.Checker: an IpSet that may not be empty, with IsAuthorized for an address that may carry a port. */
export class Checker extends IpSet {
  constructor(entries: readonly string[], field = 'trustedIPs') {
    if (entries.length === 0) throw Errors.invalidConfig(`${field}: no trusted IPs provided`);
    super(entries, field);
  }

  /** Traefik's IsAuthorized: the host part of `address` (port stripped) is in the set. */
  isAuthorized(address: string): boolean {
    return this.contains(hostOfAddress(address));
  }
}
