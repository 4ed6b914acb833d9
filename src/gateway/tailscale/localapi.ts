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

/** What went wrong, in words for the log (the resolver wraps it in MG_GATEWAY_TAILSCALE_CERT). */
export class LocalApiError extends Error {}

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

/** Splits a `type=pair` answer as tscert's CertPair does: key first, then the chain. */
export function splitPair(body: string): CertPair {
  const i = body.indexOf('--\n--');
  if (i === -1) throw new LocalApiError('unexpected output: no delimiter');
  const keyPem = body.slice(0, i + 3);
  const certPem = body.slice(i + 3);
  if (certPem.includes(' PRIVATE KEY-----')) throw new LocalApiError('unexpected output: key in cert');
  return { certPem, keyPem };
}

export async function fetchCertPair(socketPath: string, domain: string, signal?: AbortSignal): Promise<CertPair> {
  const timeout = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({
      socketPath,
      method: 'GET',
      path: `/localapi/v0/cert/${encodeURIComponent(domain)}?type=pair`,
      headers: { host: LOCALAPI_HOST },
      signal: abort,
    }, (res) => {
      readBodyLimited(res, MAX_BODY).then(({ body: bytes, overflow }) => {
        if (overflow) reject(new LocalApiError(`answer larger than ${MAX_BODY} bytes`));
        else resolve({ status: res.statusCode ?? 0, body: bytes.toString('utf8') });
      }, reject);
    });
    req.on('error', (err: Error) => {
      if (err.name === 'AbortError') reject(new LocalApiError(timeout.aborted ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : 'cancelled'));
      // Node's message names the code and the socket: "connect ENOENT /var/run/tailscale/tailscaled.sock".
      else reject(new LocalApiError(err.message));
    });
    req.end();
  });
  if (status === 403) throw new LocalApiError(`Access denied: ${errorText(body)}`);
  if (status !== 200) throw new LocalApiError(`HTTP ${status}: ${errorText(body) || 'no message'}`);
  return splitPair(body);
}
