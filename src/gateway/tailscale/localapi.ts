/**
 * tailscaled's LocalAPI, the one call the resolver makes (github.com/tailscale/tscert CertPair, read for behaviour):
 * `GET /localapi/v0/cert/<domain>?type=pair` over the daemon's unix socket, with the Host tscert's client sends
 * (`local-tailscaled.sock`; tailscaled refuses a request with another Host, an Origin or a Referer). A 200 body is the
 * private key PEM followed by the certificate chain PEM, split where tscert splits it (at "--\n--"); a 403 is
 * "Access denied" (the gateway's user is not tailscaled's operator); any other status carries `{"Error": "…"}` or
 * plain text. tailscaled may take a while to obtain a new certificate from Let's Encrypt, so the wait is long.
 */
import { request } from 'node:http';
import { readBodyLimited } from '../../lib/http/body.ts';
import type { MeshgateError } from '../../lib/errors.ts';
import { TailscaleErrors } from './errors.ts';

/** The Host tscert's HTTP client puts on every LocalAPI request (its dialer ignores the address). */
export const LOCALAPI_HOST = 'local-tailscaled.sock';
/** tscert.GetCertificate gives CertPair a minute. */
export const FETCH_TIMEOUT_MS = 60_000;
/** A key and a chain are a few KiB; anything far larger is not an answer. */
const MAX_BODY = 1 << 20;

export interface CertPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Which resolver asks, on which socket: what its errors name. */
export interface LocalApiTarget {
  readonly resolver: string;
  readonly socket: string;
}

function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    // tscert's errorJSON has `Error`; Go's JSON decoder matches the key without regard to case.
    if (parsed !== null && typeof parsed === 'object') {
      for (const [key, value] of Object.entries(parsed)) if (key.toLowerCase() === 'error' && typeof value === 'string' && value !== '') return value;
    }
  } catch {
    // Not JSON: the body's text is the message.
  }
  return body.trim();
}

/** Splits a `type=pair` answer as tscert's CertPair does: key first, then the chain; or says what is wrong with it. */
export function splitPair(body: string): CertPair | { problem: string } {
  const i = body.indexOf('--\n--');
  if (i === -1) return { problem: 'unexpected output: no delimiter' };
  const keyPem = body.slice(0, i + 3);
  const certPem = body.slice(i + 3);
  if (certPem.includes(' PRIVATE KEY-----')) return { problem: 'unexpected output: key in cert' };
  return { certPem, keyPem };
}

/** The key and chain tailscaled holds for `domain`; an MG_GATEWAY_TAILSCALE_CERT error when it cannot give them. */
export async function fetchCertPair(target: LocalApiTarget, domain: string, signal?: AbortSignal): Promise<CertPair> {
  const fail = (detail: string): MeshgateError => TailscaleErrors.fetch(target.resolver, domain, target.socket, detail);
  const timeout = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({
      socketPath: target.socket,
      method: 'GET',
      path: `/localapi/v0/cert/${encodeURIComponent(domain)}?type=pair`,
      headers: { host: LOCALAPI_HOST },
      signal: abort,
    }, (res) => {
      readBodyLimited(res, MAX_BODY).then(({ body: bytes, overflow }) => {
        if (overflow) reject(fail(`answer larger than ${MAX_BODY} bytes`));
        else resolve({ status: res.statusCode ?? 0, body: bytes.toString('utf8') });
      }, (err: Error) => reject(fail(err.message)));
    });
    req.on('error', (err: Error) => {
      if (err.name === 'AbortError') reject(fail(timeout.aborted ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : 'cancelled'));
      // Node's message names the code and the socket: "connect ENOENT /var/run/tailscale/tailscaled.sock".
      else reject(fail(err.message));
    });
    req.end();
  });
  if (status === 403) throw fail(`Access denied: ${errorText(body)}`);
  if (status !== 200) throw fail(`HTTP ${status}: ${errorText(body) || 'no message'}`);
  const pair = splitPair(body);
  if ('problem' in pair) throw fail(pair.problem);
  return pair;
}
