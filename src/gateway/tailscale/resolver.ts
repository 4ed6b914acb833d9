/**
 * One `certificatesResolvers.<name>.tailscale` (Traefik's pkg/provider/tailscale Provider, behaviour not code): holds
 * one certificate per Tailscale domain its routers ask for; a new configuration fetches the domains it lacks and drops
 * the ones no router asks for any more, and every day the held certificates due for renewal are fetched again. The
 * certificates go out whole, sorted by domain, through `onCertificates`.
 *
 * Where Meshgate goes further than Traefik: a domain whose fetch failed (tailscaled down or not yet up) is tried again
 * every minute instead of only at the next configuration change, its error is logged once — not at every attempt —
 * until it succeeds, and a renewal that fails keeps serving the certificate held.
 */
import type { Logger } from '../../lib/logger.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { checkPair, renewalDue, type HeldCertificate } from './certificate.ts';
import type { TailscaleDomains } from './domains.ts';
import { TailscaleErrors } from './errors.ts';
import { fetchCertPair } from './localapi.ts';

/** Traefik's renewal ticker. */
export const RENEW_CHECK_INTERVAL_MS = 24 * 3_600_000;
/** How soon a domain tailscaled could not give is asked for again. */
export const RETRY_INTERVAL_MS = 60_000;

export interface TailscaleResolverOptions {
  readonly name: string;
  readonly socket: string;
  readonly logger: Logger;
  readonly onCertificates: (certificates: readonly HeldCertificate[]) => void;
  /** The renewal clock (tests). */
  readonly now?: () => number;
}

export class TailscaleResolver {
  readonly name: string;
  readonly #socket: string;
  readonly #logger: Logger;
  readonly #onCertificates: (certificates: readonly HeldCertificate[]) => void;
  readonly #now: () => number;
  readonly #held = new Map<string, HeldCertificate>();
  readonly #failing = new Set<string>();
  readonly #refusedLogged = new Set<string>();
  readonly #abort = new AbortController();
  #wanted: readonly string[] = [];
  #queue: Promise<void> = Promise.resolve();
  #timers: NodeJS.Timeout[] = [];

  constructor(options: TailscaleResolverOptions) {
    this.name = options.name;
    this.#socket = options.socket;
    this.#logger = options.logger;
    this.#onCertificates = options.onCertificates;
    this.#now = options.now ?? Date.now;
  }

  /** Starts the renewal and retry timers. */
  start(): void {
    if (this.#timers.length > 0) return;
    this.#timers = [
      setInterval(() => void this.renew(), RENEW_CHECK_INTERVAL_MS).unref(),
      setInterval(() => void this.retry(), RETRY_INTERVAL_MS).unref(),
    ];
  }

  /** The certificates held now, sorted by domain. */
  certificates(): HeldCertificate[] {
    return [...this.#held.values()].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  }

  /** A new configuration's domains: fetch the new ones, drop the unused ones. */
  observe(request: TailscaleDomains): Promise<void> {
    return this.#serial(async () => {
      for (const domain of request.refused) {
        if (this.#refusedLogged.has(domain)) continue;
        this.#refusedLogged.add(domain);
        const err = TailscaleErrors.domain(this.name, domain);
        this.#logger.error({ code: err.code, domain }, err.message);
      }
      this.#wanted = request.domains;
      const wanted = new Set(request.domains);
      let changed = false;
      for (const domain of [...this.#held.keys()]) {
        if (!wanted.has(domain)) {
          this.#held.delete(domain);
          changed = true;
        }
      }
      for (const domain of [...this.#failing]) if (!wanted.has(domain)) this.#failing.delete(domain);
      for (const domain of request.domains) if (!this.#held.has(domain) && (await this.#fetch(domain))) changed = true;
      if (changed) this.#emit();
    });
  }

  /** The daily check: fetch again each certificate not valid 14 days from now; keep the held one when that fails. */
  renew(): Promise<void> {
    return this.#serial(async () => {
      let changed = false;
      for (const held of [...this.#held.values()]) {
        if (renewalDue(held, this.#now()) && (await this.#fetch(held.domain))) changed = true;
      }
      if (changed) this.#emit();
    });
  }

  /** Asks again for the wanted domains no certificate is held for. */
  retry(): Promise<void> {
    return this.#serial(async () => {
      let changed = false;
      for (const domain of this.#wanted) if (!this.#held.has(domain) && (await this.#fetch(domain))) changed = true;
      if (changed) this.#emit();
    });
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#abort.abort();
    await this.#queue;
  }

  /** One operation at a time, so a renewal never races a configuration change over the held set. */
  #serial(work: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(() => (this.#abort.signal.aborted ? undefined : work()));
    this.#queue = next.catch((err: unknown) => this.#logger.error({ err }, 'tailscale resolver step failed'));
    return this.#queue;
  }

  /** Fetches one domain; true when the held certificate changed. A failure is logged once per domain until it clears. */
  async #fetch(domain: string): Promise<boolean> {
    let held: HeldCertificate;
    try {
      const checked = checkPair(domain, await fetchCertPair({ resolver: this.name, socket: this.#socket }, domain, this.#abort.signal));
      if ('problem' in checked) throw TailscaleErrors.fetch(this.name, domain, this.#socket, checked.problem);
      held = checked;
    } catch (cause) {
      if (this.#abort.signal.aborted) return false;
      if (!this.#failing.has(domain)) {
        this.#failing.add(domain);
        const err = isMeshgateError(cause) ? cause : TailscaleErrors.fetch(this.name, domain, this.#socket, String(cause));
        this.#logger.error({ code: err.code, domain }, err.message);
      }
      return false;
    }
    if (this.#failing.delete(domain)) this.#logger.info({ domain }, 'tailscale certificate fetched after earlier failures');
    else this.#logger.debug({ domain }, 'tailscale certificate fetched');
    const before = this.#held.get(domain);
    // The domain may have left the configuration while tailscaled answered.
    if (!this.#wanted.includes(domain)) return false;
    this.#held.set(domain, held);
    return before === undefined || before.certPem !== held.certPem || before.keyPem !== held.keyPem;
  }

  #emit(): void {
    this.#onCertificates(this.certificates());
  }
}
