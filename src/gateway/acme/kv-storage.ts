/**
 * Meshgate's shared ACME storage, beyond Traefik's open-source edition: `storage: consul-kv://<host:port>/<prefix>`
 * keeps a resolver's account and certificates in the server's KV (through src/api's client; the token comes from
 * $MESHGATE_HTTP_TOKEN / $CONSUL_HTTP_TOKEN), so every gateway replica uses one account and one set of
 * certificates. Keys under `<prefix>/<resolver>/`: `account` and `certificates` (Traefik's acme.json records, as
 * JSON), `challenges/<id>` (answers every replica serves, so the CA may reach any of them) and `lock` (held with a
 * Consul session while a certificate is ordered: two replicas never order the same name at once, and the second
 * finds the first one's certificate when it gets the lock). A blocking query on the prefix brings other replicas'
 * certificates and challenges to this one as they are written.
 */
import { hostname } from 'node:os';
import { ConsulClient, kvValueText, type KVPair } from '../../api/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { AcmeErrors } from './errors.ts';
import { LocalLock, type AcmeStorage, type SharedChallenge } from './storage.ts';
import type { StoredAccount, StoredCertificate, StoredData } from './stored.ts';

export const KV_STORAGE_SCHEME = 'consul-kv://';
/** A replica that dies holding the lock frees it when its session's TTL runs out; the holder renews it meanwhile. */
const SESSION_TTL = '30s';
const SESSION_RENEW_MS = 10_000;
const LOCK_WAIT_MS = 10_000;

export function parseKvStorage(resolver: string, storage: string): { address: string; prefix: string } {
  const rest = storage.slice(KV_STORAGE_SCHEME.length);
  const slash = rest.indexOf('/');
  const address = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (address === '' || prefix === '') throw AcmeErrors.storage(resolver, storage, `expected ${KV_STORAGE_SCHEME}<host:port>/<prefix>`);
  return { address, prefix };
}

export class KvStorage implements AcmeStorage {
  readonly description: string;
  readonly #client: ConsulClient;
  readonly #base: string;
  readonly #resolver: string;
  readonly #logger: Logger;
  readonly #local = new LocalLock();
  /** Challenge ids this replica's watch has seen, and who waits for one. */
  #seen = new Set<string>();
  readonly #waiters = new Map<string, Array<() => void>>();

  constructor(resolver: string, storage: string, logger: Logger) {
    const { address, prefix } = parseKvStorage(resolver, storage);
    this.#client = new ConsulClient({ address });
    this.#base = `${prefix}/${resolver}`;
    this.#resolver = resolver;
    this.#logger = logger;
    this.description = `${KV_STORAGE_SCHEME}${address}/${prefix}`;
  }

  async load(): Promise<StoredData> {
    const pairs = await this.#call('read', () => this.#client.kv.list(`${this.#base}/`, { consistent: true }));
    return this.#decode(pairs.value).data;
  }

  async saveAccount(account: StoredAccount): Promise<void> {
    await this.#call('write the account', () => this.#client.kv.put(`${this.#base}/account`, JSON.stringify(account)));
  }

