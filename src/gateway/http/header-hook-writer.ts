import type { ResponseHeaders, ResponseWriter } from './types.ts';
import { DelegatingWriter } from './delegating-writer.ts';
import { mergeHeaders } from '../../lib/http/headers.ts';

function isEmpty(headers: ResponseHeaders): boolean {
  for (const _ in headers) return false;
  return true;
}

/**
 * Delegates everything to the wrapped writer and calls `beforeHead(status, headers)` exactly once, just before
 * the status line goes out (explicitly through writeHead or implicitly through the first write/end), so a
 * middleware can add, change or remove response headers the upstream set.
 */
export class HeaderHookWriter<T = undefined> extends DelegatingWriter {
  private readonly hook: (status: number, headers: ResponseHeaders, context: T) => void;
  private readonly context: T;
  private hooked = false;

  /** `context` is handed to the hook so the hook itself can be built once per middleware, not per request. */
  constructor(inner: ResponseWriter, beforeHead: (status: number, headers: ResponseHeaders, context: T) => void, context: T) {
    super(inner);
    this.hook = beforeHead;
    this.context = context;
  }

  override writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (!this.hooked) {
      this.hooked = true;
      const preset = this.inner.headers;
      if (headers !== undefined && isEmpty(preset)) {
        // Nothing set before us: the handler's object (the writer owns it once passed) is what goes out, so the
        // hook edits it in place instead of every header being copied into the preset first.
        this.hook(statusCode, headers, this.context);
        this.inner.writeHead(statusCode, headers);
        return;
      }
      if (headers) mergeHeaders(preset, headers, 'preset');
      this.hook(statusCode, preset, this.context);
      this.inner.writeHead(statusCode);
      return;
    }
    this.inner.writeHead(statusCode, headers);
  }
  override write(chunk: Buffer | string): boolean {
    if (!this.hooked && !this.inner.headersSent) this.writeHead(200);
    return this.inner.write(chunk);
  }
  override end(chunk?: Buffer | string): void {
    if (!this.hooked && !this.inner.headersSent) this.writeHead(200);
    this.inner.end(chunk);
  }
}
