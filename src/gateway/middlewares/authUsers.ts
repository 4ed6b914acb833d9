/**
 * What basicAuth and digestAuth share (Traefik's pkg/middlewares/auth, where both read `users`/`usersFile` with one
 * `getUsers` and forward with one success path): reading user lines from the configuration and the file (blank lines
 * and `#` comments skipped, the file wins for a user listed in both, an empty result refused), and passing an
 * authenticated request on (ClientUsername for the access log, `headerField`, `removeHeader`).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { GatewayRequest, Handler, ResponseWriter } from '../http/types.ts';

/** Parses one non-blank, non-comment line into `[user, secret]`; undefined skips the line; throws naming `where`. */
/** basicAuth's and digestAuth's options: Traefik's BasicAuth and DigestAuth structs carry the same fields. */
export const usersAuthSchema = z
  .object({
    users: z.array(z.string()).optional(),
    usersFile: z.string().optional(),
    realm: z.string().optional(),
    removeHeader: z.boolean().optional(),
    headerField: z.string().optional(),
  })
  .strict();

export type UserLineParser = (line: string, where: string) => [string, string] | undefined;

export function loadUsers(
  config: { users?: string[] | undefined; usersFile?: string | undefined },
  field: string,
  parse: UserLineParser,
  noUsers: string,
): Map<string, string> {
  const users = new Map<string, string>();
  const read = (lines: readonly string[], where: string) => {
    for (const raw of lines) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const entry = parse(line, where);
      if (entry !== undefined) users.set(entry[0], entry[1]);
    }
  };
  read(config.users ?? [], `${field}.users`);
  if (config.usersFile) read(readFileSync(config.usersFile, 'utf8').split('\n'), `${field}.usersFile`);
  if (users.size === 0) throw new Error(`${field}: ${noUsers}`);
  return users;
}

export interface ForwardOptions {
  headerField?: string | undefined;
  removeHeader?: boolean | undefined;
}

/** Hands an authenticated request to `next`: the user for the access log and `headerField`, Authorization dropped if asked. */
export function forwardAuthenticated(next: Handler, req: GatewayRequest, rw: ResponseWriter, user: string, options: ForwardOptions): Promise<void> {
  req.data.ClientUsername = user;
  if (options.headerField) req.headers[options.headerField] = user;
  if (options.removeHeader) delete req.headers.authorization;
  return next(req, rw);
}
