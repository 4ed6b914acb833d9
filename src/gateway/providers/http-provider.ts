/**
 * Traefik's HTTP provider (`providers.http`, pkg/provider/http): GETs `endpoint` every `pollInterval` (each request
 * bounded by `pollTimeout`, with `headers` and the client `tls`), and reads a 200 answer as a dynamic configuration in
 * YAML or JSON, as the file provider reads a file. Like Traefik it sends no conditional request (no ETag): it hashes
 * the body and does nothing while the hash is unchanged, so a body that did not change is never parsed again. A
 * non-200 answer, a failed request, or a body that does not parse or validate is logged once (naming the key it
 * breaks) and the last good configuration keeps serving.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../lib/logger.ts';
import { validateDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';
import { ConfigErrors } from '../config/errors.ts';
import { parseConfigText } from '../config/parse.ts';
import { DEFAULT_MAX_FILE_BYTES } from '../config/static.ts';
import type { HttpProviderConfig } from '../config/schema/providers.ts';
import { clientTlsOptions } from './kv.ts';
import { registerProvider, type Provider } from './provider.ts';

export interface HttpProviderOptions {
  config: HttpProviderConfig;
  logger: Logger;
  /** Largest body read (bytes); a larger answer is refused like a bad one. Default: the file provider's limit. */
  maxBytes?: number;
  onError?: (error: Error) => void;
}

type Dispatcher = import('undici').Dispatcher;

export class HttpProvider implements Provider {
  readonly name = 'http';
  readonly #options: HttpProviderOptions;
  readonly #logger: Logger;
  #dispatcher: Dispatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastHash: string | undefined;
  #lastError: string | undefined;
  #emit: ((config: DynamicConfig) => void) | undefined;
  #signal: AbortSignal | undefined;
  #polling: Promise<void> = Promise.resolve();
  /** The endpoint without user information: what is requested and what messages name (a password is never logged). */
  readonly #url: string;
  /** `http://user:password@host/…` is HTTP basic auth, as Go's client sends it for Traefik. */
  readonly #authorization: string | undefined;

  constructor(options: HttpProviderOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ provider: 'http' });
    const url = new URL(options.config.endpoint);
    this.#authorization = url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
    url.username = '';
    url.password = '';
    this.#url = url.href;
  }

  /** Makes the first request in the background and returns; the poll loop runs until `signal` aborts. */
  async start(emit: (config: DynamicConfig) => void, signal: AbortSignal): Promise<void> {
    this.#emit = emit;
    this.#signal = signal;
    const tls = this.#options.config.tls;
    if (tls) {
      const { Agent } = await import('undici');
      this.#dispatcher = new Agent({ connect: clientTlsOptions(tls) });
    }
    signal.addEventListener('abort', () => {
      if (this.#timer) clearTimeout(this.#timer);
      void this.#polling.finally(() => this.#dispatcher?.close());
    }, { once: true });
    this.#poll();
  }

  /** SIGHUP: poll now. */
  reload(): void {
    if (this.#signal?.aborted) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#poll();
  }

  #poll(): void {
    this.#timer = undefined;
    this.#polling = this.#polling.then(() => this.#update()).finally(() => {
      if (!this.#signal?.aborted && this.#timer === undefined) this.#timer = setTimeout(() => this.#poll(), this.#options.config.pollInterval);
    });
  }

  async #update(): Promise<void> {
    const endpoint = this.#url;
    let body: Buffer;
    try {
      body = await this.#fetch();
    } catch (err) {
      if (this.#signal?.aborted) return;
      this.#fail(ConfigErrors.read(endpoint, (err as Error).message));
      return;
    }
    const hash = createHash('sha256').update(body).digest('hex');
    if (hash === this.#lastHash) return;
    // As Traefik: the hash is kept before decoding, so a bad body is reported once, not on every poll.
    this.#lastHash = hash;
    let config: DynamicConfig;
    try {
      config = validateDynamicConfig(parseConfigText(body.toString('utf8'), 'yaml', endpoint), endpoint);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (this.#lastError !== undefined) this.#logger.info({ endpoint }, 'http provider: configuration read again');
    this.#lastError = undefined;
    if (!this.#signal?.aborted) this.#emit?.(config);
  }

  async #fetch(): Promise<Buffer> {
    const { request } = await import('undici');
    const { pollTimeout, headers } = this.#options.config;
    const limit = this.#options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    // pollTimeout bounds the whole exchange, as Go's http.Client.Timeout does.
    const signal = AbortSignal.any([this.#signal!, AbortSignal.timeout(pollTimeout)]);
    const res = await request(this.#url, {
      method: 'GET',
      // Configured headers win over the URL's credentials, as Header.Set after the request is built does in Traefik.
      headers: { ...(this.#authorization ? { authorization: this.#authorization } : {}), ...headers },
      signal,
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`received non-ok response code: ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        res.body.destroy();
        throw new Error(`the answer is larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  #fail(err: Error): void {
    if (err.message === this.#lastError) return;
    this.#lastError = err.message;
    this.#logger.error({ err: { code: (err as { code?: string }).code, message: err.message } }, 'http provider: configuration not read, keeping the previous one');
    this.#options.onError?.(err);
  }
}

registerProvider('http', ({ staticConfig, logger, reportError }) => {
  const block = staticConfig.providers.http as HttpProviderConfig | undefined;
  if (!block) return undefined;
  return new HttpProvider({ config: block, logger, ...(reportError ? { onError: (err: Error) => reportError('http', err) } : {}) });
});
