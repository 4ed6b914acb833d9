/**
 * digestAuth: HTTP Digest authentication (RFC 2617, MD5, qop=auth) against htdigest lines `user:realm:HA1`
 * (`users`, `usersFile`, the file wins), realm (default "traefik"), headerField, removeHeader
 * (Traefik pkg/middlewares/auth/digest_auth.go). Nonces are issued by this middleware, expire, and each nonce
 * count may be used once, so a captured Authorization header cannot be replayed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GatewayRequest, ResponseWriter } from '../http/types.ts';
import { registerMiddleware } from './registry.ts';
import { forwardAuthenticated, loadUsers, usersAuthSchema, type UserLineParser } from './authUsers.ts';
import { requestHeader } from '../http/request.ts';

export const digestAuthSchema = usersAuthSchema;

const NONCE_TTL_MS = 5 * 60_000;
const MAX_NONCES = 100_000;

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** An htdigest line `user:realm:HA1`; lines for other realms cannot authenticate here and are skipped. */
function htdigestLine(realm: string): UserLineParser {
  return (line, where) => {
    const parts = line.split(':');
    if (parts.length !== 3 || !/^[0-9a-f]{32}$/i.test(parts[2]!)) throw new Error(`${where}: expected user:realm:md5hex, got "${parts[0]}:…"`);
    return parts[1] === realm ? [parts[0]!, parts[2]!.toLowerCase()] : undefined;
  };
}

/** Parses `Digest k=v, k="v", …`. */
export function parseDigest(header: string): Map<string, string> | undefined {
  if (header.slice(0, 7).toLowerCase() !== 'digest ') return undefined;
  const out = new Map<string, string>();
  const re = /\s*([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/gy;
  re.lastIndex = 7;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) !== null && m[0] !== '') out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  return out;
}

registerMiddleware('digestAuth', {
  schema: digestAuthSchema,
  create(config) {
    const realm = config.realm ?? 'traefik';
    const users = loadUsers(config, 'digestAuth', htdigestLine(realm), `no users for realm "${realm}" (users or usersFile)`);
    const forward = { headerField: config.headerField?.toLowerCase(), removeHeader: config.removeHeader === true };
    const opaque = randomBytes(16).toString('hex');
    /** nonce → [expiry, highest nonce count seen] */
    const nonces = new Map<string, [number, number]>();

    const challenge = (rw: ResponseWriter, stale: boolean): void => {
      const now = Date.now();
      if (nonces.size >= MAX_NONCES) for (const [n, [exp]] of nonces) if (exp <= now) nonces.delete(n);
      if (nonces.size >= MAX_NONCES) nonces.clear();
      const nonce = randomBytes(16).toString('hex');
      nonces.set(nonce, [now + NONCE_TTL_MS, 0]);
      const value = `Digest realm="${realm}", nonce="${nonce}", opaque="${opaque}", algorithm="MD5", qop="auth"${stale ? ', stale=true' : ''}`;
      rw.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': value });
      rw.end('401 Unauthorized\n');
    };

    const check = (req: GatewayRequest, p: Map<string, string>): 'ok' | 'stale' | 'bad' => {
      const user = p.get('username');
      const nonce = p.get('nonce');
      const uri = p.get('uri');
      const response = p.get('response');
      if (!user || !nonce || !uri || !response || !/^[0-9a-f]{32}$/.test(response) || p.get('realm') !== realm) return 'bad';
      if (p.get('opaque') !== undefined && p.get('opaque') !== opaque) return 'bad';
      if (uri !== req.url) return 'bad';
      const state = nonces.get(nonce);
      if (!state || state[0] <= Date.now()) return 'stale';
      const qop = p.get('qop');
      const ha1 = users.get(user) ?? '0'.repeat(32);
      const ha2 = md5(`${req.method}:${uri}`);
      let expected: string;
      if (qop === 'auth') {
        const nc = parseInt(p.get('nc') ?? '', 16);
        const cnonce = p.get('cnonce');
        if (!Number.isFinite(nc) || !cnonce || nc <= state[1]) return 'bad';
        expected = md5(`${ha1}:${nonce}:${p.get('nc')}:${cnonce}:auth:${ha2}`);
        if (!timingSafeEqual(Buffer.from(expected), Buffer.from(response)) || !users.has(user)) return 'bad';
        state[1] = nc;
        return 'ok';
      }
      if (qop !== undefined) return 'bad';
      expected = md5(`${ha1}:${nonce}:${ha2}`);
      if (!timingSafeEqual(Buffer.from(expected), Buffer.from(response)) || !users.has(user)) return 'bad';
      nonces.delete(nonce); // without a nonce count, a nonce is good once
      return 'ok';
    };

    return (next) => (req, rw) => {
      const header = requestHeader(req, 'authorization');
      const params = header ? parseDigest(header) : undefined;
      const verdict = params ? check(req, params) : 'bad';
      if (verdict !== 'ok') {
        challenge(rw, verdict === 'stale');
        return Promise.resolve();
      }
      return forwardAuthenticated(next, req, rw, params!.get('username')!, forward);
    };
  },
});
