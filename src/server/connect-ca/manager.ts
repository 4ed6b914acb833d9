/**
 * The Connect CA of the server (Consul's built-in `consul` provider and its leader routines, agent/consul/leader_connect_ca.go
 * and the agent's leaf-certificate cache, agent/leafcert): one active root per cluster, kept with its private key in the
 * state store so every replica on etcd signs with the same CA; service and agent leaves issued on demand, stored, and
 * renewed by the leader at a random point between 60 % and 90 % of their lifetime (leafcert's soft expiry) so a
 * blocking query on a leaf hands out the new one before the old expires; root rotation on a key configuration change,
 * with the new root cross-signed by the old so both generations verify, and the old root pruned once no leaf it signed
 * is still live (every one reissued or expired) and a grace period (the leaf TTL, at most an hour) has passed.
 */
import { randomUUID } from 'node:crypto';
import { decodeDuration, formatDuration } from '../../lib/duration.ts';
import { defineError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { formatSpiffeId, trustDomainForCluster } from '../../lib/spiffe.ts';
import type { StateStore } from '../store/state-store.ts';
import type { StoreReader } from '../store/types.ts';
import { createRoot, crossSign, generateSigningKey, importSigningKey, keyAlgorithm, privateKeyPem, signLeaf, type PrivateKeyType, type SigningKey } from './crypto.ts';

export const CA_TABLE = 'connect-ca';
export const LEAF_TABLE = 'connect-leaves';
const CONFIG_KEY = 'config';
const rootKey = (id: string): string => `root/${id}`;
export const leafKey = (kind: 'service' | 'agent', name: string): string => `${kind}/${name}`;

const HOUR = 3_600_000;
const DEFAULTS = { LeafCertTTL: '72h', RootCertTTL: '87600h', IntermediateCertTTL: '8760h', PrivateKeyType: 'ec' as PrivateKeyType, PrivateKeyBits: 256 };

export const ErrCaConfig = defineError('MG_CA_CONFIG_INVALID', 400, (message: string) => message);
export const ErrCaNotReady = defineError('MG_CA_NOT_INITIALIZED', 503, () => 'Connect CA is not initialized yet');

export interface CaProviderConfig {
  LeafCertTTL: string;
  RootCertTTL: string;
  IntermediateCertTTL: string;
  PrivateKeyType: PrivateKeyType;
  PrivateKeyBits: number;
}

export interface CaConfigRow {
  Provider: 'consul';
  ClusterID: string;
  Config: CaProviderConfig;
  ForceWithoutCrossSigning: boolean;
}

export interface RootRow {
  ID: string;
  Name: string;
  SerialNumber: number | string;
  SigningKeyID: string;
  ExternalTrustDomain: string;
  NotBefore: string;
  NotAfter: string;
  RootCert: string;
  IntermediateCerts: string[];
  Active: boolean;
  /** When a rotation made this root inactive (RFC 3339), or empty. */
  RotatedOutAt: string;
  PrivateKeyType: PrivateKeyType;
  PrivateKeyBits: number;
  /** Never leaves the server: stripped by `rootToWire`. */
  PrivateKey: string;
}

export interface LeafRow {
  Kind: 'service' | 'agent';
  Name: string;
  SerialNumber: string;
  CertPEM: string;
  PrivateKeyPEM: string;
  URI: string;
  ValidAfter: string;
  ValidBefore: string;
  /** The root that signed it. */
  SignedBy: string;
  /** Epoch ms after which the leader reissues it (soft expiry). */
  RenewAfter: number;
}

export interface CaLimits {
  /** Consul refuses a LeafCertTTL under 1h; tests lower it to watch renewals happen. */
  readonly minLeafCertTtlMs: number;
}

export class ConnectCa {
  private readonly store: StateStore;
  private readonly datacenter: string;
  private readonly logger: Logger;
  private readonly limits: CaLimits;
  private timer: NodeJS.Timeout | undefined;
  private maintaining = false;
  private closed = false;
  private readonly keyCache = new Map<string, Promise<SigningKey>>();

  constructor(store: StateStore, datacenter: string, logger: Logger, limits: Partial<CaLimits> = {}) {
    this.store = store;
    this.datacenter = datacenter;
    this.logger = logger;
    this.limits = { minLeafCertTtlMs: limits.minLeafCertTtlMs ?? HOUR };
  }

  /** Creates the cluster's CA when none exists (any replica may try; the store keeps the first). */
  async start(): Promise<void> {
    if (!this.config()) {
      const clusterId = randomUUID();
      const config: CaConfigRow = { Provider: 'consul', ClusterID: clusterId, Config: { ...DEFAULTS }, ForceWithoutCrossSigning: false };
      const root = await this.newRoot(config);
      await this.store.write((tx) => {
        if (tx.get(CA_TABLE, CONFIG_KEY)) return false;
        tx.put(CA_TABLE, CONFIG_KEY, config);
        tx.put(CA_TABLE, rootKey(root.ID), root);
        return true;
      });
      this.logger.info({ trustDomain: trustDomainForCluster(clusterId) }, 'initialized Connect CA');
    }
    this.schedule();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  config(reader: StoreReader = this.store): CaConfigRow | undefined {
    return reader.get<CaConfigRow>(CA_TABLE, CONFIG_KEY)?.value;
  }

  trustDomain(): string {
    const config = this.config();
    if (!config) throw ErrCaNotReady();
    return trustDomainForCluster(config.ClusterID);
  }

  roots(reader: StoreReader = this.store): RootRow[] {
    return reader.list<RootRow>(CA_TABLE, 'root/').map((r) => r.value);
  }

  activeRoot(reader: StoreReader = this.store): RootRow {
    const active = this.roots(reader).find((r) => r.Active);
    if (!active) throw ErrCaNotReady();
    return active;
  }

  leafTtlMs(config = this.config()): number {
    return decodeDuration(config?.Config.LeafCertTTL ?? DEFAULTS.LeafCertTTL, 'LeafCertTTL');
  }

  /**
   * PUT /v1/connect/ca/configuration: validates as Consul's CommonCAProviderConfig.Validate does, keeps the cluster
   * ID, and rotates the root when the key type or size changes (ConsulProvider's root depends only on its key).
   */
  async setConfiguration(body: unknown): Promise<void> {
    const current = this.config();
    if (!current) throw ErrCaNotReady();
    const next = this.decodeConfiguration(body, current);
    const rotate = next.Config.PrivateKeyType !== current.Config.PrivateKeyType || next.Config.PrivateKeyBits !== current.Config.PrivateKeyBits;
    if (!rotate) {
      await this.store.write((tx) => tx.put(CA_TABLE, CONFIG_KEY, next));
      this.schedule();
      return;
    }
    const old = this.activeRoot();
    const root = await this.newRoot(next);
    if (!next.ForceWithoutCrossSigning) {
      const crossSigned = await crossSign({ certPem: old.RootCert, key: await this.signingKey(old) }, root.RootCert);
      root.IntermediateCerts = [crossSigned.pem];
    }
    await this.store.write((tx) => {
      tx.put(CA_TABLE, CONFIG_KEY, next);
      for (const r of this.roots(tx)) {
        if (r.Active) tx.put(CA_TABLE, rootKey(r.ID), { ...r, Active: false, RotatedOutAt: new Date().toISOString() });
      }
      tx.put(CA_TABLE, rootKey(root.ID), root);
    });
    this.logger.info({ oldRoot: old.ID, newRoot: root.ID }, 'rotated Connect CA root');
    // Leaves of the old root are reissued at once, so their holders' blocking queries hand out new ones.
    await this.maintain();
    this.schedule();
  }

  private decodeConfiguration(body: unknown, current: CaConfigRow): CaConfigRow {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ErrCaConfig('request body must be a JSON object');
    const input = body as Record<string, unknown>;
    const provider = input.Provider ?? 'consul';
    if (provider !== 'consul') throw ErrCaConfig(`Provider: only the built-in "consul" provider is supported, got ${JSON.stringify(provider)}`);
    const raw = input.Config ?? {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw ErrCaConfig('Config must be an object');
    const given = raw as Record<string, unknown>;
    for (const unsupported of ['PrivateKey', 'RootCert']) {
      if (given[unsupported] !== undefined && given[unsupported] !== '') throw ErrCaConfig(`Config.${unsupported}: importing an external root is not supported yet`);
    }
    const config: CaProviderConfig = { ...current.Config };
    for (const field of ['LeafCertTTL', 'RootCertTTL', 'IntermediateCertTTL'] as const) {
      const value = given[field];
      if (value === undefined) continue;
      const ms = decodeDuration(value, `Config.${field}`);
      config[field] = typeof value === 'string' ? value : formatDuration(ms);
    }
    if (given.PrivateKeyType !== undefined) {
      if (given.PrivateKeyType !== 'ec' && given.PrivateKeyType !== 'rsa') throw ErrCaConfig(`Config.PrivateKeyType: must be "ec" or "rsa", got ${JSON.stringify(given.PrivateKeyType)}`);
      config.PrivateKeyType = given.PrivateKeyType;
      if (given.PrivateKeyBits === undefined) config.PrivateKeyBits = given.PrivateKeyType === 'rsa' ? 2048 : 256;
    }
    if (given.PrivateKeyBits !== undefined) {
      if (typeof given.PrivateKeyBits !== 'number' || !Number.isInteger(given.PrivateKeyBits)) throw ErrCaConfig('Config.PrivateKeyBits: must be an integer');
      config.PrivateKeyBits = given.PrivateKeyBits;
    }
    keyAlgorithm(config.PrivateKeyType, config.PrivateKeyBits);
    // CommonCAProviderConfig.Validate: leaf TTL bounds, and a leaf must not outlive the root that signs it.
    const leaf = decodeDuration(config.LeafCertTTL, 'Config.LeafCertTTL');
    if (leaf < this.limits.minLeafCertTtlMs) throw ErrCaConfig(`leaf cert TTL must be greater or equal than ${formatDuration(this.limits.minLeafCertTtlMs)}`);
    if (leaf > 365 * 24 * HOUR) throw ErrCaConfig('leaf cert TTL must be less than 8760h0m0s');
    if (decodeDuration(config.RootCertTTL, 'Config.RootCertTTL') < leaf) throw ErrCaConfig('root cert TTL is set and is less than the leaf cert TTL');
    const force = input.ForceWithoutCrossSigning ?? false;
    if (typeof force !== 'boolean') throw ErrCaConfig('ForceWithoutCrossSigning must be a boolean');
    return { Provider: 'consul', ClusterID: current.ClusterID, Config: config, ForceWithoutCrossSigning: force };
  }

  private async newRoot(config: CaConfigRow): Promise<RootRow> {
    const key = await generateSigningKey(config.Config.PrivateKeyType, config.Config.PrivateKeyBits);
    const cert = await createRoot(key, { trustDomain: trustDomainForCluster(config.ClusterID), ttlMs: decodeDuration(config.Config.RootCertTTL, 'RootCertTTL') });
    return {
      ID: cert.fingerprint,
      Name: 'Meshgate CA Primary Cert',
      SerialNumber: cert.serialNumber,
      SigningKeyID: cert.subjectKeyId,
      ExternalTrustDomain: config.ClusterID,
      NotBefore: cert.notBefore.toISOString(),
      NotAfter: cert.notAfter.toISOString(),
      RootCert: cert.pem,
      IntermediateCerts: [],
      Active: true,
      RotatedOutAt: '',
      PrivateKeyType: config.Config.PrivateKeyType,
      PrivateKeyBits: config.Config.PrivateKeyBits,
      PrivateKey: privateKeyPem(key),
    };
  }

  private signingKey(root: RootRow): Promise<SigningKey> {
    let key = this.keyCache.get(root.ID);
    if (!key) {
      key = importSigningKey(root.PrivateKey, root.PrivateKeyType, root.PrivateKeyBits);
      this.keyCache.set(root.ID, key);
    }
    return key;
  }

  /** The stored leaf for a service or agent, issued now if there is none or it is due for renewal. */
  async ensureLeaf(kind: 'service' | 'agent', name: string): Promise<LeafRow> {
    const existing = this.store.get<LeafRow>(LEAF_TABLE, leafKey(kind, name));
    const active = this.activeRoot();
    if (existing && existing.value.SignedBy === active.ID && existing.value.RenewAfter > Date.now()) return existing.value;
    return this.issue(kind, name, existing?.modifyIndex);
  }

  private async issue(kind: 'service' | 'agent', name: string, expectedModifyIndex: number | undefined): Promise<LeafRow> {
    const config = this.config();
    if (!config) throw ErrCaNotReady();
    const root = this.activeRoot();
    const trustDomain = trustDomainForCluster(config.ClusterID);
    const uri = kind === 'service'
      ? formatSpiffeId({ kind: 'service', trustDomain, namespace: 'default', datacenter: this.datacenter, service: name })
      : formatSpiffeId({ kind: 'agent', trustDomain, datacenter: this.datacenter, node: name });
    const ttlMs = this.leafTtlMs(config);
    const issuedAt = Date.now();
    const leaf = await signLeaf({ certPem: root.RootCert, key: await this.signingKey(root) }, {
      commonName: name,
      spiffeUri: uri,
      ...(kind === 'service' ? { dnsNames: [`${name}.svc.default.${trustDomain.slice(0, 8)}.consul`] } : {}),
      ttlMs,
      now: new Date(issuedAt),
    });
    const row: LeafRow = {
      Kind: kind, Name: name, SerialNumber: leaf.serialNumber, CertPEM: leaf.pem, PrivateKeyPEM: leaf.privateKeyPem, URI: uri,
      ValidAfter: leaf.notBefore.toISOString(), ValidBefore: leaf.notAfter.toISOString(), SignedBy: root.ID,
      RenewAfter: issuedAt + Math.round(ttlMs * (0.6 + Math.random() * 0.3)),
    };
    const { result } = await this.store.write((tx) => {
      const current = tx.get<LeafRow>(LEAF_TABLE, leafKey(kind, name));
      // Someone else renewed it meanwhile: theirs stands, so every holder converges on one certificate.
      if (current && current.modifyIndex !== expectedModifyIndex) return current.value;
      tx.put(LEAF_TABLE, leafKey(kind, name), row);
      return row;
    });
    return result;
  }

  /** (Re)arms the maintenance timer at a pace set by the current leaf TTL. */
  private schedule(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    const interval = Math.min(60_000, Math.max(100, this.leafTtlMs() / 50));
    this.timer = setTimeout(() => {
      void this.maintain()
        .catch((err: unknown) => this.logger.error({ err }, 'Connect CA maintenance failed'))
        .finally(() => this.schedule());
    }, interval);
    this.timer.unref();
  }

  /** Leader only: reissue leaves past their soft expiry or signed by a retired root; prune roots nothing depends on. */
  async maintain(): Promise<void> {
    if (!this.store.isLeader || this.maintaining || this.closed) return;
    this.maintaining = true;
    try {
      const active = this.activeRoot();
      const now = Date.now();
      for (const row of this.store.list<LeafRow>(LEAF_TABLE, '')) {
        if (row.value.SignedBy !== active.ID || row.value.RenewAfter <= now) await this.issue(row.value.Kind, row.value.Name, row.modifyIndex);
      }
      const leaves = this.store.list<LeafRow>(LEAF_TABLE, '').map((r) => r.value);
      // A retired root stays while a stored leaf it signed is live, and for a grace period after the rotation (the
      // leaf TTL, at most an hour) so peers still holding connections made with reissued leaves keep verifying.
      const grace = Math.min(this.leafTtlMs(), HOUR);
      const retired = this.roots().filter((r) => !r.Active && now - Date.parse(r.RotatedOutAt) > grace
        && !leaves.some((l) => l.SignedBy === r.ID && Date.parse(l.ValidBefore) > now));
      if (retired.length > 0) {
        await this.store.write((tx) => {
          for (const r of retired) tx.delete(CA_TABLE, rootKey(r.ID));
        });
        for (const r of retired) this.keyCache.delete(r.ID);
        this.logger.info({ roots: retired.map((r) => r.ID) }, 'pruned retired Connect CA roots');
      }
    } finally {
      this.maintaining = false;
    }
  }
}

/** A root as `/v1/connect/ca/roots` shows it: everything but the private key. */
export function rootToWire(root: RootRow, createIndex: number, modifyIndex: number): Omit<RootRow, 'PrivateKey' | 'RotatedOutAt'> & { CreateIndex: number; ModifyIndex: number } {
  const { PrivateKey: _secret, RotatedOutAt: _rotated, ...wire } = root;
  return { ...wire, CreateIndex: createIndex, ModifyIndex: modifyIndex };
}
