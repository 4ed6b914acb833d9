/**
 * Consul's HTTP check: one request per run without keep-alive (a pooled connection would hide a restarted
 * target), 2xx → passing, 429 → warning, anything else or a transport error → critical. Output
 * `HTTP <METHOD> <url>: <status line> Output: <last 4 KiB of the body>`. Redirects are followed like Go's
 * default client (at most 10 requests) unless DisableRedirects is set.
 */
import { STATUS_CODES } from 'node:http';
import { Agent, request } from 'undici';
import { dialErrorText, errorCode, errorMessage, TailBuffer } from '../output.ts';
import type { CheckDefinition, ProbeResult } from '../types.ts';
import { registerProbe, type Probe, type ProbeContext } from './probe.ts';

/** Consul's checks.UserAgent. */
export const USER_AGENT = 'Consul Health Check';
const DEFAULT_ACCEPT = 'text/plain, text/*, */*';
/** Go's http.Client gives up when the 10th request answers with yet another redirect. */
const MAX_REQUESTS = 10;
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

export class HttpProbe implements Probe {
  readonly #def: CheckDefinition;
  readonly #ctx: ProbeContext;
  readonly #dispatcher: Agent;

  constructor(def: CheckDefinition, ctx: ProbeContext) {
    this.#def = def;
    this.#ctx = ctx;
    // pipelining 0 turns keep-alive off (Consul sets DisableKeepAlives for the same reason).
    this.#dispatcher = new Agent({
      pipelining: 0,
      connect: {
        rejectUnauthorized: def.TLSSkipVerify !== true,
        ...(def.TLSServerName ? { servername: def.TLSServerName } : {}),
      },
    });
  }

  async run(signal: AbortSignal): Promise<ProbeResult> {
    const def = this.#def;
    const target = def.HTTP!;
    const firstMethod = (def.Method || 'GET').toUpperCase();
    const op = firstMethod[0] + firstMethod.slice(1).toLowerCase();
    const deadline = AbortSignal.timeout(this.#ctx.timeout);
    const abort = AbortSignal.any([signal, deadline]);
    const headers = requestHeaders(def.Header);

    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return { status: 'critical', output: `parse ${JSON.stringify(target)}: invalid URL` };
    }
    let method = firstMethod;
    let body: string | undefined = def.Body ? def.Body : undefined;

    for (let requests = 1; ; requests++) {
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, { method: method as 'GET', headers, body, signal: abort, dispatcher: this.#dispatcher });
      } catch (err) {
        return { status: 'critical', output: `${op} ${JSON.stringify(url.href)}: ${transportErrorText(url, err, deadline.aborted)}` };
      }

      const location = headerValue(res.headers.location);
      if (!def.DisableRedirects && REDIRECT_CODES.has(res.statusCode) && location) {
        await res.body.dump().catch((err: unknown) => this.#ctx.logger.debug({ err }, 'discarding redirect body failed'));
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          return { status: 'critical', output: `${op} ${JSON.stringify(url.href)}: failed to parse Location header ${JSON.stringify(location)}` };
        }
        if (requests >= MAX_REQUESTS) {
          return { status: 'critical', output: `${op} ${JSON.stringify(next.href)}: stopped after ${MAX_REQUESTS} redirects` };
        }
        // Go's redirect rules: 301/302/303 turn a non-GET/HEAD request into a body-less GET; 307/308 replay it.
        if (res.statusCode <= 303 && method !== 'GET' && method !== 'HEAD') {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }

      const captured = new TailBuffer(this.#ctx.outputMaxSize);
      try {
        for await (const chunk of res.body) captured.write(chunk as Buffer);
      } catch (err) {
        // Consul logs a body read error and still judges the check by the status code.
        this.#ctx.logger.warn({ check: def.CheckID, err: errorMessage(err) }, 'Check error while reading body');
      }
      const statusLine = `${res.statusCode} ${res.statusText || STATUS_CODES[res.statusCode] || ''}`.trimEnd();
      const output = `HTTP ${firstMethod} ${target}: ${statusLine} Output: ${captured.toString()}`;
      if (res.statusCode >= 200 && res.statusCode <= 299) return { status: 'passing', output };
      if (res.statusCode === 429) return { status: 'warning', output };
      return { status: 'critical', output };
    }
  }

  async close(): Promise<void> {
    await this.#dispatcher.destroy();
  }
}

function requestHeaders(header: Record<string, string[]> | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(header ?? {})) {
    if (values.length === 0) continue;
    const key = name.toLowerCase();
    // Go takes the request's Host from the Host header's first value.
    out[key] = key === 'host' ? values[0]! : values.length === 1 ? values[0]! : values;
  }
  out['user-agent'] ??= USER_AGENT;
  out.accept ??= DEFAULT_ACCEPT;
  return out;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function transportErrorText(url: URL, err: unknown, timedOut: boolean): string {
  if (timedOut) return 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';
  const code = errorCode(err);
  if (code && /^E[A-Z]+$/.test(code)) {
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return dialErrorText(`${url.hostname}:${port}`, err);
  }
  return errorMessage(err);
}

registerProbe('http', (def, ctx) => new HttpProbe(def, ctx), 10_000);
