/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt), versions 1 and 2, through `proxy-protocol-js`: `proxyHeader`
 * builds the header a TCP service sends its server first (Traefik's loadBalancer `proxyProtocol`), `readProxyHeader`
 * takes one off an accepted connection from a trusted peer (entry point `proxyProtocol.trustedIPs`, Traefik's
 * buildProxyProtocolListener: a peer outside the list has its header-less connection served as is).
 */
import { isIPv4, isIPv6, type Socket } from 'node:net';
import {
  Command, INETProtocol, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, Peer, ProxyProtocolIdentifier, ProxyProtocolVersion,
  TransportProtocol, V1ProxyProtocol, V2ProxyProtocol,
} from 'proxy-protocol-js';
import { unmapIpv4 } from '../../lib/ip/address.ts';

export interface Endpoints {
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
}

function ipv6Words(address: string): number[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

/** The header for a connection from `source` to `destination`; both of one family, else v1's UNKNOWN / v2's LOCAL. */
export function proxyHeader(version: 1 | 2, endpoints: Endpoints): Buffer {
  const src = unmapIpv4(endpoints.sourceAddress);
  const dst = unmapIpv4(endpoints.destinationAddress);
  const v4 = isIPv4(src) && isIPv4(dst);
  const v6 = !v4 && isIPv6(src) && isIPv6(dst);
  if (version === 1) {
    if (!v4 && !v6) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    const text = new V1ProxyProtocol(v4 ? INETProtocol.TCP4 : INETProtocol.TCP6, new Peer(src, endpoints.sourcePort), new Peer(dst, endpoints.destinationPort)).build();
    return Buffer.from(text, 'latin1');
  }
  const address = v4
    ? new IPv4ProxyAddress(IPv4Address.createFrom(src.split('.').map(Number)), endpoints.sourcePort, IPv4Address.createFrom(dst.split('.').map(Number)), endpoints.destinationPort)
    : v6
      ? new IPv6ProxyAddress(IPv6Address.createFrom(ipv6Words(src)), endpoints.sourcePort, IPv6Address.createFrom(ipv6Words(dst)), endpoints.destinationPort)
      : undefined;
  if (address === undefined) {
    const unspecified = new IPv4ProxyAddress(IPv4Address.createWithEmptyAddress(), 0, IPv4Address.createWithEmptyAddress(), 0);
    return Buffer.from(new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, unspecified).build());
  }
  return Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, address).build());
}

/** v2 signature, and the longest a v1 line may be (107 bytes) or a v2 header we accept (TLVs included). */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const MAX_HEADER = 16 + 4096;

export interface ProxyHeader {
  /** The client as the header says; undefined for v1 UNKNOWN / v2 LOCAL (the connection's own peer stands). */
  readonly source?: { address: string; port: number };
}

type Parsed = { done: false } | { done: true; length: number; header: ProxyHeader } | { done: true; error: string };

/** Parses a header at the start of `data` (whole or the start of one). */
export function parseProxyHeader(data: Buffer): Parsed {
  if (data.length >= 1 && data[0] === 0x0d) {
    const n = Math.min(data.length, V2_SIGNATURE.length);
    if (data.compare(V2_SIGNATURE, 0, n, 0, n) !== 0) return { done: true, error: 'not a PROXY protocol header' };
    if (data.length < 16) return { done: false };
    const length = 16 + data.readUInt16BE(14);
    if (length > MAX_HEADER) return { done: true, error: 'PROXY protocol v2 header too long' };
    if (data.length < length) return { done: false };
    try {
      const parsed = V2ProxyProtocol.parse(new Uint8Array(data.subarray(0, length)));
      const a = parsed.proxyAddress;
      if (parsed.command === Command.LOCAL) return { done: true, length, header: {} };
      if (a instanceof IPv4ProxyAddress) return { done: true, length, header: { source: { address: a.sourceAddress.address.join('.'), port: a.sourcePort } } };
      if (a instanceof IPv6ProxyAddress) {
        const words = a.sourceAddress.address;
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2) groups.push(((words[i]! << 8) | words[i + 1]!).toString(16));
        return { done: true, length, header: { source: { address: groups.join(':'), port: a.sourcePort } } };
      }
      return { done: true, length, header: {} };
    } catch (err) {
      return { done: true, error: `bad PROXY protocol v2 header: ${(err as Error).message}` };
    }
  }
  const prefix = 'PROXY ';
  const n = Math.min(data.length, prefix.length);
  if (data.toString('latin1', 0, n) !== prefix.slice(0, n)) return { done: true, error: 'not a PROXY protocol header' };
  const end = data.indexOf('\r\n', 0, 'latin1');
  if (end === -1) return data.length > 107 ? { done: true, error: 'PROXY protocol v1 line too long' } : { done: false };
  const line = data.toString('latin1', 0, end + 2);
  if (line.startsWith('PROXY UNKNOWN')) return { done: true, length: end + 2, header: {} };
  if (ProxyProtocolIdentifier.identify(line) !== ProxyProtocolVersion.V1) return { done: true, error: 'bad PROXY protocol v1 line' };
  try {
    const parsed = V1ProxyProtocol.parse(line);
    return { done: true, length: end + 2, header: { source: { address: parsed.source.ipAddress, port: parsed.source.port } } };
  } catch (err) {
    return { done: true, error: `bad PROXY protocol v1 line: ${(err as Error).message}` };
  }
}

/**
 * Reads a PROXY header from the start of `socket` and puts whatever followed it back; the socket is then paused.
 * Rejects on a connection that does not start with a header (a trusted peer must send one), closes, or is silent.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const done = (err: Error | undefined, header?: ProxyHeader, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (err !== undefined) return reject(err);
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      resolve(header!);
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const parsed = parseProxyHeader(buffered);
      if (!parsed.done) return;
      if ('error' in parsed) done(new Error(parsed.error));
      else done(undefined, parsed.header, buffered.subarray(parsed.length));
    };
    const onClose = () => done(new Error('connection closed before the PROXY protocol header'));
    const timer = setTimeout(() => done(new Error('PROXY protocol header timed out')), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}
