/**
 * OCSP stapling, Traefik's static `ocsp` section (install-configuration/tls/ocsp.md; pkg/tls/ocsp.go — behaviour,
 * not code). Every certificate of the store that names an OCSP responder (its Authority Information Access, or the
 * `responderOverrides` entry for that URL), the default certificate included, has its status fetched when the
 * configuration brings it, then again every hour until a good answer arrives, and from then on at the halfway
 * point between the answer's thisUpdate and nextUpdate. Only a `good` answer that does not outlive the certificate
 * is stapled — a client asking for the status (status_request) gets it in the handshake, answered from memory,
 * never waiting for the responder. Answers live in memory only; a certificate no longer in the configuration keeps
 * its entry for 24 hours, in case it comes back.
 *
 * One difference from Traefik: Traefik keeps stapling the last good answer when a newer one says `revoked`
 * (its "@todo check revocation status"); here a revoked certificate stops being stapled.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { Logger } from '../../lib/logger.ts';
import { ocspRequest, parseOcspResponse } from './ocsp-der.ts';

export interface OcspConfig {
  /** Responder URL as the certificate names it → the URL to ask instead. */
  readonly responderOverrides?: Readonly<Record<string, string>>;
}

export interface OcspStaplerOptions {
  readonly config: OcspConfig;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How long one responder request may take. */
  readonly timeoutMs?: number;
}

const HOUR = 3_600_000;
/** How long an answer is kept for a certificate the configuration no longer has (Traefik's cache TTL). */
const UNUSED_TTL = 24 * HOUR;
const MAX_RESPONSE_BYTES = 1 << 20;

interface Entry {
  readonly name: string;
  readonly leaf: Buffer;
  readonly issuer: Buffer;
  readonly notAfter: number;
  readonly responder: string | undefined;
  staple: Buffer | undefined;
  /** The staple's nextUpdate: past it, the answer is stale and no longer stapled. */
  expires: number;
  /** When to ask the responder again. */
  due: number;
  inflight: Promise<void> | undefined;
  unusedSince: number | undefined;
}

/** The DER certificates of a PEM chain, leaf first. */
function pemChain(pem: string): Buffer[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

export class OcspStapler {
  readonly #options: OcspStaplerOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: OcspStaplerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => this.#tick(), HOUR);
    this.#timer.unref();
  }

  /**
   * The certificates the current configuration serves (PEM chains, leaf first; the issuer is the next certificate,
   * or the leaf itself, as Traefik's parseCertificate takes it). New ones are fetched now; missing ones start their TTL.
   */
  watch(chains: Iterable<string>): void {
    const seen = new Set<string>();
    for (const pem of chains) {
      const [leaf, issuer] = pemChain(pem);
      if (leaf === undefined) continue;
      const entry = this.#entry(leaf, issuer ?? leaf);
      if (entry === undefined) continue;
      seen.add(entry.name);
      entry.unusedSince = undefined;
      this.#refreshIfDue(entry);
    }
    for (const [key, entry] of this.#entries) if (!seen.has(key) && entry.unusedSince === undefined) entry.unusedSince = this.#now();
  }

  /** node's tls.Server 'OCSPRequest' listener: the stapled answer for the certificate the handshake presents, if any. */
  readonly onRequest = (certificate: Buffer, issuer: Buffer | null, callback: (err: Error | null, response?: Buffer | null) => void): void => {
    const entry = this.#entry(certificate, issuer ?? certificate);
    if (entry !== undefined) this.#refreshIfDue(entry);
    callback(null, entry !== undefined && this.#now() < entry.expires ? entry.staple ?? null : null);
  };

  close(): void {
    clearInterval(this.#timer);
  }

  /** Resolves once every fetch started so far has finished (tests and shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.#entries.values()].flatMap((e) => (e.inflight !== undefined ? [e.inflight] : [])));
  }

  #entry(leaf: Buffer, issuer: Buffer): Entry | undefined {
    const name = createHash('sha256').update(leaf).digest('hex');
    const existing = this.#entries.get(name);
    if (existing !== undefined) return existing;
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(leaf);
    } catch {
      return undefined;
    }
    // infoAccess lines read "OCSP - URI:http://…"; Traefik asks the first responder the certificate names.
    const named = /^OCSP - URI:(.+)$/m.exec(x509.infoAccess ?? '')?.[1]?.trim();
    const responder = named === undefined ? undefined : this.#options.config.responderOverrides?.[named] ?? named;
    const entry: Entry = {
      name, leaf, issuer, notAfter: new Date(x509.validTo).getTime(), responder, staple: undefined, expires: 0, due: 0, inflight: undefined, unusedSince: undefined,
    };
    this.#entries.set(name, entry);
    return entry;
  }

  #refreshIfDue(entry: Entry): void {
    if (entry.responder === undefined || entry.inflight !== undefined || this.#now() < entry.due) return;
    entry.inflight = this.#fetch(entry).finally(() => {
      entry.inflight = undefined;
    });
  }

  async #fetch(entry: Entry): Promise<void> {
    const { logger } = this.#options;
    try {
      const res = await fetch(entry.responder!, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: ocspRequest(entry.leaf, entry.issuer),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
      });
      if (res.status < 200 || res.status > 299) throw new Error(`responder answered HTTP ${res.status}`);
      const body = Buffer.from(await res.arrayBuffer());
      if (body.length > MAX_RESPONSE_BYTES) throw new Error('response larger than 1 MiB');
      const answer = parseOcspResponse(body, entry.leaf, entry.issuer);
      if (answer.status !== 'good') {
        entry.staple = undefined;
        entry.due = this.#now() + HOUR;
        logger.info({ responder: entry.responder, status: answer.status }, 'OCSP: certificate not good, not stapled');
        return;
      }
      if (answer.nextUpdate !== undefined && answer.nextUpdate.getTime() > entry.notAfter) {
        throw new Error('OCSP response valid after the certificate\'s expiry');
      }
      entry.staple = body;
      entry.expires = answer.nextUpdate?.getTime() ?? entry.notAfter;
      const thisUpdate = answer.thisUpdate.getTime();
      const next = answer.nextUpdate?.getTime();
      entry.due = next === undefined ? this.#now() + HOUR : thisUpdate + (next - thisUpdate) / 2;
    } catch (err) {
      // Traefik: "no OCSP stapling for <CN>", tried again at the next hourly check; a staple still valid stays.
      entry.due = this.#now() + HOUR;
      logger.debug({ responder: entry.responder, err: (err as Error).message }, 'OCSP: no stapling for this certificate');
    }
  }

  #tick(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.unusedSince !== undefined && now - entry.unusedSince > UNUSED_TTL) this.#entries.delete(key);
      else if (entry.unusedSince === undefined) this.#refreshIfDue(entry);
    }
  }
}