  async saveCertificates(certificates: StoredCertificate[]): Promise<void> {
    await this.#call('write the certificates', () => this.#client.kv.put(`${this.#base}/certificates`, JSON.stringify(certificates)));
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#local.run(async () => {
      const { kv, session: sessions } = this.#client;
      const key = `${this.#base}/lock`;
      const session = await this.#call('create a lock session', () => sessions.create({ Name: `meshgate-acme-${this.#resolver}`, TTL: SESSION_TTL, Behavior: 'release', LockDelay: '0s' }));
      const renew = setInterval(() => {
        sessions.renew(session).catch((err: Error) => this.#logger.warn({ resolver: this.#resolver, err: err.message }, 'ACME lock session renewal failed'));
      }, SESSION_RENEW_MS);
      try {
        for (;;) {
          const holder = JSON.stringify({ host: hostname(), pid: process.pid });
          if (await this.#call('acquire the lock', () => kv.put(key, holder, { acquire: session }))) break;
          const current = await this.#call('read the lock', () => kv.get(key));
          if (current.value !== null && current.value.Session === undefined) continue;
          // Someone holds it: wait for the key to change (release, or the holder's session ending).
          await this.#call('wait for the lock', () => kv.get(key, { index: current.meta.LastIndex, waitMs: LOCK_WAIT_MS }));
        }
        return await fn();
      } finally {
        clearInterval(renew);
        await kv.put(key, '', { release: session }).catch((err: Error) => this.#logger.warn({ resolver: this.#resolver, err: err.message }, 'ACME lock release failed'));
        await sessions.destroy(session).catch((err: Error) => this.#logger.warn({ resolver: this.#resolver, err: err.message }, 'ACME lock session destroy failed'));
      }
    });
  }

  watch(onChange: (data: StoredData, challenges: SharedChallenge[]) => void, signal: AbortSignal): void {
    const handle = this.#client.watchEach(
      ({ index, waitMs, signal: s }) => this.#client.kv.list(`${this.#base}/`, { index, ...(waitMs !== undefined ? { waitMs } : {}), signal: s }),
      ({ value }) => {
        const { data, challenges } = this.#decode(value);
        onChange(data, challenges.map((c) => c.challenge));
        this.#seen = new Set(challenges.map((c) => c.id));
        for (const id of this.#seen) {
          for (const wake of this.#waiters.get(id) ?? []) wake();
          this.#waiters.delete(id);
        }
      },
      { signal, onError: (err: unknown) => this.#logger.warn({ resolver: this.#resolver, err: (err as Error).message }, 'ACME KV watch failed; retrying') },
    );
    handle.done.catch((err: Error) => this.#logger.error({ resolver: this.#resolver, err: err.message }, 'ACME KV watch stopped'));
  }

  async shareChallenge(id: string, challenge: SharedChallenge): Promise<void> {
    const seen = new Promise<void>((resolve) => {
      const list = this.#waiters.get(id) ?? [];
      list.push(resolve);
      this.#waiters.set(id, list);
    });
    await this.#call('share a challenge', () => this.#client.kv.put(`${this.#base}/challenges/${encodeURIComponent(id)}`, JSON.stringify(challenge)));
    // Every replica's blocking query returns on the same write; once ours has, the others' are in flight too.
    await Promise.race([seen, new Promise((r) => setTimeout(r, 10_000).unref())]);
  }

  async unshareChallenge(id: string): Promise<void> {
    await this.#call('remove a challenge', () => this.#client.kv.delete(`${this.#base}/challenges/${encodeURIComponent(id)}`));
  }

  #decode(pairs: readonly KVPair[]): { data: StoredData; challenges: Array<{ id: string; challenge: SharedChallenge }> } {
    const data: StoredData = { Account: null, Certificates: null };
    const challenges: Array<{ id: string; challenge: SharedChallenge }> = [];
    for (const pair of pairs) {
      const name = pair.Key.slice(this.#base.length + 1);
      const text = kvValueText(pair);
      if (text === '' || name === 'lock') continue;
      try {
        if (name === 'account') data.Account = JSON.parse(text) as StoredAccount;
        else if (name === 'certificates') data.Certificates = JSON.parse(text) as StoredCertificate[];
        else if (name.startsWith('challenges/')) challenges.push({ id: decodeURIComponent(name.slice('challenges/'.length)), challenge: JSON.parse(text) as SharedChallenge });
      } catch (err) {
        this.#logger.error({ resolver: this.#resolver, key: pair.Key, err: (err as Error).message }, 'ACME KV entry is not valid JSON; ignored');
      }
    }
    return { data, challenges };
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw AcmeErrors.storage(this.#resolver, this.description, `cannot ${what}: ${(err as Error).message}`);
    }
  }
}
