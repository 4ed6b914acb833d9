/**
 * `meshgate login` and `meshgate logout` — Consul's command/login and command/logout. Login exchanges the bearer
 * token in `-bearer-token-file` with `-method` for an ACL token and writes its SecretID to `-token-sink-file`
 * (mode 0600, written atomically), printing nothing; it never sends a token of its own (the server refuses one).
 * Logout destroys the token the request carries (`-token`, `-token-file` or the environment), which must come from a
 * login.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { AclAuthEndpoint } from '../../../api/acl-auth.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, type CliIO } from '../../io.ts';
import { collect } from '../../repeatable.ts';

interface LoginFlags extends HttpFlags {
  method?: string;
  bearerTokenFile?: string;
  tokenSinkFile?: string;
  meta: string[];
}

const TOKEN_ENV = ['MESHGATE_HTTP_TOKEN', 'CONSUL_HTTP_TOKEN', 'MESHGATE_HTTP_TOKEN_FILE', 'CONSUL_HTTP_TOKEN_FILE'];

export function loginCommand(io: CliIO): Command {
  return addHttpFlags(new Command('login'))
    .description('Login to Meshgate using an auth method')
    .option('--method <name>', 'name of the auth method to login to')
    .option('--bearer-token-file <path>', 'path to a file containing a secret bearer token to use with this auth method')
    .option('--token-sink-file <path>', 'the new token\'s SecretID is written to this file')
    .option('--meta <key=value>', 'metadata to set on the token (repeatable)', collect, [])
    .action(async (flags: LoginFlags, command: Command) => {
      if (command.args.length > 0) throw CliErrors.usage('Should have no non-flag arguments.');
      if (!flags.method) throw CliErrors.usage('Missing required \'-method\' flag');
      if (!flags.tokenSinkFile) throw CliErrors.usage('Missing required \'-token-sink-file\' flag');
      if (!flags.bearerTokenFile) throw CliErrors.usage('Missing required \'-bearer-token-file\' flag');
      let bearer: string;
      try {
        bearer = readFileSync(flags.bearerTokenFile, 'utf8').trim();
      } catch (err) {
        throw CliErrors.failed((err as Error).message);
      }
      if (bearer === '') throw CliErrors.failed(`No bearer token found in ${flags.bearerTokenFile}`);
      const meta: Record<string, string> = {};
      for (const pair of flags.meta) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw CliErrors.usage(`Invalid -meta value ${JSON.stringify(pair)}: expected key=value`);
        meta[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      // Consul's login clears any token first: the request must not carry one.
      const env = Object.fromEntries(Object.entries(io.env).filter(([k]) => !TOKEN_ENV.includes(k)));
      const client = clientFrom({ ...flags, token: undefined, tokenFile: undefined } as HttpFlags, { ...io, env } as CliIO);
      let secret: string;
      try {
        secret = (await new AclAuthEndpoint(client.transport).login({ AuthMethod: flags.method, BearerToken: bearer, ...(flags.meta.length > 0 ? { Meta: meta } : {}) })).SecretID;
      } catch (err) {
        throw CliErrors.failed(`Error logging in: ${(err as Error).message}`);
      }
      try {
        const tmp = `${flags.tokenSinkFile}.tmp-${process.pid}`;
        writeFileSync(tmp, secret, { mode: 0o600 });
        chmodSync(tmp, 0o600);
        renameSync(tmp, flags.tokenSinkFile);
      } catch (err) {
        throw CliErrors.failed(`Error writing token to file sink: ${(err as Error).message}`);
      }
    });
}

export function logoutCommand(io: CliIO): Command {
  return addHttpFlags(new Command('logout'))
    .description('Destroy a Meshgate token created with login')
    .action(async (flags: HttpFlags) => {
      try {
        await new AclAuthEndpoint(clientFrom(flags, io).transport).logout();
      } catch (err) {
        throw CliErrors.failed(`Error destroying token: ${(err as Error).message}`);
      }
    });
}
