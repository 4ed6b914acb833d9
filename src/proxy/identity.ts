/**
 * The proxy's mTLS identity: its service's leaf certificate and the CA roots, each followed by a blocking query, turned
 * into Node `SecureContext`s. A new leaf or a root change builds new contexts; listeners and dialers read `current()`
 * for each new connection, so established connections keep the context they were made with (no connection drops on
 * rotation). The leaf is presented with the active root's intermediates — during a root rotation that is the new root
 * cross-signed by the old one, so peers that still trust only the old root verify the new leaf.
 */
import { EventEmitter } from 'node:events';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { ConsulClient } from '../api/client.ts';
import type { CARootList, LeafCert } from '../api/types.ts';
import type { Logger } from '../lib/logger.ts';
import { ProxyErrors } from './errors.ts';

export interface TlsMaterial {
  /** Context for the public listener and for dialing peers: own leaf (+ chain), trust store = every root. */
  readonly context: SecureContext;
  /** What `context` was built from, for tls.Server#setSecureContext (which takes options, not a context). */
  readonly options: SecureContextOptions;
  readonly trustDomain: string;
  readonly leafSerial: string;
  readonly leafUri: string;
  /** Bumped on every change: dialers key their connection pools on it. */
  readonly generation: number;
}

export class ProxyIdentity extends EventEmitter {
  private readonly client: ConsulClient;
  private readonly service: string;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private leaf: LeafCert | undefined;
  private roots: CARootList | undefined;
  private material: TlsMaterial | undefined;
  private generation = 0;

  constructor(client: ConsulClient, service: string, logger: Logger) {
    super();
    this.client = client;
    this.service = service;
    this.logger = logger;
  }

  /** Starts both watches; resolves once a leaf and the roots are in hand. */
  async start(): Promise<void> {
    const ready = new Promise<void>((resolve) => this.once('change', () => resolve()));
    const onError = (what: string) => (err: unknown, info: { attempt: number; delayMs: number }) =>
      this.logger.warn({ err, attempt: info.attempt, retryInMs: Math.round(info.delayMs) }, `watching the ${what} failed; retrying`);
    const signal = this.abort.signal;
    this.client.watchEach((q) => this.client.connect.caRoots(q), (r) => this.setRoots(r.value), { signal, onError: onError('CA roots') })
      .done.catch((err: unknown) => this.logger.error({ err }, 'CA roots watch stopped'));
    this.client.watchEach((q) => this.client.connect.caLeaf(this.service, q), (r) => this.setLeaf(r.value), { signal, onError: onError('leaf certificate') })
      .done.catch((err: unknown) => this.logger.error({ err }, 'leaf watch stopped'));
    await ready;
  }

  stop(): void {
    this.abort.abort();
  }

  /** The material for a new connection; throws MG_PROXY_NOT_READY before the first leaf and roots arrived. */
  current(): TlsMaterial {
    if (!this.material) throw ProxyErrors.notReady('no leaf certificate or CA roots yet');
    return this.material;
  }

  get ready(): boolean {
    return this.material !== undefined;
  }

  private async setLeaf(leaf: LeafCert): Promise<void> {
    if (this.leaf?.SerialNumber === leaf.SerialNumber) return;
    this.leaf = leaf;
    // A leaf reissued by a root rotation can arrive before the roots watch reports the new root: read the roots
    // now so the leaf is presented with the right chain and our trust store knows its issuer.
    try {
      this.roots = (await this.client.connect.caRoots({})).value;
    } catch (err) {
      this.logger.warn({ err }, 'reading CA roots for a new leaf failed; using the last known roots');
    }
    this.rebuild('leaf');
  }

  private setRoots(roots: CARootList): void {
    this.roots = roots;
    this.rebuild('roots');
  }

  private rebuild(reason: 'leaf' | 'roots'): void {
    const leaf = this.leaf;
    const roots = this.roots;
    if (!leaf || !roots) return;
    const all = roots.Roots ?? [];
    const active = all.find((r) => r.ID === roots.ActiveRootID);
    const chain = [leaf.CertPEM.trimEnd(), ...(active?.IntermediateCerts ?? []).map((c) => c.trimEnd())].join('\n') + '\n';
    const ca = all.flatMap((r) => [r.RootCert]);
    const options: SecureContextOptions = { key: leaf.PrivateKeyPEM, cert: chain, ca, minVersion: 'TLSv1.2' };
    let context: SecureContext;
    try {
      context = createSecureContext(options);
    } catch (err) {
      this.logger.error({ err, reason }, 'building the TLS context failed; keeping the previous one');
      return;
    }
    this.generation++;
    this.material = { context, options, trustDomain: roots.TrustDomain.toLowerCase(), leafSerial: leaf.SerialNumber, leafUri: leaf.ServiceURI, generation: this.generation };
    this.logger.info({ reason, serial: leaf.SerialNumber, roots: all.map((r) => r.ID), validBefore: leaf.ValidBefore }, 'TLS identity updated');
    this.emit('change', this.material);
  }
}
