/**
 * basicAuth: HTTP Basic authentication against htpasswd lines (`users`, `usersFile`; the file wins for a user
 * listed in both), realm (default "traefik"), headerField (forward the user name), removeHeader (drop
 * Authorization before the service) (Traefik pkg/middlewares/auth/basic_auth.go). Successful verifications are
 * remembered for a short time under an HMAC of the credentials — never the plaintext — because bcrypt is slow.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { GatewayRequest, ResponseWriter } from '../http/types.ts';
import { registerMiddleware } from './registry.ts';
import { requestHeader } from '../http/request.ts';
import { hashKind, verifyHtpasswd } from './htpasswd.ts';
import { forwardAuthenticated, loadUsers, usersAuthSchema, type UserLineParser } from './authUsers.ts';

export const basicAuthSchema = usersAuthSchema;

/** An htpasswd line `user:hash` with a hash kind basicAuth verifies. */
const parseHtpasswdLine: UserLineParser = (line, where) => {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new Error(`${where}: error parsing user "${line.split(':')[0]}": expected user:hash`);
  const user = line.slice(0, colon);
  const hash = line.slice(colon + 1);
  if (hashKind(hash) === undefined) throw new Error(`${where}: user "${user}": unsupported password hash (use bcrypt, $apr1$ or {SHA})`);
  return [user, hash];
};

const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;

/** Decodes `Authorization: Basic base64(user:password)`. */
function basicCredentials(req: GatewayRequest): [string, string] | undefined {
  const header = requestHeader(req, 'authorization');
  if (!header || header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

registerMiddleware('basicAuth', {
  schema: basicAuthSchema,
  create(config) {
    const users = loadUsers(config, 'basicAuth', parseHtpasswdLine, 'no users given (users or usersFile)');
    const challenge = `Basic realm="${(config.realm ?? 'traefik').replace(/"/g, '\\"')}"`;
    const forward = { headerField: config.headerField?.toLowerCase(), removeHeader: config.removeHeader === true };
    const cacheKey = randomBytes(32);
    const verified = new Map<string, number>();
    // A fixed hash to spend comparable time on unknown users.
    const decoy = users.values().next().value as string;

    const check = async (user: string, password: string): Promise<boolean> => {
      const hash = users.get(user);
      const key = createHmac('sha256', cacheKey).update(user).update('\0').update(password).update('\0').update(hash ?? '').digest('base64');
      const until = verified.get(key);
      const now = Date.now();
      if (until !== undefined && until > now) return true;
      const ok = await verifyHtpasswd(hash ?? decoy, password);
      if (!ok || hash === undefined) return false;
      if (verified.size >= CACHE_MAX) verified.clear();
      verified.set(key, now + CACHE_TTL_MS);
      return true;
    };

    const unauthorized = (rw: ResponseWriter): void => {
      rw.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': challenge });
      rw.end('401 Unauthorized\n');
    };

    return (next) => async (req, rw) => {
      const creds = basicCredentials(req);
      if (!creds || !(await check(creds[0], creds[1]))) {
        unauthorized(rw);
        return;
      }
      await forwardAuthenticated(next, req, rw, creds[0], forward);
    };
  },
});
