/**
 * One `certificatesResolvers.<name>.acme` (Traefik's pkg/provider/acme Provider, behaviour not code): keeps the
 * account and certificates in its storage, orders a certificate for each domain set the routers ask for that no
 * certificate of its own covers yet, answers the CA's challenges through the gateway's ChallengeStore, renews
 * certificates as their end nears (renewal.ts; the clock is injectable), and hands every change of its certificates
 * to `onCertificates` — the ACME provider emits them as `tls.certificates`, so they serve by SNI at once. Orders run
 * under the storage's issuance lock and re-read the storage first: a certificate another replica ordered meanwhile
 * is adopted, never ordered again.
 */
import https from 'node:https';
import tls from 'node:tls';
import * as acme from 'acme-client';
import { readFileOrContent } from '../entrypoints/tls-options.ts';
import type { Logger } from '../../lib/logger.ts';
import type { AcmeConfig } from './schema.ts';
import type { ChallengeStore } from './challenges.ts';
import { AcmeErrors } from './errors.ts';
import { renewalDue } from './renewal.ts';
import type { AcmeStorage, SharedChallenge } from './storage.ts';
import {
  accountKeyPem, accountKeyStored, domainNames, issuedFrom, sameDomain, storedFrom,
  type AcmeDomain, type IssuedCertificate, type StoredAccount, type StoredData,
} from './stored.ts';

export interface AcmeResolverOptions {
  readonly name: string;
  readonly config: AcmeConfig;
  readonly storage: AcmeStorage;
  readonly challenges: ChallengeStore;
  readonly logger: Logger;
  /** The renewal scheduler's clock (ms since the epoch); tests move it instead of waiting. */
  readonly now?: () => number;
  onCertificates(certificates: readonly IssuedCertificate[]): void;
}

/** How long a domain set whose order failed waits before the next configuration may try it again. */
const RETRY_AFTER_FAILURE_MS = 60_000;

/** lego's certcrypto.KeyType names, as acme.json stores them. */
const LEGO_KEY_TYPES: Record<AcmeConfig['keyType'], string> = { EC256: 'P256', EC384: 'P384', RSA2048: '2048', RSA4096: '4096', RSA8192: '8192' };

export class AcmeResolver {
  readonly name: string;
  /** Orders placed by this resolver (each a new order at the CA), for metrics and tests. */
  orders = 0;
  readonly #options: AcmeResolverOptions;
  readonly #now: () => number;
  #account: StoredAccount | null = null;
  #certificates: IssuedCertificate[] = [];
  #client: acme.Client | undefined;
  readonly #inFlight = new Map<string, Promise<IssuedCertificate | undefined>>();
  readonly #failedAt = new Map<string, number>();
  /** Challenges this replica serves because the KV shares them (id → challenge). */
  readonly #shared = new Map<string, SharedChallenge>();
  #timer: NodeJS.Timeout | undefined;
  /** What the latest configuration asks for, and the timer that asks again after a failed order. */
  #wanted: readonly AcmeDomain[] = [];
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #abort = new AbortController();

  constructor(options: AcmeResolverOptions) {
    this.name = options.name;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get certificates(): readonly IssuedCertificate[] {
    return this.#certificates;
  }

  /** Loads the storage, follows other replicas' changes (KV), and schedules the renewal checks. */
  async start(): Promise<void> {
    this.#adopt(await this.#options.storage.load());
    this.#options.storage.watch?.((data, challenges) => {
      this.#adopt(data);
      this.#serveShared(challenges);
    }, this.#abort.signal);
    this.#schedule(0);
  }

  /** Orders what `domains` need and no certificate of this resolver covers; returns when those orders end. */
  async request(domains: readonly AcmeDomain[]): Promise<void> {
    this.#wanted = domains;
    const pending: Array<Promise<unknown>> = [];
    for (const domain of domains) {
      if (this.#covering(domain) !== undefined) continue;
      const key = domainNames(domain).join(',');
      const failed = this.#failedAt.get(key);
      if (failed !== undefined && Date.now() - failed < RETRY_AFTER_FAILURE_MS) continue;
      pending.push(this.#obtain(domain, false));
    }
    await Promise.all(pending);
  }

  /** Renews every certificate due at the clock's now; resolves with the time until the next check. */
  async checkRenewals(): Promise<number> {
    let next = Number.POSITIVE_INFINITY;
    for (const cert of [...this.#certificates]) {
      const { due, nextCheckMs } = renewalDue(cert.notBefore, cert.notAfter, this.#now());
      next = Math.min(next, nextCheckMs);
      if (due) await this.#obtain(cert.domain, true);
    }
    return Number.isFinite(next) ? next : 24 * 3_600_000;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    clearTimeout(this.#timer);
    clearTimeout(this.#retry);
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.checkRenewals().then((next) => this.#schedule(next), (err: unknown) => {
        this.#options.logger.error({ resolver: this.name, err }, 'ACME renewal check failed');
        this.#schedule(60_000);
      });
    }, Math.min(delayMs, 2 ** 31 - 1));
    this.#timer.unref();
  }

  /** A certificate of this resolver whose domain record names every name `domain` asks for. */
  #covering(domain: AcmeDomain): IssuedCertificate | undefined {
    const wanted = domainNames(domain);
    return this.#certificates.find((c) => {
      const names = new Set(domainNames(c.domain));
      return wanted.every((n) => names.has(n));
    });
  }

