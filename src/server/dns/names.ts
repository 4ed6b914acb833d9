/**
 * Query names under the Consul domain, parsed into what to look up. Consul matches names case-insensitively and
 * reads them from the right: the domain, an optional datacenter, then the kind (`service`, `node`, `addr`).
 */

export type Lookup =
  | { kind: 'apex' }
  | { kind: 'service'; service: string; tag?: string; datacenter?: string }
  | { kind: 'node'; node: string; datacenter?: string }
  | { kind: 'addr'; address: string; datacenter?: string }
  /** `<query>.query[.<dc>]`: a prepared query by name or ID; the name may contain dots (Consul joins the labels). */
  | { kind: 'query'; query: string; datacenter?: string }
  /** Under the domain, but no form Consul knows: NXDOMAIN. */
  | { kind: 'unknown' };

const KINDS = new Set(['service', 'node', 'addr', 'query']);

/** The domain in Consul's canonical form: lower case, one trailing dot (`consul.`). */
export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase().replace(/\.+$/, '').replace(/^\.+/, '');
  return `${d}.`;
}

/**
 * `undefined` when `qname` is outside `domain` (the caller REFUSES: no recursors). `domain` is normalized
 * (`consul.`); `qname` comes from the wire without its trailing dot.
 */
export function parseName(qname: string, domain: string): Lookup | undefined {
  const name = `${qname.toLowerCase().replace(/\.+$/, '')}.`;
  if (name === domain) return { kind: 'apex' };
  if (!name.endsWith(`.${domain}`)) return undefined;
  const labels = name.slice(0, -(domain.length + 1)).split('.');
  if (labels.some((l) => l === '')) return { kind: 'unknown' };

  let datacenter: string | undefined;
  let kindAt = labels.length - 1;
  if (!KINDS.has(labels[kindAt]!) && labels.length >= 2 && KINDS.has(labels[kindAt - 1]!)) {
    datacenter = labels[kindAt];
    kindAt -= 1;
  }
  const kind = labels[kindAt]!;
  const before = labels.slice(0, kindAt);
  const dc = datacenter !== undefined ? { datacenter } : {};
  if (!KINDS.has(kind) || before.length === 0) return { kind: 'unknown' };

  if (kind === 'query') return { kind: 'query', query: before.join('.'), ...dc };
  if (kind === 'node') return before.length === 1 ? { kind: 'node', node: before[0]!, ...dc } : { kind: 'unknown' };
  if (kind === 'addr') {
    const address = before.length === 1 ? hexToAddress(before[0]!) : undefined;
    return address ? { kind: 'addr', address, ...dc } : { kind: 'unknown' };
  }
  if (before.length === 1) return { kind: 'service', service: before[0]!, ...dc };
  if (before.length !== 2) return { kind: 'unknown' };
  const [first, second] = before as [string, string];
  if (first.startsWith('_') && second.startsWith('_')) {
    // RFC 2782: _<service>._<protocol>; Consul reads the protocol as a tag, except `tcp`, which filters nothing.
    const tag = second.slice(1);
    return { kind: 'service', service: first.slice(1), ...(tag !== 'tcp' ? { tag } : {}), ...dc };
  }
  return { kind: 'service', service: second, tag: first, ...dc };
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
