/**
 * IP addresses and networks with Go's semantics (net/netip, which Traefik's pkg/ip uses):
 *  - IPv4 is strict dotted decimal (no leading zeros, as Go ≥ 1.17); IPv6 is RFC 4291 text;
 *  - an IPv6 zone (`fe80::1%eth0`, what node reports for link-local peers) is accepted and ignored when matching,
 *    as Traefik's checker compares `addr.WithZone("")`; a network may not carry one (netip.ParsePrefix);
 *  - an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket reports) is the IPv4 address
 *    (`addr.Unmap()`), and a network written with a mapped address (`::ffff:10.0.0.0/104`) is the IPv4 network;
 *  - an IPv4 network only contains IPv4 addresses and an IPv6 network only IPv6 ones.
 * Addresses are held as four 32-bit words (IPv4 in the last word) so matching allocates nothing.
 */

export interface IpAddress {
  readonly v4: boolean;
  /** Four big-endian 32-bit words; for IPv4 only words[3] is used. */
  readonly words: readonly [number, number, number, number];
}

export interface IpNetwork {
  readonly v4: boolean;
  readonly words: readonly [number, number, number, number];
  readonly bits: number;
}

function parseIPv4Words(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v >>> 0;
}

function parseIPv6Words(s: string): [number, number, number, number] | undefined {
  if (s.length === 0 || s.includes('%')) return undefined;
  let head = s;
  let tailV4: number | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) >= 0) {
    tailV4 = parseIPv4Words(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = s.slice(0, lastColon + 1);
    // `::1.2.3.4` keeps its `::`; `1::2:1.2.3.4` drops the trailing ':' that separated the IPv4 part.
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsNeeded = tailV4 === undefined ? 8 : 6;
  const dbl = head.indexOf('::');
  if (dbl >= 0 && head.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (left === undefined || right === undefined) return undefined;
    const missing = groupsNeeded - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (all === undefined || all.length !== groupsNeeded) return undefined;
    groups = all;
  }
  if (tailV4 !== undefined) groups.push(tailV4 >>> 16, tailV4 & 0xffff);
  const w = (i: number) => ((groups[i * 2]! << 16) | groups[i * 2 + 1]!) >>> 0;
  return [w(0), w(1), w(2), w(3)];
}

/** Parses an IP the way Go's netip.ParseAddr does, zone dropped; IPv4-mapped IPv6 addresses come back as IPv4. */
export function parseIp(s: string): IpAddress | undefined {
  if (s.includes(':')) {
    const zone = s.indexOf('%');
    if (zone === 0 || zone === s.length - 1) return undefined;
    const w = parseIPv6Words(zone === -1 ? s : s.slice(0, zone));
    if (w === undefined) return undefined;
    if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return { v4: true, words: [0, 0, 0, w[3]] };
    return { v4: false, words: w };
  }
  const v4 = parseIPv4Words(s);
  return v4 === undefined ? undefined : { v4: true, words: [0, 0, 0, v4] };
}

/** Parses `addr/bits` the way Go's net.ParseCIDR does (no zone). */
export function parseCidr(s: string): IpNetwork | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const bitsText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText) || (bitsText.length > 1 && bitsText[0] === '0')) return undefined;
  const bits = Number(bitsText);
  if (!addr.includes(':')) {
    const v4 = parseIPv4Words(addr);
    if (v4 === undefined || bits > 32) return undefined;
    return { v4: true, words: [0, 0, 0, v4], bits };
  }
  const w = parseIPv6Words(addr);
  if (w === undefined || bits > 128) return undefined;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) {
    // Go reduces a network written with a mapped address to its IPv4 form (mask's last four bytes).
    return { v4: true, words: [0, 0, 0, w[3]], bits: Math.max(0, bits - 96) };
  }
  return { v4: false, words: w, bits };
}

function maskWord(bitsInWord: number): number {
  if (bitsInWord <= 0) return 0;
  if (bitsInWord >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bitsInWord)) >>> 0;
}

export function networkContains(net: IpNetwork, ip: IpAddress): boolean {
  if (net.v4 !== ip.v4) return false;
  if (net.v4) {
    const m = maskWord(net.bits);
    return ((net.words[3] & m) >>> 0) === ((ip.words[3] & m) >>> 0);
  }
  for (let i = 0; i < 4; i++) {
    const m = maskWord(net.bits - i * 32);
    if (((net.words[i]! & m) >>> 0) !== ((ip.words[i]! & m) >>> 0)) return false;
  }
  return true;
}

export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  return a.v4 === b.v4 && a.words[0] === b.words[0] && a.words[1] === b.words[1] && a.words[2] === b.words[2] && a.words[3] === b.words[3];
}

/** The address in Go's text form: dotted IPv4, or RFC 5952 IPv6 (lower case, the longest zero run as `::`). */
export function formatIp(ip: IpAddress): string {
  const w = ip.words;
  if (ip.v4) return `${w[3] >>> 24}.${(w[3] >>> 16) & 255}.${(w[3] >>> 8) & 255}.${w[3] & 255}`;
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) groups.push(w[i]! >>> 16, w[i]! & 0xffff);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** The first address of `ip`'s network of `bits` bits (Go's `addr.Prefix(bits).Addr()`). */
export function maskIp(ip: IpAddress, bits: number): IpAddress {
  if (ip.v4) return { v4: true, words: [0, 0, 0, (ip.words[3] & maskWord(bits)) >>> 0] };
  const w = ip.words;
  return {
    v4: false,
    words: [(w[0] & maskWord(bits)) >>> 0, (w[1] & maskWord(bits - 32)) >>> 0, (w[2] & maskWord(bits - 64)) >>> 0, (w[3] & maskWord(bits - 96)) >>> 0],
  };
}

/** A dual-stack socket's `::ffff:1.2.3.4` as the IPv4 address it is; anything else unchanged (no parsing). */
export function unmapIpv4(address: string): string {
  return address.length > 7 && address.charCodeAt(0) === 58 /* : */ && address.includes('.') && address.toLowerCase().startsWith('::ffff:')
    ? address.slice(7)
    : address;
}
