/**
 * Where a resolver keeps its account and certificates. `storage` is a file (Traefik's acme.json, shared by every
 * resolver naming it, written 0600) or `consul-kv://<host:port>/<prefix>` (kv-storage.ts: Meshgate's shared
 * storage for gateway replicas). Both hold an issuance lock while a certificate is ordered, so one name is never
 * ordered twice at once — in this process for a file, across replicas for the KV.
 */
import type { StoredAccount, StoredCertificate, StoredData } from './stored.ts';

/** A challenge answer one replica sets up and every replica serves (only the KV storage shares them). */
export type SharedChallenge =
  | { readonly type: 'http-01'; readonly token: string; readonly domain: string; readonly keyAuthorization: string }
  | { readonly type: 'tls-alpn-01'; readonly domain: string; readonly cert: string; readonly key: string };

export interface AcmeStorage {
  /** For logs and errors: the file path, or the KV address and prefix (never a token). */
  readonly description: string;
  load(): Promise<StoredData>;
  saveAccount(account: StoredAccount): Promise<void>;
  saveCertificates(certificates: StoredCertificate[]): Promise<void>;
  /** Runs `fn` holding this resolver's issuance lock. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Follows changes other replicas make; calls `onChange` with the stored data and every shared challenge. */
  watch?(onChange: (data: StoredData, challenges: SharedChallenge[]) => void, signal: AbortSignal): void;
  /** Publishes a challenge answer for every replica; resolves once this replica's own watch has seen it. */
  shareChallenge?(id: string, challenge: SharedChallenge): Promise<void>;
  unshareChallenge?(id: string): Promise<void>;
  close?(): Promise<void>;
}

/** An in-process mutex: issuance for one resolver runs one at a time. */
export class LocalLock {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