  /** Takes the stored account and certificates; tells the gateway when the certificates changed. */
  #adopt(data: StoredData): void {
    if (data.Account) this.#account = data.Account;
    const next = (data.Certificates ?? []).flatMap((c) => issuedFrom(c) ?? []);
    const before = this.#certificates.map((c) => c.stored.certificate).join('|');
    this.#certificates = next;
    if (next.map((c) => c.stored.certificate).join('|') !== before) this.#options.onCertificates(next);
  }

  #obtain(domain: AcmeDomain, renewal: boolean): Promise<IssuedCertificate | undefined> {
    // A renewal never joins a first order still waiting for the lock: that one would only adopt what is stored.
    const key = `${renewal ? 'renew:' : ''}${domainNames(domain).join(',')}`;
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const { logger, storage } = this.#options;
    const work = storage.withLock(async () => {
      // Another replica (or an earlier order here) may have stored it while this one waited for the lock.
      this.#adopt(await storage.load());
      const current = this.#certificates.find((c) => sameDomain(c.domain, domain)) ?? (renewal ? undefined : this.#covering(domain));
      if (current !== undefined && !(renewal && renewalDue(current.notBefore, current.notAfter, this.#now()).due)) return current;
      if (this.#closed) return undefined;
      const issued = await this.#order(domain);
      const others = this.#certificates.filter((c) => !sameDomain(c.domain, domain)).map((c) => c.stored);
      await storage.saveCertificates([...others, issued.stored]);
      this.#adopt({ Account: this.#account, Certificates: [...others, issued.stored] });
      logger.info({ resolver: this.name, domains: domainNames(domain), notAfter: new Date(issued.notAfter).toISOString() }, renewal ? 'ACME certificate renewed' : 'ACME certificate obtained');
      return issued;
    }).then((issued) => {
      this.#failedAt.delete(key);
      return issued;
    }, (err: unknown) => {
      this.#failedAt.set(key, Date.now());
      // Without it a failed order (CA down at start) would wait for the next configuration change.
      if (!renewal && this.#retry === undefined && !this.#closed) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          void this.request(this.#wanted);
        }, RETRY_AFTER_FAILURE_MS + 1_000);
        this.#retry.unref();
      }
      logger.error({ resolver: this.name, domains: domainNames(domain), err: (err as Error).message }, 'unable to obtain an ACME certificate');
      return undefined;
    }).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, work);
    return work;
  }

  async #order(domain: AcmeDomain): Promise<IssuedCertificate> {
    const { config } = this.#options;
    const names = domainNames(domain);
    for (const name of names) {
      if (name.includes('*')) throw AcmeErrors.domain(this.name, name, 'a wildcard certificate needs dnsChallenge, which meshgate does not support');
    }
    const client = await this.#acmeClient();
    const keyPem = await certificateKey(config.keyType);
    const [, csr] = await acme.crypto.createCsr({ commonName: names[0]!, altNames: names }, keyPem);
    const challengePriority = [...(config.httpChallenge ? ['http-01'] : []), ...(config.tlsChallenge ? ['tls-alpn-01'] : [])];
    this.orders++;
    let certPem: string;
    try {
      certPem = await client.auto({
        csr,
        challengePriority,
        // acme-client's own pre-check dials port 80/443 of the name; the CA's validation is the one that counts.
        skipChallengeVerification: true,
        termsOfServiceAgreed: true,
        ...(config.email ? { email: config.email } : {}),
        ...(config.preferredChain ? { preferredChain: config.preferredChain } : {}),
        challengeCreateFn: (authz, challenge, keyAuthorization) => this.#present(authz, challenge, keyAuthorization),
        challengeRemoveFn: (authz, challenge) => this.#cleanUp(authz, challenge),
      });
    } catch (err) {
      throw AcmeErrors.order(this.name, names.join(','), (err as Error).message);
    }
    const stored = storedFrom(domain, certPem, keyPem.toString());
    const issued = issuedFrom(stored);
    if (issued === undefined) throw AcmeErrors.order(this.name, names.join(','), 'the CA returned a certificate that does not parse');
    return issued;
  }

  async #present(authz: acme.Authorization, challenge: { type: string; token: string }, keyAuthorization: string): Promise<void> {
    const domain = authz.identifier.value.toLowerCase();
    const shared = this.#options.storage.shareChallenge;
    let answer: SharedChallenge;
    if (challenge.type === 'http-01') {
      answer = { type: 'http-01', token: challenge.token, domain, keyAuthorization };
    } else if (challenge.type === 'tls-alpn-01') {
      const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
      answer = { type: 'tls-alpn-01', domain, cert: cert.toString(), key: key.toString() };
    } else {
      throw new Error(`challenge ${challenge.type} is not supported by meshgate`);
    }
    if (shared !== undefined) await shared.call(this.#options.storage, challengeId(answer), answer);
    else serve(this.#options.challenges, answer, true);
    const delay = answer.type === 'http-01' ? this.#options.config.httpChallenge?.delay : undefined;
    if (delay !== undefined && delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  }

  async #cleanUp(authz: acme.Authorization, challenge: { type: string; token: string }): Promise<void> {
    const domain = authz.identifier.value.toLowerCase();
    const answer: SharedChallenge = challenge.type === 'http-01'
      ? { type: 'http-01', token: challenge.token, domain, keyAuthorization: '' }
      : { type: 'tls-alpn-01', domain, cert: '', key: '' };
    const unshare = this.#options.storage.unshareChallenge;
    if (unshare !== undefined) await unshare.call(this.#options.storage, challengeId(answer));
    else serve(this.#options.challenges, answer, false);
  }

  /** Serves exactly the challenges the KV shares now. */
  #serveShared(challenges: readonly SharedChallenge[]): void {
    const now = new Map(challenges.map((c) => [challengeId(c), c]));
    for (const [id, c] of this.#shared) if (!now.has(id)) serve(this.#options.challenges, c, false);
    for (const [id, c] of now) if (!this.#shared.has(id)) serve(this.#options.challenges, c, true);
    this.#shared.clear();
    for (const [id, c] of now) this.#shared.set(id, c);
  }

  /** The CA client with this resolver's account, registering it first when the storage has none for this CA. */
  async #acmeClient(): Promise<acme.Client> {
    if (this.#client !== undefined) return this.#client;
    const { config, storage, logger } = this.#options;
    let account = this.#account;
    // Traefik resets an account registered with another CA (isAccountMatchingCaServer compares host names).
    if (account?.Registration && !sameHost(account.Registration.uri, config.caServer)) {
      logger.info({ resolver: this.name }, 'the stored ACME account belongs to another CA server; registering a new one');
      account = null;
    }
    if (config.caCertificates && config.caCertificates.length > 0) trustCaCertificates(config.caCertificates);
    const keyPem = account ? accountKeyPem(account) : (await acme.crypto.createPrivateRsaKey(4096)).toString();
    const client = new acme.Client({
      directoryUrl: config.caServer,
      accountKey: keyPem,
      ...(account?.Registration ? { accountUrl: account.Registration.uri } : {}),
      ...(config.eab ? { externalAccountBinding: { kid: config.eab.kid, hmacKey: config.eab.hmacEncoded } } : {}),
    });
    if (!account?.Registration) {
      let body: Record<string, unknown>;
      try {
        body = await client.createAccount({ termsOfServiceAgreed: true, ...(config.email ? { contact: [`mailto:${config.email}`] } : {}) }) as unknown as Record<string, unknown>;
      } catch (err) {
        throw AcmeErrors.order(this.name, '(account)', `registration refused: ${(err as Error).message}`);
      }
      account = {
        Email: config.email,
        Registration: { body, uri: client.getAccountUrl() },
        PrivateKey: accountKeyStored(keyPem),
        KeyType: LEGO_KEY_TYPES[config.keyType],
      };
      await storage.saveAccount(account);
      this.#account = account;
    }
    this.#client = client;
    return client;
  }
}

/**
 * acme-client talks to every CA through one axios instance: its HTTPS agent trusts the system's roots plus every
 * resolver's `caCertificates` (a private CA such as pebble's, or an internal step-ca).
 */
const trusted = new Set<string>();
function trustCaCertificates(files: readonly string[]): void {
  for (const file of files) trusted.add(readFileOrContent(file, 'caCertificates'));
  acme.axios.defaults.httpsAgent = new https.Agent({ ca: [...tls.rootCertificates, ...trusted], keepAlive: true });
}

function challengeId(c: SharedChallenge): string {
  return c.type === 'http-01' ? `http-01.${c.token}.${c.domain}` : `tls-alpn-01.${c.domain}`;
}

function serve(store: ChallengeStore, c: SharedChallenge, on: boolean): void {
  if (c.type === 'http-01') {
    if (on) store.setHttp(c.token, c.domain, c.keyAuthorization);
    else store.deleteHttp(c.token, c.domain);
  } else if (on) {
    store.setTls(c.domain, c.cert, c.key);
  } else {
    store.deleteTls(c.domain);
  }
}

function sameHost(a: string, b: string): boolean {
  try {
    return new URL(a).hostname === new URL(b).hostname;
  } catch {
    return false;
  }
}

async function certificateKey(keyType: AcmeConfig['keyType']): Promise<Buffer> {
  if (keyType === 'EC256') return acme.crypto.createPrivateEcdsaKey('P-256');
  if (keyType === 'EC384') return acme.crypto.createPrivateEcdsaKey('P-384');
  return acme.crypto.createPrivateRsaKey(Number(keyType.slice(3)));
}
