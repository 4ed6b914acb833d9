/**
 * A JWKS endpoint's keys (Consul's JWKSURL with JWKSCACert): fetched over HTTP(S), trusting `caCert` when given
 * (Node's fetch cannot take a CA, so node:https is used), kept in memory, and fetched again when a token names a
 * key the set does not have — a rotated key is picked up without a restart, at most once per REFETCH_MS.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

const FETCH_TIMEOUT_MS = 10_000;
const MAX_JWKS_BYTES = 1024 * 1024;
const REFETCH_MS = 5_000;

export class RemoteJwks {
  private readonly url: string;
  private readonly caCert: string | undefined;
  private local: JWTVerifyGetKey | undefined;
  private fetchedAt = 0;

  constructor(url: string, caCert?: string) {
    this.url = url;
    this.caCert = caCert;
  }

  /** Fetches the set now (auth method creation checks the URL this way, as Consul does). */
  async refresh(): Promise<void> {
    const body = await fetchText(this.url, this.caCert);
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(body) as JSONWebKeySet;
    } catch (err) {
      throw new Error(`JWKS at ${this.url} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!jwks || !Array.isArray(jwks.keys)) throw new Error(`JWKS at ${this.url} has no "keys" list`);
    this.local = createLocalJWKSet(jwks);
    this.fetchedAt = Date.now();
  }

  /** Runs `verify` with the key set, refetching once when no key matches the token. */
  async withKeys<T>(verify: (keys: JWTVerifyGetKey) => Promise<T>): Promise<T> {
    if (!this.local) await this.refresh();
    try {
      return await verify(this.local!);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || Date.now() - this.fetchedAt < REFETCH_MS) throw err;
      await this.refresh();
      return verify(this.local!);
    }
  }
}

function fetchText(url: string, caCert: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    // agent: false — one connection per fetch, closed after it: keys are fetched rarely, and an idle kept-alive socket
    // to the JWKS host would outlive the auth method.
    const options = { timeout: FETCH_TIMEOUT_MS, agent: false, headers: { accept: 'application/json' }, ...(caCert ? { ca: caCert } : {}) };
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, options, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`fetching keys: get keys failed: ${url} answered ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_JWKS_BYTES) {
          req.destroy(new Error(`fetching keys: ${url} sent more than ${MAX_JWKS_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`fetching keys: ${url} did not answer within ${FETCH_TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(new Error(`fetching keys: get keys failed: ${err.message}`)));
    req.end();
  });
}
