/**
 * The base of the writers that must see an answer's status before the client may (retry, errors' CodeCatcher,
 * failover's FailoverWriter): the head is held back — headers collect in a writer-owned, prototype-free map — until
 * the first final status, which either passes (the held headers are merged under the client writer's preset ones and
 * the body streams through) or drops the whole answer (its body is swallowed, drains never wait). Subclasses say
 * which statuses drop (`drops`) and whether 1xx interim answers are skipped; everything else is DelegatingWriter's.
 */
import { mergeHeaders, setHeader } from '../../lib/http/headers.ts';
import { DelegatingWriter } from './delegating-writer.ts';
import type { ResponseHeaders, ResponseWriter } from './types.ts';

/** `held` until the first final status; then `passed` (it went to the client) or `dropped` (it never will). */
export type HeldState = 'held' | 'passed' | 'dropped';

export abstract class HeldStatusWriter extends DelegatingWriter {
  #held = Object.create(null) as ResponseHeaders;
  protected state: HeldState = 'held';
  /** Whether a 1xx answer other than 101 is forgotten (headers too) while waiting for the final one. */
  readonly #skipsInterim: boolean;

  constructor(inner: ResponseWriter, skipsInterim: boolean) {
    super(inner);
    this.#skipsInterim = skipsInterim;
  }

  /** Whether an answer with this status is dropped instead of passed to the client. */
  protected abstract drops(statusCode: number): boolean;

  override get headers(): ResponseHeaders {
    return this.#held;
  }
  /** Sent once passed (as the client writer says); a dropped answer counts as sent, so nothing writes after it. */
  override get headersSent(): boolean {
    return this.state === 'passed' ? this.inner.headersSent : this.state === 'dropped';
  }
  override get statusCode(): number {
    return this.state === 'passed' ? this.inner.statusCode : 0;
  }
  override writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (this.state !== 'held') return;
    if (headers) for (const [k, v] of Object.entries(headers)) setHeader(this.#held, k, v);
    if (this.#skipsInterim && statusCode >= 100 && statusCode < 200 && statusCode !== 101) {
      this.#held = Object.create(null) as ResponseHeaders;
      return;
    }
    if (this.drops(statusCode)) {
      this.state = 'dropped';
      return;
    }
    this.state = 'passed';
    mergeHeaders(this.inner.headers, this.#held, 'preset');
    this.inner.writeHead(statusCode);
  }
  override write(chunk: Buffer | string): boolean {
    if (this.state === 'held') this.writeHead(200);
    return this.state === 'passed' ? this.inner.write(chunk) : true;
  }
  override end(chunk?: Buffer | string): void {
    if (this.state === 'held') this.writeHead(200);
    if (this.state === 'passed') this.inner.end(chunk);
  }
  override onDrain(listener: () => void): void {
    if (this.state === 'passed') this.inner.onDrain(listener);
    else queueMicrotask(listener);
  }
  override flush(): void {
    if (this.state === 'passed') this.inner.flush?.();
  }
}
