/**
 * compress: gzip, Brotli and Zstandard (when node has it) by the request's Accept-Encoding (q-values; ties go to
 * the order of `encodings`, default zstd, br, gzip), only when the response is not encoded already, its type
 * passes excludedContentTypes/includedContentTypes (gRPC never), and the body reaches minResponseBodyBytes
 * (1024) — a smaller body is sent as is. Vary: Accept-Encoding is added (Traefik pkg/middlewares/compress).
 */
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import { z } from 'zod';
import type { ResponseHeaders, ResponseWriter } from '../http/types.ts';
import { DelegatingWriter } from '../http/delegating-writer.ts';
import { registerMiddleware } from './registry.ts';
import { requestHeader } from '../http/request.ts';
import { deleteHeader, getHeaderString, mergeHeaders, setHeader } from '../../lib/http/headers.ts';

const zstdAvailable = typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function';
const ENCODINGS = ['zstd', 'br', 'gzip'] as const;
type Encoding = (typeof ENCODINGS)[number];

export const compressSchema = z
  .object({
    excludedContentTypes: z.array(z.string()).optional(),
    includedContentTypes: z.array(z.string()).optional(),
    minResponseBodyBytes: z.number().int().min(0).default(1024),
    encodings: z.array(z.enum(ENCODINGS)).min(1).optional(),
    defaultEncoding: z.string().optional(),
  })
  .strict()
  .refine((c) => !(c.excludedContentTypes?.length && c.includedContentTypes?.length), {
    message: 'excludedContentTypes and includedContentTypes options are mutually exclusive',
    path: ['includedContentTypes'],
  });

function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).replace(/\s+/g, '').toLowerCase();
}

function createEncoder(encoding: Encoding): Transform {
  switch (encoding) {
    case 'gzip':
      return zlib.createGzip();
    case 'br':
      return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
    case 'zstd':
      return (zlib as unknown as { createZstdCompress(): Transform }).createZstdCompress();
  }
}

/** Picks the encoding from Accept-Encoding; undefined means identity. */
export function negotiate(accept: string | undefined, supported: readonly Encoding[], fallback: Encoding | undefined): Encoding | undefined {
  if (accept === undefined) return fallback;
  let best: Encoding | undefined;
  let bestQ = 0;
  let bestRank = Infinity;
  for (const part of accept.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName!.trim().toLowerCase();
    if (name === '') continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (!(q > 0)) continue;
    const candidates = name === '*' ? supported : supported.filter((e) => e === name);
    for (const enc of candidates) {
      const rank = supported.indexOf(enc);
      if (q > bestQ || (q === bestQ && rank < bestRank)) {
        best = enc;
        bestQ = q;
        bestRank = rank;
      }
    }
  }
  return best;
}

interface CompressOptions {
  minBytes: number;
  allowed: (contentType: string | undefined) => boolean;
}

/** Holds the head and the first bytes until it knows whether to compress, then streams either way. */
class CompressWriter extends DelegatingWriter {
  private readonly encoding: Encoding;
  private readonly options: CompressOptions;
  private readonly head: boolean;
  private status = 0;
  private pending: Buffer[] = [];
  private pendingSize = 0;
  private mode: 'undecided' | 'plain' | 'compress' = 'undecided';
  private encoder: Transform | undefined;
  private done: Promise<void> = Promise.resolve();
  ended = false;

  constructor(inner: ResponseWriter, encoding: Encoding, options: CompressOptions, head: boolean) {
    super(inner);
    this.encoding = encoding;
    this.options = options;
    this.head = head;
  }
  override get headersSent(): boolean {
    return this.status !== 0;
  }
  override get statusCode(): number {
    return this.status || this.inner.statusCode;
  }

