/**
 * htpasswd password hashes as Traefik's basicAuth accepts them: bcrypt ($2y$/$2a$/$2b$, via bcryptjs),
 * Apache MD5 ($apr1$) and MD5-crypt ($1$) — written here on node:crypto md5, as the algorithm is not in any
 * well-kept package — and {SHA} (base64 SHA-1). Comparisons of derived values are constant-time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(value: number, length: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < length; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/** MD5-crypt (Poul-Henning Kamp's algorithm) with the `$apr1$` or `$1$` magic; returns the full hash string. */
export function md5Crypt(password: string | Buffer, salt: string, magic: '$apr1$' | '$1$' = '$apr1$'): string {
  const pw = typeof password === 'string' ? Buffer.from(password) : password;
  const s = Buffer.from(salt.slice(0, 8));
  const alt = createHash('md5').update(pw).update(s).update(pw).digest();
  const ctx = createHash('md5').update(pw).update(magic).update(s);
  for (let left = pw.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(16, left)));
  for (let i = pw.length; i > 0; i >>= 1) ctx.update(i & 1 ? Buffer.from([0]) : pw.subarray(0, 1));
  let final = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const round = createHash('md5');
    round.update(i & 1 ? pw : final);
    if (i % 3) round.update(s);
    if (i % 7) round.update(pw);
    round.update(i & 1 ? final : pw);
    final = round.digest();
  }
  const f = final;
  const encoded =
    to64((f[0]! << 16) | (f[6]! << 8) | f[12]!, 4) +
    to64((f[1]! << 16) | (f[7]! << 8) | f[13]!, 4) +
    to64((f[2]! << 16) | (f[8]! << 8) | f[14]!, 4) +
    to64((f[3]! << 16) | (f[9]! << 8) | f[15]!, 4) +
    to64((f[4]! << 16) | (f[10]! << 8) | f[5]!, 4) +
    to64(f[11]!, 2);
  return `${magic}${salt.slice(0, 8)}$${encoded}`;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare equal-length digests so the time does not depend on where the strings differ.
  const hx = createHash('sha256').update(x).digest();
  const hy = createHash('sha256').update(y).digest();
  return timingSafeEqual(hx, hy) && x.length === y.length;
}

export type HashKind = 'bcrypt' | 'apr1' | 'md5' | 'sha';

export function hashKind(hash: string): HashKind | undefined {
  if (/^\$2[aby]\$\d\d\$/.test(hash)) return 'bcrypt';
  if (hash.startsWith('$apr1$')) return 'apr1';
  if (hash.startsWith('$1$')) return 'md5';
  if (hash.startsWith('{SHA}')) return 'sha';
  return undefined;
}

/** Verifies `password` against an htpasswd hash; bcrypt is asynchronous (it is slow on purpose). */
export async function verifyHtpasswd(hash: string, password: string): Promise<boolean> {
  switch (hashKind(hash)) {
    case 'bcrypt': {
      // bcryptjs only knows $2a$/$2b$; $2y$ is the same algorithm under PHP's name. It is imported with the first
      // bcrypt hash checked: most gateways have none.
      const { default: bcrypt } = await import('bcryptjs');
      return bcrypt.compare(password, hash.startsWith('$2y$') ? `$2b$${hash.slice(4)}` : hash);
    }
    case 'apr1':
    case 'md5': {
      const magic = hash.startsWith('$apr1$') ? '$apr1$' : '$1$';
      const salt = hash.slice(magic.length).split('$')[0] ?? '';
      return safeEqual(md5Crypt(password, salt, magic), hash);
    }
    case 'sha':
      return safeEqual(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash);
    default:
      return false;
  }
}
