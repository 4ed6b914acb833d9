/**
 * Reads the server name (SNI) from a connection's TLS ClientHello before any TLS state exists, as Traefik's TCP
 * router peeks it (pkg/server/router/tcp clientHelloInfo). The TLS option set — protocol versions, ciphers, client
 * certificate mode — has to be chosen before OpenSSL sees the hello: node's SNICallback runs after the version is
 * negotiated and the verify mode is fixed, so it can only swap certificates. The bytes read are put back on the
 * socket (`unshift`) for the TLS layer, which consumes a socket's buffered data when it wraps it.
 */
import type { Socket } from 'node:net';

/** Larger than any real ClientHello (post-quantum key shares included); more is refused. */
const MAX_HELLO_BYTES = 64 * 1024;

export interface ClientHello {
  /** False when the first bytes are not a TLS handshake record (plain HTTP on a port that serves both). */
  readonly tls: boolean;
  /** Lower-cased server name, or undefined when the client sent none (or the bytes are not a TLS ClientHello). */
  readonly servername: string | undefined;
  /** Plain bytes that open with HTTP/2's connection preface: h2c with prior knowledge (RFC 9113 §3.3). */
  readonly h2c?: boolean;
  /** The ALPN protocols the client offers (TCP routers' `ALPN` matcher), when it sent the extension. */
  readonly alpn?: readonly string[];
}

type Parsed = { done: false } | { done: true; tls: boolean; servername: string | undefined; h2c?: boolean; alpn?: string[] };

/** RFC 9113 §3.4: the client connection preface every HTTP/2 connection starts with. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** A plain connection: h2c when the preface is there; wait while what arrived is still a prefix of it. */
function parsePlain(data: Buffer): Parsed {
  const n = Math.min(data.length, H2_PREFACE.length);
  if (data.compare(H2_PREFACE, 0, n, 0, n) !== 0) return { done: true, tls: false, servername: undefined };
  if (n < H2_PREFACE.length) return { done: false };
  return { done: true, tls: false, servername: undefined, h2c: true };
}

/**
 * Parses what has arrived so far: TLS handshake records carrying one ClientHello message (RFC 8446 §4.1.2), which may
 * span records. Anything that is not a TLS handshake is reported done with no name; the TLS layer then refuses it.
 */
export function parseClientHello(data: Buffer): Parsed {
  const fragments: Buffer[] = [];
  let offset = 0;
  let message: Buffer | undefined;
  while (message === undefined) {
    if (offset === 0 && data.length > 0 && data[0] !== 0x16) return parsePlain(data);
    if (data.length < offset + 5) return { done: false };
    if (data[offset] !== 0x16) return { done: true, tls: offset > 0, servername: undefined };
    const length = data.readUInt16BE(offset + 3);
    if (data.length < offset + 5 + length) return { done: false };
    fragments.push(data.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
    const handshake = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
    if (handshake.length >= 4) {
      if (handshake[0] !== 0x01) return { done: true, tls: true, servername: undefined };
      const size = handshake.readUIntBE(1, 3);
      if (handshake.length >= 4 + size) message = handshake.subarray(4, 4 + size);
    }
  }
  const { servername, alpn } = extensionsOf(message);
  return alpn === undefined ? { done: true, tls: true, servername } : { done: true, tls: true, servername, alpn };
}

/** The server name (extension 0) and the ALPN list (extension 16, RFC 7301) of a ClientHello message. */
function extensionsOf(hello: Buffer): { servername: string | undefined; alpn: string[] | undefined } {
  let servername: string | undefined;
  let alpn: string[] | undefined;
  try {
    let p = 2 + 32; // legacy_version, random
    p += 1 + hello[p]!; // legacy_session_id
    p += 2 + hello.readUInt16BE(p); // cipher_suites
    p += 1 + hello[p]!; // legacy_compression_methods
    if (p + 2 > hello.length) return { servername: undefined, alpn: undefined };
    const end = Math.min(hello.length, p + 2 + hello.readUInt16BE(p));
    p += 2;
    while (p + 4 <= end) {
      const type = hello.readUInt16BE(p);
      const length = hello.readUInt16BE(p + 2);
      p += 4;
      if (type === 0) {
        // server_name_list: list length, then entries of (name_type, length, name); host_name is type 0.
        let q = p + 2;
        const listEnd = Math.min(p + length, p + 2 + hello.readUInt16BE(p));
        while (q + 3 <= listEnd) {
          const nameType = hello[q]!;
          const nameLength = hello.readUInt16BE(q + 1);
          if (nameType === 0) {
            servername = hello.toString('ascii', q + 3, q + 3 + nameLength).toLowerCase();
            break;
          }
          q += 3 + nameLength;
        }
      } else if (type === 16) {
        // protocol_name_list: list length, then (length byte, name) entries.
        alpn = [];
        let q = p + 2;
        const listEnd = Math.min(p + length, p + 2 + hello.readUInt16BE(p));
        while (q + 1 <= listEnd) {
          const n = hello[q]!;
          if (q + 1 + n > listEnd) break;
          alpn.push(hello.toString('latin1', q + 1, q + 1 + n));
          q += 1 + n;
        }
      }
      p += length;
    }
  } catch {
    // A truncated or malformed hello has no usable name; OpenSSL will reject it with a proper alert.
    return { servername: undefined, alpn: undefined };
  }
  return { servername, alpn };
}

/**
 * Waits for the ClientHello on `socket` (flowing until then), puts the bytes back and pauses the socket.
 * Rejects when the client sends more than a hello can be, closes, or stays silent past `timeoutMs`.
 */
export function readClientHello(socket: Socket, timeoutMs: number): Promise<ClientHello> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: Error | undefined, hello?: ClientHello) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      if (err) return reject(err);
      socket.pause();
      socket.unshift(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      resolve(hello!);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const parsed = parseClientHello(chunks.length === 1 ? chunk : Buffer.concat(chunks));
      if (parsed.done) {
        finish(undefined, parsed.h2c === true ? { tls: false, servername: undefined, h2c: true }
          : parsed.alpn !== undefined ? { tls: parsed.tls, servername: parsed.servername, alpn: parsed.alpn } : { tls: parsed.tls, servername: parsed.servername });
      }
      else if (size > MAX_HELLO_BYTES) finish(new Error('TLS ClientHello too large'));
    };
    const onEnd = () => finish(new Error('connection closed before the TLS ClientHello'));
    const onError = (err: Error) => finish(err);
    const timer = setTimeout(() => finish(new Error('TLS ClientHello timed out')), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    // A socket paused by an earlier reader (the PROXY header's) would not flow for a new 'data' listener alone.
    socket.resume();
  });
}
