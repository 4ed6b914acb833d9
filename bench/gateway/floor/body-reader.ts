/**
 * The framing of one HTTP/1.1 message body (RFC 9112 §6–7): none, Content-Length, chunked, or until the connection
 * closes. It finds where the body ends in a stream of reads and hands the bytes on to a sink, either as the bytes
 * came (raw: chunk-size lines and trailers included, for a proxy that passes chunked bodies through unchanged) or as
 * the payload only (decoded: for a sink that frames the body again, as node:http's ServerResponse does).
 * Benchmark code, not the gateway's: chunk extensions are skipped unchecked, trailers are not parsed (raw passes them
 * on, decoded drops them).
 */

export interface BodySink {
  onBody(chunk: Buffer): void;
}

export const FRAMING_NONE = 0;
export const FRAMING_LENGTH = 1;
export const FRAMING_CHUNKED = 2;
export const FRAMING_CLOSE = 3;
export type Framing = typeof FRAMING_NONE | typeof FRAMING_LENGTH | typeof FRAMING_CHUNKED | typeof FRAMING_CLOSE;

const SIZE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILER = 4;
const DONE = 5;

/** A chunk-size line or trailer line longer than this is refused (a peer that never sends LF). */
const MAX_LINE = 4096;
/** 2^48: far beyond any body, and still exact in a double. */
const MAX_CHUNK = 2 ** 48;

export class BodyReader {
  framing: Framing = FRAMING_NONE;
  done = true;
  private raw: boolean;
  private remaining = 0;
  private state = DONE;
  /** A chunk-size or trailer line split across reads. */
  private line = '';

  constructor(raw: boolean) {
    this.raw = raw;
  }

  /** Starts a body: `length` counts for FRAMING_LENGTH only. */
  start(framing: Framing, length: number): void {
    this.framing = framing;
    this.line = '';
    if (framing === FRAMING_NONE || (framing === FRAMING_LENGTH && length === 0)) {
      this.done = true;
      return;
    }
    this.done = false;
    this.remaining = length;
    this.state = SIZE;
  }

  /**
   * Feeds `buf` from `start`; returns the index just past the body's last byte (the rest of `buf` belongs to the
   * next message), `buf.length` when the body goes on, or -1 on a framing error.
   */
  feed(buf: Buffer, start: number, sink: BodySink): number {
    const end = buf.length;
    if (start >= end) return start;
    if (this.framing === FRAMING_LENGTH) {
      const take = Math.min(this.remaining, end - start);
      sink.onBody(start === 0 && take === end ? buf : buf.subarray(start, start + take));
      this.remaining -= take;
      if (this.remaining === 0) this.done = true;
      return start + take;
    }
    if (this.framing === FRAMING_CLOSE) {
      sink.onBody(start === 0 ? buf : buf.subarray(start));
      return end;
    }
    return this.feedChunked(buf, start, sink);
  }

  private feedChunked(buf: Buffer, start: number, sink: BodySink): number {
    const end = buf.length;
    let i = start;
    while (i < end && this.state !== DONE) {
      switch (this.state) {
        case SIZE:
        case TRAILER: {
          const lf = buf.indexOf(10, i);
          if (lf === -1) {
            this.line += buf.toString('latin1', i, end);
            if (this.line.length > MAX_LINE) return -1;
            i = end;
            break;
          }
          const text = this.line + buf.toString('latin1', i, lf);
          this.line = '';
          i = lf + 1;
          if (text.charCodeAt(text.length - 1) !== 13) return -1;
          if (this.state === TRAILER) {
            if (text.length === 1) this.state = DONE;
            break;
          }
          const size = chunkSize(text);
          if (size < 0) return -1;
          if (size === 0) this.state = TRAILER;
          else {
            this.remaining = size;
            this.state = DATA;
          }
          break;
        }
        case DATA: {
          const take = Math.min(this.remaining, end - i);
          if (!this.raw) sink.onBody(buf.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (buf[i++] !== 13) return -1;
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buf[i++] !== 10) return -1;
          this.state = SIZE;
          break;
      }
    }
    if (this.state === DONE) this.done = true;
    if (this.raw && i > start) sink.onBody(start === 0 && i === end ? buf : buf.subarray(start, i));
    return i;
  }
}

/** The size of a chunk-size line (`1a;ext=x\r`), or -1. Hex digits first, then optional whitespace and extensions. */
function chunkSize(line: string): number {
  let size = 0;
  let i = 0;
  for (; i < line.length - 1; i++) {
    const c = line.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) break;
    size = size * 16 + d;
    if (size > MAX_CHUNK) return -1;
  }
  if (i === 0) return -1;
  const c = line.charCodeAt(i);
  return i === line.length - 1 || c === 59 /* ; */ || c === 32 || c === 9 ? size : -1;
}
