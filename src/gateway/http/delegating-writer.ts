/**
 * The base of every wrapping ResponseWriter (middlewares that edit heads, sniff, compress, catch codes, retry):
 * everything goes to `inner` unless the subclass overrides it, so a wrapper states only what it changes. Trailers
 * are deliberately not passed on here — a wrapper that keeps the body as it is must opt in (see
 * ResponseWriter.addTrailers), one that rewrites the body drops them as HTTP/1.1 without chunking must.
 */
import type { ResponseHeaders, ResponseWriter } from './types.ts';

export class DelegatingWriter implements ResponseWriter {
  protected readonly inner: ResponseWriter;

  constructor(inner: ResponseWriter) {
    this.inner = inner;
  }

  get headersSent(): boolean {
    return this.inner.headersSent;
  }
  get statusCode(): number {
    return this.inner.statusCode;
  }
  get headers(): ResponseHeaders {
    return this.inner.headers;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  writeHead(statusCode: number, headers?: ResponseHeaders): void {
    this.inner.writeHead(statusCode, headers);
  }
  write(chunk: Buffer | string): boolean {
    return this.inner.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    this.inner.end(chunk);
  }
  onDrain(listener: () => void): void {
    this.inner.onDrain(listener);
  }
  onClose(listener: () => void): void {
    this.inner.onClose?.(listener);
  }
  flush(): void {
    this.inner.flush?.();
  }
}
