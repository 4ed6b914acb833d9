/**
 * Traefik's acme.json (pkg/provider/acme local_store.go): one JSON object keyed by resolver name, each with its
 * `Account` and `Certificates`, written with mode 0600 — and, as Traefik's CheckFile does, a file whose mode lets
 * the group or others read it is refused ("permissions … are too open"). Several resolvers may name one file:
 * they share one `FileStorageFile`, which serializes writes and replaces the file atomically (temp file + rename).
 */
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AcmeErrors } from './errors.ts';
import { LocalLock, type AcmeStorage } from './storage.ts';
import type { StoredAccount, StoredCertificate, StoredData } from './stored.ts';

class FileStorageFile {
  readonly path: string;
  #data: Record<string, StoredData> | undefined;
  #writes = new LocalLock();

  constructor(path: string) {
    this.path = path;
  }

  async read(resolver: string): Promise<Record<string, StoredData>> {
    if (this.#data !== undefined) return this.#data;
    let text = '';
    try {
      const info = await stat(this.path);
      if ((info.mode & 0o077) !== 0) {
        throw AcmeErrors.storage(resolver, this.path, `permissions ${(info.mode & 0o777).toString(8)} are too open, please use 600`);
      }
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        if ((err as { code?: string }).code === 'MG_GATEWAY_ACME_STORAGE') throw err;
        throw AcmeErrors.storage(resolver, this.path, (err as Error).message);
      }
    }
    let parsed: unknown = {};
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw AcmeErrors.storage(resolver, this.path, `not valid JSON: ${(err as Error).message}`);
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw AcmeErrors.storage(resolver, this.path, 'not a JSON object keyed by resolver');
    this.#data = Object.assign(Object.create(null) as Record<string, StoredData>, parsed);
    return this.#data;
  }

  async update(resolver: string, change: (data: StoredData) => void): Promise<void> {
    await this.#writes.run(async () => {
      const all = await this.read(resolver);
      const data = all[resolver] ?? { Account: null, Certificates: null };
      change(data);
      all[resolver] = data;
      const temp = `${this.path}.${process.pid}.tmp`;
      try {
        await writeFile(temp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
        // writeFile's mode applies only when it creates the file; a leftover temp file keeps its old mode.
        await chmod(temp, 0o600);
        await rename(temp, this.path);
      } catch (err) {
        throw AcmeErrors.storage(resolver, this.path, (err as Error).message);
      }
    });
  }
}

const files = new Map<string, FileStorageFile>();

export class FileStorage implements AcmeStorage {
  readonly description: string;
  readonly #file: FileStorageFile;
  readonly #resolver: string;
  readonly #lock = new LocalLock();

  constructor(resolver: string, path: string) {
    const abs = resolve(path);
    let file = files.get(abs);
    if (file === undefined) files.set(abs, (file = new FileStorageFile(abs)));
    this.#file = file;
    this.#resolver = resolver;
    this.description = abs;
  }

  async load(): Promise<StoredData> {
    const data = (await this.#file.read(this.#resolver))[this.#resolver];
    return { Account: data?.Account ?? null, Certificates: data?.Certificates ?? null };
  }

  saveAccount(account: StoredAccount): Promise<void> {
    return this.#file.update(this.#resolver, (data) => { data.Account = account; });
  }

  saveCertificates(certificates: StoredCertificate[]): Promise<void> {
    return this.#file.update(this.#resolver, (data) => { data.Certificates = certificates; });
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(fn);
  }

  async close(): Promise<void> {
    // The next gateway in this process (tests, embedding) reads the file afresh.
    files.delete(this.description);
  }
}
