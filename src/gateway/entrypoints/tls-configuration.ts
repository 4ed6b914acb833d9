/**
 * The TLS side of one built configuration (Traefik's pkg/tls Manager): the default store's certificates indexed by
 * the names they carry, the store's default certificate (configured, else the generated TRAEFIK DEFAULT CERT), every
 * option set resolved once (or the error that disables the routers using it), and which option set each entry point
 * gives each host — from the Host rules of the routers that name it. Secure contexts are built lazily per
 * (option set, certificate) pair and handed on to the next configuration when both are unchanged, so a reload
 * rebuilds only what it changed. Immutable once the runtime publishes it; entry points swap to a new one atomically.
 */
import { createHash, X509Certificate } from 'node:crypto';
import tls, { type SecureContext } from 'node:tls';
import { readFileOrContent, resolveTlsOptions, type ResolvedTlsOptions, type TlsOptionsConfig } from './tls-options.ts';
import { madeTraefikDefaultCertificate, traefikDefaultCertificate } from './default-certificate.ts';

export const DEFAULT_TLS_OPTIONS = 'default';
export const DEFAULT_TLS_STORE = 'default';
/** What an entry point speaks over TLS: HTTP/2 (to the entry point's h2 sessions) and HTTP/1.1. */
export const SERVED_ALPN = ['h2', 'http/1.1'] as const;

export interface TlsCertificateInput {
  certFile: string;
  keyFile: string;
  stores?: string[];
}

/** The dynamic configuration's `tls` section, as validated by config/dynamic.ts. */
export interface TlsInput {
  certificates: TlsCertificateInput[];
  options: Record<string, unknown>;
  stores: Record<string, unknown>;
}

/** `tls.stores.default` as validated by config/dynamic.ts. */
interface DefaultStoreInput {
  defaultCertificate?: { certFile: string; keyFile: string };
  defaultGeneratedCert?: { resolver: string; domain: { main: string; sans?: string[] } };
}

export interface StoredCertificate {
  /** Hash of certificate and key: the identity contexts are cached under. */
  readonly id: string;
  readonly cert: string;
  readonly key: string;
  readonly names: readonly string[];
}

export class TlsConfiguration {
  /** Problems that did not stop the configuration (an unreadable certificate is skipped, as Traefik does). */
  readonly problems: string[] = [];
  /**
   * The store's default certificate — its `defaultCertificate`, or the issued certificate `defaultGeneratedCert`
   * names; undefined: the generated TRAEFIK DEFAULT CERT (made on first need).
   */
  readonly #configuredDefault: StoredCertificate | undefined;
  /** The store's certificates, one per distinct name list (Traefik keys its store map by the sorted domains; first wins). */
  readonly #stored = new Map<string, StoredCertificate>();
  readonly #exact = new Map<string, StoredCertificate>();
  readonly #wildcard = new Map<string, StoredCertificate>();
  readonly #options = new Map<string, ResolvedTlsOptions | Error>();
  readonly #hostOptions = new Map<string, Map<string, string>>();
  readonly #contexts: Map<string, SecureContext>;

