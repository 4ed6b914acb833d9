/**
 * contentType: Traefik v3 no longer guesses a missing Content-Type; this middleware brings the guess back for
 * the responses it wraps, sniffing the first bytes the way Go's http.DetectContentType does for the common
 * cases (Traefik pkg/middlewares/contenttype). `autoDetect` is the deprecated v2 key, accepted.
 */
import { z } from 'zod';
import type { ResponseHeaders } from '../http/types.ts';
import { DelegatingWriter } from '../http/delegating-writer.ts';
import { registerMiddleware } from './registry.ts';
import { getHeaderString, mergeHeaders, setHeader } from '../../lib/http/headers.ts';

export const contentTypeSchema = z.object({ autoDetect: z.boolean().optional() }).strict();

const SIGNATURES: Array<[prefix: Buffer, type: string]> = [
  [Buffer.from('%PDF-'), 'application/pdf'],
  [Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), 'image/png'],
  [Buffer.from('GIF87a'), 'image/gif'],
  [Buffer.from('GIF89a'), 'image/gif'],
  [Buffer.from([0xff, 0xd8, 0xff]), 'image/jpeg'],
  [Buffer.from([0x1f, 0x8b, 0x08]), 'application/x-gzip'],
  [Buffer.from('PK\x03\x04', 'latin1'), 'application/zip'],
  [Buffer.from('\x00asm', 'latin1'), 'application/wasm'],
  [Buffer.from('%!PS-Adobe-'), 'application/postscript'],
  [Buffer.from('OggS\x00', 'latin1'), 'application/ogg'],
];
const HTML_TAGS = ['<!doctype html', '<html', '<head', '<script', '<iframe', '<h1', '<div', '<font', '<table', '<a', '<style', '<title', '<b', '<body', '<br', '<p', '<!--'];

/** The common part of Go's sniffing algorithm (WHATWG MIME sniffing). */
export function detectContentType(data: Buffer): string {
  const head = data.subarray(0, 512);
  for (const [prefix, type] of SIGNATURES) if (head.subarray(0, prefix.length).equals(prefix)) return type;
  if (head.length >= 12 && head.subarray(4, 8).toString('latin1') === 'ftyp') return 'video/mp4';
  if (head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  let start = 0;
  while (start < head.length && (head[start] === 0x20 || head[start] === 0x09 || head[start] === 0x0a || head[start] === 0x0c || head[start] === 0x0d)) start++;
  const text = head.subarray(start, start + 16).toString('latin1').toLowerCase();
  for (const tag of HTML_TAGS) {
    if (text.startsWith(tag)) {
      const after = head[start + tag.length];
      if (tag === '<!--' || after === 0x20 || after === 0x3e) return 'text/html; charset=utf-8';
    }
  }
  if (text.startsWith('<?xml')) return 'text/xml; charset=utf-8';
  if (head.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))) return 'text/plain; charset=utf-8';
  if (head.subarray(0, 2).equals(Buffer.from([0xfe, 0xff])) || head.subarray(0, 2).equals(Buffer.from([0xff, 0xfe]))) return 'text/plain; charset=utf-16';
  for (const byte of head) {
    if (byte <= 0x08 || byte === 0x0b || (byte >= 0x0e && byte <= 0x1a) || (byte >= 0x1c && byte <= 0x1f)) return 'application/octet-stream';
  }
  return 'text/plain; charset=utf-8';
}

/** Holds the status line until the first body bytes arrive when the upstream gave no Content-Type. */
class SniffingWriter extends DelegatingWriter {
  private status = 0;
  private waiting = false;
  override get headersSent(): boolean {
    return this.status !== 0 || this.inner.headersSent;
  }
  override get statusCode(): number {
    return this.status || this.inner.statusCode;
  }
  override writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (this.status !== 0) return;
    this.status = statusCode;
    if (headers) mergeHeaders(this.inner.headers, headers, 'preset');
    const type = getHeaderString(this.inner.headers, 'content-type');
    if (type === undefined && statusCode !== 204 && statusCode !== 304) this.waiting = true;
    else this.inner.writeHead(statusCode);
  }
  override write(chunk: Buffer | string): boolean {
    if (this.status === 0) this.writeHead(200);
    if (this.waiting) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (buf.length === 0) return true;
      this.waiting = false;
      setHeader(this.inner.headers, 'content-type', detectContentType(buf));
      this.inner.writeHead(this.status);
      return this.inner.write(buf);
    }
    return this.inner.write(chunk);
  }
  override end(chunk?: Buffer | string): void {
    if (this.status === 0) this.writeHead(200);
    if (chunk !== undefined && chunk.length > 0) this.write(chunk);
    if (this.waiting) {
      this.waiting = false;
      this.inner.writeHead(this.status);
    }
    this.inner.end();
  }
}

registerMiddleware('contentType', {
  schema: contentTypeSchema,
  create(config) {
    if (config.autoDetect === false) return (next) => next;
    return (next) => (req, rw) => next(req, new SniffingWriter(rw));
  },
});
