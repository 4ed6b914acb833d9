/**
 * The DNS listeners: UDP and TCP on one address and port (Consul's `ports.dns`, 8600), answering from the state
 * store. The wire format is `dns-packet`'s; what is ours is Consul's answer shape: authoritative, no recursion
 * (REFUSED outside the domain), NXDOMAIN or an empty answer with the domain's SOA in the authority section, and
 * UDP answers cut to 512 bytes (or the client's EDNS0 size) with TC set so the client asks again over TCP.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server as TcpServer, type Socket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type SoaAnswer } from 'dns-packet';
import { defineError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { StoreReader } from '../store/types.ts';
import { normalizeDomain, parseName } from './names.ts';
import { resolve, type ResolveContext, type Resolution } from './resolve.ts';
import type { Authorizer } from '../acl/authorizer.ts';

export const DnsErrors = {
  listen: defineError('MG_DNS_LISTEN', 500, (addr: string, reason: string) => `dns: cannot listen on ${addr}: ${reason}`),
} as const;

export interface DnsOptions {
  readonly store: StoreReader;
  readonly host: string;
  /** 0 picks a free port (the same for UDP and TCP). */
  readonly port: number;
  readonly domain: string;
  readonly datacenter: string;
  readonly logger: Logger;
  /** Answer TTL in seconds; Consul's default is 0. */
  readonly ttl?: number;
  /** The DNS token's permissions (resolved per query, so a deleted or changed token counts at once); absent = ACLs off. */
  readonly authorizer?: () => Authorizer;
}

export interface RunningDns {
  readonly port: number;
  close(): Promise<void>;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODE;
/** RFC 1035's UDP limit when the client advertises no EDNS0 size. */
const MIN_UDP_SIZE = 512;
const TCP_IDLE_MS = 30_000;
const TCP_MAX_MESSAGE = 65_535;

export async function startDns(options: DnsOptions): Promise<RunningDns> {
  const log = options.logger;
  const ctx: ResolveContext = {
    store: options.store,
    domain: normalizeDomain(options.domain),
    datacenter: options.datacenter,
    ttl: options.ttl ?? 0,
    ...(options.authorizer ? { authorizer: options.authorizer } : {}),
  };
  const udp = createSocket({ type: isIPv6(options.host) ? 'udp6' : 'udp4' });
  await listenUdp(udp, options.host, options.port);
  const port = udp.address().port;
  udp.on('message', (msg, rinfo) => answerUdp(ctx, log, udp, msg, rinfo));
  udp.on('error', (err) => log.error({ err }, 'dns: udp socket error'));

  const sockets = new Set<Socket>();
  const tcp = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveTcp(ctx, log, socket);
  });
  try {
    await listenTcp(tcp, options.host, port);
  } catch (err) {
    udp.close();
    throw err;
  }
  log.info({ addr: `${options.host}:${port}`, domain: ctx.domain }, 'dns listening (udp, tcp)');

  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
}

function listenUdp(udp: UdpSocket, host: string, port: number): Promise<void> {
  return new Promise((resolveListen, reject) => {
    udp.once('error', (err) => reject(DnsErrors.listen(`udp ${host}:${port}`, err.message)));
    udp.bind(port, host, () => resolveListen());
  });
}

function listenTcp(tcp: TcpServer, host: string, port: number): Promise<void> {
  return new Promise((resolveListen, reject) => {
    tcp.once('error', (err) => reject(DnsErrors.listen(`tcp ${host}:${port}`, err.message)));
    tcp.listen(port, host, () => resolveListen());
  });
}

function answerUdp(ctx: ResolveContext, log: Logger, udp: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
  const reply = respond(ctx, log, msg, 'udp');
  if (reply) udp.send(reply, rinfo.port, rinfo.address, (err) => err && log.debug({ err, peer: rinfo.address }, 'dns: udp send failed'));
}

/** TCP: 2-byte length-prefixed messages (RFC 1035 4.2.2), several per connection, answered in order. */
function serveTcp(ctx: ResolveContext, log: Logger, socket: Socket): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on('error', (err) => log.debug({ err }, 'dns: tcp connection error'));
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const length = pending.readUInt16BE(0);
      if (pending.length < 2 + length) break;
      const msg = pending.subarray(2, 2 + length);
      pending = pending.subarray(2 + length);
      const reply = respond(ctx, log, msg, 'tcp');
      if (!reply) {
        socket.destroy();
        return;
      }
      const frame = Buffer.alloc(2 + reply.length);
      frame.writeUInt16BE(reply.length, 0);
      reply.copy(frame, 2);
      socket.write(frame);
    }
  });
}