  override writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (this.status !== 0) return;
    if (statusCode < 200 && statusCode !== 101) {
      this.inner.writeHead(statusCode, headers);
      return;
    }
    this.status = statusCode;
    if (headers) mergeHeaders(this.inner.headers, headers, 'preset');
    const h = this.inner.headers;
    const encoded = getHeaderString(h, 'content-encoding');
    if (encoded === undefined || encoded === '' || encoded === 'identity') this.addVary();
    if (
      (encoded !== undefined && encoded !== '' && encoded !== 'identity') ||
      this.head || statusCode === 204 || statusCode === 304 || statusCode === 101 ||
      !this.options.allowed(getHeaderString(h, 'content-type'))
    ) {
      this.startPlain();
      return;
    }
    const length = Number(getHeaderString(h, 'content-length'));
    if (Number.isFinite(length) && getHeaderString(h, 'content-length') !== undefined && length < this.options.minBytes) this.startPlain();
  }

  private addVary(): void {
    const h = this.inner.headers;
    const vary = getHeaderString(h, 'vary');
    if (vary === undefined || vary === '') setHeader(h, 'vary', 'Accept-Encoding');
    else if (!/(^|,)\s*accept-encoding\s*(,|$)/i.test(vary)) setHeader(h, 'vary', `${vary}, Accept-Encoding`);
  }

  private startPlain(): void {
    this.mode = 'plain';
    this.inner.writeHead(this.status);
    for (const chunk of this.pending) this.inner.write(chunk);
    this.pending = [];
  }

  private startCompress(): void {
    this.mode = 'compress';
    const h = this.inner.headers;
    deleteHeader(h, 'content-length');
    setHeader(h, 'content-encoding', this.encoding);
    // A strong ETag names the identity bytes; the encoded ones need a weak one (as gzhttp does).
    const etag = getHeaderString(h, 'etag');
    if (etag && !etag.startsWith('W/')) setHeader(h, 'etag', `W/${etag}`);
    deleteHeader(h, 'accept-ranges');
    this.inner.writeHead(this.status);
    const encoder = createEncoder(this.encoding);
    this.encoder = encoder;
    encoder.on('data', (chunk: Buffer) => {
      if (!this.inner.write(chunk)) {
        encoder.pause();
        this.inner.onDrain(() => encoder.resume());
      }
    });
    this.done = new Promise<void>((resolve) => {
      encoder.once('end', () => {
        this.inner.end();
        resolve();
      });
      encoder.once('error', () => {
        this.inner.end();
        resolve();
      });
    });
    for (const chunk of this.pending) encoder.write(chunk);
    this.pending = [];
  }

  override write(chunk: Buffer | string): boolean {
    if (this.status === 0) this.writeHead(200);
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.mode === 'plain') return this.inner.write(buf);
    if (this.mode === 'compress') return this.encoder!.write(buf);
    this.pending.push(buf);
    this.pendingSize += buf.length;
    if (this.pendingSize >= this.options.minBytes) this.startCompress();
    return true;
  }

  override end(chunk?: Buffer | string): void {
    if (this.ended) return;
    if (chunk !== undefined && chunk.length > 0) this.write(chunk);
    if (this.status === 0) this.writeHead(200);
    this.ended = true;
    if (this.mode === 'undecided') this.startPlain();
    if (this.mode === 'plain') this.inner.end();
    else this.encoder!.end();
  }

  override onDrain(listener: () => void): void {
    if (this.mode === 'compress') this.encoder!.once('drain', listener);
    else if (this.mode === 'plain') this.inner.onDrain(listener);
    else queueMicrotask(listener);
  }

  override flush(): void {
    // Server-sent events and other streams: push what we hold now.
    if (this.mode === 'undecided' && this.pending.length > 0) this.startCompress();
    if (this.mode === 'compress') (this.encoder as unknown as { flush(cb?: () => void): void }).flush(() => this.inner.flush?.());
    else this.inner.flush?.();
  }

  finished(): Promise<void> {
    return this.done;
  }
}

registerMiddleware('compress', {
  schema: compressSchema,
  create(config) {
    const supported = (config.encodings ?? [...ENCODINGS]).filter((e) => e !== 'zstd' || zstdAvailable) as Encoding[];
    const fallback = config.defaultEncoding && supported.includes(config.defaultEncoding as Encoding) ? (config.defaultEncoding as Encoding) : undefined;
    const excluded = new Set((config.excludedContentTypes ?? []).map(mediaType));
    const included = new Set((config.includedContentTypes ?? []).map(mediaType));
    const allowed = (contentType: string | undefined): boolean => {
      if (contentType === undefined || contentType === '') return included.size === 0;
      const type = mediaType(contentType);
      if (type.startsWith('application/grpc')) return false;
      if (included.size > 0) return included.has(type);
      return !excluded.has(type);
    };
    const options: CompressOptions = { minBytes: config.minResponseBodyBytes, allowed };

    return (next) => async (req, rw) => {
      const requestType = requestHeader(req, 'content-type');
      if (requestType !== undefined && excluded.has(mediaType(requestType))) return next(req, rw);
      if (req.headers.upgrade !== undefined) return next(req, rw);
      const encoding = negotiate(requestHeader(req, 'accept-encoding'), supported, fallback);
      if (encoding === undefined) return next(req, rw);
      const writer = new CompressWriter(rw, encoding, options, req.method === 'HEAD');
      await next(req, writer);
      if (!writer.ended && writer.headersSent) writer.end();
      await writer.finished();
    };
  },
});
