import type { ResponseHeaders, ResponseWriter } from './types.ts';
import { prototypeFree, setHeader } from '../../lib/http/headers.ts';

/** A ResponseWriter that keeps everything in memory (error pages, buffering, retries, auth sub-requests). */
export class RecordingWriter implements ResponseWriter {
  statusCode = 0;
  headers = prototypeFree<ResponseHeaders>();
  readonly chunks: Buffer[] = [];
  size = 0;
  headersSent = false;
  finished = false;
  /** Stop recording body bytes beyond this size and remember that the limit was crossed. */
  private readonly limit: number;
  overflow = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  /** The client's writer, when recording on its behalf: `closed` and `onClose` then follow the client. */
  private readonly client: ResponseWriter | undefined;

  constructor(limit = Infinity, client?: ResponseWriter) {
    this.limit = limit;
    this.client = client;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (this.headersSent) return;
    this.statusCode = statusCode;
    if (headers) for (const [k, v] of Object.entries(headers)) setHeader(this.headers, k, v);
    this.headersSent = true;
  }
  write(chunk: Buffer | string): boolean {
    if (!this.headersSent) this.writeHead(200);
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.size += buf.length;
    if (this.size > this.limit) this.overflow = true;
    else this.chunks.push(buf);
    return true;
  }
  end(chunk?: Buffer | string): void {
    if (chunk !== undefined && chunk.length > 0) this.write(chunk);
    if (!this.headersSent) this.writeHead(200);
    this.finished = true;
    this.resolveDone();
  }
  get closed(): boolean {
    return this.client?.closed ?? false;
  }
  onDrain(listener: () => void): void {
    queueMicrotask(listener);
  }
  onClose(listener: () => void): void {
    this.client?.onClose?.(listener);
  }
  flush(): void {}

  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
  /** Resolves when end() was called (handlers may finish writing after their promise resolves). */
  whenFinished(): Promise<void> {
    return this.done;
  }

  /** Copies status, headers and body to a real writer. */
  replay(rw: ResponseWriter, extraHeaders?: ResponseHeaders): void {
    for (const [k, v] of Object.entries(this.headers)) setHeader(rw.headers, k, v);
    if (extraHeaders) for (const [k, v] of Object.entries(extraHeaders)) setHeader(rw.headers, k, v);
    rw.writeHead(this.statusCode || 200);
    rw.end(this.body());
  }
}
