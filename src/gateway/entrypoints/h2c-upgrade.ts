/**
 * h2c by HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2) on plain entry points, as Traefik allows through x/net's
 * h2c.NewHandler (its server_entrypoint_tcp.go; h2c.go h2cUpgrade answers 101 and serves the upgraded request as
 * stream 1). node:http2 cannot adopt an HTTP/1.1 request as stream 1, so after the 101 the client's bytes reach the
 * HTTP/2 server through a shim that inserts, right after the client's connection preface and first SETTINGS frame,
 * one HEADERS frame carrying the original request on stream 1 (END_STREAM: only requests without a body are
 * upgraded). To the HTTP/2 server that is an ordinary client stream 1; to the client, whose stream 1 is already
 * half-closed, the answer arrives on stream 1 as RFC 7540 says. Requests with a body, or too large a head, are not
 * upgraded (a server may ignore Upgrade) and are served over HTTP/1.1 as before.
 */
import { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { H2_PREFACE } from './client-hello.ts';

/** Headers that never go into an HTTP/2 header block (RFC 9113 §8.2.2) or only served the upgrade itself. */
const DROPPED = new Set(['connection', 'upgrade', 'http2-settings', 'host', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te']);
/** The client's SETTINGS_MAX_FRAME_SIZE is not known before its SETTINGS frame; the protocol's minimum is safe. */
const MAX_FRAME = 16_384;
const FRAME_SETTINGS = 0x4;

function hasToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of String(value).split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** x/net's isH2CUpgrade: `Upgrade: h2c` and `Connection` naming HTTP2-Settings; ours adds "no request body". */
export function isH2cUpgrade(raw: IncomingMessage): boolean {
  const h = raw.headers;
  if (!hasToken(h.upgrade, 'h2c') || !hasToken(h.connection, 'http2-settings') || h['http2-settings'] === undefined) return false;
  if (h['transfer-encoding'] !== undefined) return false;
  return h['content-length'] === undefined || h['content-length'] === '0';
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, first: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}

/** Every field as "literal without indexing, new name", no Huffman: nothing to share with the server's decoder state. */
function hpackLiteral(name: string, value: string, out: number[]): void {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  out.push(0x00);
  hpackInt(n.length, 7, 0, out);
  for (const b of n) out.push(b);
  hpackInt(v.length, 7, 0, out);
  for (const b of v) out.push(b);
}

/** The HEADERS frame (stream 1, END_STREAM | END_HEADERS) replaying `raw`, or undefined when it would not fit one frame. */
export function replayFrame(raw: IncomingMessage): Buffer | undefined {
  const block: number[] = [];
  hpackLiteral(':method', raw.method ?? 'GET', block);
  hpackLiteral(':scheme', 'http', block);
  hpackLiteral(':path', raw.url ?? '/', block);
  hpackLiteral(':authority', raw.headers.host ?? '', block);
  const lines = raw.rawHeaders;
  for (let i = 0; i < lines.length; i += 2) {
    const name = lines[i]!.toLowerCase();
    if (!DROPPED.has(name)) hpackLiteral(name, lines[i + 1]!, block);
  }
  if (block.length > MAX_FRAME) return undefined;
  const frame = Buffer.alloc(9 + block.length);
  frame.writeUIntBE(block.length, 0, 3);
  frame[3] = 0x1; // HEADERS
  frame[4] = 0x1 | 0x4; // END_STREAM | END_HEADERS
  frame.writeUInt32BE(1, 5);
  Buffer.from(block).copy(frame, 9);
  return frame;
}

/**
 * The client socket as the HTTP/2 server sees it after the 101: reads pass through once the injected frame has
 * gone in after the preface and the first SETTINGS frame; a client that does not open with them is cut off.
 */
export class UpgradedH2cSocket extends Duplex {
  private readonly socket: Duplex;
  private pending: Buffer | undefined;
  private readonly inject: Buffer;

  constructor(socket: Duplex, head: Buffer, inject: Buffer) {
    super();
    this.socket = socket;
    this.inject = inject;
    this.pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    if (head.length > 0) queueMicrotask(() => this.onData(head));
  }

  private onData(chunk: Buffer): void {
    if (this.pending === undefined) {
      if (!this.push(chunk)) this.socket.pause();
      return;
    }
    const data = Buffer.concat([this.pending, chunk]);
    const n = Math.min(data.length, H2_PREFACE.length);
    if (!data.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
      this.socket.destroy();
      return;
    }
    if (data.length < H2_PREFACE.length + 9) {
      this.pending = data;
      return;
    }
    const length = data.readUIntBE(H2_PREFACE.length, 3);
    if (data[H2_PREFACE.length + 3] !== FRAME_SETTINGS) {
      this.socket.destroy();
      return;
    }
    const settingsEnd = H2_PREFACE.length + 9 + length;
    if (data.length < settingsEnd) {
      this.pending = data;
      return;
    }
    this.pending = undefined;
    const ok = this.push(Buffer.concat([data.subarray(0, settingsEnd), this.inject, data.subarray(settingsEnd)]));
    if (!ok) this.socket.pause();
  }

  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }
  override _final(callback: (err?: Error | null) => void): void {
    this.socket.end();
    callback();
  }
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }
}

/** Answers 101 and returns the stream to hand to the HTTP/2 server, or undefined when the request is not upgraded. */
export function upgradeToH2c(raw: IncomingMessage, socket: Duplex, head: Buffer): Duplex | undefined {
  const inject = replayFrame(raw);
  if (inject === undefined) return undefined;
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
  return new UpgradedH2cSocket(socket, head, inject);
}