  constructor(input: TlsInput, previous?: TlsConfiguration, servedProtocols: readonly string[] = SERVED_ALPN) {
    const certificates: StoredCertificate[] = [];
    input.certificates.forEach((c, i) => {
      const stores = c.stores && c.stores.length > 0 ? c.stores : [DEFAULT_TLS_STORE];
      if (!stores.includes(DEFAULT_TLS_STORE)) {
        this.problems.push(`tls.certificates[${i}]: only the "default" store is used (Traefik v3); stores ${stores.join(', ')} ignored`);
        return;
      }
      try {
        certificates.push(loadCertificate(c.certFile, c.keyFile, `tls.certificates[${i}]`));
      } catch (err) {
        this.problems.push((err as Error).message);
      }
    });
    for (const cert of certificates) {
      const key = [...cert.names].sort().join(',');
      if (!this.#stored.has(key)) this.#stored.set(key, cert);
      for (const name of cert.names) {
        if (name.startsWith('*.')) { if (!this.#wildcard.has(name.slice(2))) this.#wildcard.set(name.slice(2), cert); }
        else if (!this.#exact.has(name)) this.#exact.set(name, cert);
      }
    }
    for (const name of Object.keys(input.stores)) {
      if (name !== DEFAULT_TLS_STORE) this.problems.push(`tls.stores.${name}: only the "default" store is used (Traefik v3); ignored`);
    }
    const store = input.stores[DEFAULT_TLS_STORE] as DefaultStoreInput | undefined;
    const configured = store?.defaultCertificate;
    let fallback: StoredCertificate | undefined;
    if (configured) {
      try {
        fallback = loadCertificate(configured.certFile, configured.keyFile, 'tls.stores.default.defaultCertificate');
      } catch (err) {
        this.problems.push(`${(err as Error).message}; serving the generated default certificate`);
      }
    } else if (store?.defaultGeneratedCert !== undefined) {
      // Traefik's getDefaultCertificate: the store's certificate for the domain the resolver was asked for
      // (acme/domains.ts), once issued; until then the generated one.
      const { resolver, domain } = store.defaultGeneratedCert;
      const names = [domain.main, ...(domain.sans ?? [])].map((n) => n.trim().toLowerCase());
      fallback = certificates.find((c) => names.every((n) => c.names.includes(n)));
      if (fallback === undefined) {
        this.problems.push(`tls.stores.default.defaultGeneratedCert: no certificate for ${names.join(',')} from resolver ${resolver} yet; serving the generated default certificate`);
      }
    }
    this.#configuredDefault = fallback;

    for (const [name, raw] of Object.entries(input.options)) {
      try {
        this.#options.set(name, resolveTlsOptions(name, (raw ?? {}) as TlsOptionsConfig, servedProtocols));
      } catch (err) {
        this.#options.set(name, err as Error);
      }
    }
    // Traefik's implicit `default` option set when the configuration defines none.
    if (!this.#options.has(DEFAULT_TLS_OPTIONS)) this.#options.set(DEFAULT_TLS_OPTIONS, resolveTlsOptions(DEFAULT_TLS_OPTIONS, {}, servedProtocols));

    // Hand on the contexts whose option set and certificate both survive.
    this.#contexts = new Map();
    if (previous) {
      const optionKeys = new Set([...this.#options.values()].flatMap((o) => (o instanceof Error ? [] : [o.key])));
      const certIds = new Set([this.defaultCertificateId, ...certificates.map((c) => c.id)]);
      for (const [key, context] of previous.#contexts) {
        const [optionKey, certId] = key.split('/') as [string, string];
        if (optionKeys.has(optionKey) && certIds.has(certId)) this.#contexts.set(key, context);
      }
    }
  }

  /** A configuration with certificates only (the first is the default), for entry points used without a runtime. */
  static fromCertificates(files: Array<{ certFile: string; keyFile: string }>, previous?: TlsConfiguration): TlsConfiguration {
    const stores = files.length > 0 ? { [DEFAULT_TLS_STORE]: { defaultCertificate: files[0] } } : {};
    return new TlsConfiguration({ certificates: files, options: {}, stores }, previous);
  }

  /**
   * The certificate served when none matches the SNI: the store's configured one, else the TRAEFIK DEFAULT CERT,
   * which must have been made first (`prepare()`): a handshake awaits that, a configuration never does.
   */
  get defaultCertificate(): StoredCertificate {
    if (this.#configuredDefault !== undefined) return this.#configuredDefault;
    const made = madeTraefikDefaultCertificate();
    if (made === undefined) throw new Error('the generated default certificate is not made yet: await prepare() first');
    return generatedCertificate(made);
  }

  /** The default certificate's identity, known before it is made (the generated one is one per process). */
  get defaultCertificateId(): string {
    return this.#configuredDefault?.id ?? GENERATED_DEFAULT_ID;
  }

  /** Undefined when `defaultCertificate` can be read now; else a promise settled once it can. */
  prepare(): Promise<unknown> | undefined {
    if (this.#configuredDefault !== undefined || madeTraefikDefaultCertificate() !== undefined) return undefined;
    return traefikDefaultCertificate();
  }

  /** Why routers naming `name` cannot serve: the option set is unknown or broken; undefined when it is usable. */
  optionsError(name: string): string | undefined {
    const got = this.#options.get(name);
    if (got === undefined) return `unknown TLS options: ${name}`;
    return got instanceof Error ? got.message : undefined;
  }

  /** Whether an option set with this resolved key is usable here (a handshaker built for it may be kept). */
  hasOptionsKey(key: string): boolean {
    for (const o of this.#options.values()) if (!(o instanceof Error) && o.key === key) return true;
    return false;
  }

  /** Errors of option sets, by name (including those no router uses), for the log. */
  optionErrors(): Array<[string, string]> {
    return [...this.#options].flatMap(([name, o]) => (o instanceof Error ? [[name, o.message] as [string, string]] : []));
  }

  /** Which option set each host gets on `entryPoint` (lower-case hosts → usable option set names). */
  setHostOptions(entryPoint: string, hosts: Map<string, string>): void {
    this.#hostOptions.set(entryPoint, hosts);
  }

  /** Whether any HTTPS router names a host on `entryPoint`. */
  hasAnyHost(entryPoint: string): boolean {
    return (this.#hostOptions.get(entryPoint)?.size ?? 0) > 0;
  }

  /** A usable option set by its (qualified) name; undefined when unknown or broken. */
  optionsByName(name: string): ResolvedTlsOptions | undefined {
    const got = this.#options.get(name);
    return got === undefined || got instanceof Error ? undefined : got;
  }

  /** Whether an HTTPS router names `servername` in a Host rule on `entryPoint` (it then wins over TCP HostSNI routers). */
  hasHost(entryPoint: string, servername: string | undefined): boolean {
    return servername !== undefined && this.#hostOptions.get(entryPoint)?.has(servername) === true;
  }

  /** The option set a handshake for `servername` gets on `entryPoint`: its host's, else `default`. */
  optionsFor(entryPoint: string, servername: string | undefined): ResolvedTlsOptions {
    const name = servername === undefined ? undefined : this.#hostOptions.get(entryPoint)?.get(servername);
    const chosen = name === undefined ? undefined : this.#options.get(name);
    if (chosen !== undefined && !(chosen instanceof Error)) return chosen;
    const fallback = this.#options.get(DEFAULT_TLS_OPTIONS);
    // A broken `default` still needs an answer for the handshake: Traefik serves an empty tls.Config then.
    return fallback instanceof Error || fallback === undefined ? resolveTlsOptions(DEFAULT_TLS_OPTIONS, {}, SERVED_ALPN) : fallback;
  }

  /** Every certificate served: the store's and the default one (OCSP stapling fetches each one's status). */
  certificates(): StoredCertificate[] {
    // The generated TRAEFIK DEFAULT CERT only once made (it names no OCSP responder anyway).
    const made = madeTraefikDefaultCertificate();
    const fallback = this.#configuredDefault ?? (made !== undefined ? generatedCertificate(made) : undefined);
    return [...new Set([...this.#exact.values(), ...this.#wildcard.values(), ...(fallback !== undefined ? [fallback] : [])])];
  }

  /**
   * What Traefik's expiry gauge lists (pkg/tls Manager.GetServerCertificates): every certificate of the default store,
   * even one whose names another serves first, and the configured default certificate — never the generated one.
   */
  storeCertificates(): StoredCertificate[] {
    return [...new Set([...this.#stored.values(), ...(this.#configuredDefault !== undefined ? [this.#configuredDefault] : [])])];
  }

  /** The certificate whose names match `servername` (exact, then one-label wildcard); undefined when none does. */
  certificateFor(servername: string | undefined): StoredCertificate | undefined {
    if (servername === undefined || servername === '') return undefined;
    const name = servername.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot === -1 ? undefined : this.#wildcard.get(name.slice(dot + 1));
  }

  /** The secure context for one (option set, certificate) pair, built on first use and then cached. */
  contextFor(options: ResolvedTlsOptions, certificate: StoredCertificate): SecureContext {
    const key = `${options.key}/${certificate.id}`;
    let context = this.#contexts.get(key);
    if (context === undefined) {
      context = tls.createSecureContext({ ...contextOptions(options), cert: certificate.cert, key: certificate.key });
      this.#contexts.set(key, context);
    }
    return context;
  }
}

/** The option set's part of a secure context (and of a tls.Server's options). */
export function contextOptions(options: ResolvedTlsOptions): tls.SecureContextOptions {
  return {
    minVersion: options.minVersion,
    maxVersion: options.maxVersion,
    ...(options.ciphers !== undefined ? { ciphers: options.ciphers } : {}),
    ...(options.ecdhCurve !== undefined ? { ecdhCurve: options.ecdhCurve } : {}),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    // On the handshaking server (its SSL objects take their options from it) and on every SNI context alike.
    ...(options.secureOptions !== 0 ? { secureOptions: options.secureOptions } : {}),
  };
}

function loadCertificate(certFile: string, keyFile: string, field: string): StoredCertificate {
  const cert = readFileOrContent(certFile, `${field}.certFile`);
  const key = readFileOrContent(keyFile, `${field}.keyFile`);
  let names: string[];
  try {
    names = certificateNames(cert);
    // Proves the pair before a handshake would find out.
    tls.createSecureContext({ cert, key });
  } catch (err) {
    const source = certFile.includes('-----BEGIN ') ? '(inline)' : certFile;
    throw new Error(`${field}: unable to load the certificate ${source}: ${(err as Error).message}`, { cause: err });
  }
  return { id: createHash('sha256').update(cert).update('\0').update(key).digest('hex'), cert, key, names };
}

/** The identity secure contexts with the generated default certificate are cached under (one per process). */
const GENERATED_DEFAULT_ID = 'TRAEFIK DEFAULT CERT';
let generated: StoredCertificate | undefined;

function generatedCertificate(made: { cert: string; key: string }): StoredCertificate {
  generated ??= { id: GENERATED_DEFAULT_ID, cert: made.cert, key: made.key, names: [] };
  return generated;
}

/** DNS names a certificate serves: its DNS SANs, else its CN; lower-case. */
function certificateNames(pem: string): string[] {
  const x509 = new X509Certificate(pem);
  const names: string[] = [];
  for (const part of (x509.subjectAltName ?? '').split(',')) {
    const entry = part.trim();
    if (entry.startsWith('DNS:')) names.push(entry.slice(4).toLowerCase());
  }
  if (names.length === 0) {
    const cn = /CN=([^\n,]+)/.exec(x509.subject);
    if (cn) names.push(cn[1]!.trim().toLowerCase());
  }
  return names;
}