/** The encoded reply to one message, or undefined to drop it (too short to carry an ID, or itself a response). */
export function respond(ctx: ResolveContext, log: Logger, msg: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
  if (msg.length < 12) return undefined;
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch (err) {
    log.debug({ err, transport }, 'dns: malformed query');
    return headerOnly(msg, 'FORMERR');
  }
  if (query.type === 'response') return undefined;
  const opcode = (msg.readUInt16BE(2) >> 11) & 0xf;
  if (opcode !== 0) return headerOnly(msg, 'NOTIMP');
  const questions = query.questions ?? [];
  if (questions.length !== 1) return headerOnly(msg, 'FORMERR');
  const question = questions[0]!;
  const qtype: string = question.type;
  const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
  const clientSize = opt && 'udpPayloadSize' in opt ? Number(opt.udpPayloadSize) : 0;

  let rcode: Rcode = 'NOERROR';
  let answers: Answer[] = [];
  let additionals: Answer[] = [];
  let authorities: Answer[] = [];
  const lookup = question.class === 'IN' || question.class === 'ANY' ? parseName(question.name, ctx.domain, question.type) : undefined;
  if (!lookup) {
    rcode = 'REFUSED';
  } else {
    let result: Resolution;
    try {
      result = resolve(ctx, question.name, qtype, lookup);
    } catch (err) {
      log.error({ err, name: question.name, type: qtype }, 'dns: lookup failed');
      return headerOnly(msg, 'SERVFAIL');
    }
    if (result.rcode === 'NXDOMAIN') {
      rcode = 'NXDOMAIN';
      authorities = [soa(ctx)];
    } else {
      answers = result.answers;
      additionals = result.additionals;
      if (lookup.kind === 'apex' && (qtype === 'SOA' || qtype === 'ANY')) answers = [soa(ctx)];
      if (answers.length === 0) authorities = [soa(ctx)];
    }
  }

  const packet: Packet = {
    type: 'response',
    id: query.id ?? 0,
    flags: (rcode === 'REFUSED' ? 0 : dnsPacket.AUTHORITATIVE_ANSWER) | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | RCODE[rcode],
    questions: [question],
    answers,
    authorities,
    additionals: opt ? [...additionals, ednsReply(clientSize)] : additionals,
  };
  const limit = transport === 'udp' ? Math.max(MIN_UDP_SIZE, clientSize) : TCP_MAX_MESSAGE;
  return fit(packet, limit);
}

/**
 * Encodes `packet` within `limit` bytes: when it is larger, keeps the most answers that fit (with the additional
 * records that still belong to them) and sets TC, as Consul's trimUDPResponse does.
 */
function fit(packet: Packet, limit: number): Buffer {
  const full = dnsPacket.encode(packet);
  if (full.length <= limit) return full;
  const answers = packet.answers ?? [];
  const trimmed = (n: number): Packet => {
    const kept = answers.slice(0, n);
    const targets = new Set(kept.flatMap((a) => (a.type === 'SRV' ? [a.data.target.toLowerCase()] : [])));
    return {
      ...packet,
      flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
      answers: kept,
      additionals: (packet.additionals ?? []).filter((a) => a.type === 'OPT' || targets.has(a.name.toLowerCase())),
    };
  };
  let lo = 0;
  let hi = answers.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (dnsPacket.encodingLength(trimmed(mid)) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return dnsPacket.encode(trimmed(lo));
}

/** The OPT record of a reply to an EDNS0 query: the size we accept, no options. */
function ednsReply(clientSize: number): Answer {
  return { type: 'OPT', name: '.', udpPayloadSize: Math.max(MIN_UDP_SIZE, clientSize), extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}

/** A reply carrying only the query's header and `rcode`, for messages that cannot be answered properly. */
function headerOnly(msg: Buffer, rcode: Rcode): Buffer {
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 2);
  const rd = msg.readUInt16BE(2) & 0x0100;
  const opcode = msg.readUInt16BE(2) & 0x7800;
  out.writeUInt16BE(0x8000 | opcode | rd | RCODE[rcode], 2);
  return out;
}

/** Consul's SOA for its domain: ns.<domain>, hostmaster.<domain>, serial = now, refresh 3600, retry 600, expire 86400, minimum = ttl. */
function soa(ctx: ResolveContext): SoaAnswer {
  const domain = ctx.domain.replace(/\.$/, '');
  return {
    type: 'SOA',
    name: domain,
    class: 'IN',
    ttl: ctx.ttl,
    data: {
      mname: `ns.${domain}`,
      rname: `hostmaster.${domain}`,
      serial: Math.floor(Date.now() / 1000),
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: ctx.ttl,
    },
  };
}
