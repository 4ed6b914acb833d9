/**
 * How token secrets are kept. The store holds a SecretID only as its SHA-256 (the lookup key: a request's secret is
 * hashed and found through a secondary index) and sealed with AES-256-GCM under a key that lives in the server's
 * data dir (`acl-secrets.key`, mode 0600), never in the store — so a store dump (SQLite file, etcd values, snapshot)
 * reveals no usable secret, while `GET /v1/acl/token/:accessor` can still show the secret to an `acl:write` holder,
 * as Consul does. Replicas sharing one etcd must share that key file (copy it to each data dir, as Consul's gossip
 * key is shared); a replica without it answers with the secret hidden. Comparisons of secret material use
 * `timingSafeEqual`.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SECRET_KEY_FILE = 'acl-secrets.key';

/** The lookup key of a secret: SHA-256, hex. Secrets are random UUIDs (122 bits), so a fast hash is enough. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time equality of two strings (hashes, secrets); different lengths are unequal without a shortcut on content. */
export function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

export interface SecretBox {
  seal(secret: string): string;
  /** The secret, or undefined when this server's key did not seal it. */
  open(sealed: string): string | undefined;
}

/** The box keyed by the data dir's key file, created (32 random bytes) on first use. */
export function secretBoxFromDataDir(dataDir: string): SecretBox {
  const file = join(dataDir, SECRET_KEY_FILE);
  let key: Buffer;
  if (existsSync(file)) key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  else {
    key = randomBytes(32);
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  if (key.length !== 32) throw new Error(`${file}: expected a base64-encoded 32-byte key`);
  return secretBox(key);
}

export function secretBox(key: Buffer): SecretBox {
  return {
    seal(secret) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(sealed) {
      try {
        const raw = Buffer.from(sealed, 'base64');
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        // Sealed under another replica's key (or tampered with): the caller shows the secret as hidden.
        return undefined;
      }
    },
  };
}
