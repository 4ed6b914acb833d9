/**
 * The challenge answers a gateway serves while a certificate is ordered (Traefik's challenge_http.go and
 * challenge_tls.go): HTTP-01 key authorizations by token and domain, answered on the `httpChallenge` entry point
 * for `/.well-known/acme-challenge/<token>` before routing (Traefik's `acme-http@internal` router has the highest
 * priority; an unknown token is a 404, never a user route); TLS-ALPN-01 certificates by domain, presented during
 * the handshake to a client whose only ALPN protocol is `acme-tls/1` (RFC 8737). The store lives where the entry
 * points are; the resolvers fill it (in-process, over IPC for cluster workers, or from the KV for other replicas).
 */
import tls, { type SecureContext } from 'node:tls';
import type { GatewayRequest, ResponseWriter } from '../http/types.ts';

export const ACME_TLS_ALPN = 'acme-tls/1';
export const HTTP_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

export interface ChallengeSnapshot {
  readonly http: Array<{ token: string; domain: string; keyAuthorization: string }>;
  readonly tls: Array<{ domain: string; cert: string; key: string }>;
}

export class ChallengeStore {
  readonly #http = new Map<string, Map<string, string>>();
  readonly #tls = new Map<string, { cert: string; key: string; context?: SecureContext }>();
  readonly #listeners = new Set<() => void>();

  setHttp(token: string, domain: string, keyAuthorization: string): void {
    let byDomain = this.#http.get(token);
    if (byDomain === undefined) this.#http.set(token, (byDomain = new Map()));
    byDomain.set(domain.toLowerCase(), keyAuthorization);
    this.#changed();
  }

  deleteHttp(token: string, domain: string): void {
    const byDomain = this.#http.get(token);
    byDomain?.delete(domain.toLowerCase());
    if (byDomain?.size === 0) this.#http.delete(token);
    this.#changed();
  }

  setTls(domain: string, cert: string, key: string): void {
    this.#tls.set(domain.toLowerCase(), { cert, key });
    this.#changed();
  }

  deleteTls(domain: string): void {
    this.#tls.delete(domain.toLowerCase());
    this.#changed();
  }

  /** The key authorization for `token` on `domain`, as Traefik's getTokenValue looks it up. */
  httpKeyAuthorization(token: string, domain: string): string | undefined {
    return this.#http.get(token)?.get(domain.toLowerCase());
  }

  /** The TLS-ALPN-01 certificate's context for `servername`; undefined when no challenge is pending for it. */
  tlsContext(servername: string | undefined): SecureContext | undefined {
    if (servername === undefined) return undefined;
    const entry = this.#tls.get(servername.toLowerCase());
    if (entry === undefined) return undefined;
    entry.context ??= tls.createSecureContext({ cert: entry.cert, key: entry.key });
    return entry.context;
  }

  snapshot(): ChallengeSnapshot {
    const http: ChallengeSnapshot['http'][number][] = [];
    for (const [token, byDomain] of this.#http) for (const [domain, keyAuthorization] of byDomain) http.push({ token, domain, keyAuthorization });
    return { http, tls: [...this.#tls].map(([domain, { cert, key }]) => ({ domain, cert, key })) };
  }

  /** Replaces everything with `snapshot` (a cluster worker receiving the primary's state). */
  replace(snapshot: ChallengeSnapshot): void {
    this.#http.clear();
    this.#tls.clear();
    for (const c of snapshot.http) this.setHttp(c.token, c.domain, c.keyAuthorization);
    for (const c of snapshot.tls) this.setTls(c.domain, c.cert, c.key);
    this.#changed();
  }

  /** Called after every change (the cluster primary forwards the snapshot to its workers). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

/**
 * Answers a plain-HTTP request under `/.well-known/acme-challenge/` and returns true; false for any other request
 * (it goes on to routing). Traefik's getPathParam: exactly one path segment after the prefix, an optional `/`.
 */
export function answerHttpChallenge(store: ChallengeStore, req: GatewayRequest, rw: ResponseWriter): boolean {
  if (req.tls || !req.url.startsWith(HTTP_CHALLENGE_PREFIX)) return false;
  const query = req.url.indexOf('?');
  const path = query === -1 ? req.url : req.url.slice(0, query);
  const token = /^\/\.well-known\/acme-challenge\/([^/]+)\/?$/.exec(path)?.[1];
  const keyAuthorization = token === undefined ? undefined : store.httpKeyAuthorization(token, req.host);
  if (keyAuthorization === undefined) {
    rw.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    rw.end('404 page not found\n');
  } else {
    rw.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    rw.end(keyAuthorization);
  }
  return true;
}
