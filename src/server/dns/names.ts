/**
 * Query names under the Consul domain, parsed into what to look up, as Consul's DNS server dispatches them
 * (agent/dns.go `dispatch`): case-insensitively, reading the labels from the right until the first kind label
 * (`service`, `connect`, `virtual`, `ingress`, `node`, `query`, `addr`); what follows it is the locality (a
 * datacenter, `<dc>` or `<dc>.dc`), what precedes it the name. An SRV question may leave out `service`: its first
 * `_`-label from the right stands for it (`_web._tcp.consul`).
 */

export type Lookup =
  | { kind: 'apex' }
  | { kind: 'service'; service: string; tag?: string; datacenter?: string }
  /** `<service>.connect`: the instances that accept Connect traffic for it (its proxies, its native instances). */
  | { kind: 'connect'; service: string; datacenter?: string }
  /** `<service>.virtual`: the service's virtual IP, an A record when it has one. */
  | { kind: 'virtual'; service: string }
  | { kind: 'node'; node: string; datacenter?: string }
  | { kind: 'addr'; address: string; datacenter?: string }
  /** `<query>.query[.<dc>]`: a prepared query by name or ID; the name may contain dots (Consul joins the labels). */
  | { kind: 'query'; query: string; datacenter?: string }
  /** Under the domain, but no form Consul knows (or one Meshgate has nothing for, `ingress`): NXDOMAIN. */
  | { kind: 'unknown' };

const KINDS = new Set(['service', 'connect', 'virtual', 'ingress', 'node', 'query', 'addr']);

/** The domain in Consul's canonical form: lower case, one trailing dot (`consul.`). */
export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase().replace(/\.+$/, '').replace(/^\.+/, '');
  return `${d}.`;
}

/**
 * `undefined` when `qname` is outside `domain` (the caller REFUSES: no recursors). `domain` is normalized
 * (`consul.`); `qname` comes from the wire without its trailing dot; `qtype` decides whether `service` may be left out.
 */
export function parseName(qname: string, domain: string, qtype?: string): Lookup | undefined {
  const name = `${qname.toLowerCase().replace(/\.+$/, '')}.`;
  if (name === domain) return { kind: 'apex' };
  if (!name.endsWith(`.${domain}`)) return undefined;
  const labels = name.slice(0, -(domain.length + 1)).split('.');
  if (labels.some((l) => l === '')) return { kind: 'unknown' };

  let kind: string | undefined;
  let parts: string[] = [];
  let suffixes: string[] = [];
  for (let i = labels.length - 1; i >= 0; i--) {
    if (KINDS.has(labels[i]!)) {
      kind = labels[i];
      parts = labels.slice(0, i);
      suffixes = labels.slice(i + 1);
      break;
    }
    if (qtype === 'SRV' && labels[i]!.startsWith('_')) {
      kind = 'service';
      parts = labels.slice(0, i + 1);
      suffixes = labels.slice(i + 1);
      break;
    }
  }
  const locality = localityOf(suffixes);
  if (kind === undefined || parts.length === 0 || locality === undefined) return { kind: 'unknown' };
  const dc = locality.datacenter !== undefined ? { datacenter: locality.datacenter } : {};
  const last = parts[parts.length - 1]!;

  switch (kind) {
    case 'service': {
      if (parts.length === 2 && parts[0]!.startsWith('_') && parts[1]!.startsWith('_')) {
        // RFC 2782: _<service>._<protocol>; Consul reads the protocol as a tag, except `tcp`, which filters nothing.
        const tag = parts[1]!.slice(1);
        return { kind: 'service', service: parts[0]!.slice(1), ...(tag !== 'tcp' ? { tag } : {}), ...dc };
      }
      // Consul 0.3's form: every label before the service is the tag, dots included.
      const tag = parts.length >= 2 ? parts.slice(0, -1).join('.') : undefined;
      return { kind: 'service', service: last, ...(tag !== undefined ? { tag } : {}), ...dc };
    }
    case 'connect':
      return { kind: 'connect', service: last, ...dc };
    case 'virtual':
      // Virtual IPs are per datacenter: Consul ignores the locality for them.
      return { kind: 'virtual', service: last };
    case 'node':
      // Node names may contain dots: Consul joins the labels.
      return { kind: 'node', node: parts.join('.'), ...dc };
    case 'query': {
      const rfc2782 = parts.length >= 2 && parts[0]!.startsWith('_') && last.startsWith('_');
      return { kind: 'query', query: rfc2782 ? parts.slice(0, -1).join('.').slice(1) : parts.join('.'), ...dc };
    }
    case 'addr': {
      const address = parts.length === 1 ? hexToAddress(parts[0]!) : undefined;
      return address ? { kind: 'addr', address, ...dc } : { kind: 'unknown' };
    }
    default:
      // `ingress`: ingress gateways are not served; Consul answers a name without instances NXDOMAIN.
      return { kind: 'unknown' };
  }
}

/** The labels after the kind: none, a datacenter, or `<dc>.dc`; anything else (peers, partitions) is not served. */
function localityOf(suffixes: string[]): { datacenter?: string } | undefined {
  if (suffixes.length === 0) return {};
  if (suffixes.length === 1) return { datacenter: suffixes[0]! };
  if (suffixes.length === 2 && suffixes[1] === 'dc') return { datacenter: suffixes[0]! };
  return undefined;
}

/** Consul's `.addr.` label: 8 hex digits for an IPv4 address, 32 for IPv6. */
export function addressToHex(address: string): string | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    return address.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
  }
  if (address.includes(':')) return expandIPv6(address)?.join('');
  return undefined;
}

function hexToAddress(hex: string): string | undefined {
  if (/^[0-9a-f]{8}$/.test(hex)) return [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
  if (/^[0-9a-f]{32}$/.test(hex)) return Array.from({ length: 8 }, (_, i) => hex.slice(i * 4, i * 4 + 4)).join(':');
  return undefined;
}

/** Eight 4-digit groups, or undefined for something that is not an IPv6 address. */
function expandIPv6(address: string): string[] | undefined {
  const halves = address.toLowerCase().split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return undefined;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.padStart(4, '0'));
}
